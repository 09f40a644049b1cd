"""`hntht-agent codec trust` as a process against the Poly simulators: the Group Series SSH server that
offers only a legacy ``ssh-rsa`` host key, and Poly VideoOS REST over HTTPS (certificate fingerprint).

Each walks what a technician does: run trust, read the fingerprint, decline (nothing stored) or confirm
(pinned), run the check (login passes through the pin), then the codec's key changes: trust refuses it
without ``--replace``, the check fails ``codec.login`` in Vietnamese and English before any password is
sent, and ``--replace`` pins the new key.  The canary password appears in no output.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.sim.poly_gs import PolyGSSim
from agent.sim.poly_rest import PolyRestSim
from agent.vendors import pinning
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE


def write_config(tmp_path, vendor: str, transport: str, port: int, extra: str = "") -> str:
    pw = tmp_path / "codec-password"
    pw.write_text(CANARY + "\n")
    pw.chmod(0o600)
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[agent]
room_id = "test-room"
state_dir = "{tmp_path / 'state'}"
[check]
budget = "15s"
[codec]
vendor = "{vendor}"
host = "127.0.0.1"
transport = "{transport}"
port = {port}
username = "admin"
password_file = "{pw}"
timeout = "3s"
{extra}
""")
    return str(cfg)


def run(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          input=input_text, timeout=60)
    assert CANARY not in proc.stdout + proc.stderr
    return proc


def login_result(cfg: str, lang: str = "vi") -> dict:
    proc = run("check", "--json", "--only", "codec", "-c", cfg, "--lang", lang)
    return {r["id"]: r for r in json.loads(proc.stdout)["checks"]}["codec.login"]


def walk_trust(cfg: str, pin_file, fingerprint: str, shown: str, change, new_fingerprint) -> None:
    """The technician's path through `codec trust` and the check, the key changing half-way."""
    proc = run("codec", "trust", "-c", cfg, input_text="n\n")
    assert proc.returncode == 1 and fingerprint in proc.stdout and shown in proc.stdout, proc.stdout + proc.stderr
    assert "--yes" in proc.stderr  # not a terminal: says how to confirm
    assert not pin_file.exists()  # declined: nothing pinned
    login = login_result(cfg)
    assert login["status"] == "error" and "hntht-agent codec trust" in login["remedy"], login

    proc = run("codec", "trust", "-c", cfg, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert fingerprint in proc.stdout and str(pin_file) in proc.stdout
    assert pin_file.exists()
    assert login_result(cfg)["status"] == "pass"
    proc = run("codec", "trust", "-c", cfg, "--yes")
    assert proc.returncode == 0 and "already trusted" in proc.stdout

    change()
    new = new_fingerprint()
    assert new != fingerprint
    pinned_before = pin_file.read_text()
    proc = run("codec", "trust", "-c", cfg, "--yes")
    assert proc.returncode == 1 and "REFUSED" in proc.stderr and "CHANGED" in proc.stderr, proc.stderr
    assert new in proc.stdout + proc.stderr  # the new fingerprint, to compare on the codec's screen
    assert pin_file.read_text() == pinned_before  # refused: the old pin is kept
    login = login_result(cfg)
    assert login["status"] == "fail" and "ĐÃ THAY ĐỔI" in login["message"], login
    assert "không gửi mật khẩu" in login["message"]
    login_en = login_result(cfg, "en")
    assert login_en["status"] == "fail" and login_en["message"] != login["message"]

    proc = run("codec", "trust", "-c", cfg, "--yes", "--replace")
    assert proc.returncode == 0 and "WARNING" in proc.stdout and new in proc.stdout, proc.stdout + proc.stderr
    assert login_result(cfg)["status"] == "pass"


def test_trust_group_series_ssh_rsa_only(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY) as sim:
        cfg = write_config(tmp_path, "poly-gs", "ssh", sim.port)
        walk_trust(cfg, tmp_path / "state" / "known_hosts", pinning.ssh_fingerprint(sim.host_key), "ssh-rsa",
                   sim.change_host_key, lambda: pinning.ssh_fingerprint(sim.host_key))
        # the pinned line is the ssh-rsa key of the codec, in OpenSSH's [host]:port form
        line = (tmp_path / "state" / "known_hosts").read_text()
        assert f"[127.0.0.1]:{sim.port} ssh-rsa " in line
        assert sim.logins_failed == 0  # a changed key never got the password to try


@pytest.mark.parametrize("ssh_client", ["paramiko", "openssh"])
def test_pinned_ssh_rsa_key_logs_in_with_either_client(tmp_path, ssh_client):
    """What trust stored is what both SSH clients check the legacy key against."""
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY) as sim:
        cfg = write_config(tmp_path, "poly-gs", "ssh", sim.port, extra=f'ssh_client = "{ssh_client}"')
        assert run("codec", "trust", "-c", cfg, "--yes").returncode == 0
        login = login_result(cfg, "en")
        assert login["status"] == "pass", login
        assert sim.sessions_opened == 1


def test_trust_poly_rest_certificate(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        cfg = write_config(tmp_path, "poly-rest", "https", sim.port)
        walk_trust(cfg, tmp_path / "state" / "known_certs", pinning.tls_fingerprint(sim.certificate_der),
                   "TLS certificate", sim.change_certificate, lambda: pinning.tls_fingerprint(sim.certificate_der))
        assert sim.sessions_open == 0


def test_trust_refuses_telnet_which_has_no_key(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        cfg = write_config(tmp_path, "poly-gs", "telnet", sim.port, extra="allow_insecure = true")
        proc = run("codec", "trust", "-c", cfg, "--yes")
        assert proc.returncode == 2 and "no key to pin" in proc.stderr
        assert sim.commands == [] and sim.sessions_opened == 0
