"""The normalised codec status: what every driver returns, whatever the vendor.

Drivers (agent/vendors/<vendor>.py) fill these records from their device's own answers; the
checks (agent/checks/codec.py) and the report only ever see these records.  A value the device
does not expose is ``None`` *and* has an entry in :attr:`CodecStatus.reasons` under its dotted
path (``"registration.h323.status"``, ``"audio.mics[2].echo_control"``): never a guess.  A reason is
an ``agent.i18n.Text`` from the driver's catalogue (rendered in the report's language; a string in
JSON), with the device's own words as parameters.  A reason meaning "there is no video signal" has a
key ending in ``.no_signal`` (see :func:`is_no_signal`): the video check fails on it.

The JSON shape (``to_plain`` of :class:`CodecStatus`) is documented in docs/codec.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from agent.i18n import Text

# Normalised registration states (the raw device word is kept next to it).
REGISTERED = "registered"
REGISTERING = "registering"
FAILED = "failed"
INACTIVE = "inactive"  # enabled nowhere / not configured / switched off

# Normalised standby states.
AWAKE = "awake"
HALFWAKE = "halfwake"
STANDBY = "standby"


@dataclass
class Facts:
    vendor: str
    model: str | None = None
    software_version: str | None = None
    serial: str | None = None
    uptime_s: int | None = None
    name: str | None = None  # the system name set on the device


@dataclass
class NetworkInfo:
    ip: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    mac: str | None = None


@dataclass
class StandbyInfo:
    state: str | None = None  # AWAKE | HALFWAKE | STANDBY
    raw: str | None = None  # the device's own word ("Off", "Standby", "EnteringStandby", ...)


@dataclass
class RegistrationState:
    status: str | None = None  # REGISTERED | REGISTERING | FAILED | INACTIVE
    server: str | None = None  # gatekeeper (H.323) or registrar/proxy (SIP) the device reports
    configured_server: str | None = None  # the address set in the device's configuration
    raw: str | None = None
    reason: str | None = None  # the device's own failure reason, when it gives one


@dataclass
class Registration:
    h323: RegistrationState = field(default_factory=RegistrationState)
    sip: RegistrationState = field(default_factory=RegistrationState)


@dataclass
class Call:
    id: str
    remote: str | None = None
    protocol: str | None = None  # "h323" | "sip" | other device word, lower case
    direction: str | None = None  # "incoming" | "outgoing"
    status: str | None = None  # "connected" | "connecting" | "ringing" | "disconnecting" | ... (lower case)
    tx_rate_kbps: int | None = None
    rx_rate_kbps: int | None = None
    tx_video_format: str | None = None  # "1920x1080" (main video, outgoing)
    rx_video_format: str | None = None
    content_active: bool | None = None
    content_rate_kbps: int | None = None
    loss_percent: float | None = None  # worst channel, where the codec reports it
    jitter_ms: float | None = None  # worst channel, where the codec reports it


@dataclass
class CallRate:
    default_kbps: int | None = None  # configured default call rate
    max_tx_kbps: int | None = None
    max_rx_kbps: int | None = None


@dataclass
class Monitor:
    id: str
    role: str | None = None  # "First" | "Second" | "PresentationOnly" | ... (device word)
    resolution: str | None = None  # "1920x1080@60"
    connected: bool | None = None
    device: str | None = None  # the connected screen's name (EDID)


@dataclass
class Video:
    monitors_configured: str | None = None  # the device's monitor mode ("Auto", "Dual", "Single", ...)
    monitors: list[Monitor] = field(default_factory=list)
    main_source: str | None = None  # input source shown as main video
    presentation_source: str | None = None  # configured default presentation (content) source
    layout: str | None = None  # local layout family
    main_source_format: str | None = None  # "1920x1080@30": the main input's signal; None without a signal


@dataclass
class Mic:
    id: str
    connected: bool | None = None
    echo_control: bool | None = None


@dataclass
class Audio:
    mics_connected: int | None = None
    mics_total: int | None = None  # microphone inputs the device reports
    muted: bool | None = None
    volume: int | None = None  # 0..100
    volume_muted: bool | None = None  # loudspeaker muted
    mics: list[Mic] = field(default_factory=list)


@dataclass
class Preset:
    id: str
    name: str


@dataclass
class CodecStatus:
    vendor: str
    transport: str  # "ssh" | "https" | "http" | "telnet" | "snmp"
    facts: Facts
    network: NetworkInfo = field(default_factory=NetworkInfo)
    standby: StandbyInfo = field(default_factory=StandbyInfo)
    registration: Registration = field(default_factory=Registration)
    calls: list[Call] | None = None
    call_rate: CallRate = field(default_factory=CallRate)
    video: Video = field(default_factory=Video)
    audio: Audio = field(default_factory=Audio)
    presets: list[Preset] | None = None
    # dotted path of a None value -> why the device did not give it (a Text; a string in JSON)
    reasons: dict[str, Text | str] = field(default_factory=dict)
    insecure_transport: bool = False  # plain HTTP/Telnet: the report warns
    raw: dict[str, Any] = field(default_factory=dict)  # what was read, secrets redacted (diagnostics)

    @property
    def in_call(self) -> bool:
        return bool(self.calls)

    def reason(self, path: str) -> Text | str | None:
        """Why ``path`` is None, looking up the nearest documented parent too."""
        while path:
            if path in self.reasons:
                return self.reasons[path]
            path = path.rpartition(".")[0]
        return None


def is_no_signal(reason: Text | str | None) -> bool:
    """True for a reason that says the value is missing because there is no video signal."""
    if isinstance(reason, Text):
        return reason.key.endswith(".no_signal")
    return bool(reason) and str(reason).startswith("no signal")


def missing_reasons(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every None inside ``value`` (for the 'every null has a reason' rule)."""
    out: list[str] = []
    _walk_nones(value, path, out)
    return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds a tuple of Field objects on every call; a poll walks ~60 records.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("reasons", "raw"))
    return names


def _walk_nones(value: Any, path: str, out: list[str]) -> None:
    cls = type(value)
    if cls in _FIELD_NAMES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        for name in _field_names(cls):
            child = getattr(value, name)
            if child is None:
                out.append(f"{path}.{name}" if path else name)
            elif child.__class__ in _FIELD_NAMES or isinstance(child, list) or hasattr(child, "__dataclass_fields__"):
                _walk_nones(child, f"{path}.{name}" if path else name, out)
            # anything else (str, int, float, bool, dict) holds no record: nothing to walk
    elif isinstance(value, list):
        for item in value:
            key = getattr(item, "id", None)
            _walk_nones(item, f"{path}[{key}]" if key is not None else path, out)
