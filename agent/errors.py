"""The one exception tree of hntht-agent (httpx style: a single documented root).

    AgentError
    ├── ConfigError              bad or missing configuration (exit 78, EX_CONFIG)
    ├── ProbeError               a probe could not produce a status
    │   ├── ProbeTimeout         the runner's hard deadline expired
    │   ├── PermissionDenied     the OS refused (ICMP socket, serial port, ...)
    │   └── DeviceError          anything about talking to a device
    │       ├── DeviceUnreachable    no route, refused, timed out before a session
    │       ├── DeviceAuthError      login refused
    │       ├── HostKeyMismatch      pinned SSH key / TLS certificate changed
    │       ├── CertificateUntrusted the configured CA does not vouch for the TLS certificate
    │       └── ProtocolError        the device answered something we cannot parse
    └── CollectorError           talking to the central collector
        ├── CollectorUnavailable network error, 408/429/5xx: retry later
        ├── CollectorAuthError   401/403: keep the records, raise an alarm
        └── CollectorRejected    400/413/422: quarantine the records

Messages never contain secrets: callers pass only what is safe to show, and
the logging layer redacts every loaded secret value as a second line of defence.

``str(error)`` is English: it goes to logs and to the report's ``probes.<name>.error``.  What a
technician reads in a check message is :func:`shown`: the error's ``.text`` (an
``agent.i18n.Text``, rendered in the report's language) when the raiser gave one, else ``str(error)``.
An error may also carry ``.remedy`` (a Text): what to do about it.
"""

from __future__ import annotations

from typing import Any


class AgentError(Exception):
    """Root of every error hntht-agent raises on purpose."""


def shown(error: BaseException) -> Any:
    """What a check message says about ``error``: its ``.text`` (a Text in the reader's language), else str()."""
    return getattr(error, "text", None) or str(error)


class ConfigError(AgentError):
    """A configuration problem, always naming the file, the key, what was found and what is allowed."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ""
        if file and key:
            where = f"{file}: [{key}] "
        elif file:
            where = f"{file}: "
        elif key:
            where = f"[{key}] "
        super().__init__(f"{where}{message}")
        self.detail = message


class ProbeError(AgentError):
    """A probe failed to produce a normalised status."""


class ProbeTimeout(ProbeError):
    def __init__(self, probe: str, seconds: float) -> None:
        self.probe = probe
        self.seconds = seconds
        super().__init__(f"probe {probe!r} gave no answer within {seconds:g} s")


class PermissionDenied(ProbeError):
    """The operating system refused an operation; the message says what to grant."""


class DeviceError(ProbeError):
    """Talking to a device (codec, UPS) failed."""


class DeviceUnreachable(DeviceError):
    """No session could be opened: refused, no route, or timed out."""


class DeviceAuthError(DeviceError):
    """The device refused our credentials."""


class HostKeyMismatch(DeviceError):
    """The device presented a different SSH host key or TLS certificate than the pinned one."""


class CertificateUntrusted(DeviceError):
    """The TLS certificate is not vouched for by the configured CA (another CA, expired, another name):
    nothing needs to have changed, so this is not a HostKeyMismatch."""


class ProtocolError(DeviceError):
    """The device answered, but not in a form we understand (garbage, truncated, unexpected)."""


class CollectorError(AgentError):
    """Talking to the central collector failed."""


class CollectorUnavailable(CollectorError):
    """Network error or a transient status (408, 429, 5xx): retry with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CollectorAuthError(CollectorError):
    """401/403: the room token is unknown, disabled or belongs to another room."""


class CollectorRejected(CollectorError):
    """400/413/422: the collector will never accept these records as they are."""
