"""Real OS processes for the multi-process and end-to-end tests: collector servers and room agents.

`start_room_agents` is the seam for the agent daemon: today each room is `agent_sim.py`, a separate
process speaking the documented protocol with `requests`. When `hntht-agent run` exists, replace the
command built in `_agent_command` with the real daemon against simulated rooms (the assertions in
test_multiprocess.py only look at what the collector received).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.helpers import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    popen: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def stop(self) -> str:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        return self.log_path.read_text(errors="replace")


def start_collector(db_url: str, log_dir: Path, *, sweep_interval: float = 0.2, workers: int = 1,
                    rate_limit: int = 100000, env_extra=None, access_log: bool = True,
                    cpus: str | None = None, extra_args=(), scheme: str = "http", health_kwargs=None) -> Proc:
    """`cpus` pins the server (and its workers) with taskset, e.g. "0" (benchmark only); `extra_args` go
    to `serve` (e.g. TLS options, then scheme="https" and `health_kwargs` with verify/cert for requests)."""
    port = free_port()
    log_path = log_dir / f"collector-{port}.log"
    env = dict(os.environ, HNTHT_COLLECTOR_DB=db_url, HNTHT_COLLECTOR_RATE_LIMIT_PER_MINUTE=str(rate_limit),
               PYTHONPATH=str(REPO), **(env_extra or {}))
    with open(log_path, "wb") as log:
        argv = [sys.executable, "-m", "collector", "serve", "--host", "127.0.0.1", "--port",
                str(port), "--workers", str(workers), "--sweep-interval", str(sweep_interval)]
        if access_log:
            argv.append("--access-log")
        argv += list(extra_args)
        if cpus:
            argv = ["taskset", "-c", cpus, *argv]
        popen = subprocess.Popen(argv,
                                 stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
    proc = Proc(popen, log_path, f"{scheme}://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"collector exited: {log_path.read_text()[-3000:]}")
        try:
            if requests.get(proc.url + "/healthz", timeout=1, **(health_kwargs or {})).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError("collector did not become healthy in 30 s")


def _agent_command(collector_url: str, room_id: str, token_file: Path, heartbeats: int, interval: float) -> list[str]:
    return [sys.executable, "-m", "tests.collector.agent_sim", "--url", collector_url, "--room", room_id,
            "--token-file", str(token_file), "--heartbeats", str(heartbeats), "--interval", str(interval)]


def start_room_agents(collector_url: str, rooms: dict[str, str], work_dir: Path, *, heartbeats: int = 5,
                      interval: float = 0.2) -> list[Proc]:
    """One agent process per room ({room_id: token}); the token goes through a 0600 file, as in production."""
    procs = []
    for room_id, token in rooms.items():
        token_file = work_dir / f"{room_id}.token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        log_path = work_dir / f"agent-{room_id}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(_agent_command(collector_url, room_id, token_file, heartbeats, interval),
                                     stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO),
                                     env=dict(os.environ, PYTHONPATH=str(REPO)))
        procs.append(Proc(popen, log_path, extra={"room_id": room_id}))
    return procs
