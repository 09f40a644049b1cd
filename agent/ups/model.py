"""The normalised UPS record every driver returns (part of the report schema: ``statuses.power``).

One shape for Megatec/Q1 serial units, SNMP cards and NUT's upsd, so that the checks in
``agent/checks/power.py`` never know which protocol was spoken.  The rule that matters most:
**unknown is ``None``, never 0**.  A Q1 unit reports no charge and no runtime; writing 0 there
would tell the technician the battery is empty.  Every field left ``None`` gets a reason in
:attr:`UpsStatus.unknown` (``{"runtime_s": Text("ups.megatec.no_runtime")}``) so the report says
*why* it is unknown.  Reasons are catalogue :class:`~agent.i18n.Text` entries, rendered in the
report's language (JSON: strings); the device's own words go in verbatim as parameters.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from agent.i18n import Text, register

# Reasons several drivers give (each driver registers its own beside it).
register(
    {
        "ups.reason.not_reported": (
            "bộ lưu điện (UPS) không báo giá trị này qua giao thức {protocol}",
            "not reported by this UPS over {protocol}",
        ),
        "ups.reason.per_cell": (
            "UPS báo điện áp {volts} V cho mỗi ngăn ắc quy nhưng không rõ số ngăn (khai báo khóa {setting})",
            "the UPS reports {volts} V per cell and the cell count is unknown (set {setting})",
        ),
        "ups.reason.no_overload_flag": (
            "{protocol} không có cờ báo quá tải (xem mức tải load_percent)",
            "{protocol} has no overload flag (see load_percent)",
        ),
        "ups.reason.no_charge": (
            "UPS không báo dung lượng pin và không rõ điện áp danh định của ắc quy để ước tính",
            "the UPS reports no charge and its nominal battery voltage is unknown",
        ),
    }
)

# What the last battery self-test said, normalised across protocols.
SelfTestResult = Literal["passed", "warning", "failed", "aborted", "in_progress", "none"]

# Normalised alarm codes (free text from the device goes into Alarm.detail).
ALARM_CODES = (
    "battery_low",        # Q1 b6, NUT LB, upsBatteryStatus low/depleted
    "battery_replace",    # NUT RB, APC replace indicator, upsAlarmBatteryBad
    "ups_fault",          # Q1 b4, Voltronic fault bit / mode F, upsAlarmGeneralFault
    "overload",           # NUT OVER, upsAlarmOutputOverload
    "shutdown_pending",   # Q1 b1, NUT FSD, upsAlarmShutdownPending/Imminent
    "self_test_failed",   # upsAlarmDiagnosticTestFailed, last self-test failed
    "temperature",        # upsAlarmTempBad
    "input_bad",          # upsAlarmInputBad
    "output_bad",         # upsAlarmOutputBad
    "output_off",         # NUT OFF, upsAlarmUpsOutputOff
    "charger_failed",     # upsAlarmChargerFailed
    "fan_failure",
    "fuse_failure",
    "on_bypass",          # load fed straight from mains: no backup
    "communication_lost",
    "other",              # device text we have no code for (detail holds it)
)


@dataclass
class Alarm:
    code: str  # one of ALARM_CODES
    detail: str | None = None  # the device's own words, when it gave any


@dataclass
class SelfTest:
    result: SelfTestResult | None  # None: the device does not say
    when: _dt.datetime | None = None  # None: the device does not date it
    detail: str | None = None  # the device's own text ("Done and passed", "invalidTest", ...)


@dataclass
class UpsStatus:
    """What the room's UPS reported, in one shape for every driver."""

    # -- how it was read ---------------------------------------------------------------------
    source: str  # e.g. "megatec:/dev/ttyUSB0 (Q1)", "nut:santak@127.0.0.1:3493", "snmp:10.0.0.5 (RFC 1628)"
    driver: str  # "megatec" | "snmp" | "nut"
    protocol: str | None = None  # dialect actually spoken: "megatec-q1", "q6", "voltronic", "nut", "rfc1628"...
    # -- identity ----------------------------------------------------------------------------
    model: str | None = None
    manufacturer: str | None = None
    firmware: str | None = None
    ups_type: str | None = None  # "online" | "line-interactive" | "offline"
    # -- state flags (None = the device does not say) ----------------------------------------
    on_battery: bool | None = None
    low_battery: bool | None = None
    bypass: bool | None = None
    boost: bool | None = None
    trim: bool | None = None
    test_in_progress: bool | None = None
    ups_fault: bool | None = None
    overload: bool | None = None
    # -- measurements ------------------------------------------------------------------------
    battery_charge_percent: float | None = None
    battery_charge_estimated: bool = False  # True: guessed from battery voltage, not reported by the UPS
    runtime_s: int | None = None
    battery_voltage_v: float | None = None  # whole battery (pack), never per cell
    battery_voltage_per_cell_v: float | None = None  # when the unit reports per cell (Santak on-line units)
    input_voltage_v: float | None = None
    input_frequency_hz: float | None = None
    output_voltage_v: float | None = None
    load_percent: float | None = None
    temperature_c: float | None = None
    # -- history -----------------------------------------------------------------------------
    last_self_test: SelfTest | None = None
    alarms: list[Alarm] = field(default_factory=list)
    seconds_on_battery: int | None = None
    attached_devices: str | None = None  # RFC 1628 upsIdentAttachedDevices (set by an administrator)
    # field name -> why it is None (a Text, rendered in the report's language; every None measurement has one)
    unknown: dict[str, Text | str] = field(default_factory=dict)

    def mark_unknown(self, name: str, reason: Text | str) -> None:
        """Record why ``name`` is None (only if it is None and has no reason yet)."""
        if getattr(self, name) is None and name not in self.unknown:
            self.unknown[name] = reason

    def explain_unknowns(self, default_reason: Text | str) -> None:
        """Give every still-unexplained None field a reason (drivers call this last)."""
        for f in fields(self):
            if f.name in ("unknown", "protocol", "attached_devices"):
                continue
            if getattr(self, f.name) is None:
                self.unknown.setdefault(f.name, default_reason)
        for name in list(self.unknown):
            if getattr(self, name, None) is not None:
                del self.unknown[name]  # a later source filled it in

    def has_alarm(self, code: str) -> bool:
        return any(a.code == code for a in self.alarms)

    def add_alarm(self, code: str, detail: str | None = None) -> None:
        if not any(a.code == code and a.detail == detail for a in self.alarms):
            self.alarms.append(Alarm(code, detail))


@dataclass
class PowerEvent:
    """A moment the UPS ran on battery (self-test or mains loss) and what the codec did meanwhile.

    Recorded by the daemon, which polls the UPS and the codec side by side; fed to
    ``power.codec_on_ups`` as its strongest evidence.
    """

    kind: Literal["self_test", "mains_loss"]
    started_at: _dt.datetime
    ended_at: _dt.datetime | None = None
    codec_reachable: bool | None = None  # the codec answered throughout (None: it was not polled)


@dataclass
class CodecPowerEvidence:
    """What the daemon knows about the codec being fed by the UPS (optional input of the check)."""

    events: list[PowerEvent] = field(default_factory=list)

    def latest(self) -> PowerEvent | None:
        decided = [e for e in self.events if e.codec_reachable is not None]
        return max(decided, key=lambda e: e.started_at) if decided else None


def estimate_charge_from_voltage(volts: float, nominal: float) -> float:
    """NUT's 'guesstimate' (nutdrv_qx.c): linear between 104/120 and 130/120 of the nominal voltage.

    Unreliable under load and while charging; callers must set ``battery_charge_estimated``.
    """
    low, high = 104.0 * nominal / 120.0, 130.0 * nominal / 120.0
    charge = 100.0 * (volts - low) / (high - low)
    return round(max(0.0, min(100.0, charge)), 1)


def as_dict(status: Any) -> dict[str, Any]:
    from agent.model import to_plain

    return to_plain(status)
