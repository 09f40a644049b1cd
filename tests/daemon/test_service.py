"""The service as a process: `check` through the control socket (and standalone when it does not
run), `status`, the Prometheus textfile, canary secrets, and the real collector."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from agent.daemon.control import peer_allowed
from tests.daemon.conftest import ROOM, TOKEN, write_config
from tests.helpers import REPO


def cli(*args, timeout=40):
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_check_uses_the_service_then_standalone_and_status(tmp_path, pki, peer, mcu_port, daemons):
    prom = tmp_path / "textfile" / "hntht_agent.prom"
    prom.parent.mkdir()
    config = write_config(tmp_path / "room", url=peer.url, ca=pki["ca"], mcu_port=mcu_port,
                          extra={"daemon": {"prometheus_textfile": str(prom)}})
    d = daemons(config)
    time.sleep(2.5)
    via = cli("check", "--json", "-c", str(config))
    report = json.loads(via.stdout)
    assert report["mode"] == "service" and via.returncode in (0, 1, 2)
    assert {c["id"] for c in report["checks"]} >= {"network.link", "host.clock", "codec.reachable"}
    text = cli("check", "--lang", "en", "-c", str(config))
    assert "(service)" in text.stdout and text.returncode == via.returncode
    # The report reached the collector as a check_report record.
    assert peer.wait_for(lambda p: "check_report" in p.kinds(), 10)

    status = cli("status", "--json", "-c", str(config))
    snap = json.loads(status.stdout)
    assert status.returncode == 0 and snap["running"] is True
    assert snap["probes"]["host"]["runs"] >= 2 and snap["probes"]["host"]["age_s"] < 5
    assert snap["probes"]["codec"]["enabled"] is False
    assert snap["push"]["last_push_at"] and snap["push"]["last_answer"]["outcome"] == "ok"
    assert {"depth", "oldest_at", "dropped", "quarantined"} <= set(snap["outbox"])
    human = cli("status", "--lang", "en", "-c", str(config))
    assert "Service running" in human.stdout and "Outbox:" in human.stdout

    # Heartbeats carry the live state the protocol asks for.
    hb = peer.heartbeats[-1]
    assert hb["room_id"] == ROOM and hb["areas"]["codec"] == "skip" and hb["areas"]["host"] in (
        "pass", "warn", "fail")
    assert hb["outbox"]["depth"] >= 0 and hb["seq"] >= 2 and hb["clock"]["offset_ms"] is not None

    text_prom = prom.read_text()
    assert 'hntht_agent_up{room_id="qn-test-phong"' in text_prom
    assert "hntht_agent_outbox_depth" in text_prom and "hntht_agent_probe_last_run_timestamp_seconds" in text_prom

    assert d.terminate() == 0
    alone = cli("check", "--json", "-c", str(config))
    assert json.loads(alone.stdout)["mode"] == "standalone"
    stopped = cli("status", "-c", str(config))
    assert stopped.returncode == 3 and "KHÔNG chạy" in stopped.stdout

    # Canary: the room token appears in no output, log, file or pushed body.
    outputs = [via.stdout, via.stderr, text.stdout, status.stdout, human.stdout, alone.stdout, stopped.stdout,
               d.output(), text_prom, (tmp_path / "room" / "state" / "status.json").read_text()]
    outputs += [b.decode("utf-8", "replace") for b in peer.bodies]
    outputs.append((tmp_path / "room" / "state" / "outbox.sqlite").read_bytes().decode("latin-1"))
    assert not [o for o in outputs if TOKEN in o]


def test_canary_stays_secret_when_the_collector_refuses_it(tmp_path, pki, mcu_port, daemons):
    from tests.daemon.collector_peer import CollectorPeer

    with CollectorPeer({"another-token": ROOM}, tls=(pki["server_cert"], pki["server_key"])) as peer:
        config = write_config(tmp_path / "room", url=peer.url, ca=pki["ca"], mcu_port=mcu_port)
        d = daemons(config)
        assert peer.wait_for(lambda p: len(p.requests) >= 1, 10)
        time.sleep(0.5)
        status = cli("status", "--json", "-c", str(config))
        d.terminate()
    snap = json.loads(status.stdout)
    assert any(a.startswith("collector_auth: HTTP 401") for a in snap["alarms"])
    assert "collector_auth_refused" in d.output()
    assert TOKEN not in d.output() and TOKEN not in status.stdout


def test_control_socket_peer_rules():
    import os

    assert peer_allowed(1, 0, 0, "hntht")  # root
    assert peer_allowed(1, os.geteuid(), 12345, "no-such-group-xyz")  # the service's own user
    assert not peer_allowed(1, 65534, 65534, "no-such-group-xyz")  # nobody, no group configured


def test_against_the_real_collector(tmp_path, mcu_port, daemons):
    from collector.embedded import start_embedded

    handle = start_embedded(str(tmp_path / "collector.db"))
    try:
        token = handle.add_room(ROOM, "Phòng thử", "commune", district="Hạ Long")
        config = write_config(tmp_path / "room", url=handle.url, ca=None, mcu_port=mcu_port, token=token)
        d = daemons(config)
        check = cli("check", "--json", "-c", str(config))
        assert json.loads(check.stdout)["mode"] == "service"
        storage = handle._storage
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (storage.latest_report(ROOM) and storage.count("events")):
            time.sleep(0.2)
        room = storage.room(ROOM)
        report = storage.latest_report(ROOM)
        assert report and report["report"]["mode"] == "service"
        assert room is not None and storage.count("records") >= 3
        assert any(e["source"] != "collector" for e in storage.room_events(ROOM))
        status = json.loads(cli("status", "--json", "-c", str(config)).stdout)
        assert status["outbox"]["quarantined"] == 0, status["quarantined_recent"]
        assert status["push"]["last_answer"]["outcome"] == "ok"
        assert d.terminate() == 0
    finally:
        handle.stop()
