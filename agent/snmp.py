"""A small SNMP client shared by the agent's SNMP drivers (UPS network cards, codec fall-back).

Built on pysnmp 7's asyncio API with numeric OIDs only (``lookupMib=False``: no MIB compiler, no
pysmi at run time).  What it adds on top of pysnmp:

* **One engine per session, kept alive.**  pysnmp's first request in a process costs ~170 ms
  (engine, USM and transport set-up); later ones ~2 ms (shared/protocols/ups.md gotcha 13).  The
  daemon keeps drivers, and so sessions, between polls.
* **Deadlines.**  Every request takes an absolute ``deadline`` (``time.monotonic()``); its
  timeout and retries are cut to what is left, and ``asyncio.wait_for`` is the backstop.  A
  request never outlives the caller's budget.
* **Typed errors** under :mod:`agent.errors`: :class:`SnmpTimeout` (no answer: host down or,
  just as often, a wrong community, which agents answer with silence), :class:`SnmpAuthError`
  (SNMPv3 USM refusals), :class:`SnmpProtocolError` (an error-status PDU, garbage).
* **Value normalisation** (:func:`to_int`, :func:`to_number`, :func:`to_text`, :func:`to_oid`):
  agents send Gauge32 where the MIB says INTEGER, numbers as strings, NULL, ``noSuchObject``,
  ``noSuchInstance`` and 65535 / 4294967295 / -1 for "unknown".  Each function returns
  ``(value, None)`` or ``(None, reason)`` and never raises, whatever the agent sent.  A reason is an
  ``agent.i18n.Text`` (rendered in the report's language; :func:`reason_for` prefixes the object name).

Secrets (community, v3 keys) live in :class:`agent.secrets.Secret` until the moment pysnmp
needs them, and are never put in a message, a repr or an exception.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from agent.errors import DeviceAuthError, DeviceUnreachable, ProtocolError
from agent.i18n import Text, register

register(
    {
        "snmp.reason.object": ("{obj}: {why}", "{obj}: {why}"),
        "snmp.reason.either": ("{first}; {second}", "{first}; {second}"),
        "snmp.reason.missing": ("thiết bị không trả về đối tượng này", "the agent did not return this object"),
        "snmp.reason.no_such_object": (
            "thiết bị không hỗ trợ đối tượng này (noSuchObject)",
            "the agent does not implement this object (noSuchObject)",
        ),
        "snmp.reason.no_such_instance": (
            "thiết bị không có bản ghi này (noSuchInstance)",
            "the agent has no such instance (noSuchInstance)",
        ),
        "snmp.reason.end_of_view": (
            "vượt quá phạm vi MIB của thiết bị (endOfMibView)",
            "past the end of the agent's MIB view (endOfMibView)",
        ),
        "snmp.reason.null": ("thiết bị trả về giá trị rỗng (NULL)", "the agent answered NULL"),
        "snmp.reason.not_number": ("không phải số: thiết bị gửi {type}", "not a number: the agent sent {type}"),
        "snmp.reason.not_number_text": ("không phải số: {type} {text}", "not a number: {type} {text}"),
        "snmp.reason.not_finite": ("không phải số hữu hạn: {text}", "not a finite number: {text}"),
        "snmp.reason.sentinel": (
            "thiết bị báo {number}, giá trị nó dùng cho \"không rõ\"",
            "the agent reports {number}, its value for unknown",
        ),
        "snmp.reason.below_range": (
            "{number} nhỏ hơn {limit}, ngoài phạm vi của đối tượng",
            "{number} is below {limit}, outside the object's range",
        ),
        "snmp.reason.above_range": (
            "{number} lớn hơn {limit}, ngoài phạm vi của đối tượng",
            "{number} is above {limit}, outside the object's range",
        ),
        "snmp.reason.below_plausible": (
            "{number} nhỏ hơn {limit}, không phải giá trị hợp lý",
            "{number} is below {limit}, not a plausible value",
        ),
        "snmp.reason.above_plausible": (
            "{number} lớn hơn {limit}, không phải giá trị hợp lý",
            "{number} is above {limit}, not a plausible value",
        ),
        "snmp.reason.unreadable": ("không đọc được giá trị {type}", "unreadable {type}"),
        "snmp.reason.not_string": ("không phải chuỗi ký tự: thiết bị gửi {type}", "not a string: the agent sent {type}"),
        "snmp.reason.empty_string": ("thiết bị gửi chuỗi rỗng", "the agent sent an empty string"),
        "snmp.reason.not_oid": ("không phải OID: thiết bị gửi {type}", "not an OID: the agent sent {type}"),
        "snmp.reason.unreadable_oid": ("không đọc được OID", "unreadable OID"),
        "snmp.reason.empty_oid": ("OID rỗng", "empty OID"),
        "snmp.err.resolve": (
            "không phân giải được địa chỉ thiết bị SNMP {host}: {error}",
            "cannot resolve SNMP agent {host}: {error}",
        ),
        "snmp.err.no_time": (
            "hết thời gian cho yêu cầu SNMP tới {where}",
            "no time left for an SNMP request to {where}",
        ),
        "snmp.err.refused": ("{where} từ chối {credentials}: {error}", "{where} refused {credentials}: {error}"),
        "snmp.err.timeout": (
            "{where} không trả lời SNMP ({credentials}) trong thời hạn",
            "no SNMP response from {where} ({credentials}) before the timeout",
        ),
        "snmp.err.deadline": ("{where} không trả lời SNMP trong thời hạn", "no SNMP response from {where} before the deadline"),
        "snmp.err.failed": ("yêu cầu SNMP {what} tới {where} thất bại: {error}", "SNMP {what} to {where} failed: {error}"),
        "snmp.err.status": (
            "yêu cầu SNMP {what} tới {where}: thiết bị trả lời {status} tại vị trí {index}",
            "SNMP {what} to {where}: agent answered {status} at index {index}",
        ),
        "snmp.err.loop": (
            "thiết bị SNMP {where} không đi tiếp sau {oid} (OID không tăng)",
            "SNMP agent {where} does not advance past {oid} (OID not increasing)",
        ),
    }
)

# Values agents use for "unknown" in integer objects (ups.md §2.4, §5.8): 16-bit and 32-bit
# maxima, the same ×10 for objects in tenths (Socomec Net Vision: 655350), and -1.
SENTINELS = frozenset({-1, 65535, 655350, 2147483647, 4294967295, 42949672950})

# pysnmp classes that mean "no value" (compared by name: pysnmp exposes them from several modules).
_ABSENT = {
    "NoSuchObject": Text("snmp.reason.no_such_object"),
    "NoSuchInstance": Text("snmp.reason.no_such_instance"),
    "EndOfMibView": Text("snmp.reason.end_of_view"),
    "Null": Text("snmp.reason.null"),
}

MAX_VAR_BINDS = 24  # per GET PDU; an agent that answers tooBig gets the PDU split in halves


class SnmpError(ProtocolError):
    """Root of the SNMP client's own errors that are not timeouts or authentication."""


def _error(cls: type, message: str, key: str, **params: Any) -> Any:
    """``cls(message)`` (English, for logs) that shows ``Text(key, **params)`` in check messages."""
    error = cls(message)
    error.text = Text(key, **params)
    return error


class SnmpProtocolError(SnmpError):
    """The agent answered with an error status (tooBig, genErr, noSuchName...) or unusable data."""


class SnmpTimeout(DeviceUnreachable):
    """No response before the deadline (host down, port filtered, or wrong community / user)."""


class SnmpAuthError(DeviceAuthError):
    """SNMPv3: the agent refused our user, key or security level (USM report)."""


# errorIndication names pysnmp raises for USM refusals (pysnmp.proto.errind).
_AUTH_INDICATIONS = (
    "unknownUserName", "wrongDigest", "decryptionError", "unsupportedSecLevel", "unknownSecurityName",
    "authenticationError", "authenticationFailure", "unknownEngineID", "notInTimeWindow",
)


@dataclass(frozen=True)
class SnmpCredentials:
    """How to talk to one agent.  ``repr`` shows no secret (Secret prints as ***)."""

    version: str = "2c"  # "1" | "2c" | "3"
    community: Any = None  # agent.secrets.Secret (v1/v2c)
    user: str = ""
    auth_protocol: str = "none"  # none | MD5 | SHA | SHA224 | SHA256 | SHA384 | SHA512
    auth_key: Any = None  # Secret
    priv_protocol: str = "none"  # none | DES | 3DES | AES | AES192 | AES256
    priv_key: Any = None  # Secret
    context: str = ""  # SNMPv3 context name (most UPS cards: empty)

    def describe(self) -> str:
        if self.version == "3":
            level = "authPriv" if self.priv_protocol != "none" else "authNoPriv" if self.auth_protocol != "none" else "noAuthNoPriv"
            return f"SNMPv3 user {self.user!r} ({level})"
        return f"SNMPv{self.version}"


def _reveal(secret: Any) -> str:
    return secret.reveal() if hasattr(secret, "reveal") else str(secret)


def _auth_data(creds: SnmpCredentials) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import CommunityData, UsmUserData
    from pysnmp.hlapi.v3arch.asyncio import auth as _a

    if creds.version in ("1", "2c"):
        return CommunityData(_reveal(creds.community), mpModel=0 if creds.version == "1" else 1)
    auth_protocols = {
        "none": _a.USM_AUTH_NONE, "MD5": _a.USM_AUTH_HMAC96_MD5, "SHA": _a.USM_AUTH_HMAC96_SHA,
        "SHA224": _a.USM_AUTH_HMAC128_SHA224, "SHA256": _a.USM_AUTH_HMAC192_SHA256,
        "SHA384": _a.USM_AUTH_HMAC256_SHA384, "SHA512": _a.USM_AUTH_HMAC384_SHA512,
    }
    priv_protocols = {
        "none": _a.USM_PRIV_NONE, "DES": _a.USM_PRIV_CBC56_DES, "3DES": _a.USM_PRIV_CBC168_3DES,
        "AES": _a.USM_PRIV_CFB128_AES, "AES128": _a.USM_PRIV_CFB128_AES, "AES192": _a.USM_PRIV_CFB192_AES,
        "AES256": _a.USM_PRIV_CFB256_AES,
    }
    return UsmUserData(
        creds.user,
        authKey=_reveal(creds.auth_key) if creds.auth_protocol != "none" else None,
        privKey=_reveal(creds.priv_key) if creds.priv_protocol != "none" else None,
        authProtocol=auth_protocols[creds.auth_protocol],
        privProtocol=priv_protocols[creds.priv_protocol],
    )


class _NoMibCompiler:
    """Stands in for pysmi's compiler: we use numeric OIDs only and never compile a MIB."""

    def compile(self, *names: str, **_: Any) -> dict[str, str]:
        return {name: "missing" for name in names}


def _without_mib_compiler(engine: Any) -> None:
    # When pysmi is importable (it is wherever snmpsim is installed), pysnmp builds a MIB compiler
    # (a lark grammar) on the first OID it resolves: ~0.7 s per engine, for nothing with numeric OIDs.
    # Marking the engine's MIB builder as "compiler added" skips it; a missing MIB still fails as before.
    try:
        from pysnmp.hlapi.varbinds import MibViewControllerManager

        builder = MibViewControllerManager.get_mib_view_controller(engine.cache).mibBuilder
        if not builder.get_mib_compiler():
            builder._MibBuilder__mibCompiler = _NoMibCompiler()  # noqa: SLF001 - no public setter without a MIB dir
    except Exception:  # noqa: BLE001 - only a speed-up; pysnmp internals may move
        pass


class SnmpSession:
    """One agent, one pysnmp engine, kept alive between polls.  Not shared between agents."""

    def __init__(self, host: str, port: int, credentials: SnmpCredentials, *, timeout: float = 2.0,
                 retries: int = 1, max_var_binds: int = MAX_VAR_BINDS) -> None:
        self.host = host
        self.port = port
        self.credentials = credentials
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.max_var_binds = max(1, int(max_var_binds))
        self._engine: Any = None
        self._target: Any = None
        self._auth: Any = None
        self._context: Any = None
        self._binds: dict[str, Any] = {}

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def request_budget(self) -> float:
        """Worst case of one request with the configured timeout and retries."""
        return self.timeout * (self.retries + 1)

    async def _ensure(self) -> None:
        if self._engine is not None:
            return
        from pysnmp.hlapi.v3arch.asyncio import ContextData, SnmpEngine, UdpTransportTarget

        try:
            target = await UdpTransportTarget.create((self.host, self.port), timeout=self.timeout, retries=self.retries)
        except Exception as exc:  # noqa: BLE001 - pysnmp wraps resolver errors in its own type
            raise _error(SnmpTimeout, f"cannot resolve SNMP agent {self.host}: {type(exc).__name__}",
                         "snmp.err.resolve", host=self.host, error=type(exc).__name__) from None
        self._engine = SnmpEngine()
        _without_mib_compiler(self._engine)
        self._target = target
        self._auth = _auth_data(self.credentials)
        self._context = ContextData(contextName=self.credentials.context) if self.credentials.context else ContextData()

    def _fit(self, deadline: float | None) -> float:
        """Set the target's timeout/retries to fit in what is left; return the seconds left."""
        if deadline is None:
            self._target.timeout, self._target.retries = self.timeout, self.retries
            return self.request_budget() + 1.0
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise _error(SnmpTimeout, f"no time left for an SNMP request to {self.where}", "snmp.err.no_time", where=self.where)
        if left >= self.request_budget():
            self._target.timeout, self._target.retries = self.timeout, self.retries
        else:
            # Quantised to 0.1 s: pysnmp caches one target entry per (timeout, retries) pair.
            timeout = max(0.1, math.floor(min(self.timeout, left) * 10) / 10)
            self._target.timeout = timeout
            self._target.retries = max(0, min(self.retries, int(left // timeout) - 1))
        return left

    def _check(self, error_indication: Any, error_status: Any, error_index: Any, what: str) -> None:
        if error_indication:
            text = str(error_indication)
            name = type(error_indication).__name__
            if any(key.lower() in (name + text).replace(" ", "").lower() for key in _AUTH_INDICATIONS):
                raise _error(SnmpAuthError, f"{self.where} refused {self.credentials.describe()}: {text}",
                             "snmp.err.refused", where=self.where, credentials=self.credentials.describe(), error=text)
            if "timeout" in text.lower() or "no snmp response" in text.lower():
                raise _error(SnmpTimeout, f"no SNMP response from {self.where} ({self.credentials.describe()}) before the timeout",
                             "snmp.err.timeout", where=self.where, credentials=self.credentials.describe())
            raise _error(SnmpProtocolError, f"SNMP {what} to {self.where} failed: {text}",
                         "snmp.err.failed", what=what, where=self.where, error=text)
        if error_status and int(error_status):
            status = error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else str(error_status)
            index = int(error_index or 0)
            raise _error(SnmpProtocolError, f"SNMP {what} to {self.where}: agent answered {status} at index {index}",
                         "snmp.err.status", what=what, where=self.where, status=status, index=index)

    async def get(self, oids: Sequence[str], deadline: float | None = None) -> dict[str, Any]:
        """GET ``oids`` (in PDUs of at most ``max_var_binds``, sent concurrently) -> {oid: value}.

        Objects the agent lacks come back as pysnmp's NoSuchObject / NoSuchInstance values (v2c/v3);
        use the ``to_*`` functions to read them.  A ``tooBig`` answer splits the PDU in halves.
        """
        await self._ensure()
        oids = list(dict.fromkeys(oids))  # a repeated OID in one PDU confuses some agents (snmpsim never answers)
        chunks = [oids[i:i + self.max_var_binds] for i in range(0, len(oids), self.max_var_binds)]
        results = await asyncio.gather(*(self._get_chunk(chunk, deadline) for chunk in chunks))
        merged: dict[str, Any] = {}
        for part in results:
            merged.update(part)
        return merged

    async def _get_chunk(self, oids: list[str], deadline: float | None) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd

        left = self._fit(deadline)
        try:
            reply = await asyncio.wait_for(
                get_cmd(self._engine, self._auth, self._target, self._context,
                        *(self._var_bind(oid, ObjectType, ObjectIdentity) for oid in oids), lookupMib=False),
                timeout=left + 0.05,
            )
        except asyncio.TimeoutError:
            raise _error(SnmpTimeout, f"no SNMP response from {self.where} before the deadline",
                         "snmp.err.deadline", where=self.where) from None
        error_indication, error_status, error_index, var_binds = reply
        if error_status and str(error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else error_status) == "tooBig" and len(oids) > 1:
            half = len(oids) // 2
            first, second = await asyncio.gather(self._get_chunk(oids[:half], deadline), self._get_chunk(oids[half:], deadline))
            return {**first, **second}
        self._check(error_indication, error_status, error_index, "GET")
        return {str(name): value for name, value in var_binds}

    def _var_bind(self, oid: str, object_type: Any, object_identity: Any) -> Any:
        # pysnmp resolves every ObjectIdentity against its MIB view (~0.2 ms each); a resolved one is
        # reused as is, so a poll of the same OIDs pays that once per session, not once per poll.
        bind = self._binds.get(oid)
        if bind is None:
            bind = self._binds[oid] = object_type(object_identity(oid))
        return bind

    async def walk(self, oid: str, deadline: float | None = None, max_rows: int = 256) -> list[tuple[str, Any]]:
        """GETNEXT through the subtree under ``oid`` (stops at its end, or after ``max_rows``)."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, next_cmd

        await self._ensure()
        prefix = oid.rstrip(".") + "."
        rows: list[tuple[str, Any]] = []
        current = oid
        while len(rows) < max_rows:
            left = self._fit(deadline)
            try:
                reply = await asyncio.wait_for(
                    next_cmd(self._engine, self._auth, self._target, self._context,
                             ObjectType(ObjectIdentity(current)), lookupMib=False),
                    timeout=left + 0.05,
                )
            except asyncio.TimeoutError:
                raise _error(SnmpTimeout, f"no SNMP response from {self.where} before the deadline",
                             "snmp.err.deadline", where=self.where) from None
            error_indication, error_status, error_index, var_binds = reply
            if error_status and int(error_status) and str(error_status.prettyPrint()) == "noSuchName":
                break  # SNMPv1 end of MIB
            self._check(error_indication, error_status, error_index, "GETNEXT")
            if not var_binds:
                break
            name, value = var_binds[0]
            name = str(name)
            if not name.startswith(prefix) or type(value).__name__ == "EndOfMibView":
                break
            if name == current:
                raise _error(SnmpProtocolError, f"SNMP agent {self.where} does not advance past {name} (OID not increasing)",
                             "snmp.err.loop", where=self.where, oid=name)
            rows.append((name, value))
            current = name
        return rows

    async def aclose(self) -> None:
        engine, self._engine = self._engine, None
        self._target = self._auth = self._context = None
        self._binds = {}
        if engine is not None:
            try:
                engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing a half-open engine must not fail a probe
                pass


# -- value normalisation (pure; never raises) -------------------------------------------------

def type_name(value: Any) -> str:
    return type(value).__name__


def absent_reason(value: Any) -> Text | None:
    """Why ``value`` carries no data (NoSuchObject, NoSuchInstance, NULL, None), else None."""
    if value is None:
        return Text("snmp.reason.missing")
    return _ABSENT.get(type_name(value))


def reason_for(obj: str, why: Text | str | None) -> Text | None:
    """``"<object name>: <reason>"`` (the MIB object name stays as it is), or None without a reason."""
    return Text("snmp.reason.object", obj=obj, why=why) if why else None


def either(*reasons: Text | str | None) -> Text | str | None:
    """Several reasons for one value, joined with "; " (None when there is none)."""
    found = [r for r in reasons if r]
    if not found:
        return None
    joined = found[0]
    for reason in found[1:]:
        joined = Text("snmp.reason.either", first=joined, second=reason)
    return joined


def _raw_int(value: Any) -> tuple[int | None, Text | None]:
    reason = absent_reason(value)
    if reason:
        return None, reason
    name = type_name(value)
    if name in ("OctetString", "DisplayString", "Opaque", "bytes", "str") or isinstance(value, (bytes, str)):
        # Numbers sent as strings ("rfc1628string" agents): accept plain decimal text only.
        text, why = to_text(value)
        if text is None:
            return None, why
        try:
            return int(text.strip()), None
        except ValueError:
            try:
                number = float(text.strip())
            except ValueError:
                return None, Text("snmp.reason.not_number_text", type=name, text=repr(text[:20]))
            if not math.isfinite(number):
                return None, Text("snmp.reason.not_finite", text=repr(text[:20]))
            return int(round(number)), None
    if name in ("ObjectIdentifier", "ObjectName", "IpAddress", "Bits"):
        return None, Text("snmp.reason.not_number", type=name)
    if isinstance(value, bool):
        return None, Text("snmp.reason.not_number", type="bool")
    try:
        return int(value), None
    except Exception:  # noqa: BLE001 - any pysnmp/pyasn1 value that will not convert is "not a number"
        return None, Text("snmp.reason.not_number", type=name)


def to_int(value: Any, *, sentinels: Iterable[int] = SENTINELS, lo: int | None = None,
           hi: int | None = None) -> tuple[int | None, Text | None]:
    """An integer object, whatever its SNMP type (Integer32, Gauge32, TimeTicks, decimal string).

    ``(None, reason)`` for absent values, sentinels and values outside [lo, hi].
    """
    number, reason = _raw_int(value)
    if number is None:
        return None, reason
    if number in sentinels:
        return None, Text("snmp.reason.sentinel", number=number)
    if lo is not None and number < lo:
        return None, Text("snmp.reason.below_range", number=number, limit=lo)
    if hi is not None and number > hi:
        return None, Text("snmp.reason.above_range", number=number, limit=hi)
    return number, None


def to_number(value: Any, *, scale: float = 1.0, lo: float | None = None, hi: float | None = None,
              sentinels: Iterable[int] = SENTINELS, digits: int = 1) -> tuple[float | None, Text | None]:
    """``to_int`` × ``scale`` (e.g. 0.1 for tenths), range-checked after scaling and rounded."""
    number, reason = to_int(value, sentinels=sentinels)
    if number is None:
        return None, reason
    scaled = round(number * scale, digits)
    if lo is not None and scaled < lo:
        return None, Text("snmp.reason.below_plausible", number=scaled, limit=lo)
    if hi is not None and scaled > hi:
        return None, Text("snmp.reason.above_plausible", number=scaled, limit=hi)
    return scaled, None


def to_text(value: Any, *, max_len: int = 255) -> tuple[str | None, Text | None]:
    """A DisplayString: decoded, NULs and padding stripped; empty is unknown."""
    reason = absent_reason(value)
    if reason:
        return None, reason
    if isinstance(value, str):
        raw = value.encode("utf-8", "replace")
    elif isinstance(value, bytes):
        raw = value
    elif hasattr(value, "asOctets"):
        try:
            raw = value.asOctets()
        except Exception:  # noqa: BLE001
            return None, Text("snmp.reason.unreadable", type=type_name(value))
    else:
        return None, Text("snmp.reason.not_string", type=type_name(value))
    raw = raw.replace(b"\x00", b"")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    if not text:
        return None, Text("snmp.reason.empty_string")
    return text[:max_len], None


def to_oid(value: Any) -> tuple[str | None, Text | None]:
    """An OBJECT IDENTIFIER value as dotted text."""
    reason = absent_reason(value)
    if reason:
        return None, reason
    if type_name(value) not in ("ObjectIdentifier", "ObjectName"):
        return None, Text("snmp.reason.not_oid", type=type_name(value))
    try:
        text = ".".join(str(int(x)) for x in value.asTuple())
    except Exception:  # noqa: BLE001
        return None, Text("snmp.reason.unreadable_oid")
    return (text, None) if text else (None, Text("snmp.reason.empty_oid"))
