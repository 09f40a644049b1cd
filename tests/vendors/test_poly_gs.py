"""poly-gs against its simulator on real Telnet and SSH sockets: fault states → check results,
call set-up safety, legacy ssh-rsa host keys, Telnet negotiation, the read-only guard, deadlines."""

from __future__ import annotations

import time

import paramiko
import pytest

from agent.sim.poly_gs import GSState, PolyGSSim
from agent.vendors.base import CommandNotAllowed
from agent.vendors.pinning import ssh_fingerprint
from agent.vendors.poly_gs import ALLOWED, PolyGSDriver, TelnetCodec
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, by_id, make_config, report_text, run_codec_check


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def gs_config(tmp_path, sim, transport="telnet", **extra):
    codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port, **extra}
    if transport == "telnet":
        codec["allow_insecure"] = True
    elif "ssh_fingerprint" not in extra:
        codec["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
    return make_config(tmp_path, codec, budget=15.0)


def check(tmp_path, state: GSState, transport="telnet", expect=None, **sim_kw):
    with PolyGSSim(GS_CAPTURE, transport=transport, password=sim_kw.pop("password", CANARY), state=state,
                   **sim_kw) as sim:
        codec_extra = {"expect": expect} if expect else {}
        report = run_codec_check(gs_config(tmp_path, sim, transport, **codec_extra))
        assert CANARY not in report_text(report)
        return report, sim


FAULTS = [
    ("healthy", GSState(), {}, "codec.audio", "pass"),
    ("muted", GSState(muted=True), {}, "codec.audio", "fail"),
    ("echo off", GSState(echo_off=True), {}, "codec.echo_control", "fail"),
    ("echo on", GSState(), {}, "codec.echo_control", "pass"),
    ("echo cmd missing", GSState(echocanceller_missing=True), {}, "codec.echo_control", "skip"),
    ("unregistered", GSState(unregistered=True), {}, "codec.registration", "fail"),
    ("registered", GSState(), {"gatekeeper": "172.31.254.64", "registration": "h323"}, "codec.registration", "pass"),
    ("720p in call", GSState(video_720p=True), {"video_format": "1080p"}, "codec.video_format", "fail"),
    ("720p ok for 720p", GSState(video_720p=True), {"video_format": "720p"}, "codec.video_format", "pass"),
    ("in call low rate", GSState(in_call=True), {}, "codec.call_rate", "warn"),
    ("preset missing: not readable", GSState(), {"camera_presets": ["Chủ tọa"]}, "codec.camera_presets", "error"),
    ("standby: not readable", GSState(), {}, "codec.standby", "error"),
    ("single output", GSState(monitor2="off"), {"monitors": 2}, "codec.monitors", "fail"),
    ("two outputs, plug unknown", GSState(), {"monitors": 2}, "codec.monitors", "error"),
    ("call dropped", GSState(call_dropped=True), {}, "codec.video_format", "error"),
    ("greeting mid-session", GSState(regreet=True), {}, "codec.audio", "pass"),
    ("answers in tiny pieces", GSState(chunked=True), {}, "codec.registration", "pass"),
    ("slow answers", GSState(delay=0.05), {}, "codec.ip", "pass"),
]


@pytest.mark.parametrize("name,state,expect,check_id,status", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_state(tmp_path, name, state, expect, check_id, status):
    report, _ = check(tmp_path, state, expect=expect)
    results = by_id(report)
    assert results[check_id].status.value == status, results[check_id].message.render("en")
    assert results["codec.login"].status.value == "warn"  # Telnet: password in clear


def test_call_being_set_up_sends_nothing_more(tmp_path):
    report, sim = check(tmp_path, GSState(call_setup=True))
    assert sim.commands == ["callinfo all"]  # nothing else while the call is established
    results = by_id(report)
    assert results["codec.reachable"].status.value == "pass"
    reg = results["codec.registration"]
    assert reg.status.value == "error" and "being set up" in reg.message.render("en")
    run = next(r for r in report.runs if r.name == "codec")
    assert run.status.calls[0].status == "connecting"
    assert "deferred" in run.status.raw


@pytest.mark.parametrize("chunked", [False, True], ids=["whole answers", "answers in pieces"])
def test_call_ringing_mid_poll_stops_the_poll(tmp_path, chunked):
    """A call that starts ringing while the poll runs (its callstate notification comes with the fourth
    answer): not one more command goes out, and what was not read says why."""
    report, sim = check(tmp_path, GSState(ring_at=4, chunked=chunked))
    assert sim.commands == ["callinfo all", "status", "gatekeeperip get", "systemsetting get sipregistrarserver"]
    results = by_id(report)
    assert results["codec.registration"].status.value == "pass"  # read before the call rang
    ip = results["codec.ip"]
    assert ip.status.value == "error"
    assert "call 35 is ringing" in ip.message.render("en")
    assert "cuộc gọi 35 đang được thiết lập" in ip.message.render("vi")
    run = next(r for r in report.runs if r.name == "codec")
    assert run.status.raw["deferred"] == "call 35 is ringing"
    assert run.status.network.ip is None and "being set up" in run.status.reason("network.ip").render("en")


def test_call_dropped_reason(tmp_path):
    report, _ = check(tmp_path, GSState(call_dropped=True))
    status = next(r for r in report.runs if r.name == "codec").status
    reason = status.reason(f"calls[{status.calls[0].id}].tx_video_format")
    assert "ended while it was read" in reason.render("en")
    assert "đã kết thúc trong lúc đang đọc" in reason.render("vi")


def test_ssh_with_legacy_ssh_rsa_only_server(tmp_path):
    report, sim = check(tmp_path, GSState(), transport="ssh")
    assert by_id(report)["codec.login"].status.value == "pass"
    assert sim.sessions_opened == 1 and "status" in sim.commands


def test_stock_paramiko_refuses_the_ssh_rsa_only_server():
    """The reason legacy_ssh.py exists: paramiko 5 alone cannot talk to this server."""
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY) as sim:
        transport = paramiko.Transport(("127.0.0.1", sim.port))
        try:
            with pytest.raises(paramiko.SSHException, match="no acceptable host key"):
                transport.start_client(timeout=5)
        finally:
            transport.close()


def test_changed_host_key(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY) as sim:
        config = gs_config(tmp_path, sim, "ssh")
        sim.change_host_key()
        report = run_codec_check(config)
    login = by_id(report)["codec.login"]
    assert login.status.value == "fail"
    assert "not the" in login.message.render("en") and "KHÔNG được gửi" in login.message.render("vi")
    assert sim.commands == [] and sim.logins_failed == 0  # the password was never sent


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_auth_failure(tmp_path, transport):
    with PolyGSSim(GS_CAPTURE, transport=transport, password="another-password") as sim:
        report = run_codec_check(gs_config(tmp_path, sim, transport))
    assert by_id(report)["codec.login"].status.value == "fail"
    assert CANARY not in report_text(report)
    assert sim.commands == []


def test_telnet_username_prompt(tmp_path):
    report, _ = check(tmp_path, GSState(), ask_username=True)
    assert by_id(report)["codec.reachable"].status.value == "pass"


def test_garbage(tmp_path):
    report, _ = check(tmp_path, GSState(garbage=True))
    assert by_id(report)["codec.reachable"].status.value == "error"


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_never_answering_peer_within_budget(tmp_path, transport):
    with PolyGSSim(GS_CAPTURE, transport=transport, password=CANARY, state=GSState(silent=True)) as sim:
        codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port, "timeout": "1s"}
        if transport == "telnet":
            codec["allow_insecure"] = True
        else:
            codec["ssh_fingerprint"] = "SHA256:" + "A" * 43
        config = make_config(tmp_path, codec, budget=4.0)
        config.codec.timeout = 1.0
        started = time.monotonic()
        report = run_codec_check(config)
        elapsed = time.monotonic() - started
    assert elapsed < 4.0 + 1.5
    assert by_id(report)["codec.reachable"].status.value == "error"


def test_telnet_refused_without_allow_insecure(tmp_path):
    from agent.errors import ConfigError

    with pytest.raises(ConfigError):
        make_config(tmp_path, {"vendor": "poly-gs", "transport": "telnet", "port": 24})


def test_telnet_negotiation_minimal_and_correct(tmp_path):
    _report, sim = check(tmp_path, GSState())
    assert set(sim.negotiation) == {bytes((255, 253, 1)), bytes((255, 253, 3)), bytes((255, 252, 31))}


def test_telnet_codec_split_iac_and_escapes():
    codec = TelnetCodec()
    data = bytes((255, 251)) + b""  # WILL split from its option
    out = codec.decode(b"ab" + data) + codec.decode(bytes((1,)) + b"c" + bytes((255, 255)) + b"d")
    assert out == b"abc\xffd"
    assert codec.take_replies() == bytes((255, 253, 1))
    assert codec.decode(bytes((255, 250, 24, 1, 255, 240)) + b"x") == b"x"  # sub-negotiation skipped
    assert TelnetCodec.encode("volume get\r\n") == b"volume get\r\n"
    with pytest.raises(UnicodeEncodeError):  # commands are ASCII: nothing that could be a 0xFF (IAC) byte
        TelnetCodec.encode("a\u00ff")


FORBIDDEN = ["dial manual 384 1234 h323", "hangup all", "preset near go 1", "preset near set 2", "camera near move left",
             "reboot now", "sleep", "wake", "volume set 10", "mute near on", "echocanceller no", "videocallrate 512",
             "status\nhangup all", "status\rreboot now", "callinfo all; hangup all", "systemsetting set model x",
             "configdisplay monitor1 hdmi 1920x1080p 60", "ipaddress set 1.2.3.4", "exit"]


@pytest.mark.parametrize("command", FORBIDDEN)
def test_allow_list_refuses_before_sending(tmp_path, command):
    assert not ALLOWED.permits(command)
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        config = gs_config(tmp_path, sim)
        from agent.vendors import driver_for

        driver = driver_for(config)
        with driver:
            with pytest.raises(CommandNotAllowed):
                driver.send(command)
        assert sim.commands == []


def test_one_session_across_polls(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        from agent.vendors import driver_for

        driver = driver_for(gs_config(tmp_path, sim))
        try:
            for _ in range(3):
                driver.poll()
        finally:
            driver.close()
    assert driver.sessions_opened == 1 and sim.sessions_opened == 1
