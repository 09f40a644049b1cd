"""Events from consecutive polls (pure logic over real status shapes)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import load_dict
from agent.daemon.events import EventTracker, live_values
from agent.errors import DeviceUnreachable
from agent.i18n import Text
from agent.model import CheckResult, ProbeRun, Status


@dataclass
class Battery:
    charge_percent: float


@dataclass
class UpsStatus:
    on_battery: bool
    low_battery: bool
    battery: Battery


@dataclass
class Call:
    in_call: bool


@dataclass
class CodecStatus:
    registered: bool
    standby: bool
    call: Call


CONFIG = load_dict({"agent": {"room_id": "room-a"}, "daemon": {"battery_low_percent": 40}})


def poll(tracker, area, status=None, error=None, results=()):
    run = ProbeRun(name=area, status=status, error=error)
    live = live_values(area, status, CONFIG) if error is None else {}
    return [e["type"] for e in tracker.observe(area, run, list(results), live)]


def test_ups_to_battery_low_and_back():
    t = EventTracker(CONFIG, "en")
    assert poll(t, "power", UpsStatus(False, False, Battery(100))) == []
    assert poll(t, "power", UpsStatus(True, False, Battery(90))) == ["ups.on_battery"]
    assert poll(t, "power", UpsStatus(True, False, Battery(80))) == []
    assert poll(t, "power", UpsStatus(True, False, Battery(30))) == ["ups.battery_low"]
    assert poll(t, "power", UpsStatus(False, False, Battery(35))) == ["ups.on_mains", "ups.battery_ok"]
    assert poll(t, "power", error=DeviceUnreachable("no answer on /dev/ttyUSB0")) == ["power.unreachable"]
    assert poll(t, "power", error=DeviceUnreachable("still nothing")) == []
    assert poll(t, "power", UpsStatus(False, False, Battery(60))) == ["power.reachable"]


def test_first_poll_reports_a_bad_state_at_once():
    t = EventTracker(CONFIG, "vi")
    run = ProbeRun(name="power", status=UpsStatus(True, False, Battery(95)))
    events = t.observe("power", run, [], live_values("power", run.status, CONFIG))
    assert [e["type"] for e in events] == ["ups.on_battery"]
    assert events[0]["severity"] == "critical" and "ắc quy" in events[0]["message"]


def test_codec_registration_standby_and_calls():
    t = EventTracker(CONFIG, "en")
    assert poll(t, "codec", CodecStatus(True, True, Call(False))) == []
    assert poll(t, "codec", CodecStatus(True, False, Call(False))) == ["codec.awake"]
    assert poll(t, "codec", CodecStatus(True, False, Call(True))) == ["codec.call_up"]
    assert poll(t, "codec", CodecStatus(False, False, Call(True))) == ["codec.unregistered"]
    assert poll(t, "codec", CodecStatus(True, False, Call(False))) == ["codec.registered", "codec.call_down"]
    assert poll(t, "codec", error=DeviceUnreachable("timeout")) == ["codec.unreachable"]


def test_check_status_changes_become_events():
    t = EventTracker(CONFIG, "en")
    ok = CheckResult("host.disk", Status.PASS, Text("x"))
    bad = CheckResult("host.disk", Status.FAIL, Text("x"), observed=3, expected=">= 10")
    assert poll(t, "host", object(), results=[ok]) == []
    run = ProbeRun(name="host", status=object())
    events = t.observe("host", run, [bad], {})
    assert [e["type"] for e in events] == ["check.changed"]
    assert events[0]["data"] == {"check": "host.disk", "before": "pass", "after": "fail", "observed": 3,
                                 "expected": ">= 10"}
    assert poll(t, "host", object(), results=[bad]) == []
    assert poll(t, "host", object(), results=[ok]) == ["check.changed"]


def test_mcu_loss_threshold():
    from agent.probes.network import NetworkStatus, PingStats, TargetStatus

    def status(loss):
        ping = PingStats(10, 10 - int(loss / 10), loss, 1, 2, 3, 0.1, 0.1, 90, 4.3, "test")
        return NetworkStatus(None, None, "10.0.0.1", [TargetStatus("gateway", "auto"),
                                                      TargetStatus("mcu", "10.0.0.10", ping=ping)])

    t = EventTracker(CONFIG, "en")
    assert poll(t, "network", status(0.0)) == []
    assert live_values("network", status(20.0), CONFIG) == {"mcu_rtt_ms": 2.0, "mcu_loss_percent": 20.0}
    assert poll(t, "network", status(20.0)) == ["network.mcu_loss_high"]
    assert poll(t, "network", status(30.0)) == []
    assert poll(t, "network", status(0.0)) == ["network.mcu_loss_normal"]


def test_codec_live_values_from_the_driver_model():
    from agent.vendors.model import Call as DriverCall, CodecStatus as DriverStatus, Facts

    status = DriverStatus(vendor="cisco", transport="ssh", facts=Facts(vendor="cisco"))
    status.registration.sip.status = "registered"
    status.standby.state = "awake"
    status.calls = []
    assert live_values("codec", status, CONFIG) == {"in_call": False, "registered": True, "standby": False}
    t = EventTracker(CONFIG, "en")
    assert poll(t, "codec", status) == []
    status.calls = [DriverCall(id="1", remote="mcu@vnpt", status="connected")]
    status.registration.sip.status = "failed"
    assert poll(t, "codec", status) == ["codec.unregistered", "codec.call_up"]
    status.standby.state = "standby"
    status.calls = []
    assert poll(t, "codec", status) == ["codec.standby", "codec.call_down"]
