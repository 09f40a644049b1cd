"""The Cisco XMLAPI over real HTTPS/HTTP sockets, through the codec probe (what `check` and the service run):
a session the codec forgot is begun again once (not a false codec.login fail), a changed certificate is
refused before the password leaves (and `codec trust` will not replace it without --replace), and plain HTTP
works only when the config allows it, with the clear-text warning in both languages."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_dict
from agent.errors import ConfigError, DeviceAuthError, HostKeyMismatch
from agent.model import Status
from agent.sim.cisco import CiscoSim
from agent.vendors import pinning
from tests.codec.conftest import CANARY, connection, driver

XMLAPI_READS = ["GET /status.xml", "GET /configuration.xml",
                "POST /putxml <Command><Camera><Preset><List/></Preset></Camera></Command>"]


def make_config(tmp_path: Path, sim: CiscoSim, *, transport: str = "https", password: str = CANARY,
                **codec: Any) -> Any:
    pw = tmp_path / "codec-password"
    pw.write_text(password + "\n")
    pw.chmod(0o600)
    port = {"https": sim.https_port, "http": getattr(sim, "http_port", 0), "ssh": sim.ssh_port}[transport]
    table = {"vendor": "cisco", "host": "127.0.0.1", "transport": transport, "port": port,
             "username": sim.username, "password_file": str(pw), "timeout": "3s",
             "expect": {"ip": "10.8.50.218", "camera_presets": ["Chủ tọa"]}}
    table.update(codec)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return load_dict({"agent": {"room_id": "room-test", "state_dir": str(state)}, "check": {"budget": "15s"},
                      "codec": table}, file="test.toml")


def probe_polls(config: Any, *between: Any) -> list[dict[str, Any]]:
    """Poll with one CodecProbe (one kept session, as in the service); call each of ``between`` before the
    next poll; the results of every poll by check id."""
    from agent.runner import build_probes, results_for, run_probe

    async def go() -> list[dict[str, Any]]:
        (probe,) = build_probes(config, ["codec"])
        out = []
        try:
            for step in (None, *between):
                if step is not None:
                    step()
                run = await run_probe(probe, 10.0)
                out.append({r.id: r for r in results_for(probe, run)})
        finally:
            await probe.close()
        return out

    return asyncio.run(go())


def pin_certificate(sim: CiscoSim, config: Any) -> None:
    conn = connection(sim, "https", Path(config.agent.state_dir), pin=False)
    pinning.store_certificate(conn, pinning.tls_fingerprint(sim.cert_der), replace=True)


def both(result: Any) -> str:
    return json.dumps([result.to_dict("vi"), result.to_dict("en")], ensure_ascii=False)


# -- item: a session the codec forgot ------------------------------------------------------------------
def test_expired_session_is_begun_again_once_and_none_is_leaked(clean, tmp_path):
    sim = clean
    drv = driver(sim, "https", tmp_path)
    try:
        drv.poll()
        assert (sim.http_sessions_begun, sim.http_sessions_open) == (1, 1)
        sim.set_faults("session_expired")  # the codec rebooted or timed the session out
        assert sim.http_sessions_open == 0
        before = len(sim.received)
        status = drv.poll()
        assert status.facts.model == "Cisco Room Bar"
        assert drv.sessions_opened == 1  # the driver's session (wire) is the same; only the cookie is new
        assert sim.http_sessions_begun == 2 and sim.http_sessions_open == 1
        sent = [cmd for _, cmd in sim.received[before:]]
        # The one refused read, the old cookie ended, one new session, then the poll's reads once each.
        assert sent == ["GET /status.xml", "POST /xmlapi/session/end", "POST /xmlapi/session/begin", *XMLAPI_READS]
        drv.poll()  # the new session is kept
        assert sim.http_sessions_begun == 2
    finally:
        drv.close()
    assert sim.http_sessions_open == 0


def test_expired_session_through_the_probe_is_a_login_pass(clean, tmp_path):
    sim = clean
    config = make_config(tmp_path, sim)
    pin_certificate(sim, config)
    begun = sim.http_sessions_begun
    first, second = probe_polls(config, lambda: sim.set_faults("session_expired"))
    for results in (first, second):
        assert results["codec.login"].status is Status.PASS, both(results["codec.login"])
        assert results["codec.reachable"].status is Status.PASS
        assert results["codec.camera_presets"].status is Status.PASS
    assert sim.http_sessions_begun - begun == 2 and sim.http_sessions_open == 0


def test_password_changed_while_the_session_expired_is_a_login_fail(clean, tmp_path):
    sim = clean
    config = make_config(tmp_path, sim)
    pin_certificate(sim, config)
    mark: list[int] = []

    def changed_and_expired() -> None:
        sim.password = "someone-changed-it"
        sim.set_faults("session_expired")
        mark.append(len(sim.received))

    try:
        first, second = probe_polls(config, changed_and_expired)
    finally:
        sim.password = CANARY
    assert first["codec.login"].status is Status.PASS
    login = second["codec.login"]
    assert (login.status, login.message.key) == (Status.FAIL, "codec.login.fail"), both(login)
    vi, en = login.to_dict("vi"), login.to_dict("en")
    assert "từ chối đăng nhập" in vi["message"] and "refused the login of user 'admin'" in en["message"]
    assert vi["remedy"] and "password_file" in en["remedy"]
    assert CANARY not in both(login)
    # One new session asked for (refused), no login loop; the refused read is not sent again.
    assert [c for _, c in sim.received[mark[0]:]] == ["GET /status.xml", "POST /xmlapi/session/end",
                                                     "POST /xmlapi/session/begin"]
    assert sim.http_sessions_open == 0


def test_wrong_password_fails_at_once_with_the_login_message(clean, tmp_path):
    sim = clean
    before = len(sim.received)
    with pytest.raises(DeviceAuthError) as info:
        driver(sim, "https", tmp_path, password="wrong-" + CANARY).poll()
    assert "refused the login of user 'admin'" in str(info.value)
    assert [cmd for _, cmd in sim.received[before:]] == ["POST /xmlapi/session/begin"]
    config = make_config(tmp_path, sim, password="wrong-" + CANARY)
    pin_certificate(sim, config)
    (results,) = probe_polls(config)
    login = results["codec.login"]
    assert (login.status, login.message.key) == (Status.FAIL, "codec.login.fail"), both(login)
    assert "từ chối đăng nhập" in login.to_dict("vi")["message"]
    assert CANARY not in both(login)


# -- item: a changed certificate ------------------------------------------------------------------------
def test_changed_certificate_is_refused_before_the_password(clean, tmp_path):
    sim = clean
    drv = driver(sim, "https", tmp_path)  # pins the current certificate
    drv.poll()
    drv.close()
    old = sim.cert_der
    sim.set_faults("changed_host_key")
    assert sim.cert_der != old
    before = len(sim.received)
    with pytest.raises(HostKeyMismatch) as info:
        driver(sim, "https", tmp_path, pin=False).poll()  # the pin of the old certificate
    assert "does not match the pinned fingerprint" in str(info.value)
    assert sim.received[before:] == []  # the TLS handshake failed: no request, no password


def test_changed_certificate_through_the_probe(clean, tmp_path):
    sim = clean
    config = make_config(tmp_path, sim)
    pin_certificate(sim, config)
    first, second = probe_polls(config, lambda: sim.set_faults("changed_host_key"))
    assert first["codec.login"].status is Status.PASS
    reachable, login = second["codec.reachable"], second["codec.login"]
    assert (reachable.status, reachable.message.key) == (Status.PASS, "codec.reachable.answered")
    assert (login.status, login.message.key) == (Status.FAIL, "codec.login.hostkey"), both(login)
    vi, en = login.to_dict("vi"), login.to_dict("en")
    assert "ĐÃ THAY ĐỔI" in vi["message"] and "CHANGED" in en["message"]
    assert "codec trust --replace" in vi["remedy"] and "codec trust --replace" in en["remedy"]
    assert "the password was not sent" in en["message"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=60)


def test_trust_refuses_a_changed_certificate_without_replace(tmp_path):
    with CiscoSim(password=CANARY) as sim:
        cfg = tmp_path / "agent.toml"
        pw = tmp_path / "codec-password"
        pw.write_text(CANARY + "\n")
        pw.chmod(0o600)
        cfg.write_text(f"""
[agent]
room_id = "test-room"
state_dir = "{tmp_path / 'state'}"
[codec]
vendor = "cisco"
host = "127.0.0.1"
transport = "https"
port = {sim.https_port}
username = "admin"
password_file = "{pw}"
timeout = "3s"
""")
        old = pinning.tls_fingerprint(sim.cert_der)
        proc = _run("codec", "trust", "-c", str(cfg), "--yes")
        assert proc.returncode == 0 and old in proc.stdout, proc.stderr
        sim.set_faults("changed_host_key")
        new = pinning.tls_fingerprint(sim.cert_der)
        assert new != old
        proc = _run("codec", "trust", "-c", str(cfg), "--yes")
        assert proc.returncode == 1 and "CHANGED" in proc.stderr and new in proc.stderr, proc.stderr
        pinned = (tmp_path / "state" / "known_certs").read_text()
        assert old in pinned and new not in pinned  # the old pin stays
        proc = _run("check", "--json", "--only", "codec", "-c", str(cfg), "--lang", "en")
        login = {r["id"]: r for r in json.loads(proc.stdout)["checks"]}["codec.login"]
        assert login["status"] == "fail" and "CHANGED" in login["message"]
        proc = _run("codec", "trust", "-c", str(cfg), "--yes", "--replace")
        assert proc.returncode == 0 and new in proc.stdout, proc.stderr
        proc = _run("check", "--json", "--only", "codec", "-c", str(cfg))
        assert {r["id"]: r["status"] for r in json.loads(proc.stdout)["checks"]}["codec.login"] == "pass"
        assert CANARY not in proc.stdout + proc.stderr


# -- item: plain HTTP -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def http_sim():
    with CiscoSim(password=CANARY, plain_http=True) as sim:
        yield sim


def test_plain_http_is_refused_without_allow_insecure(http_sim, tmp_path):
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, http_sim, transport="http")
    text = str(info.value)
    assert "allow_insecure" in text and "codec" in text


def test_plain_http_with_allow_insecure_polls_and_warns_in_both_languages(http_sim, tmp_path):
    sim = http_sim
    config = make_config(tmp_path, sim, transport="http", allow_insecure=True)
    before = len(sim.received)
    (results,) = probe_polls(config)
    login = results["codec.login"]
    assert (login.status, login.message.key) == (Status.WARN, "codec.login.insecure"), both(login)
    vi, en = login.to_dict("vi"), login.to_dict("en")
    assert "HTTP" in vi["message"] and "KHÔNG mã hóa" in vi["message"] and "mật khẩu" in vi["message"]
    assert "HTTP" in en["message"] and "password crosses the network in clear" in en["message"]
    assert "HTTPS" in vi["remedy"] and "HTTPS" in en["remedy"]
    assert results["codec.reachable"].status is Status.PASS
    assert results["codec.camera_presets"].status is Status.PASS
    received = sim.received[before:]
    assert {t for t, _ in received} == {"http"}  # over the plain listener, not the TLS one
    assert [c for _, c in received] == ["POST /xmlapi/session/begin", *XMLAPI_READS, "POST /xmlapi/session/end"]
    assert sim.http_sessions_open == 0
    assert CANARY not in json.dumps([r.to_dict("en") for r in results.values()], ensure_ascii=False, default=str)
