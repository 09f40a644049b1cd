"""NUT driver: a client for upsd's text protocol (TCP 3493), written here (no GPL client library).

Protocol: networkupstools/nut docs/net-protocol.txt; verified transcript in
shared/protocols/test-peers.md §3.6.  One command per line; replies are tokenised like NUT's own
parser (double quotes, backslash escapes).  Reading needs no login; ``USERNAME``/``PASSWORD`` are
sent only when configured.  Every ``ERR <CODE>`` becomes a typed error under agent.errors:

==========================  ==============================================  ============================
ERR code                    class                                           agent.errors parent
==========================  ==============================================  ============================
ACCESS-DENIED, USERNAME-/   :class:`NutAuthError`                            DeviceAuthError
PASSWORD-REQUIRED, INVALID-
PASSWORD/USERNAME
UNKNOWN-UPS                 :class:`NutUnknownUps`                           DeviceError
DRIVER-NOT-CONNECTED        :class:`NutDriverNotConnected`                   DeviceUnreachable
DATA-STALE                  :class:`NutDataStale`                            DeviceError
VAR-NOT-SUPPORTED           :class:`NutVarNotSupported`                      DeviceError
anything else               :class:`NutError`                                ProtocolError
==========================  ==============================================  ============================

``ups.status "WAIT"`` (upsd started, driver has not dumped its data yet) is "no data yet": the
driver re-asks until its deadline, then raises :class:`NutNoDataYet`.

The connection is kept between polls with TCP_NODELAY (and TCP_QUICKACK before reads): without
them each request on a kept connection waits ~44 ms for a delayed ACK (ups.md gotcha 12).
"""

from __future__ import annotations

import datetime as _dt
import re
import socket
import time
from typing import Any

from agent.errors import DeviceAuthError, DeviceError, DeviceUnreachable, ProtocolError
from agent.i18n import Text, register
from agent.ups.base import BlockingUpsDriver
from agent.ups.errors import network_error
from agent.ups.model import SelfTest, UpsStatus, estimate_charge_from_voltage

register(
    {
        "ups.nut.where": ("upsd tại {host}:{port}", "upsd at {host}:{port}"),
        "ups.nut.err": ("upsd trả lời lỗi ERR {code}", "upsd answered ERR {code}"),
        "ups.nut.garbled": (
            "upsd trả lời không đúng giao thức NUT ({code})",
            "upsd's answer does not follow the NUT protocol ({code})",
        ),
        "ups.nut.refused": ("upsd từ chối {step} ({code})", "upsd refused {step} ({code})"),
        "ups.nut.wait": (
            "upsd chưa nhận được dữ liệu từ trình điều khiển của bộ lưu điện (ups.status WAIT)",
            "upsd has no data from its driver yet (ups.status WAIT)",
        ),
        "ups.nut.no_status": ("upsd không có biến ups.status", "no ups.status"),
        "ups.nut.no_ol_ob": (
            "ups.status {status} không cho biết OL (điện lưới) hay OB (pin)",
            "ups.status {status} says neither OL nor OB",
        ),
        "ups.nut.no_charge": (
            "upsd không có battery.charge và không có điện áp ắc quy để ước tính",
            "upsd has no battery.charge and no battery voltage to estimate it from",
        ),
        "ups.nut.no_test": (
            "upsd không có ups.test.result cho bộ lưu điện này",
            "upsd has no ups.test.result for this UPS",
        ),
        "ups.nut.no_battery_time": ("NUT không báo thời gian đã chạy bằng pin", "NUT does not report the time on battery"),
        "ups.nut.no_variable": (
            "upsd không có biến này cho bộ lưu điện (UPS) này",
            "upsd does not have this variable for this UPS",
        ),
        "ups.nut.auth.remedy": (
            "upsd từ chối tài khoản của agent: kiểm tra [ups.nut] username và tệp mật khẩu với người quản trị NUT "
            "(upsd.users). Chỉ đọc trạng thái thì không cần đăng nhập: có thể xóa username.",
            "upsd refused the agent's account: check [ups.nut] username and the password file with the NUT "
            "administrator (upsd.users). Reading needs no login: username may be left empty.",
        ),
        "ups.nut.unknown_ups.remedy": (
            "upsd không có UPS tên \"{ups}\"; các tên hiện có: {names}. Sửa khóa [ups.nut] ups.",
            "upsd has no UPS named \"{ups}\"; it has: {names}. Fix [ups.nut] ups.",
        ),
        "ups.nut.driver.remedy": (
            "Trình điều khiển NUT của UPS không chạy hoặc mất kết nối với UPS: kiểm tra cáp USB/serial của UPS, "
            "rồi khởi động lại NUT (systemctl restart nut-driver.target nut-server).",
            "NUT's driver for the UPS is not running or lost the UPS: check the UPS's USB/serial cable, then "
            "restart NUT (systemctl restart nut-driver.target nut-server).",
        ),
        "ups.nut.stale.remedy": (
            "Dữ liệu UPS trong NUT đã cũ (trình điều khiển không cập nhật): kiểm tra cáp UPS và khởi động lại NUT.",
            "NUT's UPS data is stale (the driver stopped updating): check the UPS cable and restart NUT.",
        ),
        "ups.nut.wait.remedy": (
            "NUT vừa khởi động và chưa có dữ liệu UPS: chờ vài giây rồi chạy lại kiểm tra.",
            "NUT has just started and has no UPS data yet: wait a few seconds and run the check again.",
        ),
    }
)


class NutError(ProtocolError):
    """upsd answered ``ERR <code>`` (or something that is not its protocol)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        super().__init__(message or f"upsd answered ERR {code}")
        # upsd's own ERR code, or (with a message) our finding that the answer is not its protocol.
        self.text = Text("ups.nut.garbled" if message else "ups.nut.err", code=code)


class NutAuthError(NutError, DeviceAuthError):
    pass


class NutUnknownUps(NutError):
    pass


class NutDriverNotConnected(NutError, DeviceUnreachable):
    pass


class NutDataStale(NutError):
    pass


class NutVarNotSupported(NutError):
    pass


class NutNoDataYet(DeviceError):
    """upsd reports ups.status WAIT: its driver has not delivered data yet."""


_ERRORS: dict[str, type[NutError]] = {
    "ACCESS-DENIED": NutAuthError, "USERNAME-REQUIRED": NutAuthError, "PASSWORD-REQUIRED": NutAuthError,
    "INVALID-PASSWORD": NutAuthError, "INVALID-USERNAME": NutAuthError, "PASSWORD-INCORRECT": NutAuthError,
    "UNKNOWN-UPS": NutUnknownUps, "DRIVER-NOT-CONNECTED": NutDriverNotConnected, "DATA-STALE": NutDataStale,
    "VAR-NOT-SUPPORTED": NutVarNotSupported,
}
_REMEDIES = {NutAuthError: "ups.nut.auth.remedy", NutDriverNotConnected: "ups.nut.driver.remedy",
             NutDataStale: "ups.nut.stale.remedy"}


def nut_error(code: str) -> NutError:
    cls = _ERRORS.get(code, NutError)
    error = cls(code)
    if cls in _REMEDIES:
        error.remedy = Text(_REMEDIES[cls])
    return error


def split_line(line: str) -> list[str]:
    """Tokenise one upsd line as NUT's parseconf does: spaces separate, "quotes" group, \\ escapes."""
    tokens: list[str] = []
    current: list[str] = []
    in_quotes = escaped = started = False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = started = True
        elif ch == '"':
            in_quotes = not in_quotes
            started = True
        elif ch in " \t" and not in_quotes:
            if started:
                tokens.append("".join(current))
                current, started = [], False
        else:
            current.append(ch)
            started = True
    if in_quotes or escaped:
        raise NutError("PARSE", f"upsd sent an unterminated quote or escape: {line[:80]!r}")
    if started:
        tokens.append("".join(current))
    return tokens


def parse_reply_line(line: str) -> list[str]:
    """Tokens of a reply line; ``ERR <code>`` raises the typed error."""
    tokens = split_line(line)
    if not tokens:
        raise NutError("EMPTY", "upsd sent an empty line")
    if tokens[0] == "ERR":
        raise nut_error(tokens[1] if len(tokens) > 1 else "UNKNOWN")
    return tokens


class NutClient:
    """A blocking upsd client with a deadline on connect and on every reply."""

    def __init__(self, host: str, port: int = 3493, timeout: float = 3.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    @property
    def where(self) -> str:
        return f"upsd at {self.host}:{self.port}"

    @property
    def shown_as(self) -> Text:
        return Text("ups.nut.where", host=self.host, port=self.port)

    def connect(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise network_error(self.where, exc, shown_as=self.shown_as) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buf = sock, b""

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.settimeout(0.2)
                sock.sendall(b"LOGOUT\n")
            except OSError:
                pass
            sock.close()

    def _send(self, line: str) -> None:
        assert self._sock is not None
        if "\n" in line or "\r" in line:
            raise ValueError("a NUT command is one line")
        self._sock.sendall(line.encode("utf-8") + b"\n")

    def _readline(self, deadline: float) -> str:
        assert self._sock is not None
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            self._sock.settimeout(remaining)
            if hasattr(socket, "TCP_QUICKACK"):
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("upsd closed the connection")
            self._buf += chunk
            if len(self._buf) > 1 << 20:
                raise NutError("TOO-LONG", "upsd sent a line longer than 1 MiB")
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            return line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            return line.decode("latin-1").rstrip("\r")

    def request(self, line: str) -> list[str]:
        """One command, one reply line (tokens). Errors become typed errors."""
        self.connect()
        try:
            self._send(line)
            return parse_reply_line(self._readline(time.monotonic() + self.timeout))
        except NutError:
            raise
        except OSError as exc:
            self.close()
            raise network_error(self.where, exc, shown_as=self.shown_as) from None

    def list(self, kind: str, *args: str) -> list[list[str]]:
        """``LIST <kind> <args>`` -> the rows between BEGIN and END."""
        query = " ".join(("LIST", kind) + args)
        self.connect()
        try:
            self._send(query)
            deadline = time.monotonic() + self.timeout
            first = parse_reply_line(self._readline(deadline))
            if first[:2] != ["BEGIN", "LIST"]:
                raise NutError("PROTOCOL", f"unexpected reply to {query}: {' '.join(first)[:80]!r}")
            rows = []
            while True:
                tokens = parse_reply_line(self._readline(deadline))
                if tokens[:2] == ["END", "LIST"]:
                    return rows
                rows.append(tokens)
        except NutError:
            raise
        except OSError as exc:
            self.close()
            raise network_error(self.where, exc, shown_as=self.shown_as) from None

    def login(self, username: str, password: str) -> None:
        for command, value in (("USERNAME", username), ("PASSWORD", password)):
            quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            try:
                reply = self.request(f"{command} {quoted}")
            except NutError as exc:
                # Never echo the password: the error names the step only.
                error = NutAuthError(exc.code, f"upsd refused {command.lower()} ({exc.code})")
                error.text = Text("ups.nut.refused", step=command, code=exc.code)
                error.remedy = Text("ups.nut.auth.remedy")
                raise error from None
            if reply[:1] != ["OK"]:
                raise NutError("PROTOCOL", f"unexpected reply to {command}")

    def list_ups(self) -> dict[str, str]:
        return {row[1]: (row[2] if len(row) > 2 else "") for row in self.list("UPS") if row[:1] == ["UPS"] and len(row) > 1}

    def list_var(self, ups: str) -> dict[str, str]:
        out = {}
        for row in self.list("VAR", ups):
            if len(row) >= 4 and row[0] == "VAR" and row[1] == ups:
                out[row[2]] = row[3]
        return out

    def get_var(self, ups: str, name: str) -> str:
        tokens = self.request(f"GET VAR {ups} {name}")
        if len(tokens) < 4 or tokens[0] != "VAR":
            raise NutError("PROTOCOL", f"unexpected reply to GET VAR: {' '.join(tokens)[:80]!r}")
        return tokens[3]


# -- mapping NUT variables to UpsStatus --------------------------------------------------------------

TEST_RESULTS = [
    (re.compile(r"in progress|running", re.I), "in_progress"),
    (re.compile(r"no test|not initiated|none", re.I), "none"),
    (re.compile(r"abort|cancel", re.I), "aborted"),
    (re.compile(r"warn", re.I), "warning"),
    (re.compile(r"fail|error|giving up|bad", re.I), "failed"),
    (re.compile(r"pass|ok|done", re.I), "passed"),
]
ALARM_WORDS = [
    (re.compile(r"replace", re.I), "battery_replace"),
    (re.compile(r"overload", re.I), "overload"),
    (re.compile(r"temperat", re.I), "temperature"),
    (re.compile(r"fan", re.I), "fan_failure"),
    (re.compile(r"charger", re.I), "charger_failed"),
    (re.compile(r"self.?test|test fail", re.I), "self_test_failed"),
    (re.compile(r"fault|fail", re.I), "ups_fault"),
]
# Drivers whose battery.charge is NUT's voltage guesstimate (Q1 carries no charge); Voltronic/Q6 data is real.
_GUESSING_DRIVERS = ("blazer_ser", "blazer_usb", "nutdrv_qx")


def _float(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _test_result(text: str | None) -> SelfTest | None:
    if not text:
        return None
    for pattern, result in TEST_RESULTS:
        if pattern.search(text):
            return SelfTest(result, None, text)  # type: ignore[arg-type]
    return SelfTest(None, None, text)


def _date(value: str | None) -> _dt.datetime | None:
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y"):
        try:
            return _dt.datetime.strptime((value or "").strip(), fmt).replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            continue
    return None


def status_from_vars(v: dict[str, str], *, source: str, battery_cells: int = 0) -> UpsStatus:
    """Normalise a upsc variable dump (``LIST VAR`` or a NUT-DDL .dev file) into UpsStatus."""
    s = UpsStatus(source=source, driver="nut", protocol="nut")
    raw_status = (v.get("ups.status") or "").strip()
    if raw_status == "WAIT":
        error = NutNoDataYet("upsd has no data from its driver yet (ups.status WAIT)")
        error.text = Text("ups.nut.wait")
        raise error
    flags = set(raw_status.split())
    s.manufacturer = _text(v.get("device.mfr") or v.get("ups.mfr"))
    s.model = _text(v.get("device.model") or v.get("ups.model"))
    s.firmware = _text(v.get("ups.firmware"))
    kind = (v.get("ups.type") or "").lower()
    s.ups_type = "online" if "online" in kind else "line-interactive" if "interactive" in kind else "offline" if kind else None
    if flags & {"OL", "OB"}:
        s.on_battery = "OB" in flags
    else:
        s.mark_unknown("on_battery", Text("ups.nut.no_ol_ob", status=repr(raw_status)) if raw_status
                       else Text("ups.nut.no_status"))
    if flags:
        s.low_battery = "LB" in flags
        s.bypass = "BYPASS" in flags
        s.boost = "BOOST" in flags
        s.trim = "TRIM" in flags
        s.overload = "OVER" in flags
        s.test_in_progress = bool(flags & {"CAL", "TEST"})
        s.ups_fault = None
    s.input_voltage_v = _float(v.get("input.voltage"))
    s.input_frequency_hz = _float(v.get("input.frequency"))
    s.output_voltage_v = _float(v.get("output.voltage"))
    s.load_percent = _float(v.get("ups.load"))
    s.temperature_c = _float(v.get("ups.temperature") or v.get("battery.temperature"))
    runtime = _float(v.get("battery.runtime"))
    s.runtime_s = int(runtime) if runtime is not None and runtime >= 0 else None
    # Battery voltage: Q1 on-line units report per cell (Santak Castle: 2.28).
    volts = _float(v.get("battery.voltage"))
    nominal = _float(v.get("battery.voltage.nominal"))
    packs = _float(v.get("battery.packs"))
    if volts is not None:
        if volts < 3.0:
            s.battery_voltage_per_cell_v = volts
            cells = battery_cells or (int(round(nominal / 2.0)) if nominal and nominal >= 4 else 0)
            if cells:
                s.battery_voltage_v = round(volts * cells, 2)
            else:
                s.mark_unknown("battery_voltage_v", Text("ups.reason.per_cell", volts=volts, setting="[ups.nut] battery_cells"))
        else:
            s.battery_voltage_v = volts
            if nominal:
                s.battery_voltage_per_cell_v = round(volts / (nominal / 2.0), 3)
    charge = _float(v.get("battery.charge"))
    driver = v.get("driver.name", "")
    data = v.get("driver.version.data", "").lower()
    if charge is not None:
        s.battery_charge_percent = charge
        # nutdrv_qx/blazer on the Megatec/Q1 protocol compute battery.charge from voltage.
        s.battery_charge_estimated = driver in _GUESSING_DRIVERS and not any(
            word in data for word in ("voltronic", "q6", "hunnox"))
    elif s.battery_voltage_per_cell_v is not None:
        s.battery_charge_percent = estimate_charge_from_voltage(s.battery_voltage_per_cell_v, 2.0)
        s.battery_charge_estimated = True
    elif s.battery_voltage_v is not None and nominal:
        s.battery_charge_percent = estimate_charge_from_voltage(s.battery_voltage_v, nominal * (packs or 1))
        s.battery_charge_estimated = True
    else:
        s.mark_unknown("battery_charge_percent", Text("ups.nut.no_charge"))
    test = _test_result(_text(v.get("ups.test.result")))
    if test is not None:
        test.when = _date(v.get("ups.test.date"))
        s.last_self_test = test
        if test.result == "failed":
            s.add_alarm("self_test_failed", test.detail)
    else:
        s.mark_unknown("last_self_test", Text("ups.nut.no_test"))
    if "LB" in flags:
        s.add_alarm("battery_low")
    if "RB" in flags:
        s.add_alarm("battery_replace")
    if "OVER" in flags:
        s.add_alarm("overload")
    if "FSD" in flags:
        s.add_alarm("shutdown_pending", "FSD")
    if "OFF" in flags:
        s.add_alarm("output_off")
    if "BYPASS" in flags:
        s.add_alarm("on_bypass")
    alarm_text = _text(v.get("ups.alarm"))
    if alarm_text:
        for part in [p.strip() for p in re.split(r"[;\n]|!\s", alarm_text) if p.strip()]:
            code = next((c for pattern, c in ALARM_WORDS if pattern.search(part)), "other")
            s.add_alarm(code, part)
    if "ALARM" in flags and not alarm_text:
        s.add_alarm("other", "ups.status ALARM")
    s.ups_fault = s.has_alarm("ups_fault") if flags else None
    s.mark_unknown("seconds_on_battery", Text("ups.nut.no_battery_time"))
    s.explain_unknowns(Text("ups.nut.no_variable"))
    return s


def parse_dev(text: str) -> dict[str, str]:
    """A NUT-DDL ``.dev`` dump / ``upsc`` output: ``name: value`` lines, ``#`` comments."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        out[name.strip()] = value[1:] if value.startswith(" ") else value
    return out


class NutDriver(BlockingUpsDriver):
    name = "nut"
    WAIT_RETRY = 0.25

    def __init__(self, section: Any) -> None:
        super().__init__(section)
        cfg = section.nut
        self.cfg = cfg
        self.client = NutClient(cfg.host, cfg.port, float(cfg.timeout))
        self._logged_in = False

    def deadline(self) -> float:
        return float(self.cfg.timeout) * 3 + 1.0

    @property
    def source(self) -> str:
        return f"nut:{self.cfg.ups}@{self.cfg.host}:{self.cfg.port}"

    def read_blocking(self) -> UpsStatus:
        give_up = time.monotonic() + float(self.cfg.timeout) * 2
        while True:
            if self.cfg.username and not self._logged_in:
                password = self.cfg.password_file.reveal() if self.cfg.password_file else ""
                self.client.login(self.cfg.username, password)
                self._logged_in = True
            try:
                variables = self.client.list_var(self.cfg.ups)
            except NutUnknownUps as exc:
                exc.remedy = Text("ups.nut.unknown_ups.remedy", ups=self.cfg.ups, names=self._names())
                raise
            except DeviceError:
                self._logged_in = False  # a dropped connection must log in again
                raise
            try:
                return status_from_vars(variables, source=self.source, battery_cells=self.cfg.battery_cells)
            except NutNoDataYet as exc:
                if time.monotonic() + self.WAIT_RETRY > give_up:
                    exc.remedy = Text("ups.nut.wait.remedy")
                    raise
                time.sleep(self.WAIT_RETRY)

    def _names(self) -> str:
        try:
            return ", ".join(self.client.list_ups()) or "(none)"
        except DeviceError:
            return "?"

    def close_blocking(self) -> None:
        self.client.close()
        self._logged_in = False
