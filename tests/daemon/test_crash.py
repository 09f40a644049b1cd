"""kill -9 at random moments (also mid-write): the outbox stays sound and every committed record
reaches the collector exactly once (ids make resends harmless; nothing committed is lost)."""

from __future__ import annotations

import random
import sqlite3
import time

from tests.daemon.conftest import write_config

KILLS = 50


def pending_ids(db_path) -> tuple[str, set[str]]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        ids = {row[0] for row in db.execute("SELECT id FROM records")}
    finally:
        db.close()
    return check, ids


def test_kill_9_fifty_times(tmp_path, pki, peer, mcu_port, daemons):
    rng = random.Random(20250512)
    config = write_config(tmp_path / "room", url=peer.url, ca=pki["ca"], mcu_port=mcu_port, extra={
        "daemon": {"network_interval": "100ms", "host_interval": "100ms"},
        "collector": {"heartbeat_interval": "1s", "backoff_max": "300ms", "backoff_base": "50ms"},
    })
    db = tmp_path / "room" / "state" / "outbox.sqlite"
    committed: set[str] = set()
    started = time.monotonic()
    for i in range(KILLS):
        # Every third life the collector is "down" (503), so a backlog builds and acks race the kill.
        peer.always = None if i % 3 else __import__("tests.daemon.collector_peer", fromlist=["Fault"]).Fault(503)
        # Odd lives die at a random moment from spawn (start-up, opening the outbox, the first writes);
        # even ones at a random moment after the service is up, so on a loaded machine, where start-up
        # alone can outlast the random delay, most lives still die mid-work and not only mid-start.
        if i % 2:
            d = daemons(config, wait=False)
            time.sleep(rng.uniform(0.5, 1.3))
        else:
            d = daemons(config)
            time.sleep(rng.uniform(0.2, 1.0))
        d.kill()
        assert d.proc.returncode == -9
        if db.exists():
            check, ids = pending_ids(db)
            assert check == "ok", f"integrity_check after kill {i + 1}: {check}"
            committed |= ids
    peer.always = None
    # One last clean life drains the outbox.
    d = daemons(config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        check, ids = pending_ids(db)
        if not ids:
            break
        committed |= ids
        time.sleep(0.2)
    assert d.terminate() == 0
    check, ids = pending_ids(db)
    assert check == "ok" and not ids
    elapsed = time.monotonic() - started

    stored = set(peer.stored)
    assert committed, "the daemon never committed anything: the test proved nothing"
    lost = committed - stored
    assert not lost, f"{len(lost)} committed records never reached the collector, e.g. {sorted(lost)[:3]}"
    assert len(peer.order) == len(stored)  # stored once each, however often delivered
    # Per boot, committed sequence numbers are 1..n without holes: nothing committed was lost
    # even if it was never seen pending at a kill.
    by_boot: dict[str, list[int]] = {}
    for rid in stored:
        _room, boot, seq = rid.split("/")
        by_boot.setdefault(boot, []).append(int(seq))
    assert len(by_boot) >= KILLS // 2
    for boot, seqs in by_boot.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"hole in boot {boot}"
    print(f"{KILLS} kills in {elapsed:.1f}s: {len(stored)} records stored once, "
          f"{len(peer.deliveries) - len(stored)} duplicate deliveries absorbed by ids")
