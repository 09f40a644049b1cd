"""The OpenSSH client transport (agent/vendors/openssh.py) against the simulators' real SSH servers:
the password stays in its file, sessions end with their process, an idle session is quiet, pins hold,
failures are typed, `auto` chooses sensibly, and the service never loads paramiko."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.errors import DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.secrets import Secret
from agent.vendors import openssh, pinning
from agent.vendors.base import Connection, HostKeyUnknown
from agent.vendors.cisco import CiscoDriver
from tests.codec.conftest import CANARY, connection, driver
from tests.helpers import REPO, free_port

pytestmark = pytest.mark.skipif(openssh.ssh_program() is None, reason="needs the ssh client (openssh-client)")


def _shell(drv):
    return drv._guard._exchange.__self__.channel


def _proc_text(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def test_openssh_is_what_runs_and_the_password_stays_in_its_file(clean, tmp_path):
    drv = driver(clean, "ssh-json", tmp_path)
    try:
        drv.poll()
        shell = _shell(drv)
        assert isinstance(shell, openssh.OpenSshShell)
        pid = shell.proc.pid
        argv, environ = _proc_text(pid, "cmdline"), _proc_text(pid, "environ")
        assert argv.startswith(openssh.ssh_program() or "ssh") and "StrictHostKeyChecking=yes" in argv
        assert "-o ServerAliveInterval=15 -o ServerAliveCountMax=3" in argv  # keepalive: codecs drop idle sessions
        assert CANARY not in argv and CANARY not in environ
        assert f"{openssh.ASKPASS_FILE_ENV}={tmp_path / 'codec-password'}" in environ
        assert "SSH_AUTH_SOCK" not in environ and "DISPLAY" not in environ
        for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines():
            assert CANARY not in line
    finally:
        drv.close()


def test_close_ends_the_ssh_process_and_the_codec_session(clean, tmp_path):
    drv = driver(clean, "ssh-json", tmp_path)
    drv.poll()
    proc = _shell(drv).proc
    started = time.monotonic()
    drv.close()
    assert proc.poll() is not None and time.monotonic() - started < 4.0  # 1 s grace, 1 s after SIGTERM, kill


def test_a_timed_out_session_leaves_no_process(clean, tmp_path):
    clean.set_faults("never_answers")
    drv = driver(clean, "ssh-json", tmp_path, timeout=0.5)
    with pytest.raises(ProtocolError):
        drv.poll()
    drv.close()
    children = subprocess.run(["pgrep", "-P", str(os.getpid()), "-x", "ssh"], capture_output=True, text=True)
    assert children.stdout.strip() == ""


def test_an_idle_kept_session_is_quiet(clean, tmp_path):
    """The ssh child sleeps until its 15 s keepalive (paramiko's transport thread woke 10 times a second;
    the agent itself runs no thread for it: the simulator here shares the process, so see the
    paramiko-free subprocess test below)."""
    drv = driver(clean, "ssh-json", tmp_path)
    try:
        drv.poll()
        pid = _shell(drv).proc.pid
        before = _switches(pid)
        time.sleep(2.0)
        assert _switches(pid) - before <= 3
        drv.poll()  # and the quiet session still answers at once
    finally:
        drv.close()


def _switches(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_fingerprint_pin_accepts_the_right_key_and_refuses_another_before_the_password(clean, tmp_path):
    conn = connection(clean, "ssh-json", tmp_path / "a", pin=False)
    good = dataclasses.replace(conn, ssh_fingerprint=pinning.ssh_fingerprint(clean.host_key))
    drv = CiscoDriver(good)
    try:
        assert drv.poll().facts.model
    finally:
        drv.close()
    logins = clean.ssh_logins
    bad = dataclasses.replace(conn, ssh_fingerprint="SHA256:" + "A" * 43)
    with pytest.raises(HostKeyMismatch) as info:
        CiscoDriver(bad).poll()
    assert clean.ssh_logins == logins
    assert "KHÔNG được gửi" in info.value.text.render("vi")


def test_changed_key_message_names_both_fingerprints(clean, tmp_path):
    drv = driver(clean, "ssh-json", tmp_path)  # pins the current key
    pinned = pinning.ssh_fingerprint(clean.host_key)
    clean.set_faults("changed_host_key")
    try:
        with pytest.raises(HostKeyMismatch) as info:
            drv.poll()
    finally:
        drv.close()
    english = info.value.text.render("en")
    assert pinned in english and english.count("SHA256:") == 2
    assert "ĐÃ THAY ĐỔI" in info.value.text.render("vi")


def test_unknown_key_refused_without_starting_ssh(clean, tmp_path):
    logins = clean.ssh_logins
    with pytest.raises(HostKeyUnknown) as info:
        CiscoDriver(connection(clean, "ssh-json", tmp_path, pin=False)).poll()
    assert "codec trust" in info.value.text.render("vi") and clean.ssh_logins == logins


def test_wrong_password_is_an_auth_error_in_both_languages(clean, tmp_path):
    with pytest.raises(DeviceAuthError) as info:
        CiscoDriver(connection(clean, "ssh-json", tmp_path, password="not-the-password")).poll()
    assert "từ chối đăng nhập" in info.value.text.render("vi")
    assert "not-the-password" not in str(info.value) + info.value.text.render("en")


def test_nothing_listening_is_unreachable(tmp_path):
    port = free_port()
    state = tmp_path / "state"
    conn = Connection("127.0.0.1", "ssh", port, "admin", None, 1.0, state, ssh_client="openssh")
    state.mkdir()
    (state / "known_hosts").write_text(f"[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZ3\n")
    with pytest.raises(DeviceUnreachable) as info:
        CiscoDriver(conn).poll()
    assert "Không kết nối SSH được" in info.value.text.render("vi")


def test_keyscan_tells_a_closed_port_from_a_port_that_does_not_speak_ssh():
    """ssh-keyscan prints nothing for a refused connection: the fingerprint path must still say
    'unreachable' (codec.reachable FAIL) for a codec that is off, and 'handshake' for a non-SSH port."""
    import socket
    import threading

    with pytest.raises(DeviceUnreachable) as closed:
        openssh.keyscan("127.0.0.1", free_port(), 1.0)
    assert closed.value.text.key == "codec.ssh.unreachable" and "Connection refused" in str(closed.value)

    mute = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks (not an SSH server)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        mute.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(mute.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProtocolError) as silent:
            openssh.keyscan("127.0.0.1", mute.getsockname()[1], 1.0)
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        mute.close()
    assert silent.value.text.key == "codec.ssh.handshake"


def test_auto_chooses_openssh_only_when_it_can(tmp_path, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    base = Connection("127.0.0.1", "ssh", 22, "admin", Secret("x", str(pw)), 1.0, tmp_path)
    assert pinning.ssh_client(base) == "openssh"
    assert pinning.ssh_client(dataclasses.replace(base, password=Secret("x", "test"))) == "paramiko"
    assert pinning.ssh_client(dataclasses.replace(base, ssh_client="paramiko")) == "paramiko"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert pinning.ssh_client(base) == "paramiko"
    explicit = dataclasses.replace(base, ssh_client="openssh")
    with pytest.raises(ProtocolError) as info:
        openssh.OpenSshShell(explicit)
    assert "openssh-client" in info.value.text.render("vi")


def test_credential_secret_path(tmp_path, monkeypatch):
    (tmp_path / "codec-password").write_text("x\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    conn = Connection("h", "ssh", 22, "admin", Secret("x", "credential:codec-password"), 1.0, tmp_path)
    assert openssh.secret_path(conn) == tmp_path / "codec-password"


@pytest.mark.parametrize("content,expected", [("pw\n", "pw\n"), ("pw\r\n", "pw\n"), ("p w \n", "p w \n"),
                                              ("mật-khẩu", "mật-khẩu\n")])
def test_askpass_prints_the_file_as_the_agent_reads_it(tmp_path, content, expected):
    pw = tmp_path / "pw"
    pw.write_bytes(content.encode("utf-8"))
    out = subprocess.run([openssh.askpass_program(), "Password:"], capture_output=True, timeout=30,
                         env={**os.environ, openssh.ASKPASS_FILE_ENV: str(pw)})
    assert out.returncode == 0 and out.stdout.decode("utf-8") == expected


def test_askpass_refuses_a_confirmation_question(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("secret-value\n")
    out = subprocess.run([openssh.askpass_program(), "Are you sure you want to continue connecting (yes/no)?"],
                         capture_output=True, text=True, timeout=30, env={**os.environ, openssh.ASKPASS_FILE_ENV: str(pw)})
    assert out.returncode == 1 and "secret-value" not in out.stdout + out.stderr


def test_keyscan_and_known_hosts_agree_with_paramiko(clean, tmp_path):
    conn = connection(clean, "ssh-json", tmp_path)  # pinned with paramiko's writer
    (kind, fingerprint) = pinning.pinned_ssh_key(conn)
    assert fingerprint == pinning.ssh_fingerprint(clean.host_key) and kind == clean.host_key.get_name()
    offered = openssh.keyscan("127.0.0.1", clean.ssh_port, 3.0)
    assert (kind, fingerprint) in [(k, pinning.fingerprint_of(b)) for k, b in offered]


def test_the_service_never_loads_paramiko_with_openssh(clean, tmp_path):
    conn = connection(clean, "ssh-json", tmp_path)
    code = f"""
import json, sys
from pathlib import Path
from agent.secrets import Secret
from agent.vendors.base import Connection
from agent.vendors.cisco import CiscoDriver
conn = Connection("127.0.0.1", "ssh", {conn.port}, "admin", Secret({CANARY!r}, {str(conn.password.source)!r}), 3.0,
                  Path({str(tmp_path)!r}), ssh_client="auto")
drv = CiscoDriver(conn)
status = drv.poll()
drv.close()
print(json.dumps([status.facts.model, sorted(m for m in sys.modules if m.split(".")[0] in ("paramiko", "cryptography"))]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    model, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert model == "Cisco Room Bar" and loaded == []


def _expand(group: str, seen: set[str] | None = None) -> set[str]:
    """System calls of a systemd syscall-filter group, nested groups expanded."""
    seen = set() if seen is None else seen
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, timeout=30)
    names: set[str] = set()
    for line in out.stdout.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("@"):
            if item not in seen:
                seen.add(item)
                names |= _expand(item, seen)
        else:
            names.add(item)
    return names


def test_the_ssh_child_fits_the_units_system_call_filter(clean, tmp_path, monkeypatch):
    """No booted systemd here: trace the ssh child of a real session and check every system call it makes
    against the filter in systemd/hntht-agent.service (allowed set minus the denied sets)."""
    for tool in ("strace", "systemd-analyze"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            if os.geteuid() == 0:
                pytest.fail(f"{tool} is missing: scripts/install-test-deps.sh installs it")
            pytest.skip(f"needs {tool}")
    unit = (REPO / "systemd" / "hntht-agent.service").read_text()
    allowed: set[str] = set()
    denied: set[str] = set()
    for line in unit.splitlines():
        if line.startswith("SystemCallFilter="):
            value = line.split("=", 1)[1].strip()
            target = denied if value.startswith("~") else allowed
            for item in value.lstrip("~").split():
                target |= _expand(item) if item.startswith("@") else {item}
    assert allowed and denied
    trace = tmp_path / "trace"
    wrapper = tmp_path / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec strace -f -qq -o {trace} {openssh.ssh_program()} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(openssh, "ssh_program", lambda: str(wrapper))
    drv = driver(clean, "ssh-json", tmp_path / "state")
    try:
        drv.poll()
        drv.poll()
    finally:
        drv.close()
    import re

    used = {m.group(1) for m in re.finditer(r"^\d+\s+([a-z_0-9]+)\(", trace.read_text(), re.M)}
    assert {"connect", "execve"} <= used  # the trace did see the session (and the askpass program)
    assert not used & denied, sorted(used & denied)
    assert not used - allowed, sorted(used - allowed)


@pytest.mark.parametrize("client", ["openssh", "paramiko"])
@pytest.mark.parametrize("pin", ["fingerprint", "known_hosts"])
def test_poly_group_series_offering_only_ssh_rsa(tmp_path, client, pin):
    """The Group Series signs only with ssh-rsa (SHA-1): both clients connect, the key pinned either way."""
    from agent.sim.poly_gs import GSState, PolyGSSim
    from agent.vendors.poly_gs import PolyGSDriver
    from tests.vendors.poly_peers import CANARY as POLY_CANARY, GS_CAPTURE, by_id, make_config, run_codec_check

    with PolyGSSim(GS_CAPTURE, transport="ssh", password=POLY_CANARY, state=GSState()) as sim:
        codec = {"vendor": "poly-gs", "transport": "ssh", "port": sim.port, "ssh_client": client}
        if pin == "fingerprint":
            codec["ssh_fingerprint"] = pinning.ssh_fingerprint(sim.host_key)
        config = make_config(tmp_path, codec)
        if pin == "known_hosts":
            from agent.vendors import connection_from_config

            pinning.store_ssh_key(connection_from_config(config), sim.host_key)
        original = PolyGSDriver.command_gap
        PolyGSDriver.command_gap = 0.0
        try:
            report = run_codec_check(config)
        finally:
            PolyGSDriver.command_gap = original
    results = by_id(report)
    assert results["codec.login"].status.value == "pass", results["codec.login"].message.render("en")
    assert sim.sessions_opened == 1 and "status" in sim.commands


def test_a_uid_without_a_user_entry_falls_back_to_paramiko(tmp_path, monkeypatch):
    """ssh exits at once for a uid without a passwd entry (a DynamicUser= service without nss-systemd):
    auto must then use paramiko, and an explicit openssh says what to install."""
    import pwd

    pw = tmp_path / "pw"
    pw.write_text("x\n")
    base = Connection("127.0.0.1", "ssh", 22, "admin", Secret("x", str(pw)), 1.0, tmp_path)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert pinning.ssh_client(base) == "paramiko"
    with pytest.raises(ProtocolError) as info:
        openssh.OpenSshShell(dataclasses.replace(base, ssh_client="openssh"))
    assert "libnss-systemd" in info.value.text.render("vi")


def test_ssh_refusing_an_unknown_uid_is_classified():
    conn = Connection("127.0.0.1", "ssh", 22, "admin", None, 1.0, Path("/nonexistent"))
    error = openssh.classify("No user exists for uid 61234\n", conn, None)
    assert isinstance(error, ProtocolError) and "libnss-systemd" in error.text.render("en")


@pytest.mark.parametrize("client", ["openssh", "paramiko"])
def test_poly_utf8_room_name_split_across_ssh_reads(tmp_path, client):
    from agent.sim.poly_gs import GSState, PolyGSSim
    from agent.vendors import connection_from_config
    from agent.vendors.poly_gs import PolyGSDriver
    from tests.vendors.poly_peers import CANARY as POLY_CANARY, GS_CAPTURE, make_config

    name = "Phòng họp UBND xã Quảng La"
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=POLY_CANARY,
                   state=GSState(name=name, chunked=True, chunk_size=1)) as sim:
        config = make_config(tmp_path, {"vendor": "poly-gs", "transport": "ssh", "port": sim.port,
                                        "ssh_client": client,
                                        "ssh_fingerprint": pinning.ssh_fingerprint(sim.host_key)})
        drv = PolyGSDriver(connection_from_config(config))
        drv.command_gap = 0.0
        try:
            status = drv.poll()
        finally:
            drv.close()
    assert status.facts.name == name
