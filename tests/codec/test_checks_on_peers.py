"""The codec checks end to end against the real simulators (config → probe → driver → checks):

- a healthy Poly room passes `check` (exit 0): what its API cannot report is a skip that says how to
  check it by hand, not an error;
- a fault still fails, and a read that was not answered this time is still an error;
- the configured output count in the normalised status of every simulator.
"""

from __future__ import annotations

import pytest

from agent.sim.poly_gs import GSState, PolyGSSim
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, by_id, make_config, run_codec_check

# What each API cannot report, so the healthy room skips it (with how to check it by hand).
GS_BY_HAND = {"codec.video_format", "codec.monitors", "codec.camera_presets", "codec.standby"}
REST_BY_HAND = {"codec.video_format", "codec.call_rate", "codec.monitors", "codec.camera_presets"}


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def gs_report(tmp_path, state: GSState, transport: str, expect: dict | None = None):
    with PolyGSSim(GS_CAPTURE, transport=transport, password=CANARY, state=state) as sim:
        codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port}
        if transport == "telnet":
            codec["allow_insecure"] = True
        else:
            codec["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
        if expect:
            codec["expect"] = expect
        return run_codec_check(make_config(tmp_path, codec))


def rest_report(tmp_path, state: RestState, expect: dict | None = None):
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=state) as sim:
        codec = {"vendor": "poly-rest", "port": sim.port, "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}
        if expect:
            codec["expect"] = expect
        return run_codec_check(make_config(tmp_path, codec))


def problems(report) -> dict[str, str]:
    return {r.id: f"{r.status.value}: {r.message.render('en')}" for r in report.results
            if r.status.value not in ("pass", "skip")}


def assert_by_hand(report, check_ids: set[str]) -> None:
    results = by_id(report)
    for cid in check_ids:
        r = results[cid]
        assert r.status.value == "skip" and r.message.key == "codec.by_hand", (cid, r.status, r.message.render("en"))
        how = r.remedy
        assert how is not None and how.key.startswith("codec.by_hand."), cid
        for lang in ("vi", "en"):
            text = r.message.render(lang)
            assert how.render(lang) in text and "{" not in text, (cid, lang, text)


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_healthy_group_series_passes(tmp_path, transport):
    report = gs_report(tmp_path, GSState(), transport)
    allowed = {"codec.login"} if transport == "telnet" else set()  # plain Telnet warns, by design
    assert set(problems(report)) <= allowed, problems(report)
    assert_by_hand(report, GS_BY_HAND)
    assert report.exit_code() == (1 if transport == "telnet" else 0)
    vi = by_id(report)["codec.camera_presets"].message.render("vi")
    assert "điều khiển từ xa" in vi and "vị trí chủ tọa" in vi


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_group_series_fault_still_fails(tmp_path, transport):
    report = gs_report(tmp_path, GSState(muted=True), transport)
    audio = by_id(report)["codec.audio"]
    assert audio.status.value == "fail" and audio.message.key == "codec.audio.muted"
    assert report.exit_code() == 2
    single = gs_report(tmp_path, GSState(monitor2="off"), transport, {"monitors": 2})
    monitors = by_id(single)["codec.monitors"]
    assert monitors.status.value == "fail" and monitors.message.key == "codec.monitors.single"


def test_group_series_read_deferred_by_a_call_setup_is_an_error(tmp_path):
    # A call being set up: the driver sends nothing more, so what it did not read is an error this time
    # (and the checks skipped in a healthy room for an API limit stay skips).
    report = gs_report(tmp_path, GSState(call_setup=True), "ssh")
    errors = {r.id: r for r in report.results if r.status.value == "error"}
    assert {"codec.ip", "codec.registration", "codec.video_format", "codec.audio", "codec.echo_control"} <= set(errors)
    assert_by_hand(report, {"codec.camera_presets", "codec.standby"})
    for r in errors.values():
        assert r.message.key == "codec.unknown", (r.id, r.message.render("en"))
        assert "being set up" in r.message.render("en") or "đang được thiết lập" in r.message.render("vi")
    assert report.exit_code() == 2


def test_healthy_videoos_passes(tmp_path):
    report = rest_report(tmp_path, RestState(muted=False, standby=False))
    assert not problems(report), problems(report)
    assert_by_hand(report, REST_BY_HAND)
    assert report.exit_code() == 0


def test_videoos_fault_still_fails(tmp_path):
    report = rest_report(tmp_path, RestState(muted=True, standby=False))
    assert by_id(report)["codec.audio"].status.value == "fail"
    assert report.exit_code() == 2


def test_videoos_call_being_set_up_is_an_error_not_a_skip(tmp_path):
    # The same check the healthy idle room skips (VideoOS reports the format only in a call) is an error
    # while a call is being set up: the value exists but was not read this time.
    report = rest_report(tmp_path, RestState(muted=False, standby=False, call_setup=True))
    video = by_id(report)["codec.video_format"]
    assert video.status.value == "error" and video.message.key == "codec.unknown", video.message.render("en")
    assert report.exit_code() == 2


# -- the configured output count (video.monitors_configured_count) as each simulator's status gives it --------
def codec_status(report):
    return next(r for r in report.runs if r.name == "codec").status


@pytest.mark.parametrize("mode,count", [("Single", 1), ("Dual", 2), ("DualPresentationOnly", 2), ("Triple", 3),
                                        ("Auto", None)])
def test_cisco_configured_count_from_the_monitor_mode(tmp_path, mode, count):
    from agent.sim.cisco import CiscoSim
    from tests.codec.conftest import CANARY as CISCO_PW, driver
    from tests.helpers import FIXTURES

    config = (FIXTURES / "cisco" / "sx20-ce9.1.4-configuration.xml").read_bytes()
    auto = b'TTPAR_Monitors_Dual">Auto</Monitors>'
    assert config.count(auto) == 1  # the real capture's own mode, changed only here
    with CiscoSim(config_xml=config.replace(auto, f'TTPAR_Monitors_Dual">{mode}</Monitors>'.encode()),
                  password=CISCO_PW) as sim:
        drv = driver(sim, "https", tmp_path)
        try:
            status = drv.poll()
        finally:
            drv.close()
    assert status.video.monitors_configured == mode
    assert status.video.monitors_configured_count == count
    if count is None:
        assert status.reasons["video.monitors_configured_count"].key == "codec.count.auto"
    else:
        assert "video.monitors_configured_count" not in status.reasons
    from agent.checks.codec import check_monitors
    from agent.config.sections.codec import CodecExpect

    result = check_monitors(status, CodecExpect(monitors=2))
    assert result.observed["configured"] == count
    if mode == "Single":
        assert result.status.value == "fail" and result.message.key == "codec.monitors.single"


@pytest.mark.parametrize("state,count", [(GSState(), 2), (GSState(monitor2="off"), 1),
                                         (GSState(monitor1="off", monitor2="off"), 0)])
def test_group_series_configured_count_is_its_enabled_outputs(tmp_path, state, count):
    report = gs_report(tmp_path, state, "ssh")
    status = codec_status(report)
    assert status.video.monitors_configured_count == count
    assert by_id(report)["codec.monitors"].observed["configured"] == count


def test_videoos_configured_count_is_null_with_the_reason(tmp_path):
    status = codec_status(rest_report(tmp_path, RestState(muted=False, standby=False)))
    assert status.video.monitors_configured_count is None
    assert status.reasons["video.monitors_configured_count"].key == "codec.rest.not_among_reads"


def test_the_printed_report_of_a_ready_room_names_what_to_check_by_hand(tmp_path):
    """A healthy Group Series is 'ready', and the printed report still tells the technician which items
    the codec cannot report (the SKIP lines carrying a by-hand instruction), in both languages."""
    from agent.render import format_report

    report = gs_report(tmp_path, GSState(), "ssh")
    vi, en = format_report(report, "vi"), format_report(report, "en")
    assert "Kết luận chung: ĐẠT" in vi and "Overall verdict: PASS" in en
    assert "Còn 4 hạng mục thiết bị không tự báo được: tự kiểm tra theo hướng dẫn ở các dòng BỎ QUA" in vi
    assert "4 item(s) the devices cannot report: check them by hand" in en
    for check_id in GS_BY_HAND:
        assert check_id in vi.split("Kết luận chung")[1]
