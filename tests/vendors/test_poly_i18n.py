"""Poly drivers speak the technician's language: fault states of the real simulators (Telnet/SSH Group
Series, HTTPS VideoOS) rendered in Vietnamese carry the Vietnamese catalogue text and no English driver
sentence, and rendered in English the English text and no Vietnamese; also through `hntht-agent check`.
"""

from __future__ import annotations

import json

import pytest

from agent.errors import DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.i18n import Text
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors import cisco_tree, driver_for, poly_gs_text
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver, _explained
from tests.test_cli import cli
from tests.test_i18n_drivers import ENGLISH, VIETNAMESE, _texts
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, by_id, make_config, report_text, run_codec_check


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def gs_report(tmp_path, state=None, transport="telnet", password=CANARY, **codec):
    with PolyGSSim(GS_CAPTURE, transport=transport, password=password, state=state or GSState()) as sim:
        table = {"vendor": "poly-gs", "transport": transport, "port": sim.port, **codec}
        if transport == "telnet":
            table["allow_insecure"] = True
        else:
            table["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
        report = run_codec_check(make_config(tmp_path, table))
    assert CANARY not in report_text(report)
    return report


def rest_report(tmp_path, state=None, password=CANARY):
    with PolyRestSim(REST_CAPTURE, password=password, state=state or RestState()) as sim:
        table = {"vendor": "poly-rest", "port": sim.port, "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}
        report = run_codec_check(make_config(tmp_path, table))
    assert CANARY not in report_text(report)
    return report


def message(report, check_id: str, lang: str) -> str:
    return by_id(report)[check_id].message.render(lang)


def technician_texts(report, lang: str) -> list[tuple[str, str]]:
    """Messages, remedies and codec reasons as the report shows them, without the device's own words
    (a refusal line such as "connection 0 is not active" is quoted verbatim, not translated)."""
    plain = report.to_dict(lang)
    device_words = [v for k, v in (plain["statuses"].get("codec", {}).get("raw") or {}).items()
                    if k.startswith("refused.") and isinstance(v, str)]
    out = []
    for where, text in _texts(plain):
        for words in device_words:
            text = text.replace(words, "")
        out.append((where, text))
    return out


def english_phrases(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(where, text) for where, text in texts for phrase in ENGLISH if phrase in text.lower()]


# -- every fault state: nothing English in the Vietnamese report, nothing Vietnamese in the English one ---
GS_STATES = [
    ("healthy", GSState(), "telnet", CANARY),
    ("in call", GSState(in_call=True), "telnet", CANARY),
    ("call being set up", GSState(call_setup=True), "telnet", CANARY),
    ("call dropped", GSState(call_dropped=True), "telnet", CANARY),
    ("echo canceller refused", GSState(echocanceller_missing=True), "telnet", CANARY),
    ("second output off", GSState(monitor2="off"), "telnet", CANARY),
    ("unregistered", GSState(unregistered=True), "telnet", CANARY),
    ("garbage", GSState(garbage=True), "telnet", CANARY),
    ("auth failure telnet", GSState(), "telnet", "another-password"),
    ("auth failure ssh", GSState(), "ssh", "another-password"),
    ("healthy ssh", GSState(), "ssh", CANARY),
]
REST_STATES = [
    ("healthy", RestState(), CANARY),
    ("in call with content", RestState(in_call=True, content=True), CANARY),
    ("call being set up", RestState(call_setup=True), CANARY),
    ("call dropped", RestState(call_dropped=True), CANARY),
    ("unregistered", RestState(unregistered=True), CANARY),
    ("garbage", RestState(garbage=True), CANARY),
    ("failed read", RestState(fail_route="GET /rest/audio"), CANARY),
    ("auth failure", RestState(), "not-the-canary"),
]


def _assert_both_languages(report):
    vi = technician_texts(report, "vi")
    assert vi and not english_phrases(vi), english_phrases(vi)
    en = technician_texts(report, "en")
    # Proper names keep their letters in English ("VNPT Quảng Ninh").
    assert not [(w, t) for w, t in en if VIETNAMESE.search(t.replace("Quảng Ninh", ""))]


@pytest.mark.parametrize("name,state,transport,password", GS_STATES, ids=[s[0] for s in GS_STATES])
def test_group_series_report_in_each_language(tmp_path, name, state, transport, password):
    _assert_both_languages(gs_report(tmp_path, state, transport, password))


@pytest.mark.parametrize("name,state,password", REST_STATES, ids=[s[0] for s in REST_STATES])
def test_videoos_report_in_each_language(tmp_path, name, state, password):
    _assert_both_languages(rest_report(tmp_path, state, password))


# -- the texts themselves ----------------------------------------------------------------------------
def vietnamese_detail(text: str) -> str:
    """The part after the check's own prefix ("Thiết bị đầu cuối từ chối đăng nhập: <detail>"), which the
    driver or its session code supplies: it must be Vietnamese too, whichever of them gave it."""
    detail = text.split(": ", 1)[1]
    assert VIETNAMESE.search(detail) and not english_phrases([("", detail)]), text
    return detail


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_group_series_auth_failure(tmp_path, transport):
    report = gs_report(tmp_path, transport=transport, password="another-password")
    assert by_id(report)["codec.login"].status.value == "fail"
    detail = vietnamese_detail(message(report, "codec.login", "vi"))
    assert "'admin'" in detail or "127.0.0.1" in detail
    assert "127.0.0.1 refused the " in message(report, "codec.login", "en")


def test_session_errors_without_text_get_the_drivers_sentence(tmp_path):
    """An error that reaches the driver without a text (the links localise their own) gets a sentence in
    both languages from what the driver was doing; a text it carries is never replaced."""
    config = make_config(tmp_path, {"vendor": "poly-gs", "transport": "ssh", "port": 2222,
                                    "ssh_fingerprint": "SHA256:" + "A" * 43})
    conn = driver_for(config).connection  # builds the Connection only: nothing is opened
    auth = _explained(DeviceAuthError("127.0.0.1 refused the password (it asked again)"), conn, None)
    assert auth.text.render("vi") == "tên tài khoản 'admin' hoặc mật khẩu không đúng (127.0.0.1)"
    assert auth.text.render("en") == "the user name 'admin' or the password is wrong (127.0.0.1)"
    broke = _explained(DeviceUnreachable("the SSH session to the codec broke: reset"), conn, "'status'")
    assert broke.text.render("vi") == "phiên SSH tới thiết bị đầu cuối bị ngắt khi đang đọc 'status'"
    slow = _explained(ProtocolError("the codec did not answer the greeting within 2 s"), conn, None)
    assert slow.text.render("vi").startswith("thiết bị đầu cuối không trả lời đúng khi đăng nhập qua SSH trong 2 giây")
    own = Text("codec.err.timeout", what="'status'", seconds=2.0)
    given = ProtocolError("the codec did not answer 'status' within 2 s")
    given.text = own
    assert _explained(given, conn, "'status'").text is own
    assert getattr(_explained(HostKeyMismatch("changed"), conn, None), "text", None) is None


def test_group_series_garbage(tmp_path):
    report = gs_report(tmp_path, GSState(garbage=True))
    assert by_id(report)["codec.reachable"].status.value == "error"
    detail = vietnamese_detail(message(report, "codec.reachable", "vi"))
    assert "'callinfo all'" in detail and "2 giây" in detail
    assert "the codec did not answer 'callinfo all' within 2 s" in message(report, "codec.reachable", "en")


def test_group_series_fields_not_exposed(tmp_path):
    report = gs_report(tmp_path, expect={"camera_presets": ["Chủ tọa"]})
    presets, standby = by_id(report)["codec.camera_presets"], by_id(report)["codec.standby"]
    assert presets.status.value == standby.status.value == "skip"  # not in this API: checked by hand
    assert "không có lệnh liệt kê preset camera" in presets.message.render("vi")
    assert "has no command that lists camera presets" in presets.message.render("en")
    assert "không có lệnh đọc trạng thái chờ" in standby.message.render("vi")
    assert "has no read of the sleep state" in standby.message.render("en")
    status = next(r for r in report.runs if r.name == "codec").status
    assert status.reason("network.mac").render("vi") == "API văn bản của Group Series không có lệnh đọc địa chỉ MAC"
    assert status.reason("network.mac").render("en") == "the Group Series text API has no read of the MAC address"


def test_group_series_refused_read_keeps_the_device_words(tmp_path):
    report = gs_report(tmp_path, GSState(echocanceller_missing=True))
    echo = by_id(report)["codec.echo_control"]
    assert echo.status.value == "error"  # refused: not read this time, not "the model has no such setting"
    assert "thiết bị đầu cuối từ chối lệnh `echocanceller get` (error: command not found)" in echo.message.render("vi")
    assert "the codec refused `echocanceller get` (error: command not found)" in echo.message.render("en")


def test_group_series_call_being_set_up(tmp_path):
    reg = by_id(gs_report(tmp_path, GSState(call_setup=True)))["codec.registration"]
    assert reg.status.value == "error"
    assert "cuộc gọi 34 đang được thiết lập (trạng thái connecting)" in reg.message.render("vi")
    assert "chạy lại kiểm tra khi cuộc gọi đã kết nối" in reg.message.render("vi")
    assert "not read: call 34 is connecting" in reg.message.render("en")


def test_videoos_auth_failure(tmp_path):
    report = rest_report(tmp_path, password="not-the-canary")
    assert by_id(report)["codec.login"].status.value == "fail"
    assert "127.0.0.1 từ chối đăng nhập của tài khoản 'admin'" in message(report, "codec.login", "vi")
    assert "127.0.0.1 refused the login of user 'admin'" in message(report, "codec.login", "en")


def test_videoos_garbage_and_failed_read(tmp_path):
    garbage = rest_report(tmp_path, RestState(garbage=True))
    assert "câu trả lời cho 'GET /rest/system' không phải JSON" in message(garbage, "codec.reachable", "vi")
    assert "the answer to 'GET /rest/system' is not JSON" in message(garbage, "codec.reachable", "en")
    failed = rest_report(tmp_path, RestState(fail_route="GET /rest/audio"))
    assert "thiết bị đầu cuối trả lời HTTP 500 cho 'GET /rest/audio'" in message(failed, "codec.reachable", "vi")
    assert "the codec answered HTTP 500 to 'GET /rest/audio'" in message(failed, "codec.reachable", "en")


def test_videoos_fields_not_exposed(tmp_path):
    report = rest_report(tmp_path)
    rate, echo = by_id(report)["codec.call_rate"], by_id(report)["codec.echo_control"]
    assert rate.status.value == "skip" and echo.status.value == "skip"  # not in this API: checked by hand
    assert "băng thông kết nối mặc định không có trong các lệnh đọc REST" in rate.message.render("vi")
    assert "the default call rate is not among the VideoOS REST reads" in rate.message.render("en")
    assert "micro của VideoOS tự triệt vọng" in echo.message.render("vi")
    assert "VideoOS microphones cancel echo themselves" in echo.message.render("en")


def test_videoos_call_dropped_reason(tmp_path):
    report = rest_report(tmp_path, RestState(call_dropped=True))
    status = next(r for r in report.runs if r.name == "codec").status
    call = status.calls[0]
    reason = status.reason(f"calls[{call.id}].tx_video_format")
    assert reason is not None
    vi, en = reason.render("vi"), reason.render("en")
    assert not VIETNAMESE.search(en) and VIETNAMESE.search(vi) and vi != en


def test_auto_unidentified_names_each_attempt(tmp_path):
    """auto over Telnet against a peer that never greets: one error listing what each driver found."""
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=GSState(silent=True)) as sim:
        config = make_config(tmp_path, {"vendor": "auto", "transport": "telnet", "port": sim.port,
                                        "allow_insecure": True, "timeout": "1s"}, budget=5.0)
        report = run_codec_check(config)
    result = by_id(report)["codec.reachable"]
    assert result.status.value == "error"
    vi, en = result.message.render("vi"), result.message.render("en")
    assert "không nhận ra loại thiết bị đầu cuối qua telnet: poly-gs: thiết bị đầu cuối không trả lời lời nhắc đăng " \
           "nhập trong 1 giây" in vi
    assert "could not identify the codec on telnet: poly-gs: the codec " in en and en.endswith("within 1 s")


# -- parse errors carry their text -----------------------------------------------------------------------
@pytest.mark.parametrize("parse,bad", [
    (poly_gs_text.parse_callinfo, ["callinfo:x"]),
    (poly_gs_text.parse_stats, ["tvf 1280x720"]),
    (poly_gs_text.parse_uptime, "soon"),
    (poly_gs_text.parse_display, "hdmi wide"),
    (cisco_tree.flatten_xml, "<Status><a></Status>"),
    (cisco_tree.flatten_terminal, "*s Network 1 IPv4 Address 10.0.0.1\n"),
    (cisco_tree.flatten_json, ["not", "an", "object"]),
    (cisco_tree.flatten_json, {"Status": {"bad key!": {"Value": "1"}}}),
])
def test_parse_errors_are_localised(parse, bad):
    with pytest.raises(ProtocolError) as caught:
        parse(bad)
    text = caught.value.text
    assert VIETNAMESE.search(text.render("vi"))
    assert text.render("en") and not VIETNAMESE.search(text.render("en"))


# -- through the command a technician runs -------------------------------------------------------------
def test_check_command_in_both_languages(tmp_path):
    pw = tmp_path / "codec-password"
    pw.write_text("another-password\n")
    pw.chmod(0o600)
    state = tmp_path / "state"
    state.mkdir()
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        config = tmp_path / "agent.toml"
        config.write_text(
            f'[agent]\nroom_id = "room-test"\nstate_dir = "{state}"\n\n'
            f'[codec]\nvendor = "poly-gs"\ntransport = "telnet"\nallow_insecure = true\nhost = "127.0.0.1"\n'
            f'port = {sim.port}\nusername = "admin"\npassword_file = "{pw}"\ntimeout = "2s"\n')
        out = {lang: cli("check", "--config", str(config), "--only", "codec", "--json", "--lang", lang, timeout=60)
               for lang in ("vi", "en")}
    reports = {}
    for lang, proc in out.items():
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        reports[lang] = json.loads(proc.stdout)
    login = {lang: next(c for c in r["checks"] if c["id"] == "codec.login") for lang, r in reports.items()}
    assert login["vi"]["status"] == login["en"]["status"] == "fail"
    assert "từ chối mật khẩu" in login["vi"]["message"]
    assert "refused the password" in login["en"]["message"] and not VIETNAMESE.search(login["en"]["message"])
