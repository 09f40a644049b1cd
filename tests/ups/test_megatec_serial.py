"""The Megatec driver over a real socat pty pair against the emulator (states switched at run time)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agent.config import load_dict
from agent.errors import DeviceError, DeviceUnreachable, PermissionDenied, ProtocolError
from agent.i18n import render
from agent.model import Status
from agent.runner import build_probes, run_checklist
from agent.ups.errors import UpsProtocolError, UpsSilent
from agent.ups.megatec import MegatecDriver
from agent.ups.serialline import UucpLock, uucp_lock_name
from tests.helpers import FIXTURES


def section(port: str, **megatec):
    table = {"port": port, "timeout": "300ms", **megatec}
    return load_dict({"agent": {"room_id": "test-room"}, "ups": {"driver": "megatec", "megatec": table}}).ups


@pytest.fixture
def vultech(emulators):
    emulator = emulators("vultech")
    emulator.set(state="normal", delay=0)
    yield emulator
    emulator.set(state="normal", delay=0)


@pytest.fixture
def driver(vultech, tmp_path):
    d = MegatecDriver(section(vultech.port), lock_dir=tmp_path)
    yield d
    d.close_blocking()


def test_profiles_serve_the_real_reply_strings():
    """Every reply the emulator serves for a normal unit is quoted in the shared fixture (or NAK/derived)."""
    from agent.sim.megatec import NAK, PROFILES, SHORT_Q1

    replies = (FIXTURES / "ups" / "megatec" / "replies.md").read_text()
    assert SHORT_Q1 in replies
    for name, table in PROFILES.items():
        for command, reply in table.items():
            if reply in (None, NAK) or name == "santak-c1k" and command == "Q1":
                continue  # santak Q1 is rebuilt from the NUT-DDL dump values (checked below)
            assert reply in replies, (name, command, reply)
    dump = (FIXTURES / "ups" / "nut" / "Santak__Castle_C1K__blazer_ser__2.7.4__01.dev").read_text()
    q1 = PROFILES["santak-c1k"]["Q1"]
    for var, token in [("input.voltage", "231.3"), ("output.voltage", "220.0"), ("battery.voltage", "2.28"),
                       ("input.frequency", "50.0"), ("ups.temperature", "40.0")]:
        assert f"{var}: {token}" in dump and token in q1


def test_reads_status_and_keeps_the_port_between_polls(driver):
    first = driver.read_blocking()
    sent = driver.commands_sent
    second = driver.read_blocking()
    assert first.on_battery is False and first.input_voltage_v == 238.8 and first.load_percent == 20.0
    assert driver.line.is_open
    # F, I, QPI refused once are not asked again; only Q1 each poll (Q6 was refused too).
    assert driver.commands_sent - sent == 1
    assert second.input_voltage_v == 238.8
    assert "not supported" in driver.line.modem_lines  # a pty refuses DTR/RTS: handled, line works


@pytest.mark.parametrize(
    "state,check",
    [
        ("mains_loss", lambda s: s.on_battery is True and s.input_voltage_v == 0.0 and not s.low_battery),
        ("low_battery", lambda s: s.on_battery and s.low_battery and s.has_alarm("battery_low")),
        ("test", lambda s: s.test_in_progress is True and s.on_battery is False),
        ("fault", lambda s: s.ups_fault is True and s.has_alarm("ups_fault")),
    ],
)
def test_state_changes_at_run_time(driver, vultech, state, check):
    driver.read_blocking()
    vultech.set(state=state)
    assert check(driver.read_blocking())
    vultech.set(state="normal")
    assert driver.read_blocking().on_battery is False


def test_garbage_short_and_silence_are_typed_errors_within_the_deadline(driver, vultech):
    driver.read_blocking()
    for state, error, words in [("garbage", UpsProtocolError, "ASCII"), ("short", UpsProtocolError, "short"),
                                ("silence", UpsSilent, "no reply")]:
        vultech.set(state=state)
        started = time.monotonic()
        with pytest.raises(error, match=words) as info:
            driver.read_blocking()
        assert time.monotonic() - started < 2 * 0.3 + 0.5  # Q1 + one retry, each bounded by the timeout
        assert info.value.remedy is not None
        assert isinstance(info.value, (ProtocolError, DeviceUnreachable))
    vultech.set(state="normal")
    assert driver.read_blocking().input_voltage_v == 238.8  # stale bytes were flushed


def test_exclusive_lock_between_two_drivers(vultech, tmp_path):
    one = MegatecDriver(section(vultech.port), lock_dir=tmp_path)
    two = MegatecDriver(section(vultech.port), lock_dir=tmp_path)
    try:
        one.read_blocking()
        lock = tmp_path / uucp_lock_name(vultech.port)
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(DeviceError, match="locked|in use"):
            two.read_blocking()
        one.close_blocking()
        assert not lock.exists()
        assert two.read_blocking().load_percent == 20.0
    finally:
        one.close_blocking()
        two.close_blocking()


def test_flock_alone_refuses_a_second_open(vultech, tmp_path):
    """Even without a lock directory, flock(LOCK_EX) on the device keeps a second opener out (as NUT does)."""
    one = MegatecDriver(section(vultech.port), lock_dir=tmp_path / "a")
    (tmp_path / "a").mkdir()
    two = MegatecDriver(section(vultech.port), lock_dir=tmp_path / "b")
    (tmp_path / "b").mkdir()
    try:
        one.read_blocking()
        with pytest.raises(DeviceError, match="in use|lock"):
            two.read_blocking()
    finally:
        one.close_blocking()
        two.close_blocking()


def test_stale_uucp_lock_is_removed(vultech, tmp_path):
    lock = tmp_path / uucp_lock_name(vultech.port)
    lock.write_text(f"{2**22 + 12345:10d}\n")  # no such process
    d = MegatecDriver(section(vultech.port), lock_dir=tmp_path)
    try:
        assert d.read_blocking().load_percent == 20.0
    finally:
        d.close_blocking()


def test_missing_port_and_permission_errors_have_remedies(tmp_path):
    d = MegatecDriver(section(str(tmp_path / "ttyUSB9")), lock_dir=tmp_path)
    with pytest.raises(DeviceUnreachable, match="does not exist") as info:
        d.read_blocking()
    assert "dialout" not in info.value.remedy.key and "ttyUSB9" in str(info.value.remedy.params)
    denied = UucpLock("/dev/null", tmp_path)
    from agent.ups.errors import serial_open_error

    assert isinstance(serial_open_error("/dev/ttyS0", PermissionError(13, "Permission denied")), PermissionDenied)
    assert denied.acquire() and denied.path.exists()
    denied.release()


def test_voltronic_dialect_detected_and_santak_q6(emulators, tmp_path):
    volt = emulators("voltronic")
    d = MegatecDriver(section(volt.port), lock_dir=tmp_path)
    try:
        s = d.read_blocking()
        assert s.protocol == "voltronic" and s.battery_charge_percent == 68.0 and not s.battery_charge_estimated
        volt.set(state="mains_loss")
        s = d.read_blocking()
        assert s.on_battery is True and s.input_voltage_v == 0.0
    finally:
        volt.set(state="normal")
        d.close_blocking()
    santak = emulators("santak-c1k")
    d = MegatecDriver(section(santak.port), lock_dir=tmp_path)
    try:
        s = d.read_blocking()
        assert s.protocol == "megatec-q1+q6" and s.runtime_s == 6932 and s.battery_charge_percent == 100.0
        assert s.model is None and "refuses the I" in render(s.unknown["model"], "en")  # (NAK tolerated
    finally:
        d.close_blocking()


def test_slow_and_silent_unit_ends_with_error_and_the_rest_of_the_checklist_runs(vultech, tmp_path):
    vultech.set(state="silence")
    config = load_dict({
        "agent": {"room_id": "test-room", "state_dir": str(tmp_path)},
        "check": {"budget": "10s"},
        "ups": {"driver": "megatec", "megatec": {"port": vultech.port, "timeout": "500ms"}},
    })
    probes = build_probes(config, ["host", "power"])
    started = time.monotonic()
    report = asyncio.run(run_checklist(config, probes))
    elapsed = time.monotonic() - started
    power = [r for r in report.results if r.area == "power"]
    assert [r.id for r in power] == ["power.ups_reachable"] and power[0].status is Status.ERROR
    assert any(r.id == "host.disk" and r.status is not Status.ERROR for r in report.results)
    assert elapsed < probes[1].deadline() + 1.0
    # slow: replies later than Q1 + its retry (2 x 0.5 s) -> an error at the driver's own deadline.
    # (A reply only a little late is taken by the retry: still Q1 data, a fraction of a second old.)
    vultech.set(state="normal", delay=2.0)
    report = asyncio.run(run_checklist(config, build_probes(config, ["power"])))
    assert report.results[0].status is Status.ERROR
