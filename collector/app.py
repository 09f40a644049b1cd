"""The collector's HTTP application: agent ingest API, read API and the readiness board.

Processes are stateless: everything lives in the storage layer, so any number of workers or
machines can serve the same database. Client data reaches SQL only as bound parameters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, schemas, security
from .asgi import CollectorApp, IngestRequest, error_response, json_headers, unavailable
from .authcache import VerifiedTokens
from .config import Settings
from .errors import ApiError, StorageUnavailable
from .i18n import translator
from .schedule_cache import ScheduleCache, schedule_json
from .storage import Storage, open_storage
from .timeutil import Clock, format_rfc3339, parse_rfc3339, system_clock
from .view import filter_rooms, summarize

log = logging.getLogger("hntht.collector")

RECORD_KINDS = {"check_report": "Report", "status_sample": "StatusSample", "event": "Event", "session": "Session"}


def _json_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _loads(data: bytes):
    try:
        return json.loads(data, parse_constant=_json_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None


async def read_body(request: IngestRequest, cap: int) -> bytes:
    """The request body, decompressed, refusing anything over `cap` bytes before or after gzip."""
    ctype = request.header(b"content-type") or ""
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ApiError(400, "unsupported_media_type", "Content-Type must be application/json")
    encoding = (request.header(b"content-encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(400, "unsupported_encoding", "Content-Encoding must be gzip or absent")
    length = request.header(b"content-length")
    if length is not None:
        try:
            if int(length) > cap:
                raise ApiError(413, "payload_too_large", f"body is {int(length)} bytes; the limit is {cap}")
        except ValueError:
            raise ApiError(400, "bad_request", "invalid Content-Length") from None
    chunks, size = [], 0
    async for chunk in request.chunks():
        size += len(chunk)
        if size > cap:
            raise ApiError(413, "payload_too_large", f"body exceeds the limit of {cap} bytes")
        chunks.append(chunk)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if encoding == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(raw, cap + 1)
        except zlib.error:
            raise ApiError(400, "bad_request", "corrupt gzip body") from None
        if len(out) > cap or d.unconsumed_tail:
            raise ApiError(413, "payload_too_large", f"decompressed body exceeds the limit of {cap} bytes")
        if not d.eof:
            raise ApiError(400, "bad_request", "truncated gzip body")
        raw = out
    return raw


def create_app(settings: Optional[Settings] = None, storage: Optional[Storage] = None,
               clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings.from_env()
    owns_storage = storage is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.storage is None:
            app.state.storage = open_storage(settings.db, pool_size=settings.pool_size)
            app.state.storage.migrate()
        await app.state.storage.open_async()
        tasks = []
        if settings.sweep_interval_s > 0:
            tasks.append(asyncio.create_task(_sweeper(app)))
        if settings.prune_interval_s > 0:
            tasks.append(asyncio.create_task(_pruner(app)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            if app.state.storage is not None:
                await app.state.storage.close_async()
            if owns_storage and app.state.storage is not None:
                app.state.storage.close()

    # The served OpenAPI document is the file in docs/ (see schemas.py), not a generated one.
    # FastAPI's native OpenTelemetry hooks are off: the collector exports no traces, and checking for
    # configured providers on every request cost measurable time on the ingest path.
    app = CollectorApp(title="hntht collector", version=__version__, lifespan=lifespan,
                       openapi_url=None, docs_url=None, redoc_url=None,
                       telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    app.state.storage = storage
    app.state.clock = clock

    async def _sweeper(app: FastAPI):
        while True:
            await asyncio.sleep(settings.sweep_interval_s)
            try:
                transitions = await run_in_threadpool(app.state.storage.sweep_liveness, app.state.clock())
                for t in transitions:
                    log.info("room %s is now %s", t.room_id, t.liveness)
            except Exception:  # keep sweeping; the next round retries
                log.exception("liveness sweep failed")
            try:
                for ev in await run_in_threadpool(app.state.storage.sweep_meetings, app.state.clock()):
                    log.info("room %s: %s", ev.room_id, ev.message)
            except Exception:
                log.exception("meeting sweep failed")

    async def _pruner(app: FastAPI):
        while True:
            await asyncio.sleep(settings.prune_interval_s)
            try:
                removed = await run_in_threadpool(app.state.storage.prune, app.state.clock(),
                                                  settings.retention_records_days, settings.retention_events_days,
                                                  settings.login_window_s)
                if removed["records"] or removed["events"]:
                    log.info("retention: removed %d record(s) and %d event(s)", removed["records"], removed["events"])
            except Exception:  # keep going; the next round retries
                log.exception("retention pruning failed")

    # -- error rendering: one shape everywhere under /api --------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc)

    @app.exception_handler(StorageUnavailable)
    async def _unavailable(request: Request, exc: StorageUnavailable):
        log.warning("storage unavailable: %s", exc)
        return error_response(unavailable())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        message = {404: "no such resource", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(ApiError(exc.status_code, code, message, headers=getattr(exc, "headers", None)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [{"path": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        return error_response(ApiError(422, "validation_failed", "invalid request parameters", details=details))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_response(ApiError(500, "internal", "internal error"))

    # -- agent ingest ------------------------------------------------------------------------
    tokens = VerifiedTokens()
    app.state.verified_tokens = tokens

    def unauthorized() -> ApiError:
        return ApiError(401, "unauthorized", "unknown or disabled token", headers={"WWW-Authenticate": "Bearer"})

    def bearer(request: IngestRequest) -> tuple[str, str]:
        """(token_id, secret) from the Authorization header; 401 when absent or not shaped like a token."""
        header = request.header(b"authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        parts = security.split_token(token.strip())
        if parts is None:
            raise unauthorized()
        return parts

    async def authenticate_token(token_id: str, secret: str):
        """The full check in the database: token known, secret right, room enabled, rate limit (this
        request counted). Remembers a verified token for the heartbeat fast path."""
        now = app.state.clock()
        auth = await app.state.storage.authenticate_async(token_id, int(now // 60))
        if auth is None or not security.verify_secret(secret, auth.token_salt, auth.token_hash) or not auth.enabled:
            tokens.forget(token_id)
            raise unauthorized()
        tokens.remember(token_id, auth.room_id, auth.token_salt, auth.token_hash)
        if auth.request_count > settings.rate_limit_per_minute:
            retry = max(1, int(60 - now % 60) + 1)
            raise ApiError(429, "rate_limited",
                           f"more than {settings.rate_limit_per_minute} requests per minute for this room",
                           headers={"Retry-After": str(retry)})
        return auth

    async def authenticate(request: IngestRequest):
        return await authenticate_token(*bearer(request))

    def check_room(body, room_id: str, kind: str):
        if not isinstance(body, dict):
            raise ApiError(422, "validation_failed", f"body must be a JSON object ({kind})",
                           details=[{"path": "(root)", "message": "not an object"}])
        body_room = body.get("room_id")
        if isinstance(body_room, str) and body_room != room_id:
            raise ApiError(403, "forbidden_room", "this token does not authenticate the room_id in the body")

    async def heartbeat_body(request: IngestRequest, room_id: str) -> tuple[dict, bytes]:
        raw = await read_body(request, settings.heartbeat_body_max)
        body = _loads(raw)
        check_room(body, room_id, "hntht.heartbeat/1")
        problems = schemas.problems("Heartbeat", body)
        if problems:
            raise ApiError(422, "validation_failed", "body does not match hntht.heartbeat/1: " + schemas.describe(problems[:3]),
                           details=problems)
        return body, raw

    # The two ingest endpoints are plain ASGI (collector/asgi.py): they read the raw body and validate
    # it against the OpenAPI document themselves, so FastAPI's layers only cost time. A handler returns
    # (status, headers, body) or raises ApiError.
    async def heartbeat(request: IngestRequest):
        token_id, secret = bearer(request)
        known = tokens.lookup(token_id, secret)
        if known is None:
            auth = await authenticate_token(token_id, secret)
            room_id, token_hash = auth.room_id, auth.token_hash
            body, raw = await heartbeat_body(request, room_id)
        else:
            room_id, token_hash = known
            try:
                body, raw = await heartbeat_body(request, room_id)
            except ApiError:
                # Same answer as without the cache: 401 and 429 come before body errors, and the
                # request counts towards the rate limit.
                await authenticate_token(token_id, secret)
                raise
        now = app.state.clock()
        hb_json = raw.decode("utf-8") if len(raw) < 16384 else json.dumps(body, ensure_ascii=False)
        sent_at = parse_rfc3339(body["sent_at"])
        version = None
        if known is not None:
            version = await app.state.storage.heartbeat_fast_async(
                room_id, token_id, token_hash, int(now // 60), settings.rate_limit_per_minute, body, hb_json,
                sent_at, now)
        if version is None:
            if known is not None:  # not online, rate-limited, or the token changed: the full path decides
                await authenticate_token(token_id, secret)
            await app.state.storage.record_heartbeat_async(room_id, body, hb_json, sent_at, now)
        fragment = schedules.get(room_id, version, now)
        if fragment is None:
            fragment = await room_schedule(room_id, now)
        # The answer is assembled as text: the schedule fragment is serialised once per change.
        answer = (f'{{"server_time":"{format_rfc3339(now)}","accepted":true,'
                  f'"heartbeat_interval_s":{int(body.get("interval_s") or 30)},"schedule":{fragment}}}').encode("utf-8")
        return 200, json_headers(answer), answer

    schedules = ScheduleCache()
    app.state.schedules = schedules

    async def room_schedule(room_id: str, now: float) -> str:
        version, meetings, valid_until = await run_in_threadpool(app.state.storage.schedule_for_room, room_id, now)
        fragment = schedule_json(meetings, now)
        schedules.put(room_id, version, now, valid_until, fragment)
        return fragment

    app.add_ingest_route("/api/v1/heartbeat", heartbeat)

    async def records(request: IngestRequest):
        auth = await authenticate(request)
        raw = await read_body(request, settings.records_body_max)
        body = _loads(raw)
        check_room(body, auth.room_id, "hntht.records/1")
        items = body.get("records")
        if isinstance(items, list) and len(items) > settings.records_max_count:
            raise ApiError(413, "payload_too_large",
                           f"{len(items)} records in one batch; the limit is {settings.records_max_count}")
        problems = schemas.problems("RecordBatch", body)
        if problems:
            raise ApiError(422, "validation_failed", "body does not match hntht.records/1: " + schemas.describe(problems[:3]),
                           details=problems)
        accepted_valid, rejected = [], []
        for index, rec in enumerate(items):
            rid = rec["id"]
            kind = rec.get("kind")
            if isinstance(kind, str) and kind not in RECORD_KINDS:
                rejected.append({"id": rid, "code": "unknown_kind", "reason": f"unknown kind {kind!r}; known: "
                                 + ", ".join(sorted(RECORD_KINDS))})
                continue
            p = schemas.problems("Record", rec, prefix=f"records[{index}]")
            if p:
                rejected.append({"id": rid, "code": "invalid_record", "reason": schemas.describe(p[:5])})
                continue
            if rid.split("/", 1)[0] != auth.room_id:
                rejected.append({"id": rid, "code": "room_mismatch", "reason": "the id's room part is not this batch's room_id"})
                continue
            p = schemas.problems(RECORD_KINDS[kind], rec["body"], prefix=f"records[{index}].body")
            if kind == "check_report" and not p and rec["body"]["room_id"] != auth.room_id:
                p = [{"path": f"records[{index}].body.room_id", "message": "is not this batch's room_id"}]
            if p:
                rejected.append({"id": rid, "code": "invalid_body", "reason": schemas.describe(p[:5])})
                continue
            if kind == "session" and rec["body"].get("schema") == "hntht.session/1":
                sid = rec["body"]["session_id"]
                if not sid.startswith(auth.room_id + "/"):
                    rejected.append({"id": rid, "code": "room_mismatch",
                                     "reason": "body.session_id does not start with this batch's room_id"})
                    continue
                rec = dict(rec, session_start=parse_rfc3339(rec["body"]["start"]),
                           session_end=parse_rfc3339(rec["body"]["end"]) if rec["body"].get("end") else None)
            rec = dict(rec, at_epoch=parse_rfc3339(rec["at"]))
            if kind == "check_report":
                rec["generated_epoch"] = parse_rfc3339(rec["body"]["generated_at"])
            accepted_valid.append(rec)
        if accepted_valid:
            await app.state.storage.store_records_async(auth.room_id, accepted_valid, app.state.clock())
        # Every valid id is acknowledged, new or duplicate: a resend is harmless.
        seen, accepted = set(), []
        for rec in accepted_valid:
            if rec["id"] not in seen:
                seen.add(rec["id"])
                accepted.append(rec["id"])
        if rejected:
            log.info("room %s: %d record(s) rejected", auth.room_id, len(rejected))
        answer = json.dumps({"accepted": accepted, "rejected": rejected}, ensure_ascii=False, allow_nan=False,
                            separators=(",", ":")).encode("utf-8")  # as JSONResponse renders it
        return 200, json_headers(answer), answer

    app.add_ingest_route("/api/v1/records", records)

    # -- meta --------------------------------------------------------------------------------
    @app.get("/api/v1/openapi.json")
    async def openapi_doc():
        return Response(schemas.openapi_bytes(), media_type="application/json")

    @app.get("/healthz")
    async def healthz():
        await run_in_threadpool(app.state.storage.ping)
        return {"status": "ok", "server_time": format_rfc3339(app.state.clock())}

    # -- read API ----------------------------------------------------------------------------
    from .board import install_board, viewer_for_api  # noqa: E402  (board shares the app state)

    en = translator("en")

    def api_summary(room, now):
        s = summarize(room, now)
        for p in s["problems"]:
            p["message"] = en("problem." + p["code"])
        return s

    @app.get("/api/v1/rooms")
    async def api_rooms(request: Request, level: Optional[str] = None, district: Optional[str] = None,
                        problems: bool = False):
        await viewer_for_api(request)
        now = app.state.clock()
        rooms = await run_in_threadpool(app.state.storage.rooms_overview)
        summaries = filter_rooms([api_summary(r, now) for r in rooms], level, district, problems)
        return {"server_time": format_rfc3339(now), "rooms": summaries}

    async def _room_or_404(room_id: str):
        room = await run_in_threadpool(app.state.storage.room, room_id)
        if room is None:
            raise ApiError(404, "not_found", "no such room")
        return room

    @app.get("/api/v1/rooms/{room_id}")
    async def api_room(request: Request, room_id: str):
        await viewer_for_api(request)
        room = await _room_or_404(room_id)
        now = app.state.clock()
        skew = round(room["sent_at"] - room["last_heartbeat_at"], 3) if room["sent_at"] and room["last_heartbeat_at"] else None
        return {"room": api_summary(room, now), "heartbeat": room["heartbeat"], "clock_skew_s": skew}

    @app.get("/api/v1/rooms/{room_id}/events")
    async def api_room_events(request: Request, room_id: str, limit: int = 100):
        await viewer_for_api(request)
        await _room_or_404(room_id)
        limit = max(1, min(limit, 1000))
        events = await run_in_threadpool(app.state.storage.room_events, room_id, limit)
        return {"events": [_event_out(e) for e in events], "next_after": None}

    @app.get("/api/v1/rooms/{room_id}/report")
    async def api_room_report(request: Request, room_id: str):
        await viewer_for_api(request)
        await _room_or_404(room_id)
        rep = await run_in_threadpool(app.state.storage.latest_report, room_id)
        if rep is None:
            raise ApiError(404, "not_found", "no check report received from this room yet")
        return {"record_id": rep["record_id"], "received_at": format_rfc3339(rep["received_at"]), "report": rep["report"]}

    @app.get("/api/v1/events")
    async def api_events(request: Request, after: int = 0, limit: int = 100):
        await viewer_for_api(request)
        limit = max(1, min(limit, 1000))
        events = await run_in_threadpool(app.state.storage.events_after, max(0, after), limit)
        return {"events": [_event_out(e) for e in events], "next_after": events[-1]["seq"] if events else after}

    install_board(app)
    from .workflow import install_workflow  # noqa: E402

    install_workflow(app)
    return app


def _event_out(e: dict) -> dict:
    return dict(e, at=format_rfc3339(e["at"]), received_at=format_rfc3339(e["received_at"]))


def create_app_from_env() -> FastAPI:
    """uvicorn factory for `hntht-collector serve` with several workers (settings via environment)."""
    return create_app(Settings.from_env())
