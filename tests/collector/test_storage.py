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
    assert storage.session("h1", T0 + 50) == ("op", "csrf1", "viewer")
    assert storage.session("h1", T0 + 101) is None
    storage.set_viewer_role("op", "operator")
    assert storage.session("h1", T0 + 50)[2] == "operator"
    storage.set_viewer_enabled("op", False)
    assert storage.session("h1", T0 + 50) is None


def test_failed_login_counters_fixed_window(storage):
    limits = {"user:op": 2, "client:10.0.0.1": 3}
    assert storage.login_blocked(limits, 900, T0) == 0
    storage.login_failed(list(limits), 900, T0)
    storage.login_failed(list(limits), 900, T0 + 10)
    assert storage.login_blocked(limits, 900, T0 + 20) == pytest.approx(880)
    assert storage.login_blocked({"client:10.0.0.1": 3}, 900, T0 + 20) == 0
    assert storage.login_blocked(limits, 900, T0 + 900) == 0          # window over
    storage.login_failed(["user:op"], 900, T0 + 1000)                 # a new window starts at 1
    assert storage.login_blocked(limits, 900, T0 + 1000) == 0
    storage.login_succeeded("user:op")
    assert storage.count("login_failures") == 1


def test_prune_keeps_recent_data_and_the_latest_report(storage):
    make_room(storage, "qn-a")
    day = 86400.0
    old, new = T0 - 500 * day, T0 - 10 * day
    storage.store_records("qn-a", [_rec("qn-a", 1, "check_report", P.report("qn-a", at=old), at=old)], old)
    storage.store_records("qn-a", [_rec("qn-a", 2, "event", P.event(), at=old),
                                   _rec("qn-a", 3, "status_sample", {"area": "power", "status": {}}, at=old)], old)
    storage.store_records("qn-a", [_rec("qn-a", 4, "event", P.event(), at=new),
                                   _rec("qn-a", 5, "status_sample", {"area": "power", "status": {}}, at=new)], new)
    storage.add_viewer("op", "scrypt$x", T0)
    storage.create_session("live", "op", "c", T0, ttl=3600)
    storage.create_session("gone", "op", "c", T0 - 2 * day, ttl=3600)  # expired long before T0
    storage.login_failed(["user:op"], 900, T0 - day)
    assert storage.count("records") == 5 and storage.count("events") == 2

    removed = storage.prune(T0, records_days=400, events_days=400, login_window_s=900)
    assert removed == {"records": 2, "events": 1, "sessions": 1, "login_failures": 1}
    # The only check report is old but is still the room's latest: it stays, and the board shows it.
    assert storage.latest_report("qn-a")["record_id"] == "qn-a/boot-1/1"
    assert storage.count("records") == 3 and storage.count("events") == 1
    assert storage.session("live", T0 + 1) == ("op", "c", "viewer")
    assert [e["at"] for e in storage.room_events("qn-a")] == [new]
    # 0 keeps forever; a second run finds nothing more.
    assert storage.prune(T0 + 1000 * day, records_days=0, events_days=0)["records"] == 0
    assert storage.count("records") == 3 and storage.count("events") == 1


def test_prune_in_chunks(storage, monkeypatch):
    make_room(storage, "qn-a")
    monkeypatch.setattr(type(storage), "_PRUNE_CHUNK", 7)
    recs = [_rec("qn-a", i, "status_sample", {"area": "power", "status": {}}) for i in range(30)]
    storage.store_records("qn-a", recs, T0)
    assert storage.prune(T0 + 10 * 86400, records_days=1, events_days=1)["records"] == 30
    assert storage.count("records") == 0


def test_prune_command(storage, db_url):
    import os
    import subprocess
    import sys

    from .procs import REPO

    make_room(storage, "qn-a")
    storage.store_records("qn-a", [_rec("qn-a", 1, "event", P.event()),
                                   _rec("qn-a", 2, "status_sample", {"area": "power", "status": {}})], T0)
    env = dict(os.environ, HNTHT_COLLECTOR_DB=db_url, HNTHT_COLLECTOR_RETENTION_RECORDS_DAYS="30",
               HNTHT_COLLECTOR_RETENTION_EVENTS_DAYS="0", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "collector", "prune"], env=env, cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "removed 2 record(s) (older than 30 days), 0 event(s) (kept forever)" in r.stdout
    assert storage.count("records") == 0 and storage.count("events") == 1


def test_coalesced_heartbeats_one_statement_same_rules(db_url, backend):
    """Many concurrent fast-path heartbeats (PostgreSQL writes them together): each is applied exactly when
    its own conditions hold: room online, token id and hash current, room enabled, within the rate limit."""
    import asyncio

    st = open_storage(db_url)
    st.migrate()
    try:
        tokens = {f"qn-{i}": make_room(st, f"qn-{i}") for i in range(30)}
        hashes = {}
        for room, token in tokens.items():
            hb = P.heartbeat(room)
            st.record_heartbeat(room, hb, json.dumps(hb), T0, now=T0)  # online
            auth = st.authenticate(token.split(".")[1], window=1)
            hashes[room] = auth.token_hash
        st.set_room_enabled("qn-3", False)
        st.rotate_token("qn-4", "other", "00" * 16, "ab" * 32, T0)

        async def main():
            await st.open_async()
            try:
                async def one(room, n, limit=100, token_hash=None):
                    hb = P.heartbeat(room, seq=n)
                    return await st.heartbeat_fast_async(room, tokens[room].split(".")[1], token_hash or hashes[room],
                                                         1, limit, hb, json.dumps(hb), T0 + n, T0 + n)
                jobs = [one(room, n) for n in range(1, 3) for room in tokens]
                jobs.append(one("qn-5", 3, limit=2))   # 1 (authenticate) + 2 above = 3: over a limit of 2
                jobs.append(one("qn-6", 3, token_hash="ff" * 32))  # a hash the room does not have
                return await asyncio.gather(*jobs)
            finally:
                await st.close_async()

        results = asyncio.run(main())
        by_room: dict[str, list[bool]] = {}
        for (room, _n), ok in zip([(r, n) for n in range(1, 3) for r in tokens] + [("qn-5", 3), ("qn-6", 3)], results):
            by_room.setdefault(room, []).append(ok is not None)  # the schedule version when applied
            assert ok is None or ok == st.schedule_version()
        assert by_room["qn-3"] == [False, False] and by_room["qn-4"] == [False, False]
        assert by_room["qn-5"] == [True, True, False] and by_room["qn-6"] == [True, True, False]
        for room in tokens:
            if room not in ("qn-3", "qn-4", "qn-5", "qn-6"):
                assert by_room[room] == [True, True], room
                # Both applied and counted for the rate limit; the coalescer keeps arrival order (threads
                # on SQLite race, as two concurrent requests always could).
                assert st.room(room)["heartbeat"]["seq"] == 2 or backend == "sqlite"
                assert st.authenticate(tokens[room].split(".")[1], window=1).request_count == 4
        assert st.room("qn-3")["heartbeat"]["seq"] == 1
    finally:
        st.close()


def _meeting(mid, rooms, start=1_800_000_000.0):
    return {"meeting_id": mid, "title": f"Họp {mid}", "chair_room_id": rooms[0], "room_ids": rooms,
            "start_at": start, "end_at": start + 3600, "rehearsal_at": None, "emergency": False}


def test_meeting_import_is_one_transaction(storage, monkeypatch):
    """A CSV import stores all its meetings or none: an unknown room or a database failure on the third
    meeting leaves the first two unstored and the schedule version unchanged (both backends)."""
    make_room(storage, "qn-a")
    make_room(storage, "qn-b")
    version = storage.schedule_version()
    good = [_meeting("m1", ["qn-a", "qn-b"]), _meeting("m2", ["qn-b"])]
    with pytest.raises(UnknownRoom):
        storage.upsert_meetings(good + [_meeting("m3", ["qn-a", "qn-khongco"])], "op", 0.0)
    assert storage.count("meetings") == 0 and storage.schedule_version() == version

    original = type(storage)._upsert_meeting_in
    calls = []

    def failing(self, tx, m, by, now):
        calls.append(m["meeting_id"])
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return original(self, tx, m, by, now)

    monkeypatch.setattr(type(storage), "_upsert_meeting_in", failing)
    with pytest.raises(RuntimeError):
        storage.upsert_meetings(good + [_meeting("m3", ["qn-a"])], "op", 0.0)
    assert storage.count("meetings") == 0 and storage.schedule_version() == version
    monkeypatch.setattr(type(storage), "_upsert_meeting_in", original)
    assert storage.upsert_meetings(good, "op", 0.0) == [True, True]
    assert storage.count("meetings") == 2 and storage.schedule_version() == version + 1
    assert storage.upsert_meetings(good, "op", 1.0) == [False, False]
