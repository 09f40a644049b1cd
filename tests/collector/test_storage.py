"""The data layer, run against SQLite and PostgreSQL alike (parametrized `storage` fixture)."""

from __future__ import annotations

import json
import threading

import pytest

from collector.errors import RoomExists, UnknownRoom
from collector.storage import open_storage

from . import payloads as P
from .conftest import make_room

T0 = 1_750_000_000.0


def _rec(room, seq, kind, body, at=T0):
    r = P.record(room, seq, kind, body, at=at)
    r["at_epoch"] = at
    if kind == "check_report":
        from collector.timeutil import parse_rfc3339
        r["generated_epoch"] = parse_rfc3339(body["generated_at"])
    return r


def test_migrate_is_idempotent_and_versioned(storage, db_url):
    assert storage.schema_version() >= 1
    assert storage.migrate() == []
    again = open_storage(db_url)
    try:
        assert again.migrate() == []
    finally:
        again.close()


def test_room_add_auth_rotate_disable(storage):
    token = make_room(storage, "qn-a")
    token_id = token.split(".")[1]
    auth = storage.authenticate(token_id, window=1)
    assert auth.room_id == "qn-a" and auth.enabled and auth.request_count == 1
    assert storage.authenticate(token_id, window=1).request_count == 2
    assert storage.authenticate(token_id, window=2).request_count == 1  # new window resets
    with pytest.raises(RoomExists):
        make_room(storage, "qn-a")
    storage.set_room_enabled("qn-a", False)
    assert storage.authenticate(token_id, window=2).enabled is False
    storage.rotate_token("qn-a", "newid", "00" * 16, "ab" * 32, T0)
    assert storage.authenticate(token_id, window=2) is None
    with pytest.raises(UnknownRoom):
        storage.rotate_token("nope", "x", "00", "00", T0)
    assert storage.authenticate("' OR 1=1 --", window=1) is None


def test_heartbeat_and_liveness_transitions_fire_once(storage):
    make_room(storage, "qn-a")
    hb = P.heartbeat("qn-a", interval_s=30)
    events = storage.record_heartbeat("qn-a", hb, json.dumps(hb), T0, now=T0)
    assert [e.type for e in events] == ["room.online"]
    assert storage.record_heartbeat("qn-a", hb, json.dumps(hb), T0, now=T0 + 10) == []
    assert storage.sweep_liveness(T0 + 10 + 44) == []            # < 1.5 intervals
    assert [t.liveness for t in storage.sweep_liveness(T0 + 10 + 45)] == ["stale"]
    assert storage.sweep_liveness(T0 + 10 + 50) == []            # no double fire
    assert [t.liveness for t in storage.sweep_liveness(T0 + 10 + 90)] == ["offline"]
    assert storage.sweep_liveness(T0 + 10 + 500) == []
    assert [e.type for e in storage.record_heartbeat("qn-a", hb, json.dumps(hb), T0, now=T0 + 600)] == ["room.online"]
    types = [e["type"] for e in reversed(storage.room_events("qn-a"))]
    assert types == ["room.online", "room.stale", "room.offline", "room.online"]


def test_offline_straight_from_online_when_sweep_was_late(storage):
    make_room(storage, "qn-a")
    hb = P.heartbeat("qn-a", interval_s=10)
    storage.record_heartbeat("qn-a", hb, json.dumps(hb), T0, now=T0)
    assert [t.liveness for t in storage.sweep_liveness(T0 + 31)] == ["offline"]
    assert storage.room("qn-a")["liveness"] == "offline"


def test_records_idempotent_and_events_derived(storage):
    make_room(storage, "qn-a")
    recs = [_rec("qn-a", 1, "event", P.event()), _rec("qn-a", 2, "status_sample", {"area": "power", "status": {"x": 1}}),
            _rec("qn-a", 3, "session", {"anything": [1, 2]})]
    assert sorted(storage.store_records("qn-a", recs, T0)) == ["qn-a/boot-1/1", "qn-a/boot-1/2", "qn-a/boot-1/3"]
    assert storage.store_records("qn-a", recs + recs, T0 + 1) == []
    assert storage.count("records") == 3
    events = storage.room_events("qn-a")
    assert [e["type"] for e in events] == ["ups.on_battery"]
    assert events[0]["source"] == "agent" and events[0]["record_id"] == "qn-a/boot-1/1"


def test_concurrent_duplicate_inserts_store_once(storage, db_url):
    make_room(storage, "qn-a")
    recs = [_rec("qn-a", i, "event", P.event()) for i in range(50)]
    results, errors = [], []

    def worker():
        st = open_storage(db_url)
        try:
            results.append(st.store_records("qn-a", recs, T0))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            st.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(len(r) for r in results) == 50  # each id new exactly once overall
    assert storage.count("records") == 50
    assert storage.count("events") == 50


def test_latest_report_by_generated_at_and_check_since(storage):
    make_room(storage, "qn-a")
    failing = [{"id": "network.mcu.loss", "area": "network", "status": "fail", "message": "Mất gói 12%"},
               {"id": "power.ups.present", "area": "power", "status": "pass", "message": "ok"}]
    storage.store_records("qn-a", [_rec("qn-a", 1, "check_report", P.report("qn-a", at=T0, overall="fail", checks=failing))], T0)
    storage.store_records("qn-a", [_rec("qn-a", 2, "check_report", P.report("qn-a", at=T0 + 600, overall="fail", checks=failing))], T0 + 600)
    room = storage.room("qn-a")
    assert room["report_generated_at"] == T0 + 600
    assert room["checks"] == [{"id": "network.mcu.loss", "status": "fail", "since": T0, "message": "Mất gói 12%"}]
    # A late backlog report (older generated_at) never hides the newer one.
    storage.store_records("qn-a", [_rec("qn-a", 3, "check_report", P.report("qn-a", at=T0 - 900, overall="pass"))], T0 + 700)
    assert storage.latest_report("qn-a")["record_id"] == "qn-a/boot-1/2"
    # Recovery: a newer passing report clears the failing check.
    storage.store_records("qn-a", [_rec("qn-a", 4, "check_report", P.report("qn-a", at=T0 + 1200, overall="pass"))], T0 + 1200)
    assert storage.room("qn-a")["checks"] == []


def test_hostile_strings_are_data_not_sql(storage):
    evil = "x'); DROP TABLE rooms; --"
    make_room(storage, "qn-a", name=evil, district=evil)
    rec = _rec("qn-a", 1, "event", P.event(message=evil))
    storage.store_records("qn-a", [rec], T0)
    assert storage.room("qn-a")["name"] == evil
    assert storage.room_events("qn-a")[0]["message"] == evil
    assert storage.count("rooms") == 1


def test_sessions_and_viewers(storage):
    storage.add_viewer("op", "scrypt$hash", T0)
    storage.create_session("h1", "op", "csrf1", T0, ttl=100)
    assert storage.session("h1", T0 + 50) == ("op", "csrf1")
    assert storage.session("h1", T0 + 101) is None
    storage.set_viewer_enabled("op", False)
    assert storage.session("h1", T0 + 50) is None
