"""poly-gs against its simulator on real Telnet and SSH sockets: fault states → check results,
call set-up safety, legacy ssh-rsa host keys, Telnet negotiation, the read-only guard, deadlines."""

from __future__ import annotations

import re
import time
from dataclasses import replace

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


PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def assert_message(result, key: str, vi_facts: tuple[str, ...] = (), remedy: str | None = None) -> None:
    """A check result says what the row expects: its message key, rendered in Vietnamese with the key
    facts (numbers, states, the device's words) and in English, and for anything but a pass a remedy
    (``<key>.remedy`` unless the row names another) that a technician can read in both languages."""
    message = result.message
    vi, en = message.render("vi"), message.render("en")
    assert message.key == key, (message.key, en)
    assert vi and en and vi != en, (vi, en)
    assert not PLACEHOLDER.search(vi + en), (vi, en)  # every parameter filled
    missing = [fact for fact in vi_facts if fact not in vi]
    assert not missing, (missing, vi)
    if result.status.value == "pass":
        return
    assert result.remedy is not None, en
    assert result.remedy.key == (remedy or f"{key}.remedy"), result.remedy.key
    rvi, ren = result.remedy.render("vi"), result.remedy.render("en")
    assert rvi and ren and rvi != ren and not PLACEHOLDER.search(rvi + ren), (rvi, ren)


# (name, simulator state, [codec.expect], check, status, message key, facts in the Vietnamese text)
FAULTS = [
    ("healthy", GSState(), {}, "codec.audio", "pass", "codec.audio.ok", ("micro đang bật", "âm lượng 39")),
    ("muted", GSState(muted=True), {}, "codec.audio", "fail", "codec.audio.muted", ("TẮT TIẾNG", "không có cuộc gọi")),
    ("echo off", GSState(echo_off=True), {}, "codec.echo_control", "fail", "codec.echo.off", ("đang TẮT", "micro 1")),
    ("echo on", GSState(), {}, "codec.echo_control", "pass", "codec.echo.ok", ("đang bật", "micro 1")),
    ("echo cmd missing", GSState(echocanceller_missing=True), {}, "codec.echo_control", "skip", "codec.echo.builtin",
     ("từ chối lệnh `echocanceller get`", "error: command not found")),
    ("unregistered", GSState(unregistered=True), {}, "codec.registration", "fail", "codec.reg.fail",
     ("CHƯA đăng ký", "H.323 offline", "SIP offline")),
    ("registered", GSState(), {"gatekeeper": "172.31.254.64", "registration": "h323"}, "codec.registration", "pass",
     "codec.reg.ok", ("đã đăng ký H.323", "gatekeeper 172.31.254.64")),
    ("720p in call", GSState(video_720p=True), {"video_format": "1080p"}, "codec.video_format", "fail",
     "codec.video.low", ("cuộc gọi 3", "chỉ đạt 1280x720", "yêu cầu 1080p")),
    ("720p ok for 720p", GSState(video_720p=True), {"video_format": "720p"}, "codec.video_format", "pass",
     "codec.video.ok", ("cuộc gọi 3", "1280x720", "tối thiểu 720p")),
    ("in call low rate", GSState(in_call=True), {}, "codec.call_rate", "warn", "codec.rate.live_low",
     ("64/64 kbps", "yêu cầu 1024 kbps")),
    ("preset missing: not readable", GSState(), {"camera_presets": ["Chủ tọa"]}, "codec.camera_presets", "error",
     "codec.unknown", ("danh sách preset camera", "điều khiển từ xa")),
    ("standby: not readable", GSState(), {}, "codec.standby", "error", "codec.unknown",
     ("trạng thái chờ (standby)", "sleep/wake")),
    ("single output", GSState(monitor2="off"), {"monitors": 2}, "codec.monitors", "fail", "codec.monitors.single",
     ("Single", "một nguồn hình ảnh")),
    ("two outputs, plug unknown", GSState(), {"monitors": 2}, "codec.monitors", "error", "codec.unknown",
     ("trạng thái màn hình", "có được cắm hay không")),
    ("call dropped", GSState(call_dropped=True), {}, "codec.video_format", "error", "codec.unknown",
     ("định dạng hình ảnh", "netstats")),
    ("greeting mid-session", GSState(regreet=True), {}, "codec.audio", "pass", "codec.audio.ok", ("âm lượng 39",)),
    ("answers in tiny pieces", GSState(chunked=True), {}, "codec.registration", "pass", "codec.reg.ok",
     ("gatekeeper 172.31.254.64", "registrar 172.31.254.64")),
    ("slow answers", GSState(delay=0.05), {}, "codec.ip", "pass", "codec.ip.ok", ("172.31.254.151", "mặt nạ 255.255.255.0")),
]


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
@pytest.mark.parametrize("name,state,expect,check_id,status,key,facts", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_state(tmp_path, name, state, expect, check_id, status, key, facts, transport):
    report, sim = check(tmp_path, replace(state), transport=transport, expect=expect)
    results = by_id(report)
    result = results[check_id]
    assert result.status.value == status, result.message.render("en")
    assert_message(result, key, facts)
    login = results["codec.login"]
    if transport == "telnet":  # the password in clear: a warning, never a pass
        assert login.status.value == "warn"
        assert_message(login, "codec.login.insecure", ("TELNET", "KHÔNG mã hóa"))
    else:
        assert login.status.value == "pass"
        assert_message(login, "codec.login.ok", ("admin",))
    assert sim.sessions_opened == 1


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
    results = by_id(report)
    assert results["codec.reachable"].status.value == "pass"
    assert_message(results["codec.reachable"], "codec.reachable.answered", ("127.0.0.1", "có trả lời"))
    login = results["codec.login"]
    assert login.status.value == "fail"
    assert_message(login, "codec.login.fail", ("từ chối", "mật khẩu"))
    assert CANARY not in report_text(report)
    assert sim.commands == []


def test_telnet_username_prompt(tmp_path):
    report, _ = check(tmp_path, GSState(), ask_username=True)
    assert by_id(report)["codec.reachable"].status.value == "pass"


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_garbage(tmp_path, transport):
    report, _ = check(tmp_path, GSState(garbage=True), transport=transport)
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "error"
    assert_message(reachable, "codec.reachable.error", ("không đúng giao thức", "'callinfo all'"))


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
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "error"
    # Telnet: no password prompt in time; SSH: no host key in time (the handshake, before any password)
    said = ("lời nhắc đăng nhập", "1 giây") if transport == "telnet" else ("không hoàn tất bắt tay SSH",)
    assert_message(reachable, "codec.reachable.error", ("không đúng giao thức",) + said)


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
