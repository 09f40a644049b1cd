"""The session tracker and the overnight watch (pure state machines), driven by tables of polls."""

from __future__ import annotations

import pytest

from agent.daemon.schedule import Meeting, parse_time
from agent.daemon.sessions import CodecView, OvernightWatch, SessionTracker, codec_view, network_view
from agent.probes.network import NetworkStatus, PingStats, TargetStatus, TcpResult
from agent.ups.model import UpsStatus
from agent.vendors.model import Call, CodecStatus, Facts

T0 = parse_time("2025-05-13T00:30:00Z")
MEETING = Meeting(id="m1", title="Họp", start=T0 + 1800, end=T0 + 1800 + 3 * 3600)


def codec(call=True, *, remote="10.0.0.10", rx=2048, loss=0.2, uptime=100_000.0, standby="awake",
          registered=True):
    status = CodecStatus(vendor="cisco", transport="ssh", facts=Facts(vendor="cisco", uptime_s=uptime))
    status.standby.state = standby
    status.registration.h323.status = "registered" if registered else "failed"
    status.calls = [Call(id="3", remote=remote, protocol="h323", direction="outgoing", status="connected",
                         tx_rate_kbps=2048, rx_rate_kbps=rx, tx_video_format="1920x1080", loss_percent=loss,
                         jitter_ms=4.0)] if call else []
    return status


def net(loss=0.0, rtt=18.0, ports_open=True):
    ping = PingStats(5, 5 - int(loss / 20), loss, 1.0, rtt, 30.0, 2.0, 2.0, 90.0, 4.3, "test")
    tcp = [TcpResult(1720, "open" if ports_open else "timeout")]
    return NetworkStatus(None, None, "10.0.0.1", [TargetStatus("mcu", "10.0.0.10", ping=ping, tcp=tcp)])


def ups(on_battery=False):
    return UpsStatus(source="megatec:test", driver="megatec", on_battery=on_battery)


UNREACHABLE = "unreachable"


def run(steps, **kw):
    """steps: (seconds after T0, codec status | UNREACHABLE | None, network | None, ups | None)."""
    tracker = SessionTracker("room-a", "boot-1", reconnect_grace=300, loss_percent=10, loss_after=10, **kw)
    out = []
    for t, c, n, u in steps:
        view = None if c is None else codec_view(None, "down") if c == UNREACHABLE else codec_view(c)
        out += tracker.feed(T0 + t, codec=view, network=n, ups=u, meetings=[MEETING])
    return tracker, out


def losses(body):
    return [(l["kind"], l["cause"], l["duration_s"], l["recovery_s"]) for l in body["signal_losses"]]


def test_a_clean_call_is_one_session_pushed_at_start_and_end():
    _, out = run([(0, codec(False), net(), ups()), (10, codec(), net(), None), (20, codec(), None, None),
                  (30, codec(False), None, None), (100, codec(False), None, None), (331, codec(False), None, None)])
    assert [b["final"] for b in out] == [False, True]
    start, end = out
    assert start["session_id"] == end["session_id"] == "room-a/boot-1/1"
    assert start["meeting_id"] == "m1"  # T0+10 is inside [start − 90 min, end + 30 min]
    assert end["start"] == "2025-05-13T00:30:10Z" and end["end"] == "2025-05-13T00:30:30Z"
    assert end["remote"] == "10.0.0.10" and end["protocol"] == "h323" and end["video_format"] == "1920x1080"
    assert end["signal_losses"] == []  # a normal hang-up is no loss
    assert end["quality"] == {"samples": 2, "rtt_ms_avg": 18.0, "jitter_ms_avg": 4.0, "loss_percent_avg": 0.2,
                              "loss_percent_max": 0.2}


@pytest.mark.parametrize("name, steps, expected", [
    ("drop and back, nothing seen",
     [(0, codec(), net(), ups()), (10, codec(False), None, None), (70, codec(), None, None)],
     [("total", "unknown", 60.0, 60.0)]),
    ("UPS on battery during the drop",
     [(0, codec(), net(), ups()), (5, None, None, ups(True)), (10, codec(False), None, None),
      (40, None, None, ups(False)), (70, codec(), None, None)],
     [("total", "power", 60.0, 60.0)]),
    ("UPS on battery long before does not explain it",
     [(0, codec(), net(), ups(True)), (5, None, None, ups(False)), (200, codec(False), None, None),
      (260, codec(), None, None)],
     [("total", "unknown", 60.0, 60.0)]),
    ("MCU unreachable",
     [(0, codec(), net(), ups()), (10, codec(False), net(100.0, ports_open=False), None),
      (60, codec(), net(), None)],
     [("total", "link", 50.0, 50.0)]),
    ("registration lost",
     [(0, codec(), net(), ups()), (10, codec(False, registered=False), None, None), (40, codec(), None, None)],
     [("total", "unregistered", 30.0, 30.0)]),
    ("codec rebooted while unreadable",
     [(0, codec(uptime=100_000), net(), ups()), (10, UNREACHABLE, None, None),
      (100, codec(uptime=60), None, None)],
     [("total", "codec_reboot", 90.0, 90.0)]),
    ("power beats the codec reboot it caused",
     [(0, codec(uptime=100_000), net(), ups()), (8, None, None, ups(True)), (10, UNREACHABLE, None, None),
      (100, codec(uptime=60), None, ups(False))],
     [("total", "power", 90.0, 90.0)]),
    ("unreadable but still in the same call: nothing happened",
     [(0, codec(uptime=100_000), net(), ups()), (10, UNREACHABLE, None, None),
      (100, codec(uptime=100_100), None, None)],
     []),
    ("no media for 20 s",
     [(0, codec(), net(), ups()), (10, codec(rx=0), None, None), (20, codec(rx=0), None, None),
      (30, codec(rx=0), None, None), (35, codec(), None, None)],
     [("media", "unknown", 25.0, 25.0)]),
    ("no media shorter than signal_loss_after is not a loss",
     [(0, codec(), net(), ups()), (10, codec(rx=0), None, None), (15, codec(), None, None)],
     []),
    ("packet loss above the threshold, from the link",
     [(0, codec(), net(), ups()), (10, codec(loss=25.0), net(40.0), None), (25, codec(loss=30.0), None, None),
      (40, codec(), net(0.0), None)],
     [("quality", "link", 30.0, 30.0)]),
])
def test_signal_losses_inside_one_session(name, steps, expected):
    tracker, out = run(steps)
    assert tracker.session is not None, name
    assert {b["session_id"] for b in out} == {"room-a/boot-1/1"}, name
    assert losses(out[-1]) == expected, name
    if expected:
        assert len(out) == 2 and out[-1]["final"] is False  # start, then an update once it recovered


def test_a_gap_longer_than_the_grace_ends_the_session_and_a_new_one_starts():
    tracker, out = run([(0, codec(), net(), ups()), (10, codec(False), None, None),
                        (400, codec(), None, None)])
    assert [(b["session_id"][-1], b["final"]) for b in out] == [("1", False), ("1", True), ("2", False)]
    assert out[1]["end"] == "2025-05-13T00:30:10Z" and out[1]["signal_losses"] == []


def test_a_drop_that_never_comes_back_keeps_its_seen_cause():
    _, out = run([(0, codec(), net(), ups()), (10, None, None, ups(True)), (12, codec(False), None, None),
                  (400, codec(False), None, None)])
    final = out[-1]
    assert final["final"] is True and final["end"] == "2025-05-13T00:30:12Z"
    assert losses(final) == [("total", "power", None, None)]


def test_a_call_to_another_remote_is_another_session():
    _, out = run([(0, codec(), net(), ups()), (10, codec(False), None, None),
                  (20, codec(remote="sip:other@vnpt"), None, None)])
    assert [(b["session_id"][-1], b["final"]) for b in out] == [("1", False), ("1", True), ("2", False)]


def test_media_loss_in_progress_when_the_call_drops_ends_there():
    _, out = run([(0, codec(), net(), ups()), (10, codec(rx=0), None, None), (25, codec(rx=0), None, None),
                  (30, codec(False), None, None), (60, codec(), None, None)])
    assert losses(out[-1]) == [("media", "unknown", 20.0, None), ("total", "unknown", 30.0, 30.0)]


def test_session_outside_any_meeting_has_no_meeting_id():
    tracker = SessionTracker("room-a", "b")
    (body,) = tracker.feed(T0 - 86400, codec=codec_view(codec()), meetings=[MEETING])
    assert body["meeting_id"] is None


def test_views_from_real_status_shapes():
    view = codec_view(codec(standby="standby", call=False))
    assert view.reachable and view.call is None and view.awake is False and view.registered is True
    assert codec_view(None, error="timeout").awake is False
    nv = network_view(net(40.0, ports_open=False), 5.0)
    assert nv.loss_percent == 40.0 and nv.rtt_ms == 18.0 and nv.mcu_down


# -- overnight ---------------------------------------------------------------------------------------
def watch_run(steps, grace=600):
    watch = OvernightWatch(start="22:00", end="06:00", grace=grace, lang="en")
    out = []
    for t, view, in_window, excused in steps:
        out += [e["type"] for e in watch.feed(t, view, local_time="23:00", in_window=in_window, excused=excused)]
    return out


AWAKE = CodecView(reachable=True, standby="awake")
HALFWAKE = CodecView(reachable=True, standby="halfwake")
ASLEEP = CodecView(reachable=True, standby="standby")
OFF = CodecView(reachable=False)


@pytest.mark.parametrize("steps, expected", [
    ([(0, AWAKE, True, False), (599, AWAKE, True, False)], []),  # within the grace
    ([(0, AWAKE, True, False), (600, AWAKE, True, False), (900, AWAKE, True, False)], ["codec.overnight_awake"]),
    ([(0, HALFWAKE, True, False), (700, HALFWAKE, True, False)], ["codec.overnight_awake"]),
    ([(0, AWAKE, True, False), (600, AWAKE, True, False), (700, ASLEEP, True, False)],
     ["codec.overnight_awake", "codec.overnight_off"]),
    ([(0, AWAKE, True, False), (600, AWAKE, True, False), (700, OFF, True, False)],
     ["codec.overnight_awake", "codec.overnight_off"]),
    ([(0, AWAKE, False, False), (5000, AWAKE, False, False)], []),  # daytime
    ([(0, AWAKE, True, True), (5000, AWAKE, True, True)], []),  # a scheduled (emergency) meeting at night
    ([(0, AWAKE, True, False), (300, ASLEEP, True, False), (400, AWAKE, True, False), (900, AWAKE, True, False)],
     []),  # the grace restarts after a standby
    ([(0, CodecView(reachable=True), True, False), (5000, CodecView(reachable=True), True, False)], []),  # unknown
])
def test_overnight(steps, expected):
    assert watch_run(steps) == expected


def test_overnight_awake_message_cites_the_rule_in_vietnamese():
    watch = OvernightWatch(start="22:00", end="06:00", grace=0, lang="vi")
    (event,) = watch.feed(0, AWAKE, local_time="23:15", in_window=True, excused=False)
    assert event["severity"] == "warning" and "qua đêm" in event["message"] and "23:15" in event["message"]


def test_a_hang_up_after_the_mains_came_back_is_no_loss():
    _, out = run([(0, codec(), net(), ups()), (5, None, None, ups(True)), (20, None, None, ups(False)),
                  (30, codec(False), None, None), (400, codec(False), None, None)])
    assert out[-1]["final"] is True and out[-1]["signal_losses"] == []
