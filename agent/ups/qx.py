"""Parsers of the Megatec/Q1 family of serial replies (pure functions, no I/O).

Layouts and byte offsets from the Megatec protocol text (networkupstools/nut-website,
protocols/megatec.txt) and NUT's nutdrv_qx subdrivers (megatec, q6, voltronic); see
/shared/protocols/ups.md §1.  Every parser takes the raw reply (bytes or str, with or without the
closing ``\\r``) and returns a small record, or raises :class:`UpsProtocolError` — never anything
else, whatever the bytes (fuzzed with Hypothesis in tests/ups/test_qx_fuzz.py).

``is_refusal`` recognises the ways units decline a command: ``(NAK``, ``NAK``, an echo of the
command (megatec.txt: "the UPS should echo the received command back"), or ``@``-filled fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.i18n import Text, known, register
from agent.ups.errors import UpsProtocolError

# What a technician reads when a reply cannot be parsed (str() of the error stays English for logs).
register(
    {
        "ups.qx.not_ascii": (
            "dữ liệu UPS gửi về không phải ký tự ASCII (sai tốc độ cổng hoặc nhiễu đường dây)",
            "reply is not ASCII (wrong baud rate or line noise)",
        ),
        "ups.qx.control": (
            "dữ liệu UPS gửi về có ký tự điều khiển (nhiễu đường dây)",
            "reply has control characters (line noise)",
        ),
        "ups.qx.not_number": ("{what} không phải là số ({token})", "{what} is not a number ({token})"),
        "ups.qx.not_bits": ("{what} phải gồm {count} chữ số nhị phân ({token})", "{what} must be {count} binary digits ({token})"),
        "ups.qx.start": ("câu trả lời lệnh {command} không bắt đầu bằng '{char}'", "{command} reply does not start with '{char}'"),
        "ups.qx.length": (
            "câu trả lời lệnh {command} dài {got} byte thay vì {want}",
            "{command} reply has {got} bytes instead of {want}",
        ),
        "ups.qx.fields": (
            "câu trả lời lệnh {command} có {got} trường thay vì {want}",
            "{command} reply has {got} fields instead of {want}",
        ),
        "ups.qx.range": (
            "dung lượng pin trong câu trả lời lệnh {command} nằm ngoài 0–100 ({value})",
            "{command} charge out of range ({value})",
        ),
        "ups.qx.not_reply": ("không phải câu trả lời của lệnh {command}", "not a {command} reply"),
        "ups.qx.field_n": ("trường thứ {n} của lệnh {command}", "{command} field {n}"),
        "ups.qx.field.input_voltage": ("điện áp vào", "input voltage"),
        "ups.qx.field.input_fault_voltage": ("điện áp vào lúc sự cố", "input fault voltage"),
        "ups.qx.field.output_voltage": ("điện áp ra", "output voltage"),
        "ups.qx.field.load": ("mức tải", "load"),
        "ups.qx.field.input_frequency": ("tần số điện vào", "input frequency"),
        "ups.qx.field.battery_voltage": ("điện áp ắc quy", "battery voltage"),
        "ups.qx.field.temperature": ("nhiệt độ", "temperature"),
        "ups.qx.field.status_bits": ("các bit trạng thái", "status bits"),
        "ups.qx.field.rated_voltage": ("điện áp định mức", "rated voltage"),
        "ups.qx.field.rated_current": ("dòng điện định mức", "rated current"),
        "ups.qx.field.rated_frequency": ("tần số định mức", "rated frequency"),
        "ups.qx.field.qgs_status_bits": ("các bit trạng thái QGS", "QGS status bits"),
        "ups.qx.field.qmd_va": ("công suất VA trong QMD", "QMD VA"),
        "ups.qx.field.qmd_battery_count": ("số ắc quy trong QMD", "QMD battery count"),
        "ups.qx.field.qmd_volts_per_battery": ("điện áp mỗi ắc quy trong QMD", "QMD volts per battery"),
    }
)
_FIELD_N = re.compile(r"^(\w+) field (\d+)$")


def _field(what: str) -> Text | str:
    """A field's name in the reader's language ("input voltage", "Q6 field 3")."""
    numbered = _FIELD_N.match(what)
    if numbered:
        return Text("ups.qx.field_n", command=numbered.group(1), n=int(numbered.group(2)))
    key = "ups.qx.field." + re.sub(r"\W+", "_", what.lower())
    return Text(key) if known(key) else what


def _start(command: str, char: str, text: str) -> UpsProtocolError:
    return UpsProtocolError(f"{command} reply does not start with '{char}'", reply=text,
                            text=Text("ups.qx.start", command=command, char=char))


def _fields(command: str, got: int, want: int, text: str) -> UpsProtocolError:
    return UpsProtocolError(f"{command} reply does not have {want} fields", reply=text,
                            text=Text("ups.qx.fields", command=command, got=got, want=want))

Q1_LENGTH = 46  # 47 bytes on the wire with the closing \r
QGS_LENGTH = 75

_NUM = re.compile(r"^-?\d+(\.\d+)?$")


def text_of(reply: bytes | str) -> str:
    """The reply as text, without the closing CR/LF; non-ASCII bytes make it garbage."""
    if isinstance(reply, bytes):
        try:
            text = reply.decode("ascii")
        except UnicodeDecodeError:
            raise UpsProtocolError("reply is not ASCII (wrong baud rate or line noise)", reply=reply,
                                   text=Text("ups.qx.not_ascii")) from None
    else:
        text = reply
    text = text.rstrip("\r\n")
    if any(ord(c) < 32 or ord(c) > 126 for c in text):
        raise UpsProtocolError("reply has control characters (line noise)", reply=text, text=Text("ups.qx.control"))
    return text


def is_refusal(reply: bytes | str, command: str) -> bool:
    """True when the unit declined ``command`` (NAK, echo) rather than answered it."""
    try:
        text = text_of(reply).strip()
    except UpsProtocolError:
        return False
    return text in ("(NAK", "NAK", "(ACK", "ACK", command, f"({command}") or (bool(text) and set(text) <= {"@", " ", "#", "("})


def _number(token: str, what: str, reply: str) -> float | None:
    """A numeric field; ``@``/``-`` filled fields mean "not available" (None)."""
    if token and set(token) <= {"@", "-", "."}:
        return None
    if not _NUM.match(token):
        raise UpsProtocolError(f"{what} is not a number ({token!r})", reply=reply,
                               text=Text("ups.qx.not_number", what=_field(what), token=repr(token)))
    return float(token)


def _bits(token: str, count: int, what: str, reply: str) -> str:
    if len(token) != count or set(token) - {"0", "1"}:
        raise UpsProtocolError(f"{what} must be {count} binary digits ({token!r})", reply=reply,
                               text=Text("ups.qx.not_bits", what=_field(what), count=count, token=repr(token)))
    return token


@dataclass
class Q1Reply:
    input_voltage: float | None
    input_fault_voltage: float | None
    output_voltage: float | None
    load_percent: float | None
    input_frequency: float | None
    battery_voltage: float | None  # as sent: per cell (S.SS) on on-line units, pack (SS.S) on others
    temperature: float | None
    bits: str  # b7..b0
    # b7 utility fail, b6 battery low, b5 bypass/boost/buck, b4 UPS failed, b3 standby type,
    # b2 test in progress, b1 shutdown active, b0 beeper on

    def bit(self, n: int) -> bool:
        return self.bits[7 - n] == "1"

    @property
    def battery_per_cell(self) -> bool:
        # A pack of even one 12 V block never reads under 3 V while the UPS still talks.
        return self.battery_voltage is not None and self.battery_voltage < 3.0


def parse_q1(reply: bytes | str) -> Q1Reply:
    """``(MMM.M NNN.N PPP.P QQQ RR.R S.SS TT.T b7b6b5b4b3b2b1b0`` (Q1, also D and Voltronic QS)."""
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("Q1", "(", text)
    if len(text) != Q1_LENGTH:
        kind = "short" if len(text) < Q1_LENGTH else "long"
        raise UpsProtocolError(f"Q1 reply is {kind}: {len(text) + 1} bytes instead of 47", reply=text,
                               text=Text("ups.qx.length", command="Q1", got=len(text) + 1, want=47))
    tokens = text[1:].split(" ")
    if len(tokens) != 8:
        raise _fields("Q1", len(tokens), 8, text)
    names = ("input voltage", "input fault voltage", "output voltage", "load", "input frequency", "battery voltage", "temperature")
    values = [_number(tok, name, text) for tok, name in zip(tokens[:7], names)]
    return Q1Reply(*values, bits=_bits(tokens[7], 8, "status bits", text))


@dataclass
class FReply:
    rated_voltage: float | None
    rated_current: float | None
    battery_voltage: float | None  # nominal
    frequency: float | None


def parse_f(reply: bytes | str) -> FReply:
    """``#MMM.M QQQ SS.SS RR.R`` (rating information)."""
    text = text_of(reply)
    if not text.startswith("#"):
        raise _start("F", "#", text)
    tokens = text[1:].split()
    if len(tokens) != 4:
        raise _fields("F", len(tokens), 4, text)
    names = ("rated voltage", "rated current", "battery voltage", "rated frequency")
    return FReply(*[_number(t, n, text) for t, n in zip(tokens, names)])


@dataclass
class IReply:
    manufacturer: str | None
    model: str | None
    firmware: str | None


def _label(field: str) -> str | None:
    field = field.strip()
    return None if not field or set(field) <= {"-", "@", "#", " "} else field


def parse_i(reply: bytes | str) -> IReply:
    """``#`` + company (15) + space + model (10) + space + version (10): 39 bytes on the wire."""
    text = text_of(reply)
    if not text.startswith("#"):
        raise _start("I", "#", text)
    if len(text) < 17 or len(text) > 40:
        raise UpsProtocolError(f"I reply has {len(text) + 1} bytes instead of 39", reply=text,
                               text=Text("ups.qx.length", command="I", got=len(text) + 1, want=39))
    return IReply(_label(text[1:16]), _label(text[17:27]), _label(text[28:38]))


@dataclass
class Q6Reply:
    input_voltage: float | None
    input_frequency: float | None
    output_voltage: float | None
    output_frequency: float | None
    load_percent: float | None
    battery_voltage: float | None  # whole pack: positive + negative string
    temperature: float | None
    runtime_s: int | None
    charge_percent: float | None


def parse_q6(reply: bytes | str) -> Q6Reply:
    """Santak/newer units (NUT nutdrv_qx_q6.c): runtime in seconds (76–80) and charge % (82–84)."""
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("Q6", "(", text)
    tokens = text[1:].split(" ")
    if len(tokens) != 20:
        raise UpsProtocolError(f"Q6 reply has {len(tokens)} fields instead of 20", reply=text,
                               text=Text("ups.qx.fields", command="Q6", got=len(tokens), want=20))
    n = [(_number(t, f"Q6 field {i + 1}", text) if i < 17 else None) for i, t in enumerate(tokens)]
    for i in (17, 18):
        _bits(tokens[i], 8, f"Q6 field {i + 1}", text)
    plus, minus = n[11], n[12]
    battery = None if plus is None else round(plus + (minus or 0.0), 2)
    charge = n[15]
    if charge is not None and not 0 <= charge <= 100:
        raise UpsProtocolError(f"Q6 charge out of range ({charge:g})", reply=text,
                               text=Text("ups.qx.range", command="Q6", value=charge))
    return Q6Reply(
        input_voltage=n[0], input_frequency=n[3], output_voltage=n[4], output_frequency=n[7],
        load_percent=n[8], battery_voltage=battery, temperature=n[13],
        runtime_s=None if n[14] is None else int(n[14]), charge_percent=charge,
    )


# -- Voltronic dialect ----------------------------------------------------------------------------

def parse_qpi(reply: bytes | str) -> str:
    """``(PI00``: the Voltronic protocol id, or UpsProtocolError."""
    text = text_of(reply)
    if not re.fullmatch(r"\(PI\d\d", text):
        raise UpsProtocolError("not a Voltronic QPI reply", reply=text, text=Text("ups.qx.not_reply", command="QPI"))
    return text[1:]


@dataclass
class QgsReply:
    input_voltage: float | None
    input_frequency: float | None
    output_voltage: float | None
    output_frequency: float | None
    output_current: float | None
    load_percent: float | None
    battery_voltage: float | None
    temperature: float | None
    ups_type: str  # "00" offline, "01" line-interactive, "10" online
    utility_fail: bool
    battery_low: bool
    bypass_boost_buck: bool
    ups_fault: bool
    test_in_progress: bool
    shutdown_active: bool
    beeper_on: bool


def parse_qgs(reply: bytes | str) -> QgsReply:
    """``(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100000000001`` (76 bytes)."""
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("QGS", "(", text)
    if len(text) != QGS_LENGTH:
        raise UpsProtocolError(f"QGS reply has {len(text) + 1} bytes instead of 76", reply=text,
                               text=Text("ups.qx.length", command="QGS", got=len(text) + 1, want=76))
    tokens = text[1:].split(" ")
    if len(tokens) != 12:
        raise _fields("QGS", len(tokens), 12, text)
    n = [_number(t, f"QGS field {i + 1}", text) for i, t in enumerate(tokens[:11])]
    bits = _bits(tokens[11], 12, "QGS status bits", text)
    return QgsReply(
        input_voltage=n[0], input_frequency=n[1], output_voltage=n[2], output_frequency=n[3], output_current=n[4],
        load_percent=n[5], battery_voltage=n[8], temperature=n[10], ups_type=bits[0:2],
        utility_fail=bits[2] == "1", battery_low=bits[3] == "1", bypass_boost_buck=bits[4] == "1",
        ups_fault=bits[5] == "1", test_in_progress=bits[7] == "1", shutdown_active=bits[8] == "1",
        beeper_on=bits[9] == "1",
    )


QMOD_MODES = {
    "P": "power-on", "S": "standby", "Y": "bypass", "L": "line", "B": "battery", "T": "test", "F": "fault",
    "E": "eco", "C": "converter", "D": "shutting-down",
}


def parse_qmod(reply: bytes | str) -> str:
    text = text_of(reply)
    if len(text) != 2 or text[0] != "(" or text[1] not in QMOD_MODES:
        raise UpsProtocolError("not a QMOD reply", reply=text, text=Text("ups.qx.not_reply", command="QMOD"))
    return QMOD_MODES[text[1]]


@dataclass
class QbvReply:
    battery_voltage: float | None
    batteries_per_pack: int | None
    packs: int | None
    charge_percent: float | None
    runtime_s: int | None


def parse_qbv(reply: bytes | str) -> QbvReply:
    """``(026.5 02 01 068 255``: battery V, batteries per pack, packs, charge %, runtime minutes."""
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("QBV", "(", text)
    tokens = text[1:].split(" ")
    if len(tokens) != 5:
        raise _fields("QBV", len(tokens), 5, text)
    n = [_number(t, f"QBV field {i + 1}", text) for i, t in enumerate(tokens)]
    if n[3] is not None and not 0 <= n[3] <= 100:
        raise UpsProtocolError(f"QBV charge out of range ({n[3]:g})", reply=text,
                               text=Text("ups.qx.range", command="QBV", value=n[3]))
    as_int = lambda v: None if v is None else int(v)  # noqa: E731
    return QbvReply(n[0], as_int(n[1]), as_int(n[2]), n[3], None if n[4] is None else int(n[4] * 60))


@dataclass
class QriReply:
    output_voltage: float | None
    output_current: float | None
    battery_voltage: float | None  # nominal
    output_frequency: float | None


def parse_qri(reply: bytes | str) -> QriReply:
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("QRI", "(", text)
    tokens = text[1:].split()
    if len(tokens) != 4:
        raise _fields("QRI", len(tokens), 4, text)
    return QriReply(*[_number(t, f"QRI field {i + 1}", text) for i, t in enumerate(tokens)])


@dataclass
class QmdReply:
    model: str | None
    va: float | None
    battery_count: int | None
    volts_per_battery: float | None

    @property
    def battery_nominal(self) -> float | None:
        if self.battery_count is None or self.volts_per_battery is None:
            return None
        return self.battery_count * self.volts_per_battery


def parse_qmd(reply: bytes | str) -> QmdReply:
    """``(#######OLHVT1K0 ###1000 80 1/1 230 230 02 12.0``."""
    text = text_of(reply)
    if not text.startswith("("):
        raise _start("QMD", "(", text)
    tokens = text[1:].split(" ")
    if len(tokens) != 8:
        raise _fields("QMD", len(tokens), 8, text)
    va = _number(tokens[1].lstrip("#") or "@", "QMD VA", text)
    count = _number(tokens[6], "QMD battery count", text)
    per = _number(tokens[7], "QMD volts per battery", text)
    return QmdReply(_label(tokens[0].lstrip("#")), va, None if count is None else int(count), per)


def parse_label(reply: bytes | str, prefix: str = "") -> str | None:
    """QMF ``(#######BOH`` → "BOH"; QVFW ``(VERFW:00322.02`` → "00322.02" (prefix "VERFW:")."""
    text = text_of(reply)
    if not text.startswith("(") or not text[1:].lstrip("#").startswith(prefix):
        raise UpsProtocolError("unexpected identity reply", reply=text, text=Text("ups.qx.not_reply", command="QMF/QVFW"))
    return _label(text[1:].lstrip("#")[len(prefix):])
