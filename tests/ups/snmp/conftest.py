"""snmpsim peers for the SNMP UPS driver (test-peers.md §2).

``snmpsim``: one session-scoped snmpsim-command-responder on a free UDP port of 127.0.0.1 with its own
temporary data and cache directories, serving every real recording of shared/fixtures/ups/snmp (one
community per file name), the hand-made state files of tests/ups/snmp/data, a copy of a real recording
as ``self`` (what an SNMPv3 request with an empty context reads) and one under a canary community.
SNMPv3 user ``hntht-v3`` (SHA + AES) with canary keys.  Readiness: a GET polled with net-snmp's snmpget.
Teardown by PID.  ``slow_snmpsim`` serves only the ``delay`` file: snmpsim's delay module sleeps in
its only thread, so a slow agent would stall every other test sharing it.

A peer that cannot start FAILS the tests (snmpsim is a Python package of the test group, not optional).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, REPO, is_root

DATA = Path(__file__).parent / "data"
RECORDINGS = FIXTURES / "ups" / "snmp"
V3_USER = "hntht-v3"
CANARY_COMMUNITY = "hntht-canary-community-5c1e9a"
CANARY_AUTH_KEY = "hntht-canary-authkey-7d21f0"
CANARY_PRIV_KEY = "hntht-canary-privkey-93ab4e"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def responder_binary() -> str:
    candidate = Path(sys.executable).parent / "snmpsim-command-responder"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("snmpsim-command-responder")
    if not found:
        pytest.fail("snmpsim-command-responder not found: install the test group (pip install -e '.[test]')")
    return found


class SnmpSim:
    """One snmpsim-command-responder process, started and stopped by these helpers only."""

    def __init__(self, lab: Path, files: dict[str, Path | str], *, v3: bool = False) -> None:
        self.lab = lab
        self.data = lab / "data"
        self.cache = lab / "cache"
        self.log = lab / "snmpsim.log"
        self.files = files
        self.v3 = v3
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SnmpSim":
        if not shutil.which("snmpget"):
            pytest.fail("net-snmp's snmpget is missing (scripts/install-test-deps.sh installs the Debian package snmp)")
        self.data.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        for community, source in self.files.items():
            target = self.data / f"{community}.snmprec"
            if isinstance(source, Path):
                shutil.copyfile(source, target)
            else:
                target.write_text(source)
        env = dict(os.environ)
        if is_root():
            env["SNMPSIM_ALLOW_ROOT"] = "true"  # the privilege drop breaks under root's pyenv (ups.md gotcha 2)
        last = ""
        for _attempt in range(3):  # the free port may be taken between our probe and snmpsim's bind
            self.port = free_udp_port()
            args = [responder_binary(), f"--data-dir={self.data}", f"--cache-dir={self.cache}",
                    f"--agent-udpv4-endpoint=127.0.0.1:{self.port}"]
            if self.v3:
                args += [f"--v3-user={V3_USER}", f"--v3-auth-key={CANARY_AUTH_KEY}", "--v3-auth-proto=SHA",
                         f"--v3-priv-key={CANARY_PRIV_KEY}", "--v3-priv-proto=AES"]
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.lab)
            if self._wait_ready(timeout=20.0):
                return self
            last = self.log.read_text(errors="replace")[-3000:]
            self.stop()
        pytest.fail(f"snmpsim did not answer a GET on 127.0.0.1:{self.port}\n{last}")

    def _wait_ready(self, timeout: float) -> bool:
        # The "Listening at" log line is not enough: the first GET after it is often lost (test-peers.md §2.4).
        community = next(iter(self.files))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            done = subprocess.run(["snmpget", "-v2c", "-c", community, "-t", "0.3", "-r", "0", "-On",
                                   f"127.0.0.1:{self.port}", "1.3.6.1.2.1.1.1.0"], capture_output=True)
            if done.returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def snmpset(self, community: str, oid: str, kind: str, value: str) -> None:
        """SET through net-snmp (the writecache records keep the value for later GETs)."""
        done = subprocess.run(["snmpset", "-v2c", "-c", community, "-t", "2", "-r", "1",
                               f"127.0.0.1:{self.port}", oid, kind, value], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def recordings() -> dict[str, Path]:
    files = {p.stem: p for p in sorted(RECORDINGS.glob("*.snmprec"))}
    if not files:
        pytest.fail(f"no SNMP recordings under {RECORDINGS} (set $HNTHT_SHARED to the shared/ folder)")
    return files


@pytest.fixture(scope="session")
def snmpsim():
    files: dict[str, Path | str] = dict(recordings())
    files.update({p.stem: p for p in sorted(DATA.glob("*.snmprec")) if p.stem != "ups-slow"})
    files["self"] = RECORDINGS / "eaton-mgeups_5px.snmprec"  # SNMPv3, empty context
    files[CANARY_COMMUNITY] = RECORDINGS / "huaweiups_ups2000.snmprec"
    with tempfile.TemporaryDirectory(prefix="hntht-snmpsim-") as lab:
        sim = SnmpSim(Path(lab), files, v3=True).start()
        try:
            yield sim
        finally:
            sim.stop()


@pytest.fixture(scope="session")
def slow_snmpsim():
    with tempfile.TemporaryDirectory(prefix="hntht-snmpsim-slow-") as lab:
        sim = SnmpSim(Path(lab), {"ups-slow": DATA / "ups-slow.snmprec"}).start()
        try:
            yield sim
        finally:
            sim.stop()


def secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def snmp_config(directory: Path, port: int, community: str | None = None, *, v3: dict | None = None,
                timeout: str = "1s", retries: int = 0, probe_deadline: str = "5s", extra: dict | None = None) -> dict:
    """A whole agent config dict for load_dict, the secrets in chmod-600 files under ``directory``."""
    snmp: dict = {"host": "127.0.0.1", "port": port, "timeout": timeout, "retries": retries}
    if v3 is not None:
        snmp.update({"version": "3", "user": v3.get("user", V3_USER), "auth_protocol": v3.get("auth_protocol", "SHA"),
                     "priv_protocol": v3.get("priv_protocol", "AES"),
                     "auth_key_file": secret_file(directory, "auth-key", v3.get("auth_key", CANARY_AUTH_KEY)),
                     "priv_key_file": secret_file(directory, "priv-key", v3.get("priv_key", CANARY_PRIV_KEY))})
    else:
        snmp["community_file"] = secret_file(directory, "community", community or "public")
    config = {"agent": {"room_id": "test-room"}, "check": {"probe_deadline": probe_deadline},
              "ups": {"driver": "snmp", "snmp": snmp}}
    for key, value in (extra or {}).items():
        config.setdefault(key, {}).update(value)
    return config


__all__ = ["SnmpSim", "snmp_config", "secret_file", "REPO"]
