"""Cisco simulator fixtures: a real SSH/HTTPS peer on loopback, pinned, with a canary password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.secrets import Secret
from agent.sim.cisco import CiscoSim
from agent.vendors import pinning
from agent.vendors.base import Connection
from agent.vendors.cisco import CiscoDriver
from tests.helpers import FIXTURES, REPO

CANARY = "canary-Pw-7f3c1e9a"
CASES = REPO / "tests" / "vendors" / "cisco"
# ssh-*: the OpenSSH client (the service's default); paramiko-*: the in-process client.
MODES = ["ssh-json", "paramiko-json", "ssh-terminal", "paramiko-terminal", "https"]


# case.json key -> the CiscoSim argument it feeds.  Every capture key is required, so a case never
# silently falls back to the simulator's default files; any other key is refused (a typo would otherwise
# be a declaration that reaches nothing).
CASE_CAPTURES = {"status": "status_xml", "configuration": "config_xml", "valuespace": "valuespace_xml",
                 "banner": "banner", "echo_response": "echo_response"}
CASE_OTHER_KEYS = {"about", "presets"}


def case_captures(case_dir: Path) -> dict[str, str]:
    """The shared captures (``cisco/...`` paths) a case serves, by key; refuses a missing or unknown key."""
    case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    unknown = set(case) - set(CASE_CAPTURES) - CASE_OTHER_KEYS
    missing = set(CASE_CAPTURES) - set(case)
    if unknown or missing:
        raise ValueError(f"{case_dir.name}/case.json: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    return {key: case[key] for key in CASE_CAPTURES}


def sim_for_case(case_dir: Path, **kw) -> CiscoSim:
    """A simulator built only from what the case folder names (data-only cases)."""
    case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    files = {CASE_CAPTURES[key]: (FIXTURES / path).read_bytes() for key, path in case_captures(case_dir).items()}
    return CiscoSim(**files, presets=[tuple(p) for p in case.get("presets", [])], password=CANARY, **kw)


def connection(sim: CiscoSim, mode: str, state_dir: Path, *, timeout: float = 3.0, pin: bool = True,
               password: str = CANARY) -> Connection:
    transport = "https" if mode == "https" else "ssh"
    port = sim.https_port if transport == "https" else sim.ssh_port
    conn = Connection("127.0.0.1", transport, port, sim.username, password_secret(state_dir, password), timeout,
                      state_dir, ssh_client="paramiko" if mode.startswith("paramiko") else "openssh")
    if pin:
        if transport == "ssh":
            pinning.store_ssh_key(conn, sim.host_key, replace=True)
        else:
            pinning.store_certificate(conn, pinning.tls_fingerprint(sim.cert_der), replace=True)
    return conn


def password_secret(state_dir: Path, password: str) -> Secret:
    """The password as the agent loads it: from a private file (the OpenSSH client reads that file)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "codec-password"
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return Secret(password, str(path))


def driver(sim: CiscoSim, mode: str, state_dir: Path, **kw) -> CiscoDriver:
    if mode.endswith("-terminal"):
        sim.set_faults(*(sim.faults | {"no_json"}))
    elif mode.endswith("-json") and "no_json" in sim.faults:
        sim.set_faults(*(sim.faults - {"no_json"}))
    return CiscoDriver(connection(sim, mode, state_dir, **kw))


@pytest.fixture(scope="module")
def sim():
    s = CiscoSim(password=CANARY)
    s.start()
    yield s
    s.stop()


@pytest.fixture(autouse=False)
def clean(sim):
    sim.set_faults()
    sim.state = "healthy"
    yield sim
    sim.set_faults()
