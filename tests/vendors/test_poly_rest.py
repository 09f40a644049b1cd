"""poly-rest against the HTTPS simulator: fault states, logout after every poll (also on failure),
the VideoOS lock-up, pinned certificates, the allow-list and deadlines."""

from __future__ import annotations

import time

import pytest

from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors import driver_for
from agent.vendors.base import CommandNotAllowed
from agent.vendors.pinning import tls_fingerprint
from agent.vendors.poly_rest import ALLOWED
from tests.vendors.poly_peers import CANARY, REST_CAPTURE, by_id, make_config, report_text, run_codec_check
from tests.vendors.test_poly_gs import assert_message, fault


def rest_config(tmp_path, sim, expect=None, **extra):
    codec = {"vendor": "poly-rest", "port": sim.port, "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}
    if expect:
        codec["expect"] = expect
    codec.update(extra)
    return make_config(tmp_path, codec, budget=15.0)


def check(tmp_path, state, expect=None, password=CANARY):
    with PolyRestSim(REST_CAPTURE, password=password, state=state) as sim:
        report = run_codec_check(rest_config(tmp_path, sim, expect))
        assert CANARY not in report_text(report)
        assert sim.sessions_open == 0, "the poll left a REST session open"
        return report, sim


# A value VideoOS cannot report is a skip saying how to check it by hand (codec.by_hand); the rows name
# the remedy when it is not <key>.remedy.
FAULTS = [
    fault("as captured: muted", RestState(), {}, "codec.audio", "fail", "codec.audio.muted", ("TẮT TIẾNG", "không có cuộc gọi")),
    fault("unmuted", RestState(muted=False), {}, "codec.audio", "pass", "codec.audio.ok",
          ("1/1 micro", "micro đang bật", "âm lượng 39")),
    fault("as captured: asleep", RestState(), {}, "codec.standby", "fail", "codec.standby.sleep", ("chế độ chờ", "ASLEEP"),
          "codec.standby.remedy"),
    fault("awake", RestState(standby=False), {}, "codec.standby", "pass", "codec.standby.ok", ("đang hoạt động",)),
    fault("unregistered", RestState(unregistered=True), {}, "codec.registration", "fail", "codec.reg.fail",
          ("CHƯA đăng ký", "H.323 down", "SIP down")),
    fault("registered to the MCU", RestState(), {"registration": "h323", "gatekeeper": "172.31.254.64"},
          "codec.registration", "pass", "codec.reg.ok", ("đã đăng ký H.323", "gatekeeper 172.31.254.64")),
    fault("in call 1080p", RestState(in_call=True), {"video_format": "1080p"}, "codec.video_format", "pass", "codec.video.ok",
          ("cuộc gọi 0", "1920x1080", "tối thiểu 1080p")),
    fault("in call 720p", RestState(video_720p=True), {"video_format": "1080p"}, "codec.video_format", "fail",
          "codec.video.low", ("cuộc gọi 0", "chỉ đạt 1280x720", "yêu cầu 1080p")),
    fault("content shared", RestState(in_call=True, content=True), {"min_content_rate_kbps": 384}, "codec.content_rate",
          "pass", "codec.content.ok", ("cuộc gọi 0", "512 kbps", "tối thiểu 384 kbps")),
    fault("content low", RestState(in_call=True, content=True), {"min_content_rate_kbps": 768}, "codec.content_rate",
          "fail", "codec.content.low", ("chỉ 512 kbps", "yêu cầu 768 kbps")),
    fault("call being set up", RestState(call_setup=True), {}, "codec.video_format", "error", "codec.unknown",
          ("định dạng hình ảnh", "lần này không đọc được", "trạng thái connecting", "chưa có thống kê đường truyền")),
    # mediastats 404: a fresh conference list tells an ended call (not read this time: error) from software
    # without mediastats (an API limit: by hand)
    fault("call dropped", RestState(call_dropped=True), {}, "codec.video_format", "error", "codec.unknown",
          ("định dạng hình ảnh", "lần này không đọc được", "cuộc gọi đã kết thúc trong lúc đang đọc",
           "không còn cuộc gọi 0")),
    fault("software without mediastats", RestState(no_mediastats=True), {}, "codec.video_format", "skip",
          "codec.by_hand", ("định dạng hình ảnh", "không có GET /rest/conferences/0/mediastats",
                            "vẫn đang kết nối", "Tự kiểm tra"), "codec.by_hand.video"),
    fault("preset list: not in this API", RestState(), {"camera_presets": ["Chủ tọa"]}, "codec.camera_presets", "skip",
          "codec.by_hand", ("danh sách preset camera", "màn hình điều khiển cảm ứng", "Tự kiểm tra"),
          "codec.by_hand.presets"),
    fault("echo: not in this API", RestState(), {}, "codec.echo_control", "skip", "codec.echo.builtin",
          ("triệt vọng", "VideoOS")),
    fault("slow answers", RestState(delay=0.05), {}, "codec.version", "pass", "codec.version.ok", ("3.12.0",)),
]


@pytest.mark.parametrize("state,expect,check_id,status,key,facts,remedy", FAULTS)
def test_fault_state(tmp_path, state, expect, check_id, status, key, facts, remedy):
    report, _ = check(tmp_path, state, expect)
    result = by_id(report)[check_id]
    assert result.status.value == status, result.message.render("en")
    assert_message(result, key, facts, remedy)
    assert_message(by_id(report)["codec.login"], "codec.login.ok", ("admin",))


def test_call_dropped_says_the_call_ended_not_missing_software(tmp_path):
    """The reason of a call that ended while read names the ended call in both languages, never "not on
    this software"; the conference list is read again (once) to tell, and the session still closes."""
    report, sim = check(tmp_path, RestState(call_dropped=True))
    status = next(r for r in report.runs if r.name == "codec").status
    reason = status.reason("calls[0].tx_video_format")
    assert reason.key == "codec.rest.call_ended" and reason.params["why"].key == "codec.rest.conf_gone"
    vi, en = reason.render("vi"), reason.render("en")
    assert "the call ended while it was read" in en and "no longer lists conference 0" in en, en
    assert "not on this software" not in en and "không có GET" not in vi, (vi, en)
    assert sim.requests.count("GET /rest/conferences") == 2
    assert sim.requests.index("GET /rest/conferences/0/mediastats") < len(sim.requests) - 1 - \
        sim.requests[::-1].index("GET /rest/conferences")  # the second list read comes after the 404


def test_no_mediastats_is_an_api_limit(tmp_path):
    report, _ = check(tmp_path, RestState(no_mediastats=True))
    status = next(r for r in report.runs if r.name == "codec").status
    reason = status.reason("calls[0].tx_video_format")
    assert reason.key == "codec.rest.no_mediastats"
    assert "is not on this software (HTTP 404 while conference 0 is still connected)" in reason.render("en")


def test_call_setup_reads_no_media_stats(tmp_path):
    _report, sim = check(tmp_path, RestState(call_setup=True))
    assert not any("mediastats" in r for r in sim.requests)


def test_auth_failure(tmp_path):
    report, sim = check(tmp_path, RestState(), password="not-the-canary")
    login = by_id(report)["codec.login"]
    assert login.status.value == "fail"
    assert_message(login, "codec.login.fail", ("từ chối đăng nhập", "'admin'"))
    assert sim.requests == ["POST /rest/current/session"]  # refused: nothing read, no session to close


def test_changed_certificate(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        config = rest_config(tmp_path, sim)
        sim.change_certificate()
        report = run_codec_check(config)
        assert sim.requests == []  # the password never left
    login = by_id(report)["codec.login"]
    assert login.status.value == "fail"
    assert_message(login, "codec.login.hostkey", ("ĐÃ THAY ĐỔI", "chứng chỉ TLS", "không gửi mật khẩu"))


def test_unpinned_certificate_asks_for_trust(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        report = run_codec_check(make_config(tmp_path, {"vendor": "poly-rest", "port": sim.port}))
        assert sim.requests == []
    login = by_id(report)["codec.login"]
    assert login.status.value == "error"
    assert_message(login, "codec.login.untrusted", ("Chưa tin cậy chứng chỉ TLS", "hntht-agent codec trust"))


def test_garbage_is_an_error_and_still_logs_out(tmp_path):
    report, sim = check(tmp_path, RestState(garbage=True))
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "error"
    assert_message(reachable, "codec.reachable.error", ("không đúng giao thức", "'GET /rest/system'", "không phải JSON"))
    assert sim.logouts == 1


def test_failed_read_still_logs_out(tmp_path):
    report, sim = check(tmp_path, RestState(fail_route="GET /rest/audio"))
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "error"
    assert_message(reachable, "codec.reachable.error", ("HTTP 500", "'GET /rest/audio'"))
    assert sim.sessions_opened == 1 and sim.logouts == 1


def test_logout_after_every_poll(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(max_sessions=2)) as sim:
        driver = driver_for(rest_config(tmp_path, sim))
        for _ in range(5):  # more polls than the lock-up limit: only possible because each poll logs out
            driver.poll()
            assert sim.sessions_open == 0
        assert sim.sessions_opened == 5 and sim.logouts == 5


def test_locked_up_codec_is_an_error_within_budget(tmp_path):
    """Sessions left open by someone else lock VideoOS up: the check says so in time, never hangs."""
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(max_sessions=1)) as sim:
        sim.sessions["left-open-by-another-client"] = time.time()
        config = make_config(tmp_path, {"vendor": "poly-rest", "port": sim.port, "timeout": "1s",
                                        "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}, budget=3.0)
        started = time.monotonic()
        report = run_codec_check(config)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0 + 1.5
    assert by_id(report)["codec.reachable"].status.value == "error"


def silent_peer_report(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(silent=True)) as sim:
        config = make_config(tmp_path, {"vendor": "poly-rest", "port": sim.port, "timeout": "1s",
                                        "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}, budget=3.0)
        started = time.monotonic()
        report = run_codec_check(config)
        return report, time.monotonic() - started


def test_never_answering_peer_within_budget(tmp_path):
    report, elapsed = silent_peer_report(tmp_path)
    assert elapsed < 3.0 + 1.5
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "error"
    assert_message(reachable, "codec.reachable.error", ("không đúng giao thức", "1 giây"))


def test_never_answering_peer_message_is_vietnamese(tmp_path):
    report, _ = silent_peer_report(tmp_path)
    assert "the login" not in by_id(report)["codec.reachable"].message.render("vi")


FORBIDDEN = ["POST /rest/conferences", "POST /rest/conferences/0/hangup", "DELETE /rest/conferences/0",
             "PUT /rest/audio/muted", "POST /rest/audio/muted", "POST /rest/system/reboot", "POST /rest/config",
             "PUT /rest/config", "POST /rest/cameras/near/presets/1", "GET /rest/system\nPOST /rest/system/reboot",
             "GET /rest/../rest/system/reboot", "GET /rest/system?x=1", "POST /rest/current/session"]


@pytest.mark.parametrize("command", FORBIDDEN)
def test_allow_list_refuses_before_sending(tmp_path, command):
    assert not ALLOWED.permits(command)
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        driver = driver_for(rest_config(tmp_path, sim))
        with driver:
            before = list(sim.requests)
            with pytest.raises(CommandNotAllowed):
                driver.send(command)
            assert sim.requests == before
