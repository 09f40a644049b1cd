"""Fixtures of the service tests: a throwaway PKI, the collector peer, configs and daemon processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.collector_peer import CollectorPeer, make_pki
from tests.helpers import REPO

ROOM = "qn-test-phong"
TOKEN = "tok-CANARY-7f3a9c1e5b2d4a6f8e0c"  # a canary: must never appear in any output


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture()
def peer(pki):
    with CollectorPeer({TOKEN: ROOM}, tls=(pki["server_cert"], pki["server_key"])) as p:
        yield p


class Tcp:
    """A loopback TCP listener standing for the MCU's H.323 port."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]


@pytest.fixture(scope="session")
def mcu_port():
    import threading

    tcp = Tcp()

    def serve():
        while True:
            try:
                conn, _ = tcp.sock.accept()
                conn.close()
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    yield tcp.port
    tcp.sock.close()


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def write_config(directory: Path, *, url: str | None, ca: Path | None, mcu_port: int,
                 extra: dict[str, dict[str, Any]] | None = None, token: str = TOKEN) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "collector-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    sections: dict[str, dict[str, Any]] = {
        "agent": {"room_id": ROOM, "room_name": "Phòng thử", "level": "commune",
                  "state_dir": str(directory / "state"), "language": "vi"},
        "check": {"budget": "8s", "probe_deadline": "5s"},
        "network": {"ping_count": 2, "ping_interval": "20ms", "ping_timeout": "300ms", "dns_timeout": "1s"},
        "collector": {"heartbeat_interval": "1s", "timeout": "3s", "connect_timeout": "2s",
                      "backoff_base": "100ms", "backoff_max": "1s"},
        "daemon": {"network_interval": "1s", "host_interval": "1s", "splay": "0s",
                   "control_socket": str(directory / "control.sock"), "stop_flush_timeout": "3s"},
    }
    if url:
        sections["collector"]["url"] = url
        sections["collector"]["token_file"] = str(token_file)
    if ca:
        sections["collector"]["ca_file"] = str(ca)
    for name, values in (extra or {}).items():
        sections.setdefault(name, {}).update(values)
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        lines.append("")
    lines += ["[[network.target]]", 'name = "mcu"', 'host = "127.0.0.1"', f"tcp_ports = [{mcu_port}]",
              "ping = false", ""]
    path = directory / "agent.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Daemon:
    """`python -m agent run` as a real child process, its stderr kept in a file."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        self._fh = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(self.config)],
                                     cwd=REPO, env=self.env, stdout=self._fh, stderr=subprocess.STDOUT)
        return self

    def wait_socket(self, timeout: float = 15.0) -> None:
        sock = self.config.parent / "control.sock"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A daemon killed with -9 leaves its socket file behind: only an answer proves this one is up.
            if sock.exists() and self._answers(sock):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}: {self.output()[-2000:]}")
            time.sleep(0.02)
        raise AssertionError(f"daemon did not start: {self.output()[-2000:]}")

    @staticmethod
    def _answers(sock: Path) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1.0)
            try:
                conn.connect(str(sock))
                return True
            except OSError:
                return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def close(self) -> None:
        self.kill()
        self._fh.close()


@pytest.fixture()
def daemons():
    started: list[Daemon] = []

    def start(config: Path, env: dict[str, str] | None = None, wait: bool = True) -> Daemon:
        d = Daemon(config, env).start()
        started.append(d)
        if wait:
            d.wait_socket()
        return d

    yield start
    for d in started:
        d.close()
