"""The two agent ingest endpoints as plain ASGI, dispatched before FastAPI's middleware and routing.

Every heartbeat used to pass through about ten ASGI layers (server-error, exception, body-limit and
telemetry middleware, an exit stack, the router's matching of every route, Starlette's Request and
Response objects) that cost about a quarter of the collector's CPU per heartbeat and did nothing for
these two routes: they read the raw body themselves, validate it against the OpenAPI document and
render their own errors. `CollectorApp` sends exactly `POST /api/v1/heartbeat` and `POST
/api/v1/records` (no root path) straight to their `IngestEndpoint`; everything else, the ingest paths
with another method included (405), goes through FastAPI as before. The endpoints stay registered as
routes too, so the route table, the served OpenAPI document and a deployment under a root path are
unchanged, and both ways give byte-identical answers (tests/collector/test_protocol.py compares them).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Optional

from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse

from .errors import ApiError, StorageUnavailable

log = logging.getLogger("hntht.collector")

RETRY_AFTER_UNAVAILABLE = 10


class IngestRequest:
    """What an ingest handler needs of a request: its headers and its body, nothing parsed ahead."""

    __slots__ = ("scope", "_receive")

    def __init__(self, scope, receive):
        self.scope = scope
        self._receive = receive

    def header(self, name: bytes) -> Optional[str]:
        """The first value of a header (`name` in lower case, as ASGI servers give it), like
        Starlette's `request.headers.get`."""
        for key, value in self.scope["headers"]:
            if key == name:
                return value.decode("latin-1")
        return None

    async def chunks(self):
        """The body as it arrives; ClientDisconnect if the client goes away first (as Starlette)."""
        while True:
            message = await self._receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if body:
                    yield body
                if not message.get("more_body", False):
                    return
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect()


Handler = Callable[[IngestRequest], Awaitable[tuple[int, list, bytes]]]


def error_response(exc: ApiError) -> JSONResponse:
    """The API's `{"error": ...}` answer, for every route (FastAPI's handlers and the ingest endpoints)."""
    err = {"code": exc.code, "message": exc.message}
    if exc.details:
        err["details"] = exc.details
    return JSONResponse({"error": err}, status_code=exc.status, headers=exc.headers)


def unavailable() -> ApiError:
    """The database is gone for now: 503, and when to try again."""
    return ApiError(503, "unavailable", "database temporarily unavailable",
                    headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})


def error_body(exc: ApiError) -> tuple[int, list, bytes]:
    """:func:`error_response` as (status, raw headers, body) for a plain ASGI send."""
    response = error_response(exc)
    return response.status_code, response.raw_headers, response.body


def json_headers(body: bytes) -> list:
    return [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/json")]


class IngestEndpoint:
    """An ASGI app around one ingest handler: renders its ApiError as the API's error shape, a lost
    database as 503 with Retry-After, anything else as 500 (then re-raised so the server logs the
    traceback), exactly as the FastAPI exception handlers in collector/app.py do for other routes."""

    def __init__(self, handler: Handler):
        self.handler = handler

    async def __call__(self, scope, receive, send) -> None:
        try:
            status, headers, body = await self.handler(IngestRequest(scope, receive))
        except ApiError as exc:
            status, headers, body = error_body(exc)
        except StorageUnavailable as exc:
            log.warning("storage unavailable: %s", exc)
            status, headers, body = error_body(unavailable())
        except Exception as exc:
            log.error("internal error on %s %s: %s", scope["method"], scope["path"], type(exc).__name__)
            status, headers, body = error_body(ApiError(500, "internal", "internal error"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            raise
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class CollectorApp(FastAPI):
    """FastAPI with the ingest endpoints dispatched first (see the module's docstring)."""

    ingest: dict[str, IngestEndpoint]

    def add_ingest_route(self, path: str, handler: Handler) -> None:
        endpoint = IngestEndpoint(handler)
        if not hasattr(self, "ingest"):
            self.ingest = {}
        self.ingest[path] = endpoint
        # An ASGI app: Starlette's route passes it the raw scope (used only under a root path).
        self.add_route(path, endpoint, methods=["POST"], name=handler.__name__)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path") \
                and not self.root_path:
            endpoint = getattr(self, "ingest", {}).get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
