"""sd_notify against a real AF_UNIX datagram socket: READY, WATCHDOG, STATUS, RELOADING, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from agent.daemon.notify import Notifier, watchdog_interval
from tests.daemon.conftest import write_config


@pytest.fixture()
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def drain(sock, seconds: float) -> list[dict[str, str]]:
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            continue
        out.append(dict(line.split("=", 1) for line in data.splitlines()))
    return out


def test_notifier_path_abstract_and_absent(notify_socket, monkeypatch):
    path, sock = notify_socket
    n = Notifier(str(path))
    assert n.send(READY=1, STATUS="two\nlines")
    assert sock.recv(100) == b"READY=1\nSTATUS=two lines"  # a newline cannot forge a field
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract.bind(f"\0hntht-test-{os.getpid()}")
    try:
        assert Notifier(f"@hntht-test-{os.getpid()}").send(WATCHDOG=1)
        assert abstract.recv(100) == b"WATCHDOG=1"
    finally:
        abstract.close()
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert Notifier().send(READY=1) is False
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval() is None


def test_service_lifecycle_over_notify_socket(tmp_path, notify_socket, pki, peer, mcu_port, daemons):
    path, sock = notify_socket
    config = write_config(tmp_path / "room", url=peer.url, ca=pki["ca"], mcu_port=mcu_port)
    d = daemons(config, env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
    messages = drain(sock, 2.0)
    assert messages[0].get("READY") == "1" and "STATUS" in messages[0]
    assert int(messages[0]["MAINPID"]) == d.proc.pid
    pings = [m for m in messages if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 5  # every 0.2 s (half of WATCHDOG_USEC)
    assert any("outbox" in m.get("STATUS", "") for m in messages[1:])

    # SIGHUP with a broken file: refused, old config kept, still alive and pinging.
    good = config.read_text()
    config.write_text(good.replace('[daemon]', '[daemon]\nnetwork_intervall = "1s"'))
    d.proc.send_signal(signal.SIGHUP)
    messages = drain(sock, 1.0)
    assert any(m.get("RELOADING") == "1" for m in messages)
    assert any("reload refused" in m.get("STATUS", "") for m in messages)
    assert any(m.get("WATCHDOG") == "1" for m in messages) and d.proc.poll() is None
    assert "reload_refused_keeping_old_config" in d.output() and "network_interval" in d.output()

    # SIGHUP with a good file: reloaded.
    config.write_text(good.replace('host_interval = "1s"', 'host_interval = "2s"'))
    d.proc.send_signal(signal.SIGHUP)
    messages = drain(sock, 1.0)
    assert any(m.get("READY") == "1" for m in messages)
    assert "config_reloaded" in d.output()

    d.proc.send_signal(signal.SIGTERM)
    messages = drain(sock, 1.5)
    assert any(m.get("STOPPING") == "1" for m in messages)
    assert d.proc.wait(10) == 0
