"""Table-driven tests of every power.* check id, boundaries included (pure functions, no peer)."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.checks import power
from agent.config.sections.ups import UpsExpect
from agent.i18n import render
from agent.model import Status
from agent.ups.model import Alarm, CodecPowerEvidence, PowerEvent, SelfTest, UpsStatus

NOW = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.timezone.utc)
EXPECT = UpsExpect(min_charge_percent=80, min_runtime_minutes=15, max_load_percent=80, self_test_max_age_days=30,
                   codec_on_ups="required")


def ups(**kw) -> UpsStatus:
    base = dict(source="test", driver="nut", on_battery=False, input_voltage_v=230.0, output_voltage_v=229.0)
    base.update(kw)
    return UpsStatus(**base)


def expect(**kw) -> UpsExpect:
    return UpsExpect(**{**EXPECT.__dict__, **kw})


def both_languages(result) -> None:
    for lang in ("vi", "en"):
        text = render(result.message, lang)
        assert text and "{" not in text and "power." not in text, text
        if result.remedy is not None:
            assert render(result.remedy, lang)


ON_MAINS = [
    (dict(on_battery=False), Status.PASS),
    (dict(on_battery=True), Status.FAIL),
    (dict(on_battery=True, seconds_on_battery=300), Status.FAIL),
    (dict(on_battery=True, test_in_progress=True), Status.WARN),
    (dict(on_battery=False, bypass=True), Status.WARN),
    (dict(on_battery=None), Status.WARN),
    (dict(on_battery=False, input_voltage_v=None), Status.PASS),
]


@pytest.mark.parametrize("fields,want", ON_MAINS)
def test_on_mains(fields, want):
    r = power.on_mains_result(ups(**fields))
    assert (r.id, r.status, r.clause) == ("power.on_mains", want, "5.2.2")
    both_languages(r)


def test_on_battery_message_is_vietnamese_and_plain():
    r = power.on_mains_result(ups(on_battery=True, seconds_on_battery=120))
    assert render(r.message, "vi").startswith("UPS đang chạy bằng pin")
    assert "2 phút" in render(r.message, "vi")
    assert "running on battery" in render(r.message, "en")


CHARGE = [
    (None, False, Status.SKIP),
    (100.0, False, Status.PASS),
    (80.0, False, Status.PASS),      # boundary: equal passes
    (79.9, False, Status.FAIL),
    (0.0, False, Status.FAIL),       # a real 0 is a real 0
    (79.9, True, Status.WARN),       # an estimate never fails a room
    (95.0, True, Status.PASS),
]


@pytest.mark.parametrize("charge,estimated,want", CHARGE)
def test_battery_charge(charge, estimated, want):
    r = power.charge_result(ups(battery_charge_percent=charge, battery_charge_estimated=estimated), EXPECT)
    assert (r.id, r.status, r.clause) == ("power.battery_charge", want, "13.6")
    both_languages(r)
    if estimated:
        assert "ước tính" in render(r.message, "vi")


def test_unknown_charge_says_why():
    s = ups(battery_charge_percent=None, unknown={"battery_charge_percent": "Q1 does not report the charge"})
    r = power.charge_result(s, EXPECT)
    assert r.status is Status.SKIP and r.observed is None
    assert "Q1 does not report the charge" in render(r.message, "en")


RUNTIME = [
    (None, Status.SKIP),
    (15 * 60, Status.WARN),          # boundary: exactly the minimum is not below it (but is near it)
    (15 * 60 - 1, Status.FAIL),
    (int(15 * 60 * 1.25) - 1, Status.WARN),
    (int(15 * 60 * 1.25), Status.PASS),
    (22440, Status.PASS),
    (0, Status.FAIL),
]


@pytest.mark.parametrize("runtime,want", RUNTIME)
def test_runtime(runtime, want):
    r = power.runtime_result(ups(runtime_s=runtime), EXPECT)
    assert (r.id, r.status, r.clause) == ("power.runtime", want, "13.6")
    both_languages(r)


LOAD = [
    (None, None, Status.SKIP),
    (0.0, None, Status.PASS),
    (72.0, None, Status.PASS),       # boundary: 90 % of 80
    (72.1, None, Status.WARN),
    (80.0, None, Status.WARN),       # boundary: equal to the maximum is allowed
    (80.1, None, Status.FAIL),
    (10.0, True, Status.FAIL),       # the UPS's own overload flag wins
    (None, True, Status.FAIL),
]


@pytest.mark.parametrize("load,overload,want", LOAD)
def test_load(load, overload, want):
    r = power.load_result(ups(load_percent=load, overload=overload), EXPECT)
    assert (r.id, r.status, r.clause) == ("power.load", want, "5.2.2")
    both_languages(r)


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


SELF_TEST = [
    (None, None, 30, Status.SKIP),
    (SelfTest(None), None, 30, Status.SKIP),
    (SelfTest("passed", days_ago(1)), None, 30, Status.PASS),
    (SelfTest("passed", days_ago(30)), None, 30, Status.PASS),     # boundary: exactly N days
    (SelfTest("passed", days_ago(31)), None, 30, Status.WARN),
    (SelfTest("passed", None), None, 30, Status.WARN),             # cannot confirm the age
    (SelfTest("passed", None), None, 0, Status.PASS),              # age not checked
    (SelfTest("passed", days_ago(400)), None, 0, Status.PASS),
    (SelfTest("failed", days_ago(1), "Done and error"), None, 30, Status.FAIL),
    (SelfTest("warning", days_ago(1)), None, 30, Status.WARN),
    (SelfTest("aborted", None), None, 30, Status.WARN),
    (SelfTest("none"), None, 30, Status.WARN),
    (SelfTest("in_progress"), None, 30, Status.WARN),
    (None, True, 30, Status.WARN),                                 # Q1 bit: test in progress
]


@pytest.mark.parametrize("test,running,age,want", SELF_TEST)
def test_self_test(test, running, age, want):
    r = power.self_test_result(ups(last_self_test=test, test_in_progress=running), expect(self_test_max_age_days=age), NOW)
    assert (r.id, r.status, r.clause) == ("power.self_test", want, "13.6")
    both_languages(r)


def test_self_test_naive_datetime_is_utc():
    naive = (NOW - dt.timedelta(days=2)).replace(tzinfo=None)
    r = power.self_test_result(ups(last_self_test=SelfTest("passed", naive)), EXPECT, NOW)
    assert r.status is Status.PASS and "2" in render(r.message, "en")


ALARMS = [
    ([], {}, Status.PASS),
    ([Alarm("on_bypass")], {}, Status.WARN),
    ([Alarm("fan_failure")], {}, Status.WARN),
    ([Alarm("other", "Vendor text")], {}, Status.WARN),
    ([Alarm("battery_replace")], {}, Status.FAIL),
    ([], {"ups_fault": True}, Status.FAIL),
    ([], {"low_battery": True}, Status.FAIL),
    ([], {"overload": True}, Status.FAIL),
    ([Alarm("temperature"), Alarm("ups_fault", "Fault 14")], {}, Status.FAIL),
]


@pytest.mark.parametrize("alarms,flags,want", ALARMS)
def test_alarms(alarms, flags, want):
    r = power.alarms_result(ups(alarms=alarms, **flags))
    assert (r.id, r.status, r.clause) == ("power.alarms", want, "5.2.2")
    both_languages(r)


def test_alarm_list_rendered_in_both_languages():
    r = power.alarms_result(ups(alarms=[Alarm("battery_replace")], low_battery=True))
    assert render(r.message, "vi") == "UPS đang báo: cần thay ắc quy, pin yếu"
    assert render(r.message, "en") == "The UPS reports: battery needs replacing, battery low"


def event(reachable, kind="self_test", day=1):
    return PowerEvent(kind=kind, started_at=NOW - dt.timedelta(days=day), codec_reachable=reachable)


CODEC = [
    # (status fields, evidence, codec_on_ups, want status, evidence kind)
    (dict(load_percent=None), None, "required", Status.WARN, "unknown"),
    (dict(load_percent=None), None, "optional", Status.SKIP, "unknown"),
    (dict(load_percent=0.0), None, "required", Status.WARN, "unknown"),
    (dict(load_percent=0.0), None, "optional", Status.SKIP, "unknown"),
    (dict(load_percent=12.0), None, "required", Status.PASS, "load"),
    (dict(load_percent=0.0, attached_devices="Codec Polycom Group 500, màn hình"), None, "required", Status.PASS, "declared"),
    (dict(load_percent=0.0, attached_devices="Máy in phòng văn thư"), None, "required", Status.WARN, "unknown"),
    (dict(load_percent=0.0), CodecPowerEvidence([event(True)]), "required", Status.PASS, "event"),
    (dict(load_percent=30.0), CodecPowerEvidence([event(False, "mains_loss")]), "required", Status.FAIL, "event"),
    (dict(load_percent=30.0), CodecPowerEvidence([event(False, "mains_loss")]), "optional", Status.WARN, "event"),
    # the latest decided event wins; undecided events are ignored
    (dict(), CodecPowerEvidence([event(False, day=10), event(True, day=2), event(None, day=1)]), "required", Status.PASS, "event"),
    (dict(load_percent=5.0), CodecPowerEvidence([event(None)]), "required", Status.PASS, "load"),
    (dict(), CodecPowerEvidence([]), "required", Status.WARN, "unknown"),
]


@pytest.mark.parametrize("fields,evidence,mode,want,kind", CODEC)
def test_codec_on_ups(fields, evidence, mode, want, kind):
    r = power.codec_on_ups_result(ups(**fields), expect(codec_on_ups=mode), evidence)
    assert (r.id, r.status, r.clause) == ("power.codec_on_ups", want, "6")
    assert r.observed["evidence"] == kind
    both_languages(r)
    if kind == "unknown":
        assert "không rõ" in render(r.message, "vi") and "unknown" in render(r.message, "en")


def test_reachable_summarises_identity_and_unknown_voltages():
    r = power.reachable_result(ups(model="C1K", manufacturer="SANTAK", input_voltage_v=None))
    assert r.status is Status.PASS and r.clause == "13.6"
    assert "SANTAK C1K" in render(r.message, "vi") and "không rõ" in render(r.message, "vi")
    r = power.reachable_result(ups())
    assert "(model unknown)" in render(r.message, "en")


def test_evaluate_returns_every_check_once():
    ids = [r.id for r in power.evaluate(ups(), EXPECT, now=NOW)]
    assert ids == ["power.ups_reachable", "power.on_mains", "power.battery_charge", "power.runtime", "power.load",
                   "power.self_test", "power.alarms", "power.codec_on_ups"]
