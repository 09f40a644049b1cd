"""SNMP driver: a UPS network card read over SNMP v2c or v3 (authPriv), through :mod:`agent.snmp`.

MIB choice, by what the agent answers (detected once per session, re-detected if it stops answering):

1. **RFC 1628 UPS-MIB** (1.3.6.1.2.1.33) — the standard; Eaton, Socomec, Huawei, Delta, Riello,
   Generex... implement it.
2. **APC PowerNet-MIB** (1.3.6.1.4.1.318.1.1.1) — APC cards answer only ``upsIdentManufacturer``
   of RFC 1628; runtime is TimeTicks (1/100 s).
3. **XPPC-MIB** (1.3.6.1.4.1.935.1.1.1) — Megatec "NetAgent" cards, often fitted to Megatec-protocol
   UPSes; values in tenths.

Every value goes through :mod:`agent.snmp`'s normalisers: Gauge32 where INTEGER is due, numbers as
strings, NULL, noSuchObject/noSuchInstance, 65535 / 655350 / 4294967295 / -1 sentinels and
implausible values all become ``None`` with a reason in ``UpsStatus.unknown`` that names the object.
Voltages are scaled by what is plausible for mains (80–480 V), so an agent that sends tenths where
the MIB says volts (Delta "Mini-SNMP": 2360) or volts where it says tenths is read right.  A scalar
an agent exposes without its ``.0`` instance (seen on Delta/Minuteman cards) is found once and
remembered.  Identity (manufacturer, model, firmware) is read on the first poll only; state every poll.

Requests: one GET for detection on the first poll, then one GET per poll (PDUs of at most 24
objects, sent together; a tooBig answer splits them), plus a walk of the alarm table only when ``upsAlarmsPresent`` > 0.  Every
request is cut to the time left before the driver's deadline, which fits inside the probe's.
See docs/power.md "SNMP driver" for the quirks table and the evidence behind each rule.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

from agent.i18n import Text, register
from agent.snmp import (
    SnmpAuthError, SnmpCredentials, SnmpProtocolError, SnmpSession, SnmpTimeout, absent_reason, either, reason_for,
    to_int, to_number, to_oid, to_text,
)
from agent.ups.base import UpsDriver
from agent.ups.model import SelfTest, UpsStatus

register(
    {
        "ups.snmp.not_read": ("chưa đọc", "not read"),
        "ups.snmp.not_reported": ("thiết bị không báo {obj}", "{obj} not reported"),
        "ups.snmp.table_not_read": ("chưa đọc được bảng {obj}", "{obj} not read"),
        "ups.snmp.silent_state": ("{obj} = {value}: không cho biết", "{obj} = {value}: does not say"),
        "ups.snmp.unmapped": (
            "{obj} = {value}: trạng thái mà driver này chưa biết",
            "{obj} = {value}: a state this driver does not map",
        ),
        "ups.snmp.battery_fault": ("{obj}: ắc quy bị lỗi", "{obj}: battery fault"),
        "ups.snmp.zero_temperature": (
            "upsBatteryTemperature: 0 °C, giá trị của card không có cảm biến nhiệt độ",
            "upsBatteryTemperature: 0 °C, the value of cards without a temperature probe",
        ),
        "ups.snmp.card_version": (
            "phiên bản {version} là của card mạng, không phải của bộ lưu điện (UPS)",
            "the network card's own version is {version}",
        ),
        "ups.snmp.apc_no_flags": (
            "các đối tượng cơ bản của PowerNet không có cờ báo lỗi hay quá tải",
            "PowerNet basic objects carry no fault or overload flag",
        ),
        "ups.snmp.xppc_no_manufacturer": (
            "XPPC-MIB không có đối tượng tên hãng (card NetAgent được lắp cho UPS của nhiều hãng)",
            "XPPC-MIB has no manufacturer object (NetAgent cards are fitted to many brands)",
        ),
        "ups.snmp.xppc_no_state": (
            "các đối tượng cơ bản của XPPC-MIB không có trạng thái lỗi, quá tải hay tự kiểm tra",
            "XPPC-MIB base objects carry no fault, overload or self-test state",
        ),
        "ups.snmp.default": (
            "card SNMP ({mib}) không báo giá trị này",
            "not reported by the {mib} agent",
        ),
        "ups.snmp.changed": (
            "thiết bị SNMP tại {where} không còn trả lời các đối tượng nó đã trả lời trước đó",
            "the SNMP agent at {where} no longer answers the objects it answered before",
        ),
        "ups.snmp.no_mib": (
            "thiết bị SNMP tại {where} (sysObjectID {oid}) không có RFC 1628 UPS-MIB, APC PowerNet-MIB hay XPPC-MIB",
            "the SNMP agent at {where} (sysObjectID {oid}) implements none of RFC 1628 UPS-MIB, APC PowerNet-MIB "
            "or XPPC-MIB",
        ),
        "ups.snmp.timeout.remedy": (
            "Card mạng của bộ lưu điện (UPS) {host} không trả lời SNMP: kiểm tra UPS và card mạng đang bật, "
            "địa chỉ IP và cổng ([ups.snmp] host, port), tường lửa cho UDP {port}, và community (SNMP v2c) "
            "hoặc người dùng SNMPv3 — card không trả lời khi community sai.",
            "The UPS network card {host} does not answer SNMP: check that the UPS and its card are on, the "
            "address and port ([ups.snmp] host, port), firewalls for UDP {port}, and the community (v2c) or "
            "SNMPv3 user — cards stay silent when the community is wrong.",
        ),
        "ups.snmp.auth.remedy": (
            "Card mạng UPS từ chối người dùng SNMPv3: kiểm tra [ups.snmp] user, auth_protocol, priv_protocol và "
            "nội dung tệp khóa (auth_key_file, priv_key_file) với cấu hình trên card.",
            "The UPS card refused the SNMPv3 user: check [ups.snmp] user, auth_protocol, priv_protocol and the "
            "key files (auth_key_file, priv_key_file) against the card's settings.",
        ),
        "ups.snmp.nomib.remedy": (
            "Thiết bị tại {host} trả lời SNMP nhưng không có UPS-MIB (RFC 1628), APC PowerNet hay XPPC: kiểm tra "
            "đúng địa chỉ card mạng UPS chưa, bật UPS-MIB trên card; nếu không được, nối UPS qua cổng "
            "nối tiếp/USB và dùng driver = \"megatec\" hoặc \"nut\".",
            "The device at {host} answers SNMP but has no UPS-MIB (RFC 1628), APC PowerNet or XPPC: check it is "
            "the UPS card's address and enable UPS-MIB on the card; otherwise connect the UPS by serial/USB and "
            "use driver = \"megatec\" or \"nut\".",
        ),
        "ups.snmp.error.remedy": (
            "Card mạng UPS trả lời lỗi SNMP: khởi động lại card mạng (web quản trị của card) và kiểm tra lại.",
            "The UPS card answered an SNMP error: restart the card (its web interface) and try again.",
        ),
    }
)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
RFC = "1.3.6.1.2.1.33.1"
APC = "1.3.6.1.4.1.318.1.1.1"
XPPC = "1.3.6.1.4.1.935.1.1.1"

LABELS = {"rfc1628": "RFC 1628 UPS-MIB", "apc": "APC PowerNet-MIB", "xppc": "XPPC-MIB (NetAgent)"}
PROTOCOLS = {"rfc1628": "rfc1628", "apc": "apc-powernet", "xppc": "xppc"}

# name -> (OID, MIB object name for reasons)
RFC_IDENT = {
    "manufacturer": (f"{RFC}.1.1.0", "upsIdentManufacturer"),
    "model": (f"{RFC}.1.2.0", "upsIdentModel"),
    "ups_software": (f"{RFC}.1.3.0", "upsIdentUPSSoftwareVersion"),
    "agent_software": (f"{RFC}.1.4.0", "upsIdentAgentSoftwareVersion"),
}
ATTACHED = {"attached": (f"{RFC}.1.6.0", "upsIdentAttachedDevices")}
RFC_STATE = {
    "battery_status": (f"{RFC}.2.1.0", "upsBatteryStatus"),
    "seconds_on_battery": (f"{RFC}.2.2.0", "upsSecondsOnBattery"),
    "minutes_remaining": (f"{RFC}.2.3.0", "upsEstimatedMinutesRemaining"),
    "charge": (f"{RFC}.2.4.0", "upsEstimatedChargeRemaining"),
    "battery_voltage": (f"{RFC}.2.5.0", "upsBatteryVoltage"),
    "battery_temperature": (f"{RFC}.2.7.0", "upsBatteryTemperature"),
    "input_frequency": (f"{RFC}.3.3.1.2.1", "upsInputFrequency.1"),
    "input_voltage": (f"{RFC}.3.3.1.3.1", "upsInputVoltage.1"),
    "output_source": (f"{RFC}.4.1.0", "upsOutputSource"),
    "output_voltage": (f"{RFC}.4.4.1.2.1", "upsOutputVoltage.1"),
    "load1": (f"{RFC}.4.4.1.5.1", "upsOutputPercentLoad.1"),
    "load2": (f"{RFC}.4.4.1.5.2", "upsOutputPercentLoad.2"),
    "load3": (f"{RFC}.4.4.1.5.3", "upsOutputPercentLoad.3"),
    "bypass_voltage": (f"{RFC}.5.3.1.2.1", "upsBypassVoltage.1"),
    "alarms_present": (f"{RFC}.6.1.0", "upsAlarmsPresent"),
    "test_summary": (f"{RFC}.7.3.0", "upsTestResultsSummary"),
    "test_detail": (f"{RFC}.7.4.0", "upsTestResultsDetail"),
    "test_start": (f"{RFC}.7.5.0", "upsTestStartTime"),
    "nominal_input_voltage": (f"{RFC}.9.1.0", "upsConfigInputVoltage"),
    "nominal_output_voltage": (f"{RFC}.9.3.0", "upsConfigOutputVoltage"),
    "uptime": (SYS_UPTIME, "sysUpTime"),
}
RFC_ALARM_DESCR = f"{RFC}.6.2.1.2"

APC_IDENT = {
    "rfc_manufacturer": (f"{RFC}.1.1.0", "upsIdentManufacturer"),
    "model": (f"{APC}.1.1.1.0", "upsBasicIdentModel"),
    "firmware": (f"{APC}.1.2.1.0", "upsAdvIdentFirmwareRevision"),
}
APC_STATE = {
    "battery_status": (f"{APC}.2.1.1.0", "upsBasicBatteryStatus"),
    "time_on_battery": (f"{APC}.2.1.2.0", "upsBasicBatteryTimeOnBattery"),
    "capacity": (f"{APC}.2.2.1.0", "upsAdvBatteryCapacity"),
    "temperature": (f"{APC}.2.2.2.0", "upsAdvBatteryTemperature"),
    "runtime": (f"{APC}.2.2.3.0", "upsAdvBatteryRunTimeRemaining"),
    "replace": (f"{APC}.2.2.4.0", "upsAdvBatteryReplaceIndicator"),
    "battery_voltage": (f"{APC}.2.2.8.0", "upsAdvBatteryActualVoltage"),
    "hp_capacity": (f"{APC}.2.3.1.0", "upsHighPrecBatteryCapacity"),
    "hp_temperature": (f"{APC}.2.3.2.0", "upsHighPrecBatteryTemperature"),
    "hp_battery_voltage": (f"{APC}.2.3.4.0", "upsHighPrecBatteryActualVoltage"),
    "input_voltage": (f"{APC}.3.2.1.0", "upsAdvInputLineVoltage"),
    "input_frequency": (f"{APC}.3.2.4.0", "upsAdvInputFrequency"),
    "hp_input_voltage": (f"{APC}.3.3.1.0", "upsHighPrecInputLineVoltage"),
    "hp_input_frequency": (f"{APC}.3.3.4.0", "upsHighPrecInputFrequency"),
    "output_status": (f"{APC}.4.1.1.0", "upsBasicOutputStatus"),
    "output_voltage": (f"{APC}.4.2.1.0", "upsAdvOutputVoltage"),
    "load": (f"{APC}.4.2.3.0", "upsAdvOutputLoad"),
    "hp_output_voltage": (f"{APC}.4.3.1.0", "upsHighPrecOutputVoltage"),
    "hp_load": (f"{APC}.4.3.3.0", "upsHighPrecOutputLoad"),
    "diag_result": (f"{APC}.7.2.3.0", "upsAdvTestDiagnosticsResults"),
    "diag_date": (f"{APC}.7.2.4.0", "upsAdvTestLastDiagnosticsDate"),
}

XPPC_IDENT = {
    "rfc_manufacturer": (f"{RFC}.1.1.0", "upsIdentManufacturer"),
    "model": (f"{XPPC}.1.1.1.0", "upsBaseIdentModel"),
    "firmware": (f"{XPPC}.1.2.1.0", "upsSmartIdentFirmwareRevision"),
}
XPPC_STATE = {
    "battery_status": (f"{XPPC}.2.1.1.0", "upsBaseBatteryStatus"),
    "capacity": (f"{XPPC}.2.2.1.0", "upsSmartBatteryCapacity"),
    "battery_voltage": (f"{XPPC}.2.2.2.0", "upsSmartBatteryVoltage"),
    "temperature": (f"{XPPC}.2.2.3.0", "upsSmartBatteryTemperature"),
    "runtime": (f"{XPPC}.2.2.4.0", "upsSmartBatteryRunTimeRemaining"),
    "replace": (f"{XPPC}.2.2.5.0", "upsSmartBatteryReplaceIndicator"),
    "input_voltage": (f"{XPPC}.3.2.1.0", "upsSmartInputLineVoltage"),
    "input_frequency": (f"{XPPC}.3.2.4.0", "upsSmartInputFrequency"),
    "output_status": (f"{XPPC}.4.1.1.0", "upsBaseOutputStatus"),
    "output_voltage": (f"{XPPC}.4.2.1.0", "upsSmartOutputVoltage"),
    "load": (f"{XPPC}.4.2.3.0", "upsSmartOutputLoad"),
}

# Detection: the objects that tell the three MIBs apart (each answers only its own).
DETECT = {
    "rfc1628": [RFC_STATE["output_source"][0], RFC_STATE["battery_status"][0], RFC_STATE["charge"][0]],
    "apc": [APC_STATE["output_status"][0], APC_STATE["capacity"][0], APC_STATE["hp_capacity"][0]],
    "xppc": [XPPC_STATE["output_status"][0], XPPC_STATE["capacity"][0], XPPC_STATE["battery_status"][0]],
}
TABLES = {"rfc1628": (RFC_IDENT, RFC_STATE), "apc": (APC_IDENT, APC_STATE), "xppc": (XPPC_IDENT, XPPC_STATE)}

# RFC 1628 well-known alarms (upsWellKnownAlarms, .6.3.N) -> normalised alarm code (None: a state, not an alarm)
RFC_ALARMS: dict[int, tuple[str | None, str]] = {
    1: ("battery_replace", "upsAlarmBatteryBad"), 2: (None, "upsAlarmOnBattery"),
    3: ("battery_low", "upsAlarmLowBattery"), 4: ("battery_low", "upsAlarmDepletedBattery"),
    5: ("temperature", "upsAlarmTempBad"), 6: ("input_bad", "upsAlarmInputBad"),
    7: ("output_bad", "upsAlarmOutputBad"), 8: ("overload", "upsAlarmOutputOverload"),
    9: ("on_bypass", "upsAlarmOnBypass"), 10: ("other", "upsAlarmBypassBad"),
    11: ("output_off", "upsAlarmOutputOffAsRequested"), 12: ("output_off", "upsAlarmUpsOffAsRequested"),
    13: ("charger_failed", "upsAlarmChargerFailed"), 14: ("output_off", "upsAlarmUpsOutputOff"),
    15: ("output_off", "upsAlarmUpsSystemOff"), 16: ("fan_failure", "upsAlarmFanFailure"),
    17: ("fuse_failure", "upsAlarmFuseFailure"), 18: ("ups_fault", "upsAlarmGeneralFault"),
    19: ("self_test_failed", "upsAlarmDiagnosticTestFailed"), 20: ("communication_lost", "upsAlarmCommunicationsLost"),
    21: ("other", "upsAwaitingPower"), 22: ("shutdown_pending", "upsShutdownPending"),
    23: ("shutdown_pending", "upsShutdownImminent"), 24: (None, "upsTestInProgress"),
}
RFC_WELL_KNOWN = f"{RFC}.6.3."
RFC_TEST_RESULTS = {1: "passed", 2: "warning", 3: "failed", 4: "aborted", 5: "in_progress", 6: "none"}
RFC_TEST_WORDS = {1: "donePass", 2: "doneWarning", 3: "doneError", 4: "aborted", 5: "inProgress", 6: "noTestsInitiated"}
APC_TEST_RESULTS = {1: ("passed", "ok"), 2: ("failed", "failed"), 3: ("aborted", "invalidTest"), 4: ("in_progress", "testInProgress")}

# Output state per MIB value: (on_battery, bypass, boost, trim, output_off, test, fault, name)
_S = tuple
RFC_OUTPUT = {
    1: _S((None, None, None, None, None, None, None, "other")), 2: _S((False, False, False, False, True, None, None, "none")),
    3: _S((False, False, False, False, False, None, None, "normal")), 4: _S((False, True, False, False, False, None, None, "bypass")),
    5: _S((True, False, False, False, False, None, None, "battery")), 6: _S((False, False, True, False, False, None, None, "booster")),
    7: _S((False, False, False, True, False, None, None, "reducer")),
}
APC_OUTPUT = {
    1: (None, None, None, None, None, None, None, "unknown"), 2: (False, False, False, False, False, False, None, "onLine"),
    3: (True, False, False, False, False, False, None, "onBattery"), 4: (False, False, True, False, False, False, None, "onSmartBoost"),
    5: (None, False, False, False, True, False, None, "timedSleeping"), 6: (False, True, False, False, False, False, None, "softwareBypass"),
    7: (None, False, False, False, True, False, None, "off"), 8: (None, False, False, False, True, False, None, "rebooting"),
    9: (False, True, False, False, False, False, None, "switchedBypass"), 10: (False, True, False, False, False, False, True, "hardwareFailureBypass"),
    11: (None, False, False, False, True, False, None, "sleepingUntilPowerReturn"), 12: (False, False, False, True, False, False, None, "onSmartTrim"),
    13: (False, False, False, False, False, False, None, "ecoMode"), 14: (False, False, False, False, False, False, None, "hotStandby"),
    15: (True, False, False, False, False, True, None, "onBatteryTest"), 16: (False, True, False, False, False, False, None, "emergencyStaticBypass"),
    17: (False, False, False, False, False, False, None, "staticBypassStandby"), 18: (False, False, False, False, False, False, None, "powerSavingMode"),
    20: (False, False, False, False, False, False, None, "eConversion"), 28: (None, False, False, False, False, True, None, "selfTest"),
}
XPPC_OUTPUT = {
    1: (None, None, None, None, None, None, None, "unknown"), 2: (False, False, False, False, False, None, None, "onLine"),
    3: (True, False, False, False, False, None, None, "onBattery"), 4: (False, False, True, False, False, None, None, "onBoost"),
    5: (None, False, False, False, True, None, None, "sleeping"), 6: (False, True, False, False, False, None, None, "onBypass"),
    7: (None, False, False, False, True, None, None, "rebooting"),
    # standBy: NUT maps it to OFF, but the recorded NetAgent II (LibreNMS netagent2_1) reported standBy
    # while feeding a 16 % load at 236 V: a line-interactive unit passing mains through.  Not on battery.
    8: (False, False, False, False, False, None, None, "standBy"), 9: (False, False, False, True, False, None, None, "onBuck"),
}

MAINS_V = (80.0, 480.0)  # plausible mains / output voltage per line; 0 is valid (mains lost)


def pick_scale(raw: int | None, declared: float, alternative: float, plausible: tuple[float, float]) -> float:
    """The unit the agent really uses: ``declared`` unless only ``alternative`` gives a plausible value."""
    if raw is None or raw == 0:
        return declared
    lo, hi = plausible
    if lo <= raw * declared <= hi:
        return declared
    if lo <= raw * alternative <= hi:
        return alternative
    return declared


class _Values:
    """The agent's answers by our short names, with the MIB object name for every reason."""

    def __init__(self, table: dict[str, tuple[str, str]], raw: dict[str, Any], oid_map: dict[str, str]) -> None:
        self.table = table
        self.raw = raw
        self.oid_map = oid_map

    def value(self, name: str) -> Any:
        oid = self.table[name][0]
        return self.raw.get(self.oid_map.get(oid, oid))

    def obj(self, name: str) -> str:
        return self.table[name][1]

    def has(self, name: str) -> bool:
        return name in self.table and absent_reason(self.value(name)) is None

    def int(self, name: str, **kw: Any) -> tuple[int | None, Text | None]:
        if name not in self.table:
            return None, Text("ups.snmp.not_read")
        value, why = to_int(self.value(name), **kw)
        return value, reason_for(self.obj(name), why)

    def num(self, name: str, **kw: Any) -> tuple[float | None, Text | None]:
        value, why = to_number(self.value(name), **kw)
        return value, reason_for(self.obj(name), why)

    def text(self, name: str) -> tuple[str | None, Text | None]:
        value, why = to_text(self.value(name))
        return value, reason_for(self.obj(name), why)


def _set(status: UpsStatus, field: str, pair: tuple[Any, Text | str | None]) -> None:
    value, why = pair
    if value is not None and getattr(status, field) is None:
        setattr(status, field, value)
    elif value is None and why:
        status.mark_unknown(field, why)


def _apply_output(status: UpsStatus, state: tuple, why_name: str) -> None:
    on_battery, bypass, boost, trim, output_off, test, fault, name = state
    for field, flag in (("on_battery", on_battery), ("bypass", bypass), ("boost", boost), ("trim", trim),
                        ("test_in_progress", test), ("ups_fault", fault)):
        if flag is not None and getattr(status, field) is None:
            setattr(status, field, flag)
        elif flag is None and field in ("on_battery", "bypass", "boost", "trim"):
            status.mark_unknown(field, Text("ups.snmp.silent_state", obj=why_name, value=name))
    if output_off:
        status.add_alarm("output_off", f"{why_name} = {name}")
    if fault:
        status.add_alarm("ups_fault", f"{why_name} = {name}")


def _voltage(v: _Values, name: str, declared: float, scale: float | None = None) -> tuple[float | None, str | None]:
    raw, why = v.int(name)
    if raw is None:
        return None, why
    use = scale if scale is not None else pick_scale(raw, declared, 1.0 if declared != 1.0 else 0.1, MAINS_V)
    return v.num(name, scale=use, lo=0.0, hi=MAINS_V[1])


def _frequency(v: _Values, name: str, declared: float) -> tuple[float | None, str | None]:
    raw, why = v.int(name)
    if raw is None:
        return None, why
    if raw == 0:
        return 0.0, None  # no mains: 0 Hz is a reading, not an unknown
    use = pick_scale(raw, declared, 1.0 if declared != 1.0 else 0.1, (40.0, 70.0))
    return v.num(name, scale=use, lo=40.0, hi=70.0)


def _mains_scale(v: _Values, names: list[str], nominal_names: list[str], declared: float) -> float:
    """One unit for all of an agent's mains voltages (Delta "Mini-SNMP" sends all of them in tenths)."""
    raws = [v.int(n)[0] for n in names if n in v.table]
    nominals = [v.int(n)[0] for n in nominal_names if n in v.table]
    top = max([r for r in raws if r], default=None)
    if top is None:
        return declared
    nominal = max([n for n in nominals if n], default=None)
    if nominal and 80 <= nominal <= 480:
        for scale in (declared, 0.1 if declared == 1.0 else 1.0):
            if 0.5 * nominal <= top * scale <= 1.6 * nominal:
                return scale
    return pick_scale(top, declared, 0.1 if declared == 1.0 else 1.0, MAINS_V)


def _identity(status: UpsStatus, ident: dict[str, tuple[str | None, Text | str | None]]) -> None:
    for field, key in (("manufacturer", "manufacturer"), ("model", "model"), ("firmware", "firmware")):
        if key in ident:
            _set(status, field, ident[key])


def status_rfc1628(v: _Values, ident: dict[str, tuple[str | None, Text | str | None]], alarm_oids: list[str] | None,
                   *, source: str, now: _dt.datetime | None = None) -> UpsStatus:
    """RFC 1628 answers -> UpsStatus.  ``alarm_oids``: upsAlarmDescr values (None: table not read)."""
    s = UpsStatus(source=source, driver="snmp", protocol="rfc1628")
    _identity(s, ident)
    _set(s, "attached_devices", v.text("attached"))

    source_value, why = v.int("output_source", lo=1, hi=7)
    if source_value is not None:
        _apply_output(s, RFC_OUTPUT[source_value], "upsOutputSource")
    else:
        for field in ("on_battery", "bypass", "boost", "trim"):
            s.mark_unknown(field, why or Text("ups.snmp.not_reported", obj="upsOutputSource"))

    battery, why = v.int("battery_status", lo=1, hi=4)
    if battery in (2, 3, 4):
        s.low_battery = battery in (3, 4)
        if battery == 4:
            s.add_alarm("battery_low", "upsBatteryStatus = batteryDepleted")
    else:
        s.mark_unknown("low_battery", why or "upsBatteryStatus = unknown(1)")

    minutes, why = v.int("minutes_remaining", lo=0, hi=10000)
    if minutes is not None:
        s.runtime_s = minutes * 60
    else:
        s.mark_unknown("runtime_s", why or "")
    _set(s, "battery_charge_percent", v.num("charge", lo=0, hi=100))
    _set(s, "battery_voltage_v", v.num("battery_voltage", scale=0.1, lo=0.0, hi=1000.0))
    temperature = v.num("battery_temperature", lo=-20, hi=90)
    if temperature[0] == 0:
        # Cards without a battery probe send 0 (Eaton 5PX recording); no room UPS runs at freezing point.
        temperature = (None, Text("ups.snmp.zero_temperature"))
    _set(s, "temperature_c", temperature)
    seconds, why = v.int("seconds_on_battery", lo=0)
    _set(s, "seconds_on_battery", (seconds, why))

    scale = _mains_scale(v, ["input_voltage", "output_voltage", "bypass_voltage"],
                         ["nominal_input_voltage", "nominal_output_voltage"], 1.0)
    _set(s, "input_voltage_v", _voltage(v, "input_voltage", 1.0, scale))
    _set(s, "output_voltage_v", _voltage(v, "output_voltage", 1.0, scale))
    _set(s, "input_frequency_hz", _frequency(v, "input_frequency", 0.1))
    loads = [v.num(n, lo=0, hi=200) for n in ("load1", "load2", "load3")]
    present = [x for x, _ in loads if x is not None]
    if present:
        s.load_percent = max(present)  # the most loaded phase is the one that trips
    else:
        s.mark_unknown("load_percent", loads[0][1] or Text("ups.snmp.not_reported", obj="upsOutputPercentLoad"))

    # Alarms: the table when upsAlarmsPresent > 0; with 0 present there is no fault and no overload.
    count, why = v.int("alarms_present", lo=0, hi=1000)
    test_alarm = on_battery_alarm = False
    if alarm_oids is not None:
        for oid in alarm_oids:
            number = _well_known(oid)
            code, name = RFC_ALARMS.get(number, ("other", oid)) if number else ("other", oid)
            if number == 2:
                on_battery_alarm = True
            elif number == 24:
                test_alarm = True
            elif code:
                s.add_alarm(code, name)
        codes = {a.code for a in s.alarms}
        s.ups_fault = "ups_fault" in codes
        s.overload = "overload" in codes
        if "battery_low" in codes:
            s.low_battery = True
    elif count == 0:
        s.ups_fault, s.overload = False, False
    else:
        s.mark_unknown("ups_fault", why or Text("ups.snmp.table_not_read", obj="upsAlarmTable"))
        s.mark_unknown("overload", why or Text("ups.snmp.table_not_read", obj="upsAlarmTable"))
    if s.on_battery is None and (on_battery_alarm or (seconds or 0) > 0):
        s.on_battery = True  # upsOutputSource missing, but the alarm table / battery clock says so

    # Self-test
    summary, why = v.int("test_summary", lo=1, hi=6)
    if summary is not None:
        detail, _ = v.text("test_detail")
        s.last_self_test = SelfTest(RFC_TEST_RESULTS[summary], _test_time(v, now), detail or RFC_TEST_WORDS[summary])
        if summary == 3 and not s.has_alarm("self_test_failed"):
            s.add_alarm("self_test_failed", detail or "upsTestResultsSummary = doneError")
        s.test_in_progress = summary == 5 or test_alarm
    else:
        s.mark_unknown("last_self_test", why or Text("ups.snmp.not_reported", obj="upsTestResultsSummary"))
        if test_alarm:
            s.test_in_progress = True
        else:
            s.mark_unknown("test_in_progress", why or Text("ups.snmp.not_reported", obj="upsTestResultsSummary"))
    s.explain_unknowns(Text("ups.snmp.default", mib=LABELS["rfc1628"]))
    return s


def _well_known(oid: str) -> int | None:
    if oid.startswith(RFC_WELL_KNOWN):
        rest = oid[len(RFC_WELL_KNOWN):]
        if rest.isdigit():
            return int(rest)
    return None


def _test_time(v: _Values, now: _dt.datetime | None) -> _dt.datetime | None:
    """upsTestStartTime is a TimeStamp (sysUpTime at the start); 0 = no test since the agent started."""
    start, _ = v.int("test_start", lo=1)
    uptime, _ = v.int("uptime", lo=1)
    if start is None or uptime is None or start > uptime:
        return None
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return (now - _dt.timedelta(seconds=(uptime - start) / 100)).replace(microsecond=0)


def status_apc(v: _Values, ident: dict[str, tuple[str | None, Text | str | None]], *, source: str) -> UpsStatus:
    s = UpsStatus(source=source, driver="snmp", protocol="apc-powernet")
    _identity(s, ident)
    manufacturer = ident.get("rfc_manufacturer", (None, None))[0]
    # PowerNet-MIB is APC's own enterprise (318): the maker is known even when upsIdentManufacturer is absent.
    s.manufacturer = manufacturer or "APC"
    _set(s, "attached_devices", v.text("attached"))

    status_value, why = v.int("output_status", lo=1, hi=64)
    if status_value in APC_OUTPUT:
        _apply_output(s, APC_OUTPUT[status_value], "upsBasicOutputStatus")
    else:
        reason = why or Text("ups.snmp.unmapped", obj="upsBasicOutputStatus", value=status_value)
        for field in ("on_battery", "bypass", "boost", "trim", "test_in_progress"):
            s.mark_unknown(field, reason)
    battery, why = v.int("battery_status", lo=1, hi=5)
    if battery in (2, 3):
        s.low_battery = battery == 3
    elif battery in (4, 5):
        s.add_alarm("battery_replace", "upsBasicBatteryStatus = " + ("batteryInFaultCondition" if battery == 4 else "noBatteryPresent"))
        s.mark_unknown("low_battery", Text("ups.snmp.battery_fault", obj="upsBasicBatteryStatus"))
    else:
        s.mark_unknown("low_battery", why or "upsBasicBatteryStatus = unknown(1)")
    replace, _ = v.int("replace", lo=1, hi=2)
    if replace == 2:
        s.add_alarm("battery_replace", "upsAdvBatteryReplaceIndicator = batteryNeedsReplacing")

    # High-precision objects (tenths) first, the basic ones when the card lacks them.
    _set(s, "battery_charge_percent", _first(v.num("hp_capacity", scale=0.1, lo=0, hi=100), v.num("capacity", lo=0, hi=100)))
    runtime, why = v.int("runtime", lo=0, hi=100 * 86400 * 7)
    if runtime is not None:
        s.runtime_s = runtime // 100  # TimeTicks: hundredths of a second
    else:
        s.mark_unknown("runtime_s", why or "")
    time_on_battery, why = v.int("time_on_battery", lo=0)
    if time_on_battery is not None:
        s.seconds_on_battery = time_on_battery // 100
    else:
        s.mark_unknown("seconds_on_battery", why or "")
    _set(s, "temperature_c", _first(v.num("hp_temperature", scale=0.1, lo=-20, hi=90), v.num("temperature", lo=-20, hi=90)))
    _set(s, "battery_voltage_v", _first(v.num("hp_battery_voltage", scale=0.1, lo=0, hi=1000), v.num("battery_voltage", lo=0, hi=1000)))
    _set(s, "input_voltage_v", _first(_voltage(v, "hp_input_voltage", 0.1, 0.1), _voltage(v, "input_voltage", 1.0)))
    _set(s, "output_voltage_v", _first(_voltage(v, "hp_output_voltage", 0.1, 0.1), _voltage(v, "output_voltage", 1.0)))
    _set(s, "input_frequency_hz", _first(_frequency(v, "hp_input_frequency", 0.1), _frequency(v, "input_frequency", 1.0)))
    _set(s, "load_percent", _first(v.num("hp_load", scale=0.1, lo=0, hi=200), v.num("load", lo=0, hi=200)))

    result, why = v.int("diag_result", lo=1, hi=4)
    if result is not None:
        code, word = APC_TEST_RESULTS[result]
        s.last_self_test = SelfTest(code, _apc_date(v.text("diag_date")[0]), word)
        if code == "failed":
            s.add_alarm("self_test_failed", "upsAdvTestDiagnosticsResults = failed")
        if code == "in_progress":
            s.test_in_progress = True
    else:
        s.mark_unknown("last_self_test", why or "")
    for field in ("ups_fault", "overload"):
        s.mark_unknown(field, Text("ups.snmp.apc_no_flags"))
    s.explain_unknowns(Text("ups.snmp.default", mib=LABELS["apc"]))
    return s


def _first(*pairs: tuple[Any, Text | None]) -> tuple[Any, Text | str | None]:
    for value, _ in pairs:
        if value is not None:
            return value, None
    return None, either(*(why for _, why in pairs))


def _apc_date(text: str | None) -> _dt.datetime | None:
    """upsAdvTestLastDiagnosticsDate: mm/dd/yy or mm/dd/yyyy ("Unknown" when never tested)."""
    if not text:
        return None
    for fmt in ("%m/%d/%Y", "%m/%d/%y"):
        try:
            return _dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            continue
    return None


def status_xppc(v: _Values, ident: dict[str, tuple[str | None, Text | str | None]], *, source: str) -> UpsStatus:
    s = UpsStatus(source=source, driver="snmp", protocol="xppc")
    _identity(s, ident)
    manufacturer, why = ident.get("rfc_manufacturer", (None, None))
    if manufacturer:
        s.manufacturer = manufacturer
    else:
        s.mark_unknown("manufacturer", Text("ups.snmp.xppc_no_manufacturer"))
    _set(s, "attached_devices", v.text("attached"))

    status_value, why = v.int("output_status", lo=1, hi=9)
    if status_value is not None:
        _apply_output(s, XPPC_OUTPUT[status_value], "upsBaseOutputStatus")
    else:
        for field in ("on_battery", "bypass", "boost", "trim"):
            s.mark_unknown(field, why or "")
    battery, why = v.int("battery_status", lo=1, hi=3)
    if battery in (2, 3):
        s.low_battery = battery == 3
    else:
        s.mark_unknown("low_battery", why or "upsBaseBatteryStatus = unknown(1)")
    replace, _ = v.int("replace", lo=1, hi=2)
    if replace == 2:
        s.add_alarm("battery_replace", "upsSmartBatteryReplaceIndicator = batteryNeedsReplacing")
    _set(s, "battery_charge_percent", v.num("capacity", lo=0, hi=100))
    _set(s, "runtime_s", v.int("runtime", lo=0, hi=7 * 86400))
    _set(s, "battery_voltage_v", v.num("battery_voltage", scale=0.1, lo=0, hi=1000))
    temperature, why = v.int("temperature")
    if temperature is not None:
        scale = pick_scale(temperature, 0.1, 1.0, (5.0, 90.0))
        _set(s, "temperature_c", v.num("temperature", scale=scale, lo=-20, hi=90))
    else:
        s.mark_unknown("temperature_c", why or "")
    scale = _mains_scale(v, ["input_voltage", "output_voltage"], [], 0.1)
    _set(s, "input_voltage_v", _voltage(v, "input_voltage", 0.1, scale))
    _set(s, "output_voltage_v", _voltage(v, "output_voltage", 0.1, scale))
    _set(s, "input_frequency_hz", _frequency(v, "input_frequency", 0.1))
    _set(s, "load_percent", v.num("load", lo=0, hi=200))
    for field in ("ups_fault", "overload", "test_in_progress", "last_self_test"):
        s.mark_unknown(field, Text("ups.snmp.xppc_no_state"))
    s.explain_unknowns(Text("ups.snmp.default", mib=LABELS["xppc"]))
    return s


def _credentials(cfg: Any) -> SnmpCredentials:
    if cfg.version == "3":
        return SnmpCredentials(version="3", user=cfg.user, auth_protocol=cfg.auth_protocol, auth_key=cfg.auth_key_file,
                               priv_protocol=cfg.priv_protocol, priv_key=cfg.priv_key_file)
    return SnmpCredentials(version=cfg.version, community=cfg.community_file)


class SnmpDriver(UpsDriver):
    name = "snmp"

    def __init__(self, section: Any) -> None:
        super().__init__(section)
        self.cfg = section.snmp
        self.session = SnmpSession(self.cfg.host, int(self.cfg.port), _credentials(self.cfg),
                                   timeout=float(self.cfg.timeout), retries=int(self.cfg.retries))
        self.dialect: str | None = None
        self._ident: dict[str, tuple[str | None, Text | str | None]] | None = None
        self._oid_map: dict[str, str] = {}  # scalar OID -> the OID the agent really answers (missing ".0")

    def deadline(self) -> float:
        # Detection + data on the first poll (the alarm walk shares what is left); never more than the
        # probe allows, so our own timeouts end a read before the runner's backstop does.
        own = self.session.request_budget() * 2 + 0.5
        if self.budget:
            own = min(own, max(0.3, float(self.budget) - 1.0))
        return own

    @property
    def source(self) -> str:
        label = LABELS.get(self.dialect or "", "SNMP")
        return f"snmp:{self.cfg.host}:{self.cfg.port} ({label})"

    async def read(self) -> UpsStatus:
        deadline = time.monotonic() + self.deadline()
        try:
            return await self._read(deadline)
        except SnmpTimeout as exc:
            exc.remedy = Text("ups.snmp.timeout.remedy", host=self.cfg.host, port=self.cfg.port)
            raise
        except SnmpAuthError as exc:
            exc.remedy = Text("ups.snmp.auth.remedy")
            raise
        except SnmpProtocolError as exc:
            if getattr(exc, "remedy", None) is None:
                exc.remedy = Text("ups.snmp.error.remedy")
            raise

    async def _read(self, deadline: float) -> UpsStatus:
        if self.dialect is None:
            self.dialect = await self._detect(deadline)
        ident_table, state_table = TABLES[self.dialect]
        table = {**state_table, **ATTACHED}
        if self._ident is None:
            table = {**table, **ident_table}
        oids = [self._oid_map.get(oid, oid) for oid, _ in table.values()]
        raw = await self.session.get(oids, deadline)
        if not self._learnt_forms:
            raw.update(await self._find_bare_scalars(table, raw, deadline))
        values = _Values(table, raw, self._oid_map)
        if not any(values.has(n) for n in table if n not in ATTACHED and n not in ident_table and n != "uptime"):
            # The card stopped answering this MIB (firmware change, card swapped): detect again next poll.
            self.dialect, self._ident, self._learnt_forms, self._oid_map = None, None, False, {}
            error = SnmpProtocolError(f"the SNMP agent at {self.session.where} no longer answers the objects it answered before")
            error.text = Text("ups.snmp.changed", where=self.session.where)
            raise error
        if self._ident is None:
            self._ident = {name: values.text(name) for name in ident_table}
            if self.dialect == "rfc1628":
                firmware, why = values.text("ups_software")
                card, _ = values.text("agent_software")
                if firmware is None and card:
                    why = either(why, Text("ups.snmp.card_version", version=repr(card)))  # not the UPS's firmware
                self._ident["firmware"] = (firmware, why)
        if self.dialect == "rfc1628":
            alarm_oids = None
            count, _ = values.int("alarms_present", lo=0, hi=1000)
            if count:
                rows = await self.session.walk(RFC_ALARM_DESCR, deadline, max_rows=min(count, 64) + 8)
                alarm_oids = [to_oid(value)[0] or str(value) for _, value in rows]
            return status_rfc1628(values, self._ident, alarm_oids, source=self.source)
        if self.dialect == "apc":
            return status_apc(values, self._ident, source=self.source)
        return status_xppc(values, self._ident, source=self.source)

    _learnt_forms = False

    async def _find_bare_scalars(self, table: dict[str, tuple[str, str]], raw: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Once per session: scalars absent as ``X.0`` are asked as ``X`` (agents that drop the instance)."""
        self._learnt_forms = True
        missing = [oid for oid, _ in table.values() if oid.endswith(".0") and absent_reason(raw.get(oid))]
        if not missing:
            return {}
        bare = await self.session.get([oid[:-2] for oid in missing], deadline)
        found: dict[str, Any] = {}
        for oid in missing:
            value = bare.get(oid[:-2])
            if absent_reason(value) is None:
                self._oid_map[oid] = oid[:-2]
                found[oid[:-2]] = value
        return found

    async def _detect(self, deadline: float) -> str:
        probe = [oid for oids in DETECT.values() for oid in oids]
        probe += [oid[:-2] for oid in DETECT["rfc1628"] if oid.endswith(".0")]
        raw = await self.session.get(probe + [SYS_OBJECT_ID], deadline)
        for dialect, oids in DETECT.items():
            answered = [oid for oid in oids if absent_reason(raw.get(oid)) is None]
            if dialect == "rfc1628":
                answered += [oid for oid in oids if oid.endswith(".0") and absent_reason(raw.get(oid[:-2])) is None]
            if answered:
                return dialect
        sys_oid = to_oid(raw.get(SYS_OBJECT_ID))[0] or "unknown"
        error = SnmpProtocolError(
            f"the SNMP agent at {self.session.where} (sysObjectID {sys_oid}) implements none of "
            "RFC 1628 UPS-MIB, APC PowerNet-MIB or XPPC-MIB"
        )
        error.text = Text("ups.snmp.no_mib", where=self.session.where, oid=sys_oid)
        error.remedy = Text("ups.snmp.nomib.remedy", host=self.cfg.host)
        raise error

    async def aclose(self) -> None:
        await self.session.aclose()
        self.dialect, self._ident = None, None
