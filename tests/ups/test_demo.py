"""The demo's UPS: the real driver against the emulator, on a pty pair or (without socat) over socket://."""

from __future__ import annotations

import asyncio

import pytest

from agent.config import load
from agent.demo import DemoRoom
from agent.model import Status
from agent.runner import build_probes, run_checklist
from tests.ups.peers import require_root_peer


def run_demo_power():
    room = DemoRoom()
    try:
        room.start(["agent.demo.ups"])
        config = load(room.config_path)
        report = asyncio.run(run_checklist(config, build_probes(config, ["power"])))
        # drift.* (the rehearsal baseline, tests/baseline/) is not this test's subject
        return room.notes, {r.id: r.status for r in report.results if r.area != "drift"}, config.ups.megatec.port
    finally:
        room.close()


EXPECTED = {
    "power.ups_reachable": Status.PASS, "power.on_mains": Status.PASS, "power.battery_charge": Status.PASS,
    "power.runtime": Status.SKIP, "power.load": Status.PASS, "power.self_test": Status.SKIP,
    "power.alarms": Status.PASS, "power.codec_on_ups": Status.PASS,
}


def test_demo_ups_on_a_pty_pair():
    require_root_peer("socat")
    notes, statuses, port = run_demo_power()
    assert statuses == EXPECTED
    assert port.endswith("ttyAGENT") and any("socat pty pair" in n for n in notes)


def test_demo_ups_without_socat_uses_socket_url(monkeypatch):
    monkeypatch.setattr("agent.demo.ups.shutil.which", lambda name: None)
    notes, statuses, port = run_demo_power()
    assert port.startswith("socket://127.0.0.1:")
    assert statuses == EXPECTED
    assert any("socat is not installed" in n for n in notes)
