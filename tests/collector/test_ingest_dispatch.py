"""The ingest endpoints are dispatched ahead of FastAPI (collector/asgi.py): every answer through that
shortcut must be byte for byte the answer the same endpoint gives through FastAPI's middleware and
router (status, headers, body), for success and for every error. Runs on both backends."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from collector.errors import StorageUnavailable

from . import payloads as P
from .conftest import make_room


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(settings, storage, clock):
    return create_app(settings, storage=storage, clock=clock)


def _both(client, app, *args, **kwargs):
    """The same request through the shortcut and then through FastAPI's routing."""
    assert set(app.ingest) == {"/api/v1/heartbeat", "/api/v1/records"}
    fast = client.post(*args, **kwargs)
    saved, app.ingest = app.ingest, {}
    try:
        routed = client.post(*args, **kwargs)
    finally:
        app.ingest = saved
    return fast, routed


def _same(fast, routed):
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    assert fast.headers.multi_items() == routed.headers.multi_items()
    assert fast.content == routed.content
    return fast


def test_shortcut_answers_exactly_as_fastapi(app, storage, settings, clock):
    token = make_room(storage, "qn-a")
    make_room(storage, "qn-b")
    hb = json.dumps(P.heartbeat("qn-a")).encode()
    json_h = {**_auth(token), "Content-Type": "application/json"}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        cases = [
            # first heartbeat (full path, room.online), then the fast path
            (("/api/v1/heartbeat",), dict(content=hb, headers=json_h), 200),
            (("/api/v1/heartbeat",), dict(content=hb, headers=json_h), 200),
            (("/api/v1/heartbeat",), dict(content=gzip.compress(hb), headers={**json_h, "Content-Encoding": "gzip"}), 200),
            (("/api/v1/heartbeat",), dict(content=b"{not json", headers=json_h), 400),
            (("/api/v1/heartbeat",), dict(content=hb, headers={**_auth(token), "Content-Type": "text/plain"}), 400),
            (("/api/v1/heartbeat",), dict(content=hb, headers={**json_h, "Content-Encoding": "br"}), 400),
            (("/api/v1/heartbeat",), dict(content=hb, headers={"Content-Type": "application/json"}), 401),
            (("/api/v1/heartbeat",), dict(content=hb, headers={**json_h, "Authorization": "Bearer hntht1.x.y"}), 401),
            (("/api/v1/heartbeat",), dict(json=P.heartbeat("qn-b"), headers=_auth(token)), 403),
            (("/api/v1/heartbeat",), dict(json={**P.heartbeat("qn-a"), "pad": "x" * 70_000}, headers=_auth(token)), 413),
            (("/api/v1/heartbeat",), dict(json={**P.heartbeat("qn-a"), "seq": -1}, headers=_auth(token)), 422),
            (("/api/v1/records",), dict(json=P.batch("qn-a", [
                P.record("qn-a", 1, "event", P.event()), P.record("qn-a", 2, "nonsense", {}),
                P.record("qn-b", 3, "event", P.event()), P.record("qn-a", 4, "event", {"type": 1})]),
                headers=_auth(token)), 200),
            (("/api/v1/records",), dict(json=P.batch("qn-b", []), headers=_auth(token)), 403),
            (("/api/v1/records",), dict(json={"schema": "hntht.records/1", "room_id": "qn-a", "records": []},
                                        headers=_auth(token)), 422),
        ]
        for args, kwargs, status in cases:
            r = _same(*_both(client, app, *args, **kwargs))
            assert r.status_code == status, r.text
        # the records answer names every valid id again, new or duplicate
        r = client.post("/api/v1/records", json=P.batch("qn-a", [P.record("qn-a", 1, "event", P.event())]),
                        headers=_auth(token))
        assert r.json() == {"accepted": ["qn-a/boot-1/1"], "rejected": []}
        # 429 with Retry-After, from the fast path's memory of the token as from the full path
        settings.rate_limit_per_minute = 1
        r = _same(*_both(client, app, "/api/v1/heartbeat", content=hb, headers=json_h))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_shortcut_errors_503_and_500_as_fastapi(app, storage, monkeypatch):
    token = make_room(storage, "qn-a")
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        assert client.post("/api/v1/heartbeat", json=P.heartbeat("qn-a"), headers=_auth(token)).status_code == 200

        async def down(*a, **k):
            raise StorageUnavailable("connection refused")
        monkeypatch.setattr(storage, "heartbeat_fast_async", down)
        r = _same(*_both(client, app, "/api/v1/heartbeat", json=P.heartbeat("qn-a"), headers=_auth(token)))
        assert r.status_code == 503 and r.headers["Retry-After"] == "10"

        async def broken(*a, **k):
            raise RuntimeError("a bug")
        monkeypatch.setattr(storage, "heartbeat_fast_async", broken)
        r = _same(*_both(client, app, "/api/v1/heartbeat", json=P.heartbeat("qn-a"), headers=_auth(token)))
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal" and "a bug" not in r.text


def test_other_methods_and_paths_still_go_through_fastapi(app):
    with TestClient(app, base_url="http://127.0.0.1") as client:
        r = client.get("/api/v1/heartbeat")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert client.post("/api/v1/heartbeat/x").json()["error"]["code"] == "not_found"
