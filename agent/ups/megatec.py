"""Megatec/Q1 serial driver (also the Voltronic QPI/QGS dialect and Santak's Q6).

One poll, Megatec dialect:  ``Q1`` (status, every poll; one retry on a short/garbled reply) and,
once per session, ``F`` (ratings), ``I`` (identity) and ``Q6`` (charge and runtime on Santak
on-line units).  A command the unit refuses (``(NAK``, echo) or ignores is remembered and not
asked again while the port stays open.  Voltronic dialect: ``QGS``, ``QMOD``, ``QBV`` every poll,
``QMD``/``QMF``/``QVFW``/``QRI`` once.  ``protocol = "auto"`` asks ``QPI`` first.

Q1 has no charge and no runtime.  Charge is then *estimated* from the battery voltage (NUT's
formula, flagged ``battery_charge_estimated``) only when neither Q6 nor QBV gives a real one;
runtime stays unknown.  Battery voltage under 3 V is per cell (Santak on-line units); it becomes a
pack voltage with ``battery_cells`` or the F rating (nominal / 2 V per cell), else stays unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.i18n import Text, register
from agent.ups import qx
from agent.ups.base import BlockingUpsDriver
from agent.ups.errors import UpsProtocolError, UpsSilent
from agent.ups.model import UpsStatus, estimate_charge_from_voltage
from agent.ups.serialline import SerialLine

register(
    {
        "ups.megatec.no_ident": (
            "bộ lưu điện (UPS) từ chối lệnh I (thông tin nhận dạng)",
            "the UPS refuses the I (identity) command",
        ),
        "ups.megatec.no_runtime": (
            "giao thức Megatec Q1 không có thông tin này, và bộ lưu điện (UPS) không trả lời lệnh Q6",
            "Megatec Q1 does not report runtime, and the UPS does not answer Q6",
        ),
        "ups.megatec.no_self_test": (
            "giao thức Megatec Q1 không lưu kết quả này",
            "Megatec Q1 keeps no self-test result",
        ),
        "ups.megatec.no_battery_time": (
            "giao thức Megatec Q1 không báo thời gian đã chạy bằng pin",
            "Megatec Q1 does not report the time on battery",
        ),
        "ups.voltronic.no_runtime": ("UPS không trả lời lệnh QBV", "the UPS does not answer QBV"),
        "ups.voltronic.no_self_test": (
            "các lệnh trạng thái Voltronic không có kết quả tự kiểm tra",
            "the Voltronic status commands carry no self-test result",
        ),
    }
)

VOLTS_PER_CELL = 2.0  # lead-acid nominal
UNSUPPORTED = object()  # marks a command the unit refused this session


def boost_trim_bypass(vin: float | None, vout: float | None) -> str | None:
    """What Q1 bit 5 ("bypass/boost or buck active") means, decided as NUT does from vout/vin."""
    if not vin or vout is None:
        return None
    if vout < 0.95 * vin:
        return "trim"
    if vout < 1.05 * vin:
        return "bypass"
    if vout < 1.5 * vin:
        return "boost"
    return None


class MegatecDriver(BlockingUpsDriver):
    name = "megatec"

    def __init__(self, section: Any, *, lock_dir: Path | None = None) -> None:
        super().__init__(section)
        cfg = section.megatec
        self.cfg = cfg
        self.timeout = float(cfg.timeout)
        self.line = SerialLine(cfg.port, baudrate=cfg.baudrate, dtr=cfg.dtr, rts=cfg.rts, lock_dir=lock_dir)
        self._dialect: str | None = None if cfg.protocol == "auto" else cfg.protocol
        self._once: dict[str, Any] = {}  # command -> parsed reply, or UNSUPPORTED (per session)
        self.commands_sent = 0

    def deadline(self) -> float:
        # First poll, worst case: QPI + Q1 (+ retry) + F + I + Q6 each waiting a full timeout.
        return self.timeout * 6 + 1.0

    # -- I/O -------------------------------------------------------------------------------------
    def _ask(self, command: str) -> bytes:
        self.commands_sent += 1
        return self.line.query(command, self.timeout)

    def _required(self, command: str, parse: Any, retries: int = 1) -> Any:
        """A command the poll cannot do without: silence and garbage are errors (after a retry)."""
        last: Exception | None = None
        for _ in range(retries + 1):
            reply = self._ask(command)
            if not reply:
                last = UpsSilent(f"no reply to {command} on {self.line.port} within {self.timeout:g} s",
                                 text=Text("ups.err.no_reply", command=command, port=self.line.port, seconds=self.timeout))
                continue
            if qx.is_refusal(reply, command):
                raise UpsProtocolError(f"the UPS refused {command} (wrong protocol?)", reply=reply,
                                       text=Text("ups.err.refused", command=command))
            try:
                return parse(reply)
            except UpsProtocolError as exc:
                last = exc  # short or garbled: real units do this; ask once more
        assert last is not None
        raise last

    def _optional(self, command: str, parse: Any, *, every_poll: bool = False) -> Any:
        """A command some units refuse: None when refused/ignored/garbled, remembered per session."""
        known = self._once.get(command)
        if known is UNSUPPORTED:
            return None
        if known is not None and not every_poll:
            return known
        reply = self._ask(command)
        if not reply or qx.is_refusal(reply, command):
            self._once[command] = UNSUPPORTED
            return None
        try:
            parsed = parse(reply)
        except UpsProtocolError:
            if known is None:
                self._once[command] = UNSUPPORTED  # never understood: stop asking
            return None  # understood before: a one-off garbled reply
        self._once[command] = parsed
        return parsed

    # -- one poll ----------------------------------------------------------------------------------
    def read_blocking(self) -> UpsStatus:
        if not self.line.is_open:
            self.line.open()
            self._once.clear()
            if self.cfg.protocol == "auto":
                self._dialect = None
        if self._dialect is None:
            self._dialect = self._detect()
        status = self._read_voltronic() if self._dialect == "voltronic" else self._read_megatec()
        status.explain_unknowns(Text("ups.reason.not_reported", protocol=status.protocol))
        return status

    def _detect(self) -> str:
        reply = self._ask("QPI")
        try:
            qx.parse_qpi(reply)
            return "voltronic"
        except UpsProtocolError:
            return "megatec"

    def _source(self, protocol: str) -> str:
        return f"megatec:{self.line.port} ({protocol})"

    def _read_megatec(self) -> UpsStatus:
        q1 = self._required("Q1", qx.parse_q1)
        rating = self._optional("F", qx.parse_f)
        ident = self._optional("I", qx.parse_i)
        q6 = self._optional("Q6", qx.parse_q6, every_poll=True)
        protocol = "megatec-q1+q6" if q6 else "megatec-q1"
        s = UpsStatus(source=self._source(protocol.upper().replace("MEGATEC-", "")), driver="megatec", protocol=protocol)
        if ident:
            s.manufacturer, s.model, s.firmware = ident.manufacturer, ident.model, ident.firmware
        else:
            reason = Text("ups.megatec.no_ident")
            for name in ("manufacturer", "model", "firmware"):
                s.mark_unknown(name, reason)
        s.input_voltage_v = q1.input_voltage
        s.output_voltage_v = q1.output_voltage
        s.load_percent = q1.load_percent
        s.input_frequency_hz = q1.input_frequency
        s.temperature_c = q1.temperature
        s.on_battery = q1.bit(7)
        s.low_battery = q1.bit(6)
        s.ups_fault = q1.bit(4)
        s.ups_type = "line-interactive" if q1.bit(3) else "online"
        s.test_in_progress = q1.bit(2)
        s.overload = None
        s.mark_unknown("overload", Text("ups.reason.no_overload_flag", protocol="Megatec Q1"))
        if s.on_battery:
            s.bypass = s.boost = s.trim = False
        else:
            mode = boost_trim_bypass(q1.input_voltage, q1.output_voltage) if q1.bit(5) else None
            s.bypass, s.boost, s.trim = mode == "bypass", mode == "boost", mode == "trim"
        if s.low_battery:
            s.add_alarm("battery_low")
        if s.ups_fault:
            s.add_alarm("ups_fault", "Q1 bit 4: UPS failed")
        if q1.bit(1):
            s.add_alarm("shutdown_pending", "Q1 bit 1: shutdown active")
        if s.bypass:
            s.add_alarm("on_bypass")
        self._battery(s, q1, rating)
        if q6 is not None:
            s.battery_charge_percent, s.battery_charge_estimated = q6.charge_percent, False
            s.runtime_s = q6.runtime_s
            if q6.battery_voltage:
                s.battery_voltage_v = q6.battery_voltage
        self._estimate_charge(s, rating.battery_voltage if rating else None)
        s.mark_unknown("runtime_s", Text("ups.megatec.no_runtime"))
        s.mark_unknown("last_self_test", Text("ups.megatec.no_self_test"))
        s.mark_unknown("seconds_on_battery", Text("ups.megatec.no_battery_time"))
        return s

    def _cells(self, rating: qx.FReply | None) -> int | None:
        if self.cfg.battery_cells:
            return self.cfg.battery_cells
        if rating and rating.battery_voltage and rating.battery_voltage >= 4:
            return int(round(rating.battery_voltage / VOLTS_PER_CELL))
        return None

    def _battery(self, s: UpsStatus, q1: qx.Q1Reply, rating: qx.FReply | None) -> None:
        volts = q1.battery_voltage
        if volts is None:
            return
        if q1.battery_per_cell:
            s.battery_voltage_per_cell_v = volts
            cells = self._cells(rating)
            if cells:
                s.battery_voltage_v = round(volts * cells, 2)
            else:
                s.mark_unknown("battery_voltage_v", Text("ups.reason.per_cell", volts=volts,
                                                         setting="[ups.megatec] battery_cells"))
        else:
            s.battery_voltage_v = volts
            cells = self._cells(rating)
            if cells:
                s.battery_voltage_per_cell_v = round(volts / cells, 3)

    def _estimate_charge(self, s: UpsStatus, nominal: float | None) -> None:
        if s.battery_charge_percent is not None:
            return
        if s.battery_voltage_per_cell_v is not None:
            s.battery_charge_percent = estimate_charge_from_voltage(s.battery_voltage_per_cell_v, VOLTS_PER_CELL)
        elif s.battery_voltage_v is not None and nominal:
            s.battery_charge_percent = estimate_charge_from_voltage(s.battery_voltage_v, nominal)
        else:
            s.mark_unknown("battery_charge_percent", Text("ups.reason.no_charge"))
            return
        s.battery_charge_estimated = True

    def _read_voltronic(self) -> UpsStatus:
        qgs = self._required("QGS", qx.parse_qgs)
        mode = self._optional("QMOD", qx.parse_qmod, every_poll=True)
        qbv = self._optional("QBV", qx.parse_qbv, every_poll=True)
        qmd = self._optional("QMD", qx.parse_qmd)
        mfr = self._optional("QMF", qx.parse_label)
        fw = self._optional("QVFW", lambda r: qx.parse_label(r, "VERFW:"))
        qri = self._optional("QRI", qx.parse_qri)
        s = UpsStatus(source=self._source("QGS"), driver="megatec", protocol="voltronic")
        s.manufacturer, s.firmware = mfr, fw
        s.model = qmd.model if qmd else None
        s.input_voltage_v, s.input_frequency_hz = qgs.input_voltage, qgs.input_frequency
        s.output_voltage_v, s.load_percent, s.temperature_c = qgs.output_voltage, qgs.load_percent, qgs.temperature
        s.ups_type = {"00": "offline", "01": "line-interactive", "10": "online"}.get(qgs.ups_type)
        s.on_battery = qgs.utility_fail or mode == "battery"
        s.low_battery = qgs.battery_low
        s.ups_fault = qgs.ups_fault or mode == "fault"
        s.test_in_progress = qgs.test_in_progress or mode == "test"
        s.overload = None
        s.mark_unknown("overload", Text("ups.reason.no_overload_flag", protocol="QGS"))
        if mode == "bypass":
            s.bypass, s.boost, s.trim = True, False, False
        elif qgs.bypass_boost_buck and not s.on_battery:
            kind = boost_trim_bypass(qgs.input_voltage, qgs.output_voltage)
            s.bypass, s.boost, s.trim = kind == "bypass", kind == "boost", kind == "trim"
        else:
            s.bypass = s.boost = s.trim = False
        if s.low_battery:
            s.add_alarm("battery_low")
        if s.ups_fault:
            s.add_alarm("ups_fault", f"QGS fault bit / QMOD {mode}")
        if qgs.shutdown_active or mode == "shutting-down":
            s.add_alarm("shutdown_pending")
        if s.bypass:
            s.add_alarm("on_bypass")
        if mode == "standby":
            s.add_alarm("output_off", "QMOD S: standby, output off")
        s.battery_voltage_v = qgs.battery_voltage
        nominal = (qmd.battery_nominal if qmd else None) or (qri.battery_voltage if qri else None)
        if qbv is not None:
            s.battery_charge_percent, s.runtime_s = qbv.charge_percent, qbv.runtime_s
        if s.battery_voltage_v is not None and nominal:
            s.battery_voltage_per_cell_v = round(s.battery_voltage_v / (nominal / VOLTS_PER_CELL), 3)
        self._estimate_charge(s, nominal)
        s.mark_unknown("runtime_s", Text("ups.voltronic.no_runtime"))
        s.mark_unknown("last_self_test", Text("ups.voltronic.no_self_test"))
        return s

    def close_blocking(self) -> None:
        self.line.close()
        self._once.clear()
