"""Protocol conformance (docs/collector-api.md): every status code, per-record rejection, idempotency,
gzip, limits, liveness through the API with a controllable clock. Runs on both backends."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from collector.errors import StorageUnavailable

from . import payloads as P
from .conftest import make_room

REPO = Path(__file__).resolve().parents[2]


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def room(storage):
    return make_room(storage, "qn-a")


def post_hb(client, token, body, **kw):
    return client.post("/api/v1/heartbeat", json=body, headers=_auth(token), **kw)


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code and err["message"]
    return err


def test_heartbeat_200(client, room, clock):
    r = post_hb(client, room, P.heartbeat("qn-a"))
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] is True and body["server_time"].endswith("Z")


def test_unknown_fields_are_ignored(client, room):
    hb = P.heartbeat("qn-a")
    hb["future_field"] = {"x": 1}
    hb["live"]["codec"]["new_value"] = 3
    assert post_hb(client, room, hb).status_code == 200


def test_gzip_body_accepted(client, room):
    raw = gzip.compress(json.dumps(P.heartbeat("qn-a")).encode())
    r = client.post("/api/v1/heartbeat", content=raw, headers={**_auth(room), "Content-Type": "application/json",
                                                                "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("headers,content,code", [
    ({"Content-Type": "application/json"}, b"{not json", "invalid_json"),
    ({"Content-Type": "application/json"}, b'{"a": NaN}', "invalid_json"),
    ({"Content-Type": "text/plain"}, b"{}", "unsupported_media_type"),
    ({"Content-Type": "application/json", "Content-Encoding": "br"}, b"{}", "unsupported_encoding"),
    ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"\x1f\x8bnot gzip", "bad_request"),
])
def test_400(client, room, headers, content, code):
    r = client.post("/api/v1/heartbeat", content=content, headers={**_auth(room), **headers})
    assert_error(r, 400, code)


@pytest.mark.parametrize("header", [None, "Bearer ", "Basic abc", "Bearer hntht1.deadbeef.nope", "Bearer garbage"])
def test_401_missing_or_unknown(client, room, header):
    headers = {"Authorization": header} if header is not None else {}
    r = client.post("/api/v1/heartbeat", json=P.heartbeat("qn-a"), headers=headers)
    assert_error(r, 401, "unauthorized")
    assert "hntht1" not in r.text


def test_401_wrong_secret_disabled_and_rotated(client, room, storage):
    token_id = room.split(".")[1]
    assert_error(post_hb(client, f"hntht1.{token_id}.wrongsecret", P.heartbeat("qn-a")), 401, "unauthorized")
    storage.set_room_enabled("qn-a", False)
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 401, "unauthorized")
    storage.set_room_enabled("qn-a", True)
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    storage.rotate_token("qn-a", "aaaa", "00" * 16, "00" * 32, 0)
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 401, "unauthorized")


def test_403_token_for_another_room(client, room, storage):
    make_room(storage, "qn-b")
    assert_error(post_hb(client, room, P.heartbeat("qn-b")), 403, "forbidden_room")
    r = client.post("/api/v1/records", json=P.batch("qn-b", [P.record("qn-b", 1, "event", P.event())]), headers=_auth(room))
    assert_error(r, 403, "forbidden_room")


def test_413_body_and_batch_limits(client, room):
    hb = P.heartbeat("qn-a")
    hb["padding"] = "x" * (70 * 1024)
    assert_error(post_hb(client, room, hb), 413, "payload_too_large")
    too_many = P.batch("qn-a", [P.record("qn-a", i, "session", {}) for i in range(501)])
    assert_error(client.post("/api/v1/records", json=too_many, headers=_auth(room)), 413, "payload_too_large")
    big = P.batch("qn-a", [P.record("qn-a", 1, "session", {"blob": "y" * (257 * 1024)})])
    assert_error(client.post("/api/v1/records", json=big, headers=_auth(room)), 413, "payload_too_large")


def test_413_gzip_bomb(client, room):
    bomb = gzip.compress(b'{"a": "' + b"0" * (20 * 1024 * 1024) + b'"}')
    assert len(bomb) < 64 * 1024
    r = client.post("/api/v1/heartbeat", content=bomb, headers={**_auth(room), "Content-Type": "application/json",
                                                                 "Content-Encoding": "gzip"})
    assert_error(r, 413, "payload_too_large")


def test_422_precise_message(client, room):
    hb = P.heartbeat("qn-a")
    hb["outbox"]["depth"] = -1
    del hb["clock"]
    err = assert_error(post_hb(client, room, hb), 422, "validation_failed")
    paths = {d["path"] for d in err["details"]}
    assert "outbox.depth" in paths and "(root)" in paths
    assert "outbox.depth: -1 is less than the minimum of 0" in err["message"]
    assert "'clock' is a required property" in err["message"]
    err = assert_error(client.post("/api/v1/records", json={"schema": "hntht.records/1", "room_id": "qn-a", "records": []},
                                   headers=_auth(room)), 422, "validation_failed")
    assert err["details"][0]["path"] == "records"
    bad_ts = P.heartbeat("qn-a")
    bad_ts["sent_at"] = "2025-05-12T08:30:00+07:00"  # must be UTC
    assert_error(post_hb(client, room, bad_ts), 422, "validation_failed")


def test_429_rate_limit_with_retry_after(client, room, settings, clock):
    settings.rate_limit_per_minute = 3
    clock.now = 1_750_000_020.0
    for _ in range(3):
        assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    r = post_hb(client, room, P.heartbeat("qn-a"))
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 61
    clock.advance(60)
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200


def test_503_when_database_unavailable(client, room, storage, monkeypatch):
    def down(*a, **k):
        raise StorageUnavailable("connection refused")
    monkeypatch.setattr(storage, "record_heartbeat", down)
    r = post_hb(client, room, P.heartbeat("qn-a"))
    assert_error(r, 503, "unavailable")
    assert int(r.headers["Retry-After"]) >= 1


def test_503_on_the_fast_path_too(client, room, storage, monkeypatch):
    """A room already online takes the one-statement path; losing the database there is a 503 as well."""
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200

    async def down(*a, **k):
        raise StorageUnavailable("connection refused")
    monkeypatch.setattr(storage, "heartbeat_fast_async", down)
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 503, "unavailable")


def test_fast_path_rechecks_token_and_counts_requests(client, room, storage, settings, clock):
    """The verified-token memory never outlives a disable or a rotation, and fast-path requests count
    towards the rate limit exactly like the others."""
    settings.rate_limit_per_minute = 4
    clock.now = 1_750_000_020.0
    for _ in range(4):
        assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 429, "rate_limited")
    # a rate-limited request with an invalid body still gets 429 first, as without the memory
    bad = P.heartbeat("qn-a")
    del bad["clock"]
    assert_error(post_hb(client, room, bad), 429, "rate_limited")
    clock.advance(60)
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    assert_error(post_hb(client, room, bad), 422, "validation_failed")
    settings.rate_limit_per_minute = 100
    storage.set_room_enabled("qn-a", False)  # as `room disable` would, from another process
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 401, "unauthorized")
    assert_error(post_hb(client, room, bad), 401, "unauthorized")
    storage.set_room_enabled("qn-a", True)
    assert post_hb(client, room, P.heartbeat("qn-a")).status_code == 200
    token_id = room.split(".")[1]
    storage.rotate_token("qn-a", token_id, "00" * 16, "00" * 32, 0)  # same id, new secret
    assert_error(post_hb(client, room, P.heartbeat("qn-a")), 401, "unauthorized")
    stored = storage.room("qn-a")
    assert stored["liveness"] == "online"


def test_404_405_use_error_shape(client):
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    assert_error(client.get("/api/v1/heartbeat"), 405, "method_not_allowed")


def test_records_per_record_rejection_does_not_fail_batch(client, room):
    recs = [
        P.record("qn-a", 1, "event", P.event()),
        P.record("qn-a", 2, "event", P.event(severity="urgent")),
        P.record("qn-a", 3, "telemetry", {}),
        P.record("qn-b", 4, "event", P.event()),
        P.record("qn-a", 5, "check_report", P.report("qn-a")),
        {"id": "qn-a/boot-1/6", "kind": "event", "at": "yesterday", "body": P.event()},
        P.record("qn-a", 7, "status_sample", {"area": "power", "status": {"on_battery": False}}),
        P.record("qn-a", 8, "session", {"reserved": True}),
    ]
    r = client.post("/api/v1/records", json=P.batch("qn-a", recs), headers=_auth(room))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == ["qn-a/boot-1/1", "qn-a/boot-1/5", "qn-a/boot-1/7", "qn-a/boot-1/8"]
    rejected = {x["id"]: x for x in out["rejected"]}
    assert rejected["qn-a/boot-1/2"]["code"] == "invalid_body"
    assert "records[1].body.severity: 'urgent' is not one of" in rejected["qn-a/boot-1/2"]["reason"]
    assert rejected["qn-a/boot-1/3"]["code"] == "unknown_kind"
    assert rejected["qn-b/boot-1/4"]["code"] == "room_mismatch"
    assert rejected["qn-a/boot-1/6"]["code"] == "invalid_record" and "records[5].at" in rejected["qn-a/boot-1/6"]["reason"]


def test_records_duplicates_accepted_again_not_stored_twice(client, room, storage):
    recs = [P.record("qn-a", i, "event", P.event()) for i in range(1, 4)]
    for _ in range(3):
        r = client.post("/api/v1/records", json=P.batch("qn-a", recs + recs[:1]), headers=_auth(room))
        assert r.status_code == 200 and r.json()["accepted"] == [x["id"] for x in recs]
    assert storage.count("records") == 3 and storage.count("events") == 3


def test_liveness_through_api_with_controllable_clock(client, room, storage, clock):
    assert post_hb(client, room, P.heartbeat("qn-a", interval_s=20)).status_code == 200
    storage.sweep_liveness(clock() + 29)
    assert storage.room("qn-a")["liveness"] == "online"
    clock.advance(31)
    storage.sweep_liveness(clock())
    assert storage.room("qn-a")["liveness"] == "stale"
    clock.advance(30)
    storage.sweep_liveness(clock())
    storage.sweep_liveness(clock())
    assert storage.room("qn-a")["liveness"] == "offline"
    assert post_hb(client, room, P.heartbeat("qn-a", interval_s=20)).status_code == 200
    types = [e["type"] for e in reversed(storage.room_events("qn-a"))]
    assert types == ["room.online", "room.stale", "room.offline", "room.online"]


def test_served_openapi_matches_docs_and_routes(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    docs = (REPO / "docs" / "collector-openapi.json").read_bytes()
    assert served.content == docs, "collector/openapi.json must be a copy of docs/collector-openapi.json"
    doc = json.loads(docs)
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served_routes = {(r.path, m) for r in client.app.routes if r.path.startswith(("/api/", "/healthz"))
                     for m in getattr(r, "methods", ()) if m != "HEAD"}
    assert documented == served_routes


def test_openapi_schemas_are_valid_json_schema():
    from jsonschema import Draft202012Validator

    from collector import schemas

    for name in schemas.openapi_document()["components"]["schemas"]:
        schemas.validator(name)  # check_schema inside
    assert Draft202012Validator  # imported for check_schema


def test_examples_in_protocol_doc_validate():
    """The JSON examples in docs/collector-api.md are valid against the schemas they illustrate."""
    import re

    from collector import schemas

    text = (REPO / "docs" / "collector-api.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S) if '"schema"' in b and "…" not in b]
    kinds = {"hntht.heartbeat/1": "Heartbeat", "hntht.records/1": "RecordBatch", "hntht.report/1": "Report"}
    checked = 0
    for b in blocks:
        name = kinds.get(b.get("schema"))
        if name == "Report":
            b = dict(b, statuses={})
        if name:
            assert schemas.problems(name, b) == [], (name, schemas.problems(name, b))
            checked += 1
    assert checked >= 3


def test_read_api_requires_viewer(client, room):
    assert_error(client.get("/api/v1/rooms"), 401, "unauthorized")
    # A room token is not a viewer credential.
    assert_error(client.get("/api/v1/rooms", headers=_auth(room)), 401, "unauthorized")


def test_read_api_with_basic_auth(client, room, storage, clock):
    from collector import security

    storage.add_viewer("op", security.hash_password("correct horse battery"), 0)
    auth = ("op", "correct horse battery")
    post_hb(client, room, P.heartbeat("qn-a", overall="fail", registered=False, on_battery=True))
    client.post("/api/v1/records", json=P.batch("qn-a", [P.record("qn-a", 1, "check_report", P.report("qn-a", overall="fail")),
                                                         P.record("qn-a", 2, "event", P.event())]), headers=_auth(room))
    rooms = client.get("/api/v1/rooms", auth=auth).json()["rooms"]
    assert len(rooms) == 1
    r = rooms[0]
    assert r["liveness"] == "online" and r["readiness"] == "not_ready"
    codes = {p["code"] for p in r["problems"]}
    assert {"overall_fail", "on_battery", "codec_unregistered"} <= codes
    assert r["failing_checks"][0]["id"] == "network.mcu.loss"
    assert client.get("/api/v1/rooms?problems=true&level=province", auth=auth).json()["rooms"] == []
    detail = client.get("/api/v1/rooms/qn-a", auth=auth).json()
    assert detail["heartbeat"]["outbox"]["depth"] == 0
    assert client.get("/api/v1/rooms/qn-a/report", auth=auth).json()["report"]["overall"] == "fail"
    ev = client.get("/api/v1/rooms/qn-a/events", auth=auth).json()["events"]
    assert {e["type"] for e in ev} == {"room.online", "ups.on_battery"}
    allev = client.get("/api/v1/events?after=0&limit=1", auth=auth).json()
    assert len(allev["events"]) == 1 and allev["next_after"] == allev["events"][0]["seq"]
    assert_error(client.get("/api/v1/rooms/nope", auth=auth), 404, "not_found")
    assert_error(client.get("/api/v1/rooms", auth=("op", "wrong")), 401, "unauthorized")


def test_server_prunes_old_records_in_the_background(settings, storage, clock):
    import time

    from fastapi.testclient import TestClient

    from collector.app import create_app

    token = make_room(storage, "qn-a")
    settings.prune_interval_s = 0.05
    settings.retention_records_days = 30
    app = create_app(settings, storage=storage, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/api/v1/records", json=P.batch("qn-a", [P.record("qn-a", 1, "event", P.event())]),
                   headers=_auth(token))
        assert r.status_code == 200 and storage.count("records") == 1
        clock.advance(31 * 86400)
        deadline = time.monotonic() + 10
        while storage.count("records") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert storage.count("records") == 0
        assert storage.count("events") == 1  # events keep their own (longer) retention
