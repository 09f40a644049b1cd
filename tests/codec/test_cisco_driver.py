"""The Cisco driver against the simulator over real sockets: faults → check status and message,
read-only proof, sessions, pinning, secrets and deadlines."""

from __future__ import annotations

import time

import pytest

from agent.checks import codec as checks
from agent.config.sections.codec import CodecExpect
from agent.errors import DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.model import Status
from agent.vendors.base import CommandNotAllowed, HostKeyUnknown
from agent.vendors.cisco import ALLOWED
from tests.codec.conftest import CANARY, MODES, connection, driver
from tests.helpers import free_port

EXPECT = CodecExpect(ip="10.8.50.218", video_format="1080p", min_call_rate_kbps=2048, monitors=2,
                     camera_presets=["Chủ tọa", "Bên trái", "Bên phải", "Toàn cảnh"], registration="h323",
                     gatekeeper="10.0.0.10")

# fault -> (check id, status, message key)
FAULTS = [
    (None, None, Status.PASS, None),
    ("muted", "codec.audio", Status.FAIL, "codec.audio.muted"),
    ("720p", "codec.video_format", Status.FAIL, "codec.video.low"),
    ("preset_missing", "codec.camera_presets", Status.FAIL, "codec.presets.missing"),
    ("echo_off", "codec.echo_control", Status.FAIL, "codec.echo.off"),
    ("unregistered", "codec.registration", Status.FAIL, "codec.reg.fail"),
    ("standby", "codec.standby", Status.FAIL, "codec.standby.sleep"),
    ("in_call", "codec.content_rate", Status.PASS, "codec.content.ok"),
    ("call_dropped", "codec.content_rate", Status.SKIP, "codec.content.idle"),
]


def poll(sim, mode, tmp_path, **kw):
    drv = driver(sim, mode, tmp_path, **kw)
    try:
        return drv.poll(), drv
    finally:
        drv.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault,check_id,status,key", FAULTS, ids=[f[0] or "healthy" for f in FAULTS])
def test_fault_gives_check_result(clean, tmp_path, mode, fault, check_id, status, key):
    sim = clean
    sim.set_faults(*([fault] if fault else []))
    st, _ = poll(sim, mode, tmp_path)
    results = {r.id: r for r in checks.evaluate(st, EXPECT, host="127.0.0.1", user="admin")}
    if fault is None:
        bad = {i: (r.status, r.to_dict("en")["message"]) for i, r in results.items()
               if r.status not in (Status.PASS, Status.SKIP)}
        assert not bad
        return
    r = results[check_id]
    assert (r.status, r.message.key) == (status, key), r.to_dict("en")
    others = [i for i, x in results.items() if x.status in (Status.FAIL, Status.ERROR) and i != check_id]
    assert others == [], [results[i].to_dict("en") for i in others]
    if status is Status.FAIL:
        assert r.to_dict("vi")["remedy"]


def test_in_call_details(clean, tmp_path):
    clean.set_faults("in_call")
    st, _ = poll(clean, "ssh-json", tmp_path)
    (call,) = st.calls
    assert (call.id, call.protocol, call.direction, call.status) == ("3", "h323", "outgoing", "connected")
    assert (call.tx_rate_kbps, call.tx_video_format, call.rx_video_format) == (2048, "1920x1080", "1280x720")
    assert call.content_active and call.content_rate_kbps == 768
    assert call.loss_percent == 0.2 and call.jitter_ms == 4.0
    assert checks.check_audio(st, EXPECT).status is Status.PASS


def test_ghost_call_is_not_a_call(clean, tmp_path):
    clean.set_faults("call_dropped")
    for mode in MODES:
        st, _ = poll(clean, mode, tmp_path)
        assert st.calls == [], mode


def test_only_allowed_commands_reach_the_codec(clean, tmp_path):
    sim = clean
    for mode in MODES:
        drv = driver(sim, mode, tmp_path)
        before = len(sim.received)
        with drv:
            drv.read_status()
            for bad in ("xCommand Dial Number: 1", "xCommand Call Disconnect", "xCommand Standby Activate",
                        "xCommand Camera Preset Activate PresetId: 1", "xCommand Camera Preset Store PresetId: 1",
                        "xCommand Camera PositionSet CameraId: 1 Pan: 1", "xCommand SystemUnit Boot",
                        "xConfiguration Audio DefaultVolume: 0", "xStatus\nxCommand Dial Number: 1",
                        'xStatus | resultId="x"\nxCommand Dial', *COLONLESS_WRITES):
                with pytest.raises(CommandNotAllowed):
                    drv.send(bad)
        sent = [cmd for transport, cmd in sim.received[before:]]
        assert sent, mode
        for cmd in sent:
            if mode == "https":
                assert cmd in ("POST /xmlapi/session/begin", "GET /status.xml", "GET /configuration.xml",
                               "POST /putxml <Command><Camera><Preset><List/></Preset></Camera></Command>",
                               "POST /xmlapi/session/end"), cmd
            else:
                assert ALLOWED.permits(cmd.split(" | resultId=")[0]), cmd
                assert cmd.split(" | resultId=")[0] in DRIVER_COMMANDS, cmd


# Configuration paths followed by a value without the colon: the TSH parser's other write form.
COLONLESS_WRITES = ("xConfiguration Video Monitors Single", "xConfiguration Audio DefaultVolume 0",
                    "xConfiguration Audio Input Microphone 1 EchoControl Mode Off", "xConfiguration Standby Control Off",
                    "xConfiguration SystemUnit Name Room", "xConfiguration Conference DefaultCall Rate 64")
DRIVER_COMMANDS = ("echo off", "xPreferences OutputMode JSON", "xPreferences OutputMode Terminal", "xStatus",
                   "xConfiguration", "xCommand Camera Preset List")


def test_allow_list_is_exactly_what_the_driver_sends():
    for command in DRIVER_COMMANDS:
        assert ALLOWED.permits(command), command
    # Nothing wider: no path after xStatus / xConfiguration (the driver reads whole trees), no preset
    # parameters, no other preference, no case or spacing variant.
    for command in (*COLONLESS_WRITES, "xStatus Audio", "xStatus Audio Volume", "xConfiguration Video",
                    "xCommand Camera Preset List PresetId: 1", "xCommand Camera Preset Activate PresetId: 1",
                    "xPreferences OutputMode XML", "xstatus", "xStatus ", " xStatus", "xConfiguration  ",
                    "echo on", "xCommand Camera Preset List ", "xCommand  Camera Preset List"):
        assert not ALLOWED.permits(command), command


@pytest.mark.parametrize("mode", MODES)
def test_a_poll_sends_only_the_driver_commands(clean, tmp_path, mode):
    """Peer side, per transport: what the codec received in a poll, in order."""
    before = len(clean.received)
    poll(clean, mode, tmp_path)
    sent = [cmd.split(" | resultId=")[0] for _, cmd in clean.received[before:]]
    if mode == "https":
        assert sent == ["POST /xmlapi/session/begin", "GET /status.xml", "GET /configuration.xml",
                        "POST /putxml <Command><Camera><Preset><List/></Preset></Camera></Command>",
                        "POST /xmlapi/session/end"]
    else:
        prefs = ["xPreferences OutputMode JSON", "xPreferences OutputMode Terminal"] if mode.endswith("terminal") \
            else ["xPreferences OutputMode JSON"]
        assert sent == ["echo off", *prefs, "xStatus", "xConfiguration", "xCommand Camera Preset List"]


def test_one_session_reused_across_polls_and_released(clean, tmp_path):
    for mode in MODES:
        logins, begun = clean.ssh_logins, clean.http_sessions_begun
        drv = driver(clean, mode, tmp_path)
        for _ in range(3):
            drv.poll()
        assert drv.sessions_opened == 1
        drv.close()
        if mode == "https":
            assert clean.http_sessions_begun - begun == 1 and clean.http_sessions_open == 0
        else:
            assert clean.ssh_logins - logins == 1


@pytest.mark.parametrize("mode", MODES)
def test_auth_failure(clean, tmp_path, mode):
    clean.set_faults("auth_failure")
    with pytest.raises(DeviceAuthError) as info:
        poll(clean, mode, tmp_path)
    assert CANARY not in str(info.value)
    results = checks.login_failed("127.0.0.1", info.value, "fail")
    assert results[-1].status is Status.FAIL and results[-1].id == "codec.login"


def test_changed_host_key_refused_before_password(clean, tmp_path):
    drv = driver(clean, "ssh-json", tmp_path)  # pins the current key
    clean.set_faults("changed_host_key")
    logins = clean.ssh_logins
    with pytest.raises(HostKeyMismatch) as info:
        drv.poll()
    assert "CHANGED" in str(info.value) and "codec trust --replace" in str(info.value)
    assert clean.ssh_logins == logins


def test_unpinned_key_and_certificate_refused(clean, tmp_path):
    for mode in ("ssh-json", "https"):
        with pytest.raises(HostKeyUnknown):
            poll(clean, mode, tmp_path / mode, pin=False)


def test_wrong_certificate_pin_refused(clean, tmp_path):
    from tests.codec.conftest import connection
    from agent.vendors.cisco import CiscoDriver

    conn = connection(clean, "https", tmp_path, pin=False)
    conn.tls_fingerprint = "sha256:" + ":".join(["AB"] * 32)
    before = len(clean.received)
    with pytest.raises(HostKeyMismatch):
        CiscoDriver(conn).poll()
    assert clean.received[before:] == []  # the password never left


@pytest.mark.parametrize("mode", MODES)
def test_garbage_is_a_protocol_error(clean, tmp_path, mode):
    clean.set_faults("garbage")
    with pytest.raises(ProtocolError):
        poll(clean, mode, tmp_path, timeout=1.0)


@pytest.mark.parametrize("mode", MODES)
def test_never_answers_times_out(clean, tmp_path, mode):
    clean.set_faults("never_answers")
    started = time.monotonic()
    with pytest.raises(ProtocolError):
        poll(clean, mode, tmp_path, timeout=0.5)
    assert time.monotonic() - started < 5


def test_slow_answer_within_timeout_still_reads(clean, tmp_path):
    clean.set_faults("slow")
    clean.slow_seconds = 0.2
    st, _ = poll(clean, "ssh-json", tmp_path, timeout=2.0)
    assert st.facts.model == "Cisco Room Bar"


def test_unreachable(tmp_path):
    from agent.secrets import Secret
    from agent.vendors.base import Connection
    from agent.vendors.cisco import CiscoDriver

    for transport in ("ssh", "https"):
        conn = Connection("127.0.0.1", transport, free_port(), "admin", Secret(CANARY, "t"), 1.0, tmp_path)
        if transport == "https":
            conn.tls_fingerprint = "sha256:" + ":".join(["AB"] * 32)
        with pytest.raises(DeviceUnreachable):
            CiscoDriver(conn).poll()


def test_raw_map_redacts_secrets(clean, tmp_path):
    st, _ = poll(clean, "https", tmp_path)
    assert st.raw["Configuration.SIP.Authentication.Password"] == "***"
    snmp = [k for k in st.raw if k.endswith(".SNMP.CommunityName")]
    assert snmp and all(st.raw[k] == "***" for k in snmp)  # "public" in the capture
    assert "public" not in [st.raw[k] for k in snmp]
    assert CANARY not in repr(st.raw)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "https"])
def test_kept_ssh_session_ended_by_the_codec_is_replaced_once(clean, tmp_path, mode):
    """The codec rebooted or timed the kept session out between polls: the next poll opens one new session
    instead of reporting a reachable codec unreachable."""
    drv = driver(clean, mode, tmp_path)
    try:
        drv.poll()
        logins = clean.ssh_logins
        clean.set_faults(*(clean.faults | {"session_expired"}))  # ends every SSH session on the codec
        status = drv.poll()
        assert status.facts.model == "Cisco Room Bar"
        assert clean.ssh_logins - logins == 1 and drv.sessions_opened == 2
        drv.poll()
        assert clean.ssh_logins - logins == 1  # the new session is kept
    finally:
        drv.close()


def test_kept_ssh_session_ended_through_the_probe(clean, tmp_path):
    from tests.codec.test_cisco_xmlapi import make_config, probe_polls

    config = make_config(tmp_path, clean, transport="ssh", ssh_client="paramiko")
    connection(clean, "paramiko-json", tmp_path / "state")  # pins the host key in the config's state dir
    first, second = probe_polls(config, lambda: clean.set_faults("session_expired"))
    for results in (first, second):
        assert results["codec.reachable"].status is Status.PASS, results["codec.reachable"].to_dict("en")
        assert results["codec.login"].status is Status.PASS


def test_codec_gone_after_a_poll_is_unreachable_after_one_attempt(tmp_path):
    from agent.sim.cisco import CiscoSim

    sim = CiscoSim(password=CANARY).start()
    drv = driver(sim, "paramiko-json", tmp_path, timeout=1.0)
    try:
        drv.poll()
        sim.stop()  # powered off: the session ends and nothing listens any more
        started = time.monotonic()
        with pytest.raises(DeviceUnreachable):
            drv.poll()
        assert time.monotonic() - started < 3
        assert drv.sessions_opened == 1  # the one fresh attempt could not even connect
    finally:
        drv.close()
