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


def fault(name, state, expect, check_id, status, key, facts, remedy=None):
    """One fault-state row: the check's status, its message key, the facts its Vietnamese text must hold
    and (when not ``<key>.remedy``) the remedy's key."""
    return pytest.param(state, expect, check_id, status, key, facts, remedy, id=name)


# A value this API cannot report at all is a skip saying how to check it by hand (codec.by_hand, its
# remedy codec.by_hand.<what>); one it could not read this time is an error (codec.unknown).
FAULTS = [
    fault("healthy", GSState(), {}, "codec.audio", "pass", "codec.audio.ok", ("micro đang bật", "âm lượng 39")),
    fault("muted", GSState(muted=True), {}, "codec.audio", "fail", "codec.audio.muted", ("TẮT TIẾNG", "không có cuộc gọi")),
    fault("echo off", GSState(echo_off=True), {}, "codec.echo_control", "fail", "codec.echo.off", ("đang TẮT", "micro 1")),
    fault("echo on", GSState(), {}, "codec.echo_control", "pass", "codec.echo.ok", ("đang bật", "micro 1")),
    fault("echo cmd refused", GSState(echocanceller_missing=True), {}, "codec.echo_control", "error", "codec.unknown",
          ("chế độ triệt vọng", "lần này không đọc được", "từ chối lệnh `echocanceller get`", "error: command not found")),
    fault("unregistered", GSState(unregistered=True), {}, "codec.registration", "fail", "codec.reg.fail",
          ("CHƯA đăng ký", "H.323 offline", "SIP offline")),
    fault("registered", GSState(), {"gatekeeper": "172.31.254.64", "registration": "h323"}, "codec.registration", "pass",
          "codec.reg.ok", ("đã đăng ký H.323", "gatekeeper 172.31.254.64")),
    fault("720p in call", GSState(video_720p=True), {"video_format": "1080p"}, "codec.video_format", "fail",
          "codec.video.low", ("cuộc gọi 3", "chỉ đạt 1280x720", "yêu cầu 1080p")),
    fault("720p ok for 720p", GSState(video_720p=True), {"video_format": "720p"}, "codec.video_format", "pass",
          "codec.video.ok", ("cuộc gọi 3", "1280x720", "tối thiểu 720p")),
    fault("in call low rate", GSState(in_call=True), {}, "codec.call_rate", "warn", "codec.rate.live_low",
          ("64/64 kbps", "yêu cầu 1024 kbps")),
    fault("preset list: not in this API", GSState(), {"camera_presets": ["Chủ tọa"]}, "codec.camera_presets", "skip",
          "codec.by_hand", ("danh sách preset camera", "Tự kiểm tra", "vị trí chủ tọa"), "codec.by_hand.presets"),
    fault("standby: not in this API", GSState(), {}, "codec.standby", "skip", "codec.by_hand",
          ("trạng thái chờ (standby)", "sleep/wake", "Tự kiểm tra"), "codec.by_hand.standby"),
    fault("single output", GSState(monitor2="off"), {"monitors": 2}, "codec.monitors", "fail", "codec.monitors.single",
          ("Single", "một nguồn hình ảnh")),
    fault("two outputs, plug unknown", GSState(), {"monitors": 2}, "codec.monitors", "skip", "codec.by_hand",
          ("trạng thái màn hình", "có được cắm hay không", "2 nguồn hình ảnh"), "codec.by_hand.monitors"),
    fault("call dropped", GSState(call_dropped=True), {}, "codec.video_format", "error", "codec.unknown",
          ("định dạng hình ảnh", "cuộc gọi đã kết thúc trong lúc đang đọc", "connection 0 is not active")),
    fault("greeting mid-session", GSState(regreet=True), {}, "codec.audio", "pass", "codec.audio.ok", ("âm lượng 39",)),
    fault("answers in tiny pieces", GSState(chunked=True), {}, "codec.registration", "pass", "codec.reg.ok",
          ("gatekeeper 172.31.254.64", "registrar 172.31.254.64")),
    fault("slow answers", GSState(delay=0.05), {}, "codec.ip", "pass", "codec.ip.ok", ("172.31.254.151", "mặt nạ 255.255.255.0")),
]


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
@pytest.mark.parametrize("state,expect,check_id,status,key,facts,remedy", FAULTS)
def test_fault_state(tmp_path, state, expect, check_id, status, key, facts, remedy, transport):
    report, sim = check(tmp_path, replace(state), transport=transport, expect=expect)
    results = by_id(report)
    result = results[check_id]
    assert result.status.value == status, result.message.render("en")
    assert_message(result, key, facts, remedy)
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


INFO = "info: AUDIO call not enabled"  # a real refusal line (codecs.md §3, DevCoreDXI76)


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "in pieces"])
@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_info_line_is_the_reason_and_the_poll_goes_on(tmp_path, transport, chunked):
    """The codec answers one read (`volume get`, mid-batch) with an `info:` line: that value is null with
    the device's own words as its reason, the check says so (error: not read this time, not a limit of
    the API), and every read after it is still sent and used."""
    report, sim = check(tmp_path, GSState(refusals={"volume get": INFO}, chunked=chunked), transport=transport)
    status = next(r for r in report.runs if r.name == "codec").status
    assert status.audio.volume is None
    reason = status.reason("audio.volume")
    assert reason.key == "codec.gs.refused"
    assert INFO in reason.render("en") and INFO in reason.render("vi")
    assert "từ chối lệnh `volume get`" in reason.render("vi")
    assert status.raw["refused.volume get"] == INFO
    # the poll went on past the refusal: the later reads were sent and their values kept
    after = sim.commands[sim.commands.index("volume get") + 1:]
    assert after == ["echocanceller get", "configdisplay monitor1 get", "configdisplay monitor2 get"]
    assert status.audio.muted is False and status.audio.mics[0].echo_control is True
    results = by_id(report)
    audio = results["codec.audio"]
    assert audio.status.value == "error"
    assert_message(audio, "codec.unknown", ("trạng thái micro và âm lượng", INFO), "codec.unknown.remedy")
    assert results["codec.echo_control"].status.value == "pass"
    assert results["codec.ip"].status.value == "pass"


@pytest.mark.parametrize("command,path,check_id", [
    ("status", "registration.h323.status", "codec.registration"),
    ("videocallrate get", "call_rate.default_kbps", "codec.call_rate"),
    ("configdisplay monitor2 get", "video.monitors[2]", None),
], ids=["a block read", "a get", "the last read"])
def test_info_line_on_other_reads(tmp_path, command, path, check_id):
    """Wherever the refusal comes (a multi-line block, a get, the last read), it is kept as the reason and
    the reads after it still go out."""
    report, sim = check(tmp_path, GSState(refusals={command: INFO}))
    status = next(r for r in report.runs if r.name == "codec").status
    assert status.raw[f"refused.{command}"] == INFO
    assert sim.commands[-1] == "configdisplay monitor2 get"  # the whole poll was sent
    assert len(sim.commands) == 14
    reason = status.reason(path)
    assert reason is not None and INFO in reason.render("vi") and INFO in reason.render("en"), reason
    if check_id is not None:
        result = by_id(report)[check_id]
        assert result.status.value == "error", result.message.render("en")
        assert INFO in result.message.render("vi"), result.message.render("vi")


def test_refused_callinfo_is_not_no_call(tmp_path):
    """The poll's first read refused: whether a call is up is unknown, so the calls are null with the
    refusal as the reason and the content check cannot say "not in a call"."""
    report, sim = check(tmp_path, GSState(refusals={"callinfo all": INFO}))
    status = next(r for r in report.runs if r.name == "codec").status
    assert status.raw["refused.callinfo all"] == INFO
    assert status.calls is None and INFO in status.reason("calls").render("vi")
    content = by_id(report)["codec.content_rate"]
    assert content.status.value == "error" and INFO in content.message.render("vi")


def test_refused_second_output_read_is_not_single(tmp_path):
    report, _ = check(tmp_path, GSState(refusals={"configdisplay monitor2 get": INFO}), expect={"monitors": 2})
    status = next(r for r in report.runs if r.name == "codec").status
    assert status.video.monitors_configured is None
    monitors = by_id(report)["codec.monitors"]
    assert monitors.status.value == "error" and INFO in monitors.message.render("vi")


def test_silent_ssh_peer_message_is_vietnamese(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY, state=GSState(silent=True)) as sim:
        config = make_config(tmp_path, {"vendor": "poly-gs", "transport": "ssh", "port": sim.port, "timeout": "1s",
                                        "ssh_fingerprint": "SHA256:" + "A" * 43}, budget=3.0)
        report = run_codec_check(config)
    assert "no SSH host key" not in by_id(report)["codec.reachable"].message.render("vi")
