"""The outbox on its own: order, caps and drop policy, age, quarantine, persistence."""

from __future__ import annotations

import json
import sqlite3

from agent.daemon.outbox import Outbox


def make(tmp_path, **kw) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite", room_id="room-a", boot_id="boot1", **kw)


def event(n: int) -> dict:
    return {"type": "ups.on_battery", "severity": "critical", "area": "power", "message": f"e{n}", "data": {}}


def test_ids_are_room_boot_seq_and_send_order_puts_events_first(tmp_path):
    box = make(tmp_path)
    box.add("status_sample", {"area": "host", "status": {"n": 1}})
    box.add("event", event(2))
    box.add("status_sample", {"area": "host", "status": {"n": 3}})
    box.add("check_report", {"schema": "hntht.report/1"})
    batch = box.next_batch(500, 262144)
    assert [p.id for p in batch] == ["room-a/boot1/2", "room-a/boot1/4", "room-a/boot1/1", "room-a/boot1/3"]
    record = json.loads(batch[0].data)
    assert record["kind"] == "event" and record["at"].endswith("Z") and record["body"]["message"] == "e2"


def test_batches_respect_record_and_byte_limits(tmp_path):
    box = make(tmp_path)
    for i in range(50):
        box.add("status_sample", {"area": "host", "status": {"pad": "x" * 900, "i": i}})
    assert len(box.next_batch(10, 262144)) == 10
    batch = box.next_batch(500, 8192)
    total = sum(p.size + 1 for p in batch) + 200
    assert 1 <= len(batch) < 10 and total <= 8192


def test_size_cap_drops_samples_first_then_oldest_events(tmp_path):
    box = make(tmp_path, max_bytes=20_000)
    for i in range(5):
        box.add("event", event(i))
    for i in range(100):
        box.add("status_sample", {"area": "host", "status": {"pad": "y" * 300, "i": i}})
    stats = box.stats()
    assert stats.bytes <= 20_000
    assert stats.dropped > 0 and set(stats.dropped_by_kind) == {"status_sample"}
    kinds = [json.loads(p.data)["kind"] for p in box.next_batch(500, 262144)]
    assert kinds.count("event") == 5  # events survive while samples can make room
    # Only events left to drop: the oldest go.
    for i in range(5, 200):
        box.add("event", event(i) | {"data": {"pad": "z" * 300}})
    stats = box.stats()
    assert stats.dropped_by_kind.get("event", 0) > 0 and stats.bytes <= 20_000
    first = json.loads(box.next_batch(1, 262144)[0].data)
    assert first["body"]["message"] != "e0"


def test_age_cap_prunes_and_counts(tmp_path):
    import time

    box = make(tmp_path, max_age=3600)
    box.add("event", event(1), at=time.time() - 7200)
    box.add("event", event(2))
    assert box.prune() == 1
    stats = box.stats()
    assert stats.depth == 1 and stats.dropped == 1 and stats.dropped_by_kind == {"event": 1}


def test_ack_and_quarantine_persist_across_reopen(tmp_path):
    box = make(tmp_path)
    ids = [box.add("event", event(i)) for i in range(4)]
    box.ack(ids[:2])
    box.quarantine({ids[2]: "invalid_body: bad severity"})
    box.close()
    again = Outbox(tmp_path / "outbox.sqlite", room_id="room-a", boot_id="boot2")
    stats = again.stats()
    assert (stats.depth, stats.quarantined, stats.quarantined_total) == (1, 1, 1)
    assert [p.id for p in again.next_batch(500, 262144)] == [ids[3]]
    assert again.quarantined()[0]["reason"].startswith("invalid_body")
    assert again.add("event", event(9)) == "room-a/boot2/1"
    assert again.integrity_check() == "ok"


def test_record_larger_than_a_batch_is_quarantined_not_sent(tmp_path):
    box = make(tmp_path, record_max_bytes=4096)
    box.add("check_report", {"schema": "hntht.report/1", "pad": "p" * 10_000})
    box.add("event", event(1))
    assert len(box.next_batch(500, 262144)) == 1
    assert box.stats().quarantined == 1


def test_file_is_wal_and_private(tmp_path):
    box = make(tmp_path)
    box.add("event", event(1))
    mode = (tmp_path / "outbox.sqlite").stat().st_mode & 0o777
    assert mode == 0o600
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
