"""NetworkProbe's own logic without a network: deadlines and how ping failures become items."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from icmplib.exceptions import ICMPSocketError, SocketPermissionError

from agent.config.schema import Duration
from agent.config.sections.network import NetworkSection, Target
from agent.probes import network as net_probe
from agent.probes.ping import IcmpDenied


def probe(budget=15.0, **section):
    targets = section.pop("target", [Target(name="gateway", host="auto")])
    config = SimpleNamespace(network=NetworkSection(target=targets, **section), check=SimpleNamespace(budget=Duration(budget)))
    return net_probe.NetworkProbe(config)


def test_deadline_from_the_ping_run_and_tcp_timeouts():
    # 9 x 0.2 + 1.0 = 2.8 s of ping, DNS 2 s, 1 s spare
    assert probe().deadline() == pytest.approx(2.8 + 2.0 + 1.0)
    slow_tcp = [Target(name="mcu", host="10.99.2.2", tcp_ports=[1720], tcp_timeout=Duration(10.0))]
    assert probe(target=slow_tcp).deadline() == pytest.approx(10.0 + 2.0 + 1.0)
    assert probe(budget=3.0, target=slow_tcp).deadline() == 3.0  # never past the checklist budget


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (IcmpDenied(), "icmp-denied"),
        (ICMPSocketError("recv failed"), "ICMPSocketError: recv failed"),
        (SocketPermissionError(False), "SocketPermissionError"),
        (OSError(101, "Network is unreachable"), "OSError: [Errno 101] Network is unreachable"),
    ],
)
def test_ping_failures_become_the_targets_item(monkeypatch, error, expected):
    async def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(net_probe, "ping", failing)
    p = probe()
    p._stop_at = float("inf")
    got = asyncio.run(p._ping("10.99.1.254"))
    assert isinstance(got, str) and got.startswith(expected)


def test_ping_is_skipped_when_no_time_is_left(monkeypatch):
    called = []

    async def never(*args, **kwargs):
        called.append(args)

    monkeypatch.setattr(net_probe, "ping", never)
    p = probe()
    p._stop_at = 0.0  # long past
    assert "no time left" in asyncio.run(p._ping("10.99.1.254"))
    assert not called
