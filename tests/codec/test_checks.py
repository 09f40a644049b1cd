"""Table-driven tests of every codec check: pure functions of CodecStatus + [codec.expect]."""

from __future__ import annotations

import dataclasses

import pytest

from agent.checks import codec as checks
from agent.config.sections.codec import CodecExpect
from agent.i18n import known
from agent.model import Status
from agent.vendors import model as m


def healthy() -> m.CodecStatus:
    return m.CodecStatus(
        vendor="cisco", transport="ssh",
        facts=m.Facts(vendor="cisco", model="Cisco Room Bar", software_version="ce11.19.1.6", serial="X", uptime_s=5),
        network=m.NetworkInfo(ip="10.8.50.218", netmask="255.255.255.0", gateway="10.8.50.1", mac="68:79"),
        standby=m.StandbyInfo(state=m.AWAKE, raw="Off"),
        registration=m.Registration(h323=m.RegistrationState(status=m.REGISTERED, server="10.0.0.10", raw="Registered"),
                                    sip=m.RegistrationState(status=m.INACTIVE, raw="Inactive")),
        calls=[],
        call_rate=m.CallRate(default_kbps=6000),
        video=m.Video(monitors_configured="Auto", main_source="1", main_source_format="1920x1080@30",
                      monitors=[m.Monitor("1", "First", "1920x1080@60", True, "DELL"),
                                m.Monitor("2", "Second", "1920x1080@60", True, "LG")]),
        audio=m.Audio(mics_connected=1, mics_total=2, muted=False, volume=50, volume_muted=False,
                      mics=[m.Mic("1", True, True), m.Mic("2", False, True)]),
        presets=[m.Preset("1", "Chủ tọa"), m.Preset("2", "Bên trái")],
    )


def call(**kw) -> m.Call:
    base = dict(id="3", remote="mcu", protocol="h323", direction="outgoing", status="connected",
                tx_rate_kbps=2048, rx_rate_kbps=2048, tx_video_format="1920x1080", rx_video_format="1920x1080",
                content_active=False, content_rate_kbps=None)
    base.update(kw)
    return m.Call(**base)


def edit(status: m.CodecStatus, path: str, value) -> m.CodecStatus:
    *parents, last = path.split(".")
    obj = status
    for p in parents:
        obj = getattr(obj, p)
    setattr(obj, last, value)
    return status


E = CodecExpect
CASES = [
    # (id, status edits, expect, check id, expected status, message key)
    ("ip ok", {}, E(ip="10.8.50.218"), "codec.ip", Status.PASS, "codec.ip.ok"),
    ("ip other", {}, E(ip="10.8.50.219"), "codec.ip", Status.FAIL, "codec.ip.mismatch"),
    ("ip unknown", {"network.ip": None}, E(), "codec.ip", Status.ERROR, "codec.unknown"),
    ("h323 ok", {}, E(registration="h323", gatekeeper="10.0.0.10"), "codec.registration", Status.PASS, "codec.reg.ok"),
    ("h323 wrong gk", {}, E(registration="h323", gatekeeper="10.0.0.11"), "codec.registration", Status.FAIL, "codec.reg.wrong_server"),
    ("sip required", {}, E(registration="sip"), "codec.registration", Status.FAIL, "codec.reg.fail"),
    ("any unregistered", {"registration.h323.status": m.FAILED}, E(), "codec.registration", Status.FAIL, "codec.reg.fail"),
    ("registration none", {"registration.h323.status": None}, E(registration="none"), "codec.registration", Status.SKIP, "codec.reg.not_required"),
    ("registration unknown", {"registration.h323.status": None, "registration.sip.status": None}, E(), "codec.registration", Status.ERROR, "codec.unknown"),
    ("1080 ok", {}, E(video_format="1080p"), "codec.video_format", Status.PASS, "codec.video.ok"),
    ("720 source", {"video.main_source_format": "1280x720@30"}, E(video_format="1080p"), "codec.video_format", Status.FAIL, "codec.video.low"),
    ("720 source ok", {"video.main_source_format": "1280x720@30"}, E(video_format="720p"), "codec.video_format", Status.PASS, "codec.video.ok"),
    ("in call low", {"calls": [call(tx_video_format="1024x576")]}, E(), "codec.video_format", Status.FAIL, "codec.video.low"),
    ("rate ok", {}, E(min_call_rate_kbps=2048), "codec.call_rate", Status.PASS, "codec.rate.ok"),
    ("rate low", {"call_rate.default_kbps": 768}, E(min_call_rate_kbps=1024), "codec.call_rate", Status.FAIL, "codec.rate.low"),
    ("live rate low", {"calls": [call(rx_rate_kbps=512)]}, E(min_call_rate_kbps=1024), "codec.call_rate", Status.WARN, "codec.rate.live_low"),
    ("content idle", {}, E(), "codec.content_rate", Status.SKIP, "codec.content.idle"),
    ("content ok", {"calls": [call(content_active=True, content_rate_kbps=768)]}, E(min_content_rate_kbps=512), "codec.content_rate", Status.PASS, "codec.content.ok"),
    ("content low", {"calls": [call(content_active=True, content_rate_kbps=256)]}, E(min_content_rate_kbps=512), "codec.content_rate", Status.FAIL, "codec.content.low"),
    ("monitors ok", {}, E(monitors=2), "codec.monitors", Status.PASS, "codec.monitors.ok"),
    ("one monitor", {"video.monitors": [m.Monitor("1", "First", "1920x1080@60", True)]}, E(monitors=2), "codec.monitors", Status.FAIL, "codec.monitors.few"),
    ("single mode", {"video.monitors_configured": "Single"}, E(monitors=2), "codec.monitors", Status.FAIL, "codec.monitors.single"),
    ("audio ok", {}, E(), "codec.audio", Status.PASS, "codec.audio.ok"),
    ("muted idle", {"audio.muted": True}, E(), "codec.audio", Status.FAIL, "codec.audio.muted"),
    ("muted in call", {"audio.muted": True, "calls": [call()]}, E(), "codec.audio", Status.PASS, "codec.audio.ok"),
    ("no mic", {"audio.mics_connected": 0}, E(), "codec.audio", Status.FAIL, "codec.audio.nomic"),
    ("volume 0", {"audio.volume": 0}, E(), "codec.audio", Status.FAIL, "codec.audio.silent"),
    ("echo ok", {}, E(), "codec.echo_control", Status.PASS, "codec.echo.ok"),
    ("echo off", {"audio.mics": [m.Mic("1", True, False)]}, E(), "codec.echo_control", Status.FAIL, "codec.echo.off"),
    ("echo not required", {"audio.mics": [m.Mic("1", True, False)]}, E(echo_control=False), "codec.echo_control", Status.SKIP, "codec.echo.not_required"),
    ("presets ok", {}, E(camera_presets=["chủ tọa", "Bên  trái"]), "codec.camera_presets", Status.PASS, "codec.presets.ok"),
    ("preset missing", {}, E(camera_presets=["Chủ tọa", "Bên phải"]), "codec.camera_presets", Status.FAIL, "codec.presets.missing"),
    ("no presets", {"presets": []}, E(), "codec.camera_presets", Status.WARN, "codec.presets.none"),
    ("presets unknown", {"presets": None}, E(), "codec.camera_presets", Status.ERROR, "codec.unknown"),
    ("awake", {}, E(), "codec.standby", Status.PASS, "codec.standby.ok"),
    ("standby", {"standby.state": m.STANDBY, "standby.raw": "Standby"}, E(), "codec.standby", Status.FAIL, "codec.standby.sleep"),
    ("halfwake", {"standby.state": m.HALFWAKE, "standby.raw": "Halfwake"}, E(), "codec.standby", Status.WARN, "codec.standby.half"),
    ("version any", {}, E(), "codec.version", Status.PASS, "codec.version.ok"),
    ("version match", {}, E(version="ce11.19"), "codec.version", Status.PASS, "codec.version.match"),
    ("version other", {}, E(version="ce9.15"), "codec.version", Status.WARN, "codec.version.other"),
]


@pytest.mark.parametrize("name,edits,expect,check_id,status,key", CASES, ids=[c[0] for c in CASES])
def test_check_table(name, edits, expect, check_id, status, key):
    st = healthy()
    for path, value in edits.items():
        edit(st, path, value)
    if st.registration.h323.status is None:
        st.reasons["registration.h323.status"] = "no H323 node"
    results = {r.id: r for r in checks.evaluate(st, expect, host="10.8.50.218", user="agent")}
    assert set(results) == set(checks.CHECK_IDS)
    r = results[check_id]
    assert r.status is status, (r.status, r.message)
    assert r.message.key == key
    assert r.clause == "5.2.1"
    for lang in ("vi", "en"):
        d = r.to_dict(lang)
        assert d["message"] and "{" not in d["message"], d["message"]
        if status in (Status.FAIL, Status.WARN, Status.ERROR):
            assert d["remedy"] and "{" not in d["remedy"], (lang, d)


def test_every_message_is_registered():
    st = healthy()
    for r in checks.evaluate(st, E(), host="h", user="u"):
        assert known(r.message.key)
        assert r.remedy is None or known(r.remedy.key)


def test_insecure_transport_warns_on_login():
    st = healthy()
    st.insecure_transport = True
    st.transport = "http"
    r = {r.id: r for r in checks.evaluate(st, E(), host="h", user="u")}["codec.login"]
    assert r.status is Status.WARN and "HTTP" in r.to_dict("en")["message"]


def test_unknown_check_shows_the_reason():
    st = healthy()
    st.presets = None
    st.reasons["presets"] = "the preset list command is not supported by TC7"
    r = checks.check_camera_presets(st, E())
    assert "TC7" in r.to_dict("vi")["message"]


def test_echo_builtin_is_skip_with_reason():
    st = healthy()
    st.audio.mics = []
    st.reasons["audio.echo_control"] = "Room Bar has no EchoControl setting"
    r = checks.check_echo_control(st, E())
    assert r.status is Status.SKIP and "Room Bar" in r.to_dict("en")["message"]


def test_vietnamese_uses_glossary_terms():
    st = healthy()
    st.audio.mics = [m.Mic("1", True, False)]
    msg = checks.check_echo_control(st, E()).to_dict("vi")["message"]
    assert "chế độ triệt vọng" in msg.lower()
    st = healthy()
    msg = checks.check_camera_presets(st, E(camera_presets=["Phóng to"])).to_dict("vi")
    assert "preset" in msg["message"] and "nút nhớ" in msg["remedy"]
