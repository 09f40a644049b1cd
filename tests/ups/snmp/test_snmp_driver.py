"""The SNMP UPS driver against snmpsim: hand-made state files, SET-driven state changes, MIB fall-backs,
vendor quirks, a slow and a silent agent inside the checklist, SNMPv3 authPriv, and canary secrets."""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import subprocess
import sys
import time

import pytest

from agent.checks import power as checks
from agent.config import load_dict
from agent.errors import DeviceAuthError, DeviceUnreachable, ProtocolError
from agent.i18n import render
from agent.model import Status, to_plain
from agent.probes import get_probe_class
from agent.runner import run_checklist
from agent.ups.snmp import SnmpDriver
from tests.ups.snmp.conftest import CANARY_AUTH_KEY, CANARY_COMMUNITY, CANARY_PRIV_KEY, REPO, snmp_config


def read(config: dict, polls: int = 1, between=None):
    """Poll ``polls`` times on one kept driver; ``between(i)`` runs after poll i (e.g. a SET)."""
    section = load_dict(config).ups
    driver = SnmpDriver(section)

    async def run():
        out = []
        try:
            for i in range(polls):
                out.append(await driver.read())
                if between:
                    between(i)
            return out, driver
        finally:
            await driver.aclose()

    statuses, driver = asyncio.run(run())
    return (statuses[0] if polls == 1 else statuses), section


def by_id(results):
    return {r.id: r for r in results}


def test_on_battery_rfc1628(snmpsim, tmp_path):
    status, section = read(snmp_config(tmp_path, snmpsim.port, "ups-onbattery"))
    assert (status.protocol, status.manufacturer, status.model, status.firmware) == ("rfc1628", "SANTAK", "Castle C3K", "V1.2")
    assert status.on_battery is True and status.low_battery is False and status.bypass is False
    assert (status.runtime_s, status.battery_charge_percent, status.battery_voltage_v) == (1500, 71.0, 70.2)
    assert (status.input_voltage_v, status.input_frequency_hz, status.output_voltage_v) == (0.0, 0.0, 220.0)
    assert status.seconds_on_battery == 420 and status.load_percent == 37.0 and status.temperature_c == 31.0
    # upsAlarmOnBattery is a state, not an alarm; with the table read, no fault and no overload
    assert status.alarms == [] and status.ups_fault is False and status.overload is False
    test = status.last_self_test
    assert test.result == "passed" and test.detail == "Passed"
    age = _dt.datetime.now(_dt.timezone.utc) - test.when  # (sysUpTime - upsTestStartTime) / 100 s ago
    assert 990 <= age.total_seconds() <= 1010
    results = by_id(checks.evaluate(status, section.expect))
    assert results["power.on_mains"].status == Status.FAIL
    assert results["power.codec_on_ups"].status == Status.PASS  # declared in upsIdentAttachedDevices
    assert results["power.codec_on_ups"].observed["evidence"] == "declared"


def test_low_battery_alarms(snmpsim, tmp_path):
    status, section = read(snmp_config(tmp_path, snmpsim.port, "ups-lowbattery"))
    assert status.on_battery is True and status.low_battery is True
    assert [(a.code, a.detail) for a in status.alarms] == [("battery_low", "upsAlarmLowBattery")]
    results = by_id(checks.evaluate(status, section.expect))
    for check in ("power.on_mains", "power.battery_charge", "power.runtime", "power.alarms"):
        assert results[check].status == Status.FAIL, check


def test_self_test_failed(snmpsim, tmp_path):
    status, section = read(snmp_config(tmp_path, snmpsim.port, "ups-testfailed"))
    assert status.on_battery is False
    assert status.last_self_test.result == "failed" and status.last_self_test.detail == "Battery weak: replace battery"
    codes = [a.code for a in status.alarms]
    assert codes == ["self_test_failed", "battery_replace"]  # from the alarm table, not doubled by the summary
    results = by_id(checks.evaluate(status, section.expect))
    assert results["power.self_test"].status == Status.FAIL and results["power.alarms"].status == Status.FAIL
    assert results["power.runtime"].status == Status.FAIL  # 9 minutes


def test_apc_powernet_hand_made_state(snmpsim, tmp_path):
    status, _ = read(snmp_config(tmp_path, snmpsim.port, "apc-onbattery-testfailed"))
    assert (status.protocol, status.manufacturer, status.model) == ("apc-powernet", "APC", "Smart-UPS 1500")
    assert status.on_battery is True and status.seconds_on_battery == 120 and status.runtime_s == 960  # TimeTicks
    assert status.battery_charge_percent == 64.3 and status.load_percent == 35.4  # high precision (tenths) first
    assert status.last_self_test.result == "failed"
    assert status.last_self_test.when == _dt.datetime(2024, 3, 14, tzinfo=_dt.timezone.utc)
    assert {a.code for a in status.alarms} == {"battery_replace", "self_test_failed"}


def test_xppc_netagent(snmpsim, tmp_path):
    status, _ = read(snmp_config(tmp_path, snmpsim.port, "xppc-netagent"))
    assert (status.protocol, status.model) == ("xppc", "HT1101S")
    assert status.manufacturer is None and "many brands" in render(status.unknown["manufacturer"], "en")  # upsIdentManufacturer is ""
    assert status.on_battery is False and status.low_battery is False  # standBy(8) with a 16 % load
    assert (status.input_voltage_v, status.output_voltage_v, status.input_frequency_hz) == (236.0, 236.0, 50.0)
    assert (status.battery_voltage_v, status.temperature_c, status.load_percent) == (27.0, 28.0, 16.0)
    assert status.runtime_s is None and "upsSmartBatteryRunTimeRemaining" in render(status.unknown["runtime_s"], "en")


def test_quirks_missing_dot_zero_null_strings_sentinels(snmpsim, tmp_path):
    statuses, _ = read(snmp_config(tmp_path, snmpsim.port, "ups-quirks"), polls=2)
    for status in statuses:  # the bare-OID forms are learnt on poll 1 and used on poll 2
        assert (status.manufacturer, status.model) == ("MINUTEMAN", "E1500RTXL2U")  # scalars without ".0"
        assert status.low_battery is False
        assert status.runtime_s == 42 * 60  # a number sent as OCTET STRING "42"
        assert status.battery_charge_percent == 95.0  # Gauge32 where INTEGER is due
        assert status.battery_voltage_v is None and "NULL" in render(status.unknown["battery_voltage_v"], "en")
        assert status.temperature_c is None and "-1" in render(status.unknown["temperature_c"], "en")
        assert (status.input_voltage_v, status.output_voltage_v) == (229.0, 230.0)  # tenths
        assert status.load_percent == 18.0  # phase 1 NULL, phase 2 answers
        assert status.last_self_test is None and "9 is above 6" in render(status.unknown["last_self_test"], "en")


def test_real_recording_sentinels_have_reasons(snmpsim, tmp_path):
    huawei, _ = read(snmp_config(tmp_path, snmpsim.port, "huaweiups_ups2000"))
    assert huawei.runtime_s is None and "4294967295" in render(huawei.unknown["runtime_s"], "en")
    socomec, _ = read(snmp_config(tmp_path, snmpsim.port, "netvision-rfc"))
    assert socomec.runtime_s is None and "65535" in render(socomec.unknown["runtime_s"], "en")
    assert "Net Vision 7 v7.20" in render(socomec.unknown["firmware"], "en")  # the card's version is not the UPS's firmware


def test_state_flipped_by_set_is_seen_on_the_kept_session(snmpsim, tmp_path):
    community = "ups-writable"
    source = "1.3.6.1.2.1.33.1.4.1.0"
    steps = [
        lambda: snmpsim.snmpset(community, source, "i", "5"),  # mains lost
        lambda: (snmpsim.snmpset(community, "1.3.6.1.2.1.33.1.2.1.0", "i", "3"),
                 snmpsim.snmpset(community, "1.3.6.1.2.1.33.1.2.4.0", "i", "9")),
        lambda: (snmpsim.snmpset(community, source, "i", "3"), snmpsim.snmpset(community, "1.3.6.1.2.1.33.1.2.1.0", "i", "2"),
                 snmpsim.snmpset(community, "1.3.6.1.2.1.33.1.2.4.0", "i", "100"),
                 snmpsim.snmpset(community, "1.3.6.1.2.1.33.1.1.6.0", "s", "Polycom RealPresence Group 500")),
    ]
    statuses, section = read(snmp_config(tmp_path, snmpsim.port, community), polls=4, between=lambda i: i < 3 and steps[i]())
    assert [(s.on_battery, s.low_battery, s.battery_charge_percent) for s in statuses] == [
        (False, False, 100.0), (True, False, 100.0), (True, True, 9.0), (False, False, 100.0)]
    codec = [by_id(checks.evaluate(s, section.expect))["power.codec_on_ups"] for s in (statuses[0], statuses[3])]
    # load 0 and "may in" (printer): no evidence; then the administrator names the codec
    assert (codec[0].status, codec[0].observed["evidence"]) == (Status.WARN, "unknown")
    assert (codec[1].status, codec[1].observed["evidence"]) == (Status.PASS, "declared")


def test_engine_kept_and_dialect_detected_once(snmpsim, tmp_path):
    section = load_dict(snmp_config(tmp_path, snmpsim.port, "eaton-mgeups_5px")).ups
    driver = SnmpDriver(section)
    calls = []
    original = driver.session.get

    async def counting(oids, deadline=None):
        calls.append(len(oids))
        return await original(oids, deadline)

    driver.session.get = counting

    async def run():
        await driver.read()
        engine = driver.session._engine
        first = len(calls)
        await driver.read()
        await driver.read()
        assert driver.session._engine is engine  # one SnmpEngine for the life of the driver
        await driver.aclose()
        return first

    first = asyncio.run(run())
    assert first == 3  # detection, data (with identity), bare-OID retry for the absent scalars
    assert len(calls) == first + 2  # later polls: one GET each
    assert calls[-1] < calls[1]  # identity is not asked again


def test_agent_without_any_ups_mib(snmpsim, tmp_path):
    section = load_dict(snmp_config(tmp_path, snmpsim.port, "not-a-ups")).ups
    with pytest.raises(ProtocolError) as info:
        asyncio.run(SnmpDriver(section).read())
    assert "1.3.6.1.4.1.9.1.1208" in str(info.value) and info.value.remedy.key == "ups.snmp.nomib.remedy"


def checklist(config: dict):
    config = load_dict(config)
    probes = [get_probe_class("power")(config), get_probe_class("host")(config)]

    async def run():
        try:
            return await run_checklist(config, probes)
        finally:
            for probe in probes:
                await probe.close()

    started = time.monotonic()
    report = asyncio.run(run())
    return report, time.monotonic() - started


@pytest.mark.parametrize("case", ["slow", "silent"])
def test_slow_or_silent_agent_ends_at_deadline_and_checklist_goes_on(snmpsim, slow_snmpsim, tmp_path, case):
    if case == "slow":  # the UPS objects answer after 4 s, the request timeout is 1 s
        config = snmp_config(tmp_path, slow_snmpsim.port, "ups-slow", timeout="1s", retries=1, probe_deadline="2s")
    else:  # wrong community: the agent stays silent
        config = snmp_config(tmp_path, snmpsim.port, "wrong-community", timeout="1s", retries=3, probe_deadline="2s")
    report, took = checklist(config)
    results = by_id(report.results)
    reach = results["power.ups_reachable"]
    assert reach.status == Status.ERROR
    assert "SNMP" in reach.message.render("en") or "SNMP" in json.dumps(to_plain(reach))
    assert took < 3.5  # the driver's deadline (probe_deadline - 1 s), well inside the runner's
    host = [r for r in report.results if r.id.startswith("host.")]
    assert host and all(r.status != Status.ERROR for r in host), "the rest of the checklist is unaffected"


def test_snmpv3_auth_priv(snmpsim, tmp_path):
    status, _ = read(snmp_config(tmp_path, snmpsim.port, v3={}, timeout="3s"))  # served from the real Eaton recording
    assert status.manufacturer == "EATON" and status.load_percent == 59.0


@pytest.mark.parametrize("v3", [{"auth_key": "hntht-canary-wrongkey-44d0"}, {"user": "nobody-here"}])
def test_snmpv3_refused_is_auth_error_without_secrets(snmpsim, tmp_path, v3):
    # generous timeout: the refusal is a USM report after engine discovery, two round trips on a busy machine
    section = load_dict(snmp_config(tmp_path, snmpsim.port, v3=v3, timeout="3s", retries=1, probe_deadline="10s")).ups
    with pytest.raises(DeviceAuthError) as info:
        asyncio.run(SnmpDriver(section).read())
    text = f"{info.value} {info.value!r} {info.value.remedy}"
    for secret in (CANARY_AUTH_KEY, CANARY_PRIV_KEY, "hntht-canary-wrongkey-44d0"):
        assert secret not in text


def run_cli(tmp_path, config: dict) -> subprocess.CompletedProcess:
    toml = []
    for table, values in config.items():
        toml.append(f"[{table}]")
        toml += [f"{k} = {json.dumps(v)}" for k, v in values.items() if not isinstance(v, dict)]
        for key, value in values.items():
            if isinstance(value, dict):
                toml.append(f"[{table}.{key}]")
                toml += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    path = tmp_path / "agent.toml"
    path.write_text("\n".join(toml) + "\n")
    return subprocess.run([sys.executable, "-m", "agent", "check", "--config", str(path), "--json", "--only", "power"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


@pytest.mark.parametrize("kind", ["community-ok", "community-wrong", "v3-ok", "v3-wrong-priv"])
def test_canary_secrets_in_no_output(snmpsim, tmp_path, kind):
    if kind == "community-ok":
        config = snmp_config(tmp_path, snmpsim.port, CANARY_COMMUNITY)
    elif kind == "community-wrong":
        config = snmp_config(tmp_path, snmpsim.port, CANARY_COMMUNITY + "-x", probe_deadline="2s")
    elif kind == "v3-ok":
        config = snmp_config(tmp_path, snmpsim.port, v3={})
    else:
        config = snmp_config(tmp_path, snmpsim.port, v3={"priv_key": "hntht-canary-privwrong-0b7c"}, probe_deadline="2s")
    done = run_cli(tmp_path, config)
    report = json.loads(done.stdout)
    reach = next(r for r in report["checks"] if r["id"] == "power.ups_reachable")
    assert reach["status"] == ("pass" if kind.endswith("ok") else "error"), done.stdout + done.stderr
    everything = done.stdout + done.stderr
    for secret in (CANARY_COMMUNITY, CANARY_AUTH_KEY, CANARY_PRIV_KEY, "hntht-canary-privwrong-0b7c"):
        assert secret not in everything
