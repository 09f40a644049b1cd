"""End to end: `hntht-agent check --only codec` and `hntht-agent codec trust` as processes against the
simulator; the canary password never appears; a codec that never answers costs no more than the budget."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from agent.sim.cisco import CiscoSim
from agent.vendors import pinning
from tests.codec.conftest import CANARY, connection


def write_config(tmp_path, sim, *, transport="ssh", budget="15s", timeout="3s", extra=""):
    pw = tmp_path / "codec-password"
    pw.write_text(CANARY + "\n")
    pw.chmod(0o600)
    port = sim.ssh_port if transport == "ssh" else sim.https_port
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[agent]
room_id = "test-room"
state_dir = "{tmp_path / 'state'}"
[check]
budget = "{budget}"
probe_deadline = "{budget}"
[codec]
vendor = "cisco"
host = "127.0.0.1"
transport = "{transport}"
port = {port}
username = "{sim.username}"
password_file = "{pw}"
timeout = "{timeout}"
{extra}
[codec.expect]
ip = "10.8.50.218"
camera_presets = ["Chủ tọa"]
""")
    return cfg


def run(*args, input_text=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          input=input_text, timeout=timeout)


@pytest.mark.parametrize("transport", ["ssh", "https"])
def test_check_codec_json_and_canary(clean, tmp_path, transport):
    cfg = write_config(tmp_path, clean, transport=transport)
    connection(clean, "https" if transport == "https" else "ssh-json", tmp_path / "state")  # pin
    proc = run("--log-level", "debug", "check", "--json", "--only", "codec", "-c", str(cfg))
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    ids = {r["id"]: r["status"] for r in report["checks"]}
    assert ids["codec.reachable"] == "pass" and ids["codec.camera_presets"] == "pass", ids
    assert CANARY not in proc.stdout and CANARY not in proc.stderr


def test_check_untrusted_key_tells_to_run_trust(clean, tmp_path):
    cfg = write_config(tmp_path, clean)
    proc = run("check", "--json", "--only", "codec", "-c", str(cfg), "--lang", "en")
    results = {r["id"]: r for r in json.loads(proc.stdout)["checks"]}
    assert results["codec.login"]["status"] == "error"
    assert "codec trust" in results["codec.login"]["remedy"]
    assert CANARY not in proc.stdout + proc.stderr


def test_never_answers_finishes_within_budget(tmp_path):
    with CiscoSim(password=CANARY, faults=("never_answers",)) as sim:
        cfg = write_config(tmp_path, sim, budget="3s", timeout="10s")
        connection(sim, "ssh-json", tmp_path / "state")
        started = time.monotonic()
        proc = run("check", "--json", "--only", "codec", "-c", str(cfg), timeout=30)
        elapsed = time.monotonic() - started
    report = json.loads(proc.stdout)
    codec = [r for r in report["checks"] if r["area"] == "codec"]
    assert codec and all(r["status"] == "error" for r in codec), codec
    assert elapsed < 3 + 6, elapsed  # budget + interpreter start-up
    assert proc.returncode == 2


def test_trust_pins_after_confirmation_and_refuses_a_changed_key(tmp_path):
    with CiscoSim(password=CANARY) as sim:
        cfg = write_config(tmp_path, sim)
        fp = pinning.ssh_fingerprint(sim.host_key)
        proc = run("codec", "trust", "-c", str(cfg), input_text="n\n")
        assert fp in proc.stdout and proc.returncode == 1  # not a tty, no --yes: not stored
        assert not (tmp_path / "state" / "known_hosts").exists()
        proc = run("codec", "trust", "-c", str(cfg), "--yes")
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "state" / "known_hosts").exists()
        proc = run("check", "--json", "--only", "codec", "-c", str(cfg))
        assert {r["id"]: r["status"] for r in json.loads(proc.stdout)["checks"]}["codec.login"] == "pass"
        sim.set_faults("changed_host_key")
        proc = run("codec", "trust", "-c", str(cfg), "--yes")
        assert proc.returncode == 1 and "CHANGED" in proc.stderr
        proc = run("check", "--json", "--only", "codec", "-c", str(cfg), "--lang", "en")
        login = {r["id"]: r for r in json.loads(proc.stdout)["checks"]}["codec.login"]
        assert login["status"] == "fail" and "CHANGED" in login["message"]
        proc = run("codec", "trust", "-c", str(cfg), "--yes", "--replace")
        assert proc.returncode == 0
        assert CANARY not in proc.stdout + proc.stderr


def test_trust_https_certificate(tmp_path):
    with CiscoSim(password=CANARY) as sim:
        cfg = write_config(tmp_path, sim, transport="https")
        proc = run("codec", "trust", "-c", str(cfg), "--yes")
        assert proc.returncode == 0 and pinning.tls_fingerprint(sim.cert_der) in proc.stdout
        proc = run("check", "--json", "--only", "codec", "-c", str(cfg))
        assert {r["id"]: r["status"] for r in json.loads(proc.stdout)["checks"]}["codec.reachable"] == "pass"
