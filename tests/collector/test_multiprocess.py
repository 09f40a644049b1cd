"""Several real collector processes on one database, and the end-to-end run with real agent processes."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from collector import security
from collector.storage import open_storage

from . import payloads as P
from .conftest import make_room
from .procs import start_collector, start_room_agents


@pytest.fixture
def two_collectors(db_url, storage, tmp_path):
    procs = [start_collector(db_url, tmp_path, sweep_interval=0.1), start_collector(db_url, tmp_path, sweep_interval=0.1)]
    yield procs
    for p in procs:
        p.stop()


def test_concurrent_duplicate_posts_across_two_processes(two_collectors, storage):
    token = make_room(storage, "qn-a")
    recs = [P.record("qn-a", i, "event", P.event()) for i in range(40)]
    body = P.batch("qn-a", recs)

    def post(i):
        url = two_collectors[i % 2].url
        r = requests.post(url + "/api/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        return r.status_code, r.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(16)))
    for status, out in results:
        assert status == 200, out
        assert len(out["accepted"]) == 40 and out["rejected"] == []
    assert storage.count("records") == 40
    assert storage.count("events") == 40


def test_liveness_transitions_fire_once_with_two_processes(two_collectors, storage):
    tokens = {f"qn-{i}": make_room(storage, f"qn-{i}") for i in range(12)}
    for i, (room, token) in enumerate(tokens.items()):
        r = requests.post(two_collectors[i % 2].url + "/api/v1/heartbeat",
                          json=P.heartbeat(room, at=time.time(), interval_s=1),
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
    deadline = time.time() + 15
    while time.time() < deadline:
        if all(storage.room(r)["liveness"] == "offline" for r in tokens):
            break
        time.sleep(0.2)
    time.sleep(0.5)  # let both sweepers run a few more rounds
    for room in tokens:
        types = [e["type"] for e in storage.room_events(room)]
        assert types.count("room.offline") == 1, (room, types)
        assert types.count("room.online") == 1, (room, types)
        assert types.count("room.stale") <= 1, (room, types)


def test_end_to_end_two_agents_to_a_collector_process(db_url, storage, tmp_path):
    tokens = {"qn-hoanhbo": make_room(storage, "qn-hoanhbo", name="UBND huyện Hoành Bồ", level="district",
                                      district="Hoành Bồ"),
              "qn-bangca": make_room(storage, "qn-bangca", name="UBND xã Bằng Cả", level="commune",
                                     district="Hạ Long")}
    storage.add_viewer("op", security.hash_password("operator-pass-1"), 0)
    collector = start_collector(db_url, tmp_path, sweep_interval=0.5)
    try:
        agents = start_room_agents(collector.url, tokens, tmp_path, heartbeats=5, interval=0.2)
        for a in agents:
            a.popen.wait(60)
            out = a.log_path.read_text()
            assert a.popen.returncode == 0, out
            summary = json.loads(out.strip().splitlines()[-1])
            assert summary["heartbeats"] == 5 and summary["acked"] == 7, summary
        rooms = requests.get(collector.url + "/api/v1/rooms", auth=("op", "operator-pass-1"), timeout=10).json()["rooms"]
        by_id = {r["room_id"]: r for r in rooms}
        assert set(by_id) == set(tokens)
        for r in by_id.values():
            assert r["liveness"] == "online"
            assert r["readiness"] == "not_ready"
            assert {"on_battery", "overall_fail"} <= {p["code"] for p in r["problems"]}
            assert r["failing_checks"][0]["id"] == "network.mcu.loss"
        assert storage.count("records") == 14  # 7 per room, each stored once despite resends
    finally:
        log = collector.stop()
    for token in tokens.values():
        assert token not in log and token.split(".")[2] not in log, "a room token leaked into the collector log"
    assert "POST /api/v1/heartbeat" in log  # the access log was on, and still no token


def test_t20_alert_fires_once_with_two_processes(two_collectors, storage):
    """Both processes sweep meetings every 0.1 s: a room not in a call 20 minutes before the start gets
    exactly one alert and one `meeting.not_connected` event; a room in a call gets none."""
    tokens = {r: make_room(storage, r) for r in ("qn-chair", "qn-idle", "qn-busy")}

    def beat(i, room, token):
        hb = P.heartbeat(room, at=time.time())
        hb["live"]["codec"]["in_call"] = room != "qn-idle"
        r = requests.post(two_collectors[i % 2].url + "/api/v1/heartbeat", json=hb,
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
        return r.json()["schedule"]["meetings"]

    for i, (room, token) in enumerate(tokens.items()):
        assert beat(i, room, token) == []
    now = time.time()
    storage.upsert_meeting({"meeting_id": "m-t20", "title": "Họp thử T-20", "chair_room_id": "qn-chair",
                            "room_ids": ["qn-chair", "qn-idle", "qn-busy"], "start_at": now + 19 * 60,
                            "end_at": now + 80 * 60, "rehearsal_at": None, "emergency": False}, "test", now)
    for i, (room, token) in enumerate(tokens.items()):  # the change reaches both processes' caches
        assert [m["id"] for m in beat(i + 1, room, token)] == ["m-t20"]
    deadline = time.time() + 10
    while time.time() < deadline and not storage.alerts(open_only=True):
        time.sleep(0.1)
    time.sleep(0.6)  # several more rounds of both sweepers
    alerts = storage.alerts(open_only=True)
    assert [(a["room_id"], a["kind"], a["ref"]) for a in alerts] == [("qn-idle", "not_connected", "m-t20")]
    for room in tokens:
        types = [e["type"] for e in storage.room_events(room)]
        assert types.count("meeting.not_connected") == (1 if room == "qn-idle" else 0), (room, types)
