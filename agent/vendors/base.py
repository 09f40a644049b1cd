"""The codec driver contract (napalm style) and the read-only guard every driver goes through.

A driver is one class per vendor protocol.  It implements:

- ``_open_wire()``: connect, authenticate and return a :class:`Wire`, the transport's single
  ``exchange(command)`` function (one request, one answer);
- the typed getters ``get_facts``, ``get_network``, ``get_standby``, ``get_registration``,
  ``get_calls``, ``get_call_rate``, ``get_video``, ``get_monitors``, ``get_audio``, ``get_presets``,
  each returning one normalised part (agent/vendors/model.py);
- ``ALLOWED``: its read-only :class:`AllowList`.

Read-only by construction: the base class hands the wire to a :class:`_Guard` and never stores it;
the only way a driver talks to the device is :meth:`CodecDriver.send`, which refuses anything not on
the driver's allow-list (:class:`CommandNotAllowed`) *before* a byte is written.  A subclass may not
override ``send`` (checked when the class is created), and a command carrying a line break or
another control character is refused whatever the allow-list says (no "xStatus\\nxCommand Dial").
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Protocol, Sequence

from agent.errors import DeviceError, ProbeError, ProtocolError
from agent.i18n import Text, register
from agent.secrets import Secret
from agent.vendors import model as m

register(
    {
        "codec.reason.not_reported": ("thiết bị không báo giá trị này", "the device did not report this value"),
        "codec.reason.not_implemented": ("driver này chưa đọc phần này", "not implemented by this driver"),
        "codec.err.no_session": ("{driver}: chưa mở phiên làm việc với thiết bị", "{driver}: no open session"),
        # What every driver's transport errors say in check messages (str(error) stays English for logs).
        "codec.err.timeout": (
            "thiết bị đầu cuối không trả lời {what} trong {seconds} giây",
            "the codec did not answer {what} within {seconds} s",
        ),
        "codec.err.unfinished": (
            "thiết bị đầu cuối chưa trả lời xong {what} trong {seconds} giây",
            "the codec did not finish answering {what} within {seconds} s",
        ),
        "codec.err.broken": (
            "phiên {transport} tới thiết bị đầu cuối bị ngắt: {error}",
            "the {transport} session to the codec broke: {error}",
        ),
        "codec.err.closed": (
            "thiết bị đầu cuối đóng phiên {transport} khi đang trả lời {what}",
            "the codec closed the {transport} session while answering {what}",
        ),
        "codec.err.too_large": (
            "câu trả lời cho {what} quá lớn, không phải trạng thái của thiết bị đầu cuối",
            "the answer to {what} is too large: not a codec status",
        ),
        "codec.err.login_refused": ("{host} từ chối đăng nhập của tài khoản {user}", "{host} refused the login of user {user}"),
        "codec.err.http_login": (
            "thiết bị đầu cuối trả lời HTTP {code} khi đăng nhập",
            "the codec answered HTTP {code} to the session login",
        ),
        "codec.err.tls_mismatch": (
            "chứng chỉ TLS của {host} không khớp mã đã ghi nhận; agent không gửi mật khẩu",
            "the TLS certificate of {host} does not match the pinned fingerprint; the password was not sent",
        ),
        "codec.err.not_http": (
            "{host} có trả lời nhưng không theo giao thức HTTP: {said}",
            "{host} answered, but not in HTTP: {said}",
        ),
        "codec.err.tls_untrusted": (
            "chứng chỉ TLS của {host} không được tin cậy ({error})",
            "the TLS certificate of {host} is not trusted ({error})",
        ),
        "codec.err.no_connect": (
            "{host} không nhận kết nối trong {seconds} giây",
            "{host} did not accept a connection within {seconds} s",
        ),
        "codec.err.cannot_connect": ("không kết nối được tới {host}: {error}", "cannot connect to {host}: {error}"),
        "codec.err.http": ("lỗi HTTP khi làm việc với thiết bị đầu cuối: {error}", "HTTP error talking to the codec: {error}"),
        "codec.err.http_status": (
            "thiết bị đầu cuối trả lời HTTP {code} cho {command}",
            "the codec answered HTTP {code} to {command}",
        ),
        "codec.err.refused_command": ("thiết bị đầu cuối từ chối lệnh {command}", "the codec refused {command}"),
        "codec.err.refused_command_reason": (
            "thiết bị đầu cuối từ chối lệnh {command}: {reason}",
            "the codec refused {command}: {reason}",
        ),
    }
)


def localized(exc: BaseException, key: str, /, **params: Any) -> Any:
    """``exc`` (English ``str()`` for logs) with ``.text = Text(key, **params)`` for check messages."""
    exc.text = Text(key, **params)  # type: ignore[attr-defined]
    return exc


class CommandNotAllowed(ProbeError):
    """A driver tried to send a command outside its read-only allow-list (a programming error)."""

    def __init__(self, driver: str, command: str) -> None:
        shown = command if len(command) <= 120 else command[:117] + "..."
        super().__init__(f"{driver}: command {shown!r} is not on the read-only allow-list; not sent")
        self.command = command


class HostKeyUnknown(DeviceError):
    """No pinned SSH host key / TLS certificate for this device yet: run `hntht-agent codec trust`."""


class NotExposed(Exception):
    """Raised by a getter when the device does not expose that part at all (becomes null + reason).

    Its one argument is the reason: a Text (rendered in the report's language) or a string.
    """

    @property
    def reason(self) -> Text | str | None:
        return self.args[0] if self.args else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AllowList:
    """Read-only commands a driver may send, as regular expressions matched against the whole command."""

    def __init__(self, driver: str, *patterns: str) -> None:
        self.driver = driver
        self.patterns = tuple(patterns)
        self._compiled = tuple(re.compile(p) for p in patterns)
        self._seen: dict[str, bool] = {}  # verdicts by command: a poll sends the same commands every minute

    def permits(self, command: str) -> bool:
        if not isinstance(command, str):
            return False
        verdict = self._seen.get(command)
        if verdict is None:
            verdict = not _CONTROL.search(command) and any(rx.fullmatch(command) for rx in self._compiled)
            if len(self._seen) < 512:  # bounded: only a driver's own fixed commands repeat
                self._seen[command] = verdict
        return verdict

    def check(self, command: str) -> None:
        if not self.permits(command):
            raise CommandNotAllowed(self.driver, command if isinstance(command, str) else repr(command))


class Wire(Protocol):
    """One authenticated session on one transport."""

    def exchange(self, command: str) -> Any:
        """Send one (already allowed) command and return the device's complete answer."""

    def close(self) -> None:
        """End the session (logout / session end); never raises."""


SENT_KEPT = 512  # commands a session remembers for diagnostics and tests (a poll sends 3-20)


def _trailing_nones(results: list[Any]) -> int:
    count = 0
    for result in reversed(results):
        if result is not None:
            break
        count += 1
    return count


class _Guard:
    """Holds the only reference to the wire's exchange function, behind the allow-list."""

    __slots__ = ("_exchange", "_exchange_many", "_close", "_allowed", "sent", "count")

    def __init__(self, allowed: AllowList, wire: Wire) -> None:
        self._allowed = allowed
        self._exchange: Callable[[str], Any] = wire.exchange
        self._exchange_many: Callable[..., list[Any]] | None = getattr(wire, "exchange_many", None)
        self._close: Callable[[], None] = wire.close
        self.sent: list[str] = []
        self.count = 0  # commands sent on this session (sent keeps only the recent ones)

    def send(self, command: str) -> Any:
        self._allowed.check(command)
        self._record((command,))
        return self._exchange(command)

    def send_many(self, commands: Sequence[str], **how: Any) -> list[Any]:
        for command in commands:  # all of them before the first goes out
            self._allowed.check(command)
        if self._exchange_many is None:
            return [self.send(command) for command in commands]
        self._record(commands)
        results = self._exchange_many(commands, **how)
        unsent = _trailing_nones(results)
        if unsent:  # the wire stopped early: those were never sent
            del self.sent[len(self.sent) - unsent:]
        return results

    def _record(self, commands: Sequence[str]) -> None:
        self.count += len(commands)
        sent = self.sent
        sent.extend(commands)
        if len(sent) > 2 * SENT_KEPT:  # a kept session lives for weeks: keep only the recent commands
            del sent[:-SENT_KEPT]

    def close(self) -> None:
        try:
            self._close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


@dataclass
class Connection:
    """Everything a driver needs to reach and trust one device (built from [codec])."""

    host: str
    transport: str  # "ssh" | "https" | "http" | "telnet" | "snmp"
    port: int
    username: str
    password: Secret | None
    timeout: float
    state_dir: Path
    tls_ca_file: str = ""
    tls_fingerprint: str = ""  # "sha256:AB:CD:..." (pinned certificate)
    ssh_fingerprint: str = ""  # "SHA256:base64" (pinned host key)
    allow_insecure: bool = False
    snmp_community: Secret | None = None  # [codec.snmp] community_file (snmp driver, auto's fingerprinting)
    snmp_version: str = "2c"
    ssh_client: str = "auto"  # "auto" | "openssh" | "paramiko" ([codec] ssh_client; pinning.ssh_client)

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def known_certs(self) -> Path:
        return self.state_dir / "known_certs"

    def password_text(self) -> str:
        return self.password.reveal() if self.password is not None else ""


# Getter name -> CodecStatus field it fills, in the order read_status() calls them.
PARTS: tuple[tuple[str, str], ...] = (
    ("facts", "get_facts"),
    ("network", "get_network"),
    ("standby", "get_standby"),
    ("registration", "get_registration"),
    ("calls", "get_calls"),
    ("call_rate", "get_call_rate"),
    ("video", "get_video"),
    ("audio", "get_audio"),
    ("presets", "get_presets"),
)

_EMPTY_PARTS: dict[str, Callable[[], Any]] = {
    "network": m.NetworkInfo,
    "standby": m.StandbyInfo,
    "registration": m.Registration,
    "call_rate": m.CallRate,
    "video": m.Video,
    "audio": m.Audio,
}

NOT_REPORTED = Text("codec.reason.not_reported")
NOT_IMPLEMENTED = Text("codec.reason.not_implemented")


class CodecDriver:
    """Base of every codec driver: session handling, the read-only guard and status assembly."""

    name: ClassVar[str] = ""
    vendor: ClassVar[str] = ""
    ALLOWED: ClassVar[AllowList]
    transports: ClassVar[tuple[str, ...]] = ()
    default_ports: ClassVar[dict[str, int]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for forbidden in ("send", "send_many", "_guard_for"):
            if forbidden in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {forbidden}(): it is the read-only guard")

    def __init__(self, connection: Connection) -> None:
        if connection.transport not in self.transports:
            from agent.errors import ConfigError

            raise ConfigError(
                f"found {connection.transport!r}; the {self.name} driver speaks {', '.join(self.transports)}",
                key="codec.transport",
            )
        self.connection = connection
        self._guard: _Guard | None = None
        self._lock = threading.RLock()
        self._reasons: dict[str, Text | str] = {}
        self.sessions_opened = 0  # for bench/ and the "one session per poll" tests

    # -- session ------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._guard is not None

    def open(self) -> None:
        with self._lock:
            if self._guard is None:
                wire = self._open_wire()
                self.sessions_opened += 1
                self._guard = _Guard(self.ALLOWED, wire)

    def close(self) -> None:
        # Not under the lock: closing from another thread must unblock a poll stuck in a read.
        guard, self._guard = self._guard, None
        if guard is not None:
            guard.close()

    def __enter__(self) -> "CodecDriver":
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, command: str) -> Any:
        """The only way to the device: allow-list first, then the wire."""
        guard = self._guard
        if guard is None:
            self.ALLOWED.check(command)  # refuse a forbidden command even without a session
            raise _no_session(self.name)
        return guard.send(command)

    def send_many(self, commands: Sequence[str], **how: Any) -> list[Any]:
        """Several reads in one go, every one checked against the allow-list before the first is sent.

        A wire with ``exchange_many(commands, **how)`` gets them together (it may overlap them, and says
        per command what came back); any other wire gets them one by one through ``send``.
        """
        guard = self._guard
        if guard is None:
            for command in commands:
                self.ALLOWED.check(command)
            raise _no_session(self.name)
        return guard.send_many(commands, **how)

    @property
    def sent(self) -> list[str]:
        return list(self._guard.sent) if self._guard else []

    # -- what drivers implement ---------------------------------------------------------------
    def _open_wire(self) -> Wire:
        raise NotImplementedError

    def _begin_poll(self) -> None:
        """Hook: read what the getters share (e.g. whole status/configuration trees) once per poll."""

    def _end_poll(self) -> None:
        """Hook: drop per-poll caches."""

    def raw(self) -> dict[str, Any]:
        """What was read during this poll, secrets redacted (for diagnostics)."""
        return {}

    def get_facts(self) -> m.Facts:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_network(self) -> m.NetworkInfo:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_standby(self) -> m.StandbyInfo:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_registration(self) -> m.Registration:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_calls(self) -> list[m.Call]:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_call_rate(self) -> m.CallRate:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_monitors(self) -> list[m.Monitor]:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_video(self) -> m.Video:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_audio(self) -> m.Audio:
        raise NotExposed(NOT_IMPLEMENTED)

    def get_presets(self) -> list[m.Preset]:
        raise NotExposed(NOT_IMPLEMENTED)

    # -- helpers for getters ------------------------------------------------------------------
    def not_exposed(self, path: str, why: Text | str) -> None:
        """Record why the value at ``path`` (dotted, e.g. "audio.mics[1].echo_control") is None."""
        self._reasons.setdefault(path, why)

    # -- assembly -----------------------------------------------------------------------------
    def read_status(self) -> m.CodecStatus:
        """One full poll on the open session: every getter, nulls with reasons, the raw map."""
        with self._lock:
            if self._guard is None:
                raise _no_session(self.name)
            self._reasons = {}
            started = time.monotonic()
            self._begin_poll()
            try:
                parts: dict[str, Any] = {}
                for field_name, getter in PARTS:
                    sent_before = self._guard.count
                    try:
                        parts[field_name] = getattr(self, getter)()
                    except NotExposed as exc:
                        parts[field_name] = _EMPTY_PARTS[field_name]() if field_name in _EMPTY_PARTS else None
                        self.not_exposed(field_name, exc.reason or NOT_REPORTED)
                    except ProtocolError as exc:
                        if self._guard is None or self._guard.count != sent_before:
                            raise  # the session itself failed while this getter read: the whole poll did
                        # A getter that only parsed what was read: one garbled value (a mute state neither on
                        # nor off) costs its own part, not the poll; the checks that need it say why.
                        parts[field_name] = _EMPTY_PARTS[field_name]() if field_name in _EMPTY_PARTS else None
                        self.not_exposed(field_name, getattr(exc, "text", None) or str(exc))
                facts = parts.pop("facts") or m.Facts(vendor=self.vendor)
                status = m.CodecStatus(
                    vendor=self.vendor,
                    transport=self.connection.transport,
                    facts=facts,
                    insecure_transport=self.connection.transport in ("http", "telnet"),
                    **parts,
                )
                status.raw = self.raw()
                status.raw["_poll_ms"] = round((time.monotonic() - started) * 1000, 1)
            finally:
                self._end_poll()
            status.reasons = dict(self._reasons)
            m.derive(status)  # values computed from the others (the configured output count)
            for path in m.missing_reasons(status):
                if status.reason(path) is None:
                    status.reasons[path] = NOT_REPORTED
            return status

    def poll(self) -> m.CodecStatus:
        """Open the session if needed and read the status; a failed session is closed for the next poll."""
        try:
            self.open()
            return self.read_status()
        except BaseException:
            self.close()
            raise


def _no_session(driver: str) -> DeviceError:
    return localized(DeviceError(f"{driver}: no open session"), "codec.err.no_session", driver=driver)
