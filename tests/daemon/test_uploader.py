"""The uploader against a real HTTPS collector peer: outages, storms, auth, size, slowness, TLS."""

from __future__ import annotations

import json
import random
import time

import pytest

from agent.config import load_dict
from agent.daemon.outbox import Outbox
from agent.daemon.uploader import Uploader, backoff_delay, classify, parse_retry_after
from tests.daemon.collector_peer import CollectorPeer, Fault
from tests.daemon.conftest import ROOM, TOKEN


def config_for(tmp_path, url, ca, token=TOKEN, **collector):
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    section = {"url": url, "token_file": str(token_file), "ca_file": str(ca), "timeout": "2s",
               "connect_timeout": "1s", "backoff_base": "50ms", "backoff_max": "500ms"}
    section.update(collector)
    return load_dict({"agent": {"room_id": ROOM, "state_dir": str(tmp_path / "state")}, "collector": section})


def heartbeat_factory(outbox, seq=[0]):
    def build():
        seq[0] += 1
        return {"schema": "hntht.heartbeat/1", "room_id": ROOM, "agent_version": "0.1.0", "boot_id": "boot1",
                "seq": seq[0], "sent_at": "2025-05-12T01:30:00Z", "uptime_s": 1.0, "overall": "pass",
                "areas": {"host": "pass"}, "live": {}, "outbox": outbox.stats().heartbeat(), "last_push_at": None,
                "clock": {"ntp_synchronized": None, "offset_ms": None}}
    return build


def fill(outbox, n_events=20, n_samples=200):
    for i in range(n_samples):
        outbox.add("status_sample", {"area": "host", "status": {"i": i, "pad": "s" * 200}})
        if i % (n_samples // n_events) == 0:
            outbox.add("event", {"type": "check.changed", "severity": "info", "area": "host",
                                 "message": f"e{i}", "data": {}})


RUNNING: list[Uploader] = []


@pytest.fixture()
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite", room_id=ROOM, boot_id="boot1")
    yield box
    while RUNNING:
        RUNNING.pop().stop(0.5)
    box.close()


def start(config, outbox):
    up = Uploader(config, outbox, heartbeat_factory(outbox), rng=random.Random(7))
    up.heartbeat_due()
    up.start()
    RUNNING.append(up)
    return up


def test_classification_and_backoff_bounds():
    assert [classify(s) for s in (200, 202, 401, 403, 400, 413, 422, 408, 429, 500, 503, 404)] == \
        ["ok", "ok", "auth", "auth", "reject", "reject", "reject", "retry", "retry", "retry", "retry", "retry"]
    assert parse_retry_after("7") == 7.0 and parse_retry_after(None) is None
    rng = random.Random(1)
    delays = [backoff_delay(n, 2.0, 300.0, rng) for n in range(20) for _ in range(50)]
    assert max(delays) <= 300.0 and min(delays) >= 0.0
    assert max(backoff_delay(12, 2.0, 300.0, rng) for _ in range(200)) > 200  # full jitter reaches the cap


def test_down_then_back_nothing_lost_nothing_duplicated_in_order(tmp_path, pki, outbox):
    from tests.helpers import free_port

    port = free_port()
    config = config_for(tmp_path, f"https://localhost:{port}", pki["ca"])
    fill(outbox)
    ids = [p.id for p in outbox.next_batch(500, 10**9)]
    up = start(config, outbox)
    time.sleep(1.5)  # nothing listens: connection refused, backoff
    assert up.state.failures >= 2 and outbox.stats().depth == len(ids) == 220
    with CollectorPeer({TOKEN: ROOM}, tls=(pki["server_cert"], pki["server_key"]), port=port) as peer:
        up.wake()
        assert peer.wait_for(lambda p: len(p.stored) == len(ids), 15)
        up.stop(2)
        assert peer.order == ids  # events first, then samples, oldest first in each
        assert len(peer.deliveries) == len(set(peer.deliveries))
        assert peer.heartbeats and peer.requests[0][1] == "/api/v1/heartbeat"  # latest heartbeat first
        assert all(len(json.loads(b).get("records", [])) <= 500 for b in peer.bodies)
    assert outbox.stats().depth == 0 and up.state.last_push_at is not None
    assert up.state.clock_offset_ms is not None and abs(up.state.clock_offset_ms) < 1000


def test_5xx_storm_with_retry_after_then_delivery(tmp_path, pki, outbox, peer):
    fill(outbox, 5, 50)
    peer.always = Fault(503, headers={"Retry-After": "1"})
    up = start(config_for(tmp_path, peer.url, pki["ca"]), outbox)
    time.sleep(3.2)
    storm = [t for t, _, s in peer.requests if s == 503]
    assert 2 <= len(storm) <= 4  # honours Retry-After (>= 1 s apart), not a hot loop
    assert all(b - a >= 0.99 for a, b in zip(storm, storm[1:]))
    peer.always = None
    assert peer.wait_for(lambda p: len(p.stored) == 55, 10)
    up.stop(2)
    assert outbox.stats().depth == 0 and len(set(peer.deliveries)) == 55


def test_401_keeps_everything_and_raises_the_alarm(tmp_path, pki, outbox, peer):
    fill(outbox, 2, 20)
    up = start(config_for(tmp_path, peer.url, pki["ca"], token="not-the-room-token", backoff_max="10s"), outbox)
    assert peer.wait_for(lambda p: len(p.requests) >= 1, 5)
    time.sleep(1.0)
    assert up.state.auth_alarm and "401" in up.state.auth_alarm
    assert outbox.stats().depth == 22 and outbox.stats().quarantined == 0
    assert up.state.next_attempt_in >= 4.0  # retried slowly (half the cap at least)
    assert len(peer.requests) == 1 and peer.requests[0][1] == "/api/v1/heartbeat"
    up.stop(1)


def test_413_splits_and_bad_records_are_quarantined_without_blocking(tmp_path, pki, outbox, peer):
    fill(outbox, 4, 40)
    bad = outbox.add("event", {"type": "ups.on_battery", "severity": "urgent", "message": "x"})  # not in enum
    peer.faults.append(Fault(413, endpoint="/api/v1/records"))
    peer.faults.append(Fault(422, endpoint="/api/v1/records"))
    up = start(config_for(tmp_path, peer.url, pki["ca"]), outbox)
    assert peer.wait_for(lambda p: len(p.stored) == 44, 10)
    time.sleep(0.3)
    up.stop(1)
    stats = outbox.stats()
    assert stats.depth == 0 and stats.quarantined == 1
    assert outbox.quarantined()[0]["id"] == bad and "invalid_body" in outbox.quarantined()[0]["reason"]
    assert bad not in peer.stored


def test_slow_collector_times_out_then_no_duplicate_storage(tmp_path, pki, outbox, peer):
    fill(outbox, 2, 20)
    peer.delay = 3.0  # longer than the 1 s read timeout
    up = start(config_for(tmp_path, peer.url, pki["ca"], timeout="1s"), outbox)
    time.sleep(2.5)
    assert up.state.last_answer is not None and up.state.last_answer.outcome == "retry"
    peer.delay = 0.0
    assert peer.wait_for(lambda p: len(p.stored) == 22 and outbox.stats().depth == 0, 15)
    up.stop(1)
    assert len(peer.stored) == 22  # resends after timeouts were stored once


def test_wrong_ca_is_refused_and_records_kept(tmp_path, pki, outbox, peer):
    fill(outbox, 1, 10)
    up = start(config_for(tmp_path, peer.url, pki["other_ca"]), outbox)
    time.sleep(1.0)
    up.stop(1)
    assert not peer.stored and not peer.heartbeats
    assert up.state.tls_alarm and "CERTIFICATE_VERIFY_FAILED" in up.state.tls_alarm
    assert outbox.stats().depth == 11


def test_mutual_tls_client_certificate(tmp_path, pki, outbox):
    with CollectorPeer({TOKEN: ROOM}, tls=(pki["server_cert"], pki["server_key"]), client_ca=pki["ca"]) as peer:
        fill(outbox, 1, 10)
        without = start(config_for(tmp_path, peer.url, pki["ca"]), outbox)
        time.sleep(0.8)
        without.stop(1)
        assert not peer.stored
        up = start(config_for(tmp_path, peer.url, pki["ca"], client_cert_file=str(pki["client_cert"]),
                              client_key_file=str(pki["client_key"])), outbox)
        assert peer.wait_for(lambda p: len(p.stored) == 11, 10)
        up.stop(1)
