"""The normalised codec status: what every driver returns, whatever the vendor.

Drivers (agent/vendors/<vendor>.py) fill these records from their device's own answers; the
checks (agent/checks/codec.py) and the report only ever see these records.  A value the device
does not expose is ``None`` *and* has an entry in :attr:`CodecStatus.reasons` under its dotted
path (``"registration.h323.status"``, ``"audio.mics[2].echo_control"``): never a guess.  A reason is
an ``agent.i18n.Text`` from the driver's catalogue (rendered in the report's language; a string in
JSON), with the device's own words as parameters.  A reason meaning "there is no video signal" has a
key ending in ``.no_signal`` (see :func:`is_no_signal`): the video check fails on it.  A reason whose
key is in :data:`API_LIMITS` means "this model / API cannot report it" (see :func:`is_api_limit`): a
check that needs the value is skipped with a by-hand instruction; any other reason ("could not read it
this time": no answer, a refusal, a call being set up) makes it an error.

The JSON shape (``to_plain`` of :class:`CodecStatus`) is documented in docs/codec.md.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from agent.i18n import Text, register

register(
    {
        "codec.count.auto": (
            "chế độ hiển thị Auto: thiết bị đầu cuối dùng bao nhiêu cổng ra tùy số màn hình được cắm, không có "
            "số lượng cài đặt cố định",
            "monitor mode Auto: the codec uses as many outputs as screens are plugged in; no configured count",
        ),
        "codec.count.odd_mode": (
            "chế độ hiển thị {mode} không cho biết số cổng ra màn hình",
            "the monitor mode {mode} does not say how many outputs are configured",
        ),
        "codec.count.output_unread": (
            "không đọc được cài đặt của cổng ra {id} ({why})",
            "the setting of output {id} was not read ({why})",
        ),
    }
)

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
    # outputs the configuration drives (Single 1, Dual 2, Triple 3; Poly GS: outputs not switched off);
    # null for Auto (as many as screens are plugged in) or an unknown mode, with the reason
    monitors_configured_count: int | None = None
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
    def in_call(self) -> bool | None:
        """True in a call, False idle, None when the device did not give its calls (see ``reasons["calls"]``:
        e.g. a Cisco reporting active calls without their details)."""
        if self.calls is None:
            return None
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


# Reason keys (drivers' catalogue keys) that mean "this model / API cannot report the value": it is not
# among the API's reads at all, or only in another state (the video format only during a call).  Keys,
# never the English text; tests/codec/test_checks.py checks every one is a registered key, so a renamed key
# fails there instead of silently turning a skip into an error.  A reason not listed here ("not answered",
# "refused", "deferred while a call is set up", a missing line in an answer) means "could not read it this
# time" and stays an error.
API_LIMITS: frozenset[str] = frozenset({
    # Poly Group Series text API
    "codec.gs.no_standby", "codec.gs.no_presets", "codec.gs.plug_unknown", "codec.gs.format_in_call_only",
    "codec.gs.no_mac", "codec.gs.no_content_channel", "codec.gs.no_max_rates", "codec.gs.mics_any_only",
    "codec.gs.no_speaker_mute", "codec.gs.not_read", "codec.gs.no_failure_reason",
    # Poly VideoOS REST
    "codec.rest.no_call_rate", "codec.rest.no_screens", "codec.rest.format_in_call_only", "codec.rest.no_presets",
    "codec.rest.not_in_reads", "codec.rest.not_among_reads", "codec.rest.no_echo", "codec.rest.no_speaker_mute",
    "codec.rest.no_failure_reason", "codec.rest.no_mediastats",
    # SNMP fallback
    "codec.snmp.no_standby", "codec.snmp.no_call_rate", "codec.snmp.no_screens", "codec.snmp.no_presets",
    "codec.snmp.not_over_snmp", "codec.snmp.not_in_mib", "codec.snmp.no_format", "codec.snmp.call_details",
    "codec.snmp.no_registration_mib", "codec.snmp.no_mic_objects", "codec.snmp.no_software_mib",
    "codec.snmp.no_video_mib", "codec.snmp.no_call_mib",
    # Cisco xAPI: models without the setting, calls whose details the codec hides (Teams/Webex)
    "codec.cisco.builtin_echo", "codec.cisco.no_mic_echo", "codec.cisco.no_volume_mute", "codec.cisco.no_layout",
    "codec.cisco.hidden_calls",
    # derived counts
    "codec.count.auto",
})


def is_api_limit(reason: Text | str | None) -> bool:
    """True for a reason meaning "this model / API cannot report it" (not "could not read it this time")."""
    return isinstance(reason, Text) and reason.key in API_LIMITS


# Cisco's xConfiguration Video Monitors value space (codecs.md §1) and Poly GS's words for its enabled outputs.
_MODE_OUTPUTS = {"single": 1, "dual": 2, "dualpresentationonly": 2, "triple": 3, "triplepresentationonly": 3,
                 "off": 0}
_OUTPUT_ENTRY = re.compile(r"video\.monitors\[([^\]]+)\]")


def unread_outputs(status: "CodecStatus") -> list[str]:
    """Paths ``video.monitors[<id>]`` of outputs whose whole entry has a reason: not read (Poly GS
    ``configdisplay monitorN get`` unanswered or refused), so the mode and count cannot be told."""
    return [path for path in status.reasons if _OUTPUT_ENTRY.fullmatch(path)]


def configured_outputs(status: "CodecStatus") -> tuple[int | None, Text | str | None]:
    """How many video outputs the configuration drives, or None and why (never a guess).

    From the monitor mode word: Single 1, Dual / DualPresentationOnly 2, Triple / TriplePresentationOnly 3
    (Cisco); the Poly Group Series driver names its enabled outputs' count the same way (Off 0, Single 1,
    Dual 2), so an output whose setting was not read leaves the count unknown.  Auto has no fixed count.
    """
    video = status.video
    if video.monitors_configured is None:
        return None, status.reason("video.monitors_configured") or status.reason("video.monitors")
    for path in unread_outputs(status):
        ident = _OUTPUT_ENTRY.fullmatch(path).group(1)  # type: ignore[union-attr]
        return None, Text("codec.count.output_unread", id=ident, why=status.reasons[path])
    word = "".join(video.monitors_configured.split()).lower()
    if word == "auto":
        return None, Text("codec.count.auto")
    if word in _MODE_OUTPUTS:
        return _MODE_OUTPUTS[word], None
    return None, Text("codec.count.odd_mode", mode=repr(video.monitors_configured))


def derive(status: "CodecStatus") -> None:
    """Fill the values computed from others (after a driver's poll, before the null-reason walk)."""
    count, why = configured_outputs(status)
    status.video.monitors_configured_count = count
    if count is None and why is not None:
        status.reasons.setdefault("video.monitors_configured_count", why)


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
