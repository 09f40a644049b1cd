"""Real peers for the UPS tests: socat pty pairs with the Megatec emulator, NUT's dummy-ups/nutdrv_qx + upsd.

Every process is started by these helpers, waited for actively (a link, a log line, an answer),
and stopped by its own PID. Ports are free ports on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO, free_port, is_root

UPSD = "/lib/nut/upsd"  # not Debian's /sbin/upsd wrapper, which ignores NUT_CONFPATH
NUT_DRIVERS = Path("/lib/nut")


class PeerError(RuntimeError):
    pass


def require_root_peer(*binaries: str) -> None:
    """Skip when not root (with the reason); FAIL when root but the peer's binaries are missing."""
    import pytest

    if not is_root():
        pytest.skip("needs root to run the apt-installed UPS peers (socat, NUT); CI runs as root")
    missing = [b for b in binaries if not (shutil.which(b) or Path(b).exists())]
    if missing:
        pytest.fail(f"peer binaries missing: {', '.join(missing)} (scripts/install-test-deps.sh installs them)")


def stop(proc: subprocess.Popen | None, timeout: float = 3.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise PeerError(f"{what} did not come up within {timeout:g} s\n{detail}")


class PtyPair:
    """socat pty,raw,echo=0 <-> pty,raw,echo=0; the emulator opens `ups`, the client `agent`."""

    def __init__(self, directory: Path, name: str = "tty") -> None:
        self.ups = directory / f"{name}UPS"
        self.agent = directory / f"{name}AGENT"
        self.log = directory / f"{name}-socat.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "PtyPair":
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.ups}", f"pty,raw,echo=0,link={self.agent}"],
                stdout=subprocess.DEVNULL, stderr=log,
            )
        wait_for(lambda: self.ups.exists() and self.agent.exists(), 5.0, "socat pty pair", self.proc, self.log)
        return self

    def stop(self) -> None:
        stop(self.proc)


class Emulator:
    """`python -m agent.sim.megatec` on one end of a pty pair, with its control socket."""

    def __init__(self, directory: Path, profile: str, name: str | None = None) -> None:
        self.name = name or profile
        self.dir = directory
        self.profile = profile
        self.pty = PtyPair(directory, self.name)
        self.control = str(directory / f"{self.name}.ctl")
        self.log = directory / f"{self.name}-emu.log"
        self.proc: subprocess.Popen | None = None

    @property
    def port(self) -> str:
        return str(self.pty.agent)

    def start(self) -> "Emulator":
        self.pty.start()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent.sim.megatec", "--port", str(self.pty.ups), "--control", self.control,
                 "--profile", self.profile], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO),
            )
        wait_for(lambda: b"emulator ready" in self.log.read_bytes() and os.path.exists(self.control), 10.0,
                 f"megatec emulator ({self.profile})", self.proc, self.log)
        return self

    def set(self, **message) -> dict:
        from agent.sim.megatec import send_control

        answer = send_control(self.control, **message)
        assert answer["ok"], answer
        return answer

    def stop(self) -> None:
        stop(self.proc)
        self.pty.stop()


class Nut:
    """dummy-ups / nutdrv_qx drivers + /lib/nut/upsd on 127.0.0.1:<free port>, in a private NUT_CONFPATH."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.conf = directory / "nut"
        self.state = directory / "state"
        self.port = free_port()
        self.sections: dict[str, dict[str, str]] = {}
        self.drivers: dict[str, subprocess.Popen] = {}
        self.upsd: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, NUT_CONFPATH=str(self.conf), NUT_STATEPATH=str(self.state), NUT_ALTPIDPATH=str(self.state))

    def add(self, name: str, **options: str) -> None:
        self.sections[name] = options

    def _write(self) -> None:
        self.conf.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o700)
        (self.conf / "nut.conf").write_text("MODE=standalone\n")
        lines = []
        for name, options in self.sections.items():
            lines.append(f"[{name}]")
            lines += [f"    {k} = {v}" if k in ("driver",) or v.isdigit() else f'    {k} = "{v}"' for k, v in options.items()]
        (self.conf / "ups.conf").write_text("\n".join(lines) + "\n")
        (self.conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n")
        (self.conf / "upsd.users").write_text("[agent]\n    password = agentpass\n    actions = SET\n    instcmds = ALL\n")
        for f in ("upsd.conf", "upsd.users", "ups.conf"):
            (self.conf / f).chmod(0o600)

    def start_driver(self, name: str) -> None:
        driver = self.sections[name]["driver"]
        log = self.dir / f"driver-{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(NUT_DRIVERS / driver), "-a", name, "-u", "root", "-F"], env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)
        self.drivers[name] = proc
        wait_for(lambda: any(p.name.endswith(f"-{name}") and p.is_socket() for p in self.state.iterdir()), 20.0,
                 f"NUT driver {driver} for {name}", proc, log)

    def stop_driver(self, name: str) -> None:
        stop(self.drivers.pop(name, None))

    def start(self) -> "Nut":
        self._write()
        for name in self.sections:
            self.start_driver(name)
        log = self.dir / "upsd.log"
        with open(log, "wb") as out:
            self.upsd = subprocess.Popen([UPSD, "-u", "root", "-F"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: _answers(self.port), 10.0, "upsd", self.upsd, log)
        return self

    def query(self, line: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as sock:
            sock.sendall(line.encode() + b"\n")
            return sock.makefile("rb").readline().decode().rstrip("\n")

    def wait_ready(self, name: str, timeout: float = 15.0) -> None:
        """upsd says ups.status "WAIT" (or ERR) until the driver has dumped its data."""
        def ready() -> bool:
            reply = self.query(f"GET VAR {name} ups.status")
            return reply.startswith("VAR ") and '"WAIT"' not in reply
        wait_for(ready, timeout, f"NUT data for {name}", log=self.dir / f"driver-{name}.log")

    def stop(self) -> None:
        stop(self.upsd)
        for name in list(self.drivers):
            self.stop_driver(name)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"VER\n")
            return sock.makefile("rb").readline().startswith(b"Network UPS Tools")
    except OSError:
        return False
