"""A probe that hangs forever: the others keep their schedule, the watchdog keeps being fed,
the hung probe is reported (in status, the heartbeat and the checklist)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from agent import config as config_mod
from agent.daemon import scheduler
from agent.daemon.notify import Notifier
from agent.model import CheckResult, Status
from agent.i18n import Text
from agent.probes import Probe
from tests.daemon.conftest import write_config


class HangsInThread(Probe):
    """Blocks in device I/O that never returns (cancellable: the deadline cuts it)."""

    name = "codec"
    primary_check = "codec.reachable"

    def deadline(self) -> float:
        return 0.5

    async def collect(self):
        return await self.in_thread(time.sleep, 10_000)

    def evaluate(self, status):
        return [CheckResult("codec.reachable", Status.PASS, Text("x"))]


class IgnoresCancellation(Probe):
    """Swallows cancellation: only the scheduler's abandon-and-report saves the others."""

    name = "power"
    primary_check = "power.ups_reachable"

    def deadline(self) -> float:
        return 0.3

    async def collect(self):
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    def evaluate(self, status):
        return []


def test_hung_probes_do_not_stall_the_service(tmp_path, pki, peer, mcu_port, monkeypatch):
    monkeypatch.setattr(scheduler, "HUNG_GRACE", 0.5)
    real_build = scheduler.build_probes

    def build(config, only=None):
        probes = real_build(config, ["network", "host"])
        return probes + [HangsInThread(config), IgnoresCancellation(config)]

    monkeypatch.setattr(scheduler, "build_probes", build)
    path = write_config(tmp_path / "room", url=peer.url, ca=pki["ca"], mcu_port=mcu_port, extra={
        "daemon": {"codec_interval": "1s", "power_interval": "1s", "host_interval": "500ms",
                   "network_interval": "500ms"}})
    config = config_mod.load(path)
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(0.2)
    received: list[bytes] = []
    done = threading.Event()

    def read():  # like systemd: always reading
        while not done.is_set():
            try:
                received.append(listener.recv(200))
            except socket.timeout:
                pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    service = scheduler.Service(config, notifier=Notifier(str(notify)))

    seen = {}

    async def observe():
        await asyncio.sleep(5.0)
        seen["snap"] = service.snapshot()
        seen["report"] = await asyncio.wait_for(service.checklist(), timeout=float(config.check.budget) + 1)
        service.stopping.set()

    original_run = service.run

    async def run_and_observe():
        watcher = asyncio.create_task(observe())
        code = await original_run()
        await watcher
        return code

    service.run = run_and_observe
    started = time.monotonic()
    try:
        assert scheduler.run_service(service) == 0
        assert time.monotonic() - started < 20  # the stuck probe did not hold up the exit
        snap, report = seen["snap"], seen["report"]
    finally:
        done.set()
        reader.join(2)
        listener.close()
    pings = sum(m.count(b"WATCHDOG=1") for m in received)

    probes = snap["probes"]
    # The healthy probes kept their schedule: ~10 runs in 5 s at 500 ms.
    assert probes["host"]["runs"] >= 7 and probes["network"]["runs"] >= 7
    assert probes["host"]["skipped"] == 0
    # Cancellable hang: cut by the deadline each time, reported as timeouts.
    assert probes["codec"]["timeouts"] >= 3 and probes["codec"]["ok"] is False
    # Cancellation-proof hang: abandoned once, reported hung, later ticks skipped and counted.
    assert probes["power"]["hung"] is True and probes["power"]["skipped"] >= 2
    assert "probe_hung: power" in snap["alarms"]
    assert pings >= 15  # watchdog fed every 100 ms throughout
    by_id = {r.id: r for r in report.results}
    assert by_id["power.ups_reachable"].status is Status.ERROR
    assert by_id["codec.reachable"].status is Status.ERROR
    assert report.duration_ms < float(config.check.budget) * 1000 + 500
    assert any(hb.get("alarms") and "probe_hung: power" in hb["alarms"] for hb in peer.heartbeats)
