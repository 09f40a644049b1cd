"""Cisco CE 9.x / RoomOS 10-11 (SX, MX, Room Kit, Room Bar, Board) through the xAPI.

Transports:
- ``ssh``: the codec's TSH shell (keyboard-interactive login, host key pinned first).  After the
  welcome banner's ``OK`` the driver sends ``echo off`` then ``xPreferences OutputMode JSON``; a
  codec without JSON output (TC 7) stays in terminal mode (``*s``/``*c`` lines).  Each command is
  tagged ``| resultId="N"`` in JSON mode so an answer is matched to its command.
- ``https`` (``http`` only with allow_insecure): the XMLAPI; ``/xmlapi/session/begin`` once per
  session (the codec has few session slots; ``close()`` always ends it), then ``GET /status.xml``,
  ``GET /configuration.xml`` and the preset list through ``POST /putxml``.

One poll = three reads: the whole status, the whole configuration, the camera preset list.  Field
names follow CE 9 and RoomOS 11; a node a model lacks (Room Kit/Bar: no per-microphone EchoControl;
no H323 node when H.323 is off) becomes null with a reason.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from agent.errors import DeviceAuthError, DeviceError, DeviceUnreachable, ProtocolError, shown
from agent.i18n import Text, register, render
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, NotExposed, Wire, localized
from agent.vendors.cisco_tree import Tree, decode_json_stream, flatten_json, flatten_terminal, flatten_xml

# Why a value is null, in both languages (English as the JSON case files record it).
register(
    {
        "codec.cisco.no_status": ("thiết bị đầu cuối không trả về trạng thái ({why})", "the codec returned no status ({why})"),
        "codec.cisco.empty_answer": ("câu trả lời rỗng", "empty answer"),
        "codec.cisco.no_answer": ("không có trả lời", "no answer"),
        "codec.cisco.empty": ("rỗng", "empty"),
        "codec.cisco.no_network": ("thiết bị đầu cuối không báo trạng thái mạng (Network)", "the codec reports no Network status"),
        "codec.cisco.no_ipv4": (
            "thiết bị đầu cuối chưa có địa chỉ IPv4 (đang chờ DHCP hoặc chưa cắm cáp mạng)",
            "the codec has no IPv4 address (DHCP pending or no link)",
        ),
        "codec.cisco.no_standby": ("thiết bị đầu cuối không báo trạng thái chờ (Standby)", "the codec reports no Standby state"),
        "codec.cisco.odd_standby": ("trạng thái chờ lạ {raw}", "unknown standby state {raw}"),
        "codec.cisco.no_h323": (
            "thiết bị đầu cuối không báo trạng thái H323 (H.323 đang tắt, chưa có bản quyền, hoặc kiểu máy không hỗ trợ)",
            "the codec reports no H323 status (H.323 switched off, not licensed, or not on this model)",
        ),
        "codec.cisco.no_h323_short": ("không có trạng thái H323", "no H323 status"),
        "codec.cisco.no_sip": ("thiết bị đầu cuối không báo trạng thái đăng ký SIP", "the codec reports no SIP registration status"),
        "codec.cisco.hidden_calls": (
            "thiết bị đầu cuối báo {active} cuộc gọi đang diễn ra nhưng không cho chi tiết "
            "(ví dụ cuộc gọi Microsoft Teams hoặc Webex)",
            "the codec reports {active} active call(s) but no call details (e.g. a Microsoft Teams or Webex call)",
        ),
        "codec.cisco.no_presentation": ("không có trạng thái Conference Presentation", "no Conference Presentation status"),
        "codec.cisco.no_media": (
            "thiết bị đầu cuối không báo MediaChannels cho cuộc gọi này (cần phần mềm CE 8.3 trở lên)",
            "the codec reports no MediaChannels for this call (needs CE 8.3 or later)",
        ),
        "codec.cisco.no_content": ("không có trình chiếu dữ liệu", "no content is being shared"),
        "codec.cisco.no_config": (
            "không đọc được cấu hình ({why})",
            "the configuration could not be read ({why})",
        ),
        "codec.cisco.no_config_short": ("không đọc được cấu hình", "the configuration could not be read"),
        "codec.cisco.output.no_signal": ("cổng ra này không có tín hiệu", "no signal on this output"),
        "codec.cisco.no_edid": (
            "không nhận ra màn hình trên cổng ra này (EDID)",
            "no screen identified on this output (EDID)",
        ),
        "codec.cisco.no_outputs": ("thiết bị đầu cuối không báo cổng ra hình ảnh nào", "the codec reports no video outputs"),
        "codec.cisco.no_layout": (
            "thiết bị đầu cuối không báo bố cục hiển thị (chỉ có khi đang trong cuộc gọi)",
            "the codec reports no local layout (only shown during a call)",
        ),
        "codec.cisco.no_main_source": ("thiết bị đầu cuối không báo nguồn hình ảnh chính", "the codec reports no main video source"),
        "codec.cisco.main.no_signal": (
            "không có tín hiệu trên nguồn hình ảnh chính {main} (FormatStatus={state})",
            "no signal on main source {main} (FormatStatus={state})",
        ),
        "codec.cisco.builtin_echo": (
            "{model} không có cài đặt EchoControl cho từng micro (micro tích hợp luôn bật chế độ triệt vọng)",
            "{model} has no per-microphone EchoControl setting (built-in microphones with always-on echo cancellation)",
        ),
        "codec.cisco.this_model": ("kiểu máy này", "this model"),
        "codec.cisco.no_mic_state": (
            "thiết bị đầu cuối không báo trạng thái kết nối của micro này",
            "the codec reports no connection state for it",
        ),
        "codec.cisco.no_mic_echo": ("{model} không có cài đặt EchoControl cho micro này", "{model} has no EchoControl setting for it"),
        "codec.cisco.no_mic_status": (
            "thiết bị đầu cuối không báo trạng thái các cổng micro",
            "the codec reports no microphone connector status",
        ),
        "codec.cisco.no_volume_mute": (
            "phần mềm này không có trạng thái VolumeMute",
            "no VolumeMute status on this software",
        ),
        "codec.cisco.no_presets": ("không có danh sách preset ({why})", "the preset list is not available ({why})"),
        "codec.cisco.not_started": (
            "thiết bị đầu cuối đã mở shell nhưng phần mềm hệ thống chưa chạy (đang khởi động?)",
            "the codec's shell is up but its system software is not (still starting?)",
        ),
        "codec.cisco.is_poly": (
            "đây là thiết bị Poly, không phải Cisco: đặt [codec] vendor = \"poly-gs\"",
            "this is a Poly codec, not a Cisco one: set [codec] vendor = \"poly-gs\"",
        ),
        "codec.cisco.answered_error": ("thiết bị đầu cuối trả lời ERROR cho {command}", "the codec answered ERROR to {command}"),
        "codec.cisco.role": (
            "thiết bị đầu cuối từ chối {command} (HTTP {code}): tài khoản cần vai trò ADMIN hoặc INTEGRATOR",
            "the codec refused {command} (HTTP {code}): the account needs the ADMIN or INTEGRATOR role",
        ),
    }
)

# Read-only: exactly what the driver sends, nothing wider.  A poll reads the whole status and the whole
# configuration (bare xStatus / xConfiguration: no path, so no "xConfiguration Video Monitors Single"
# with or without a colon can pass), the camera preset *list*, and the SSH session's two preferences.
PRESET_LIST = "xCommand Camera Preset List"
ALLOWED = AllowList(
    "cisco",
    r"echo off",
    r"xPreferences OutputMode (?:JSON|Terminal)",  # Terminal: TC 7 / CE < 8.1 refuse JSON
    r"xStatus",
    r"xConfiguration",
    re.escape(PRESET_LIST),
)

PRESET_LIST_XML = "<Command><Camera><Preset><List/></Preset></Camera></Command>"
MAX_ANSWER = 8 * 1024 * 1024
SECRET_LEAF = re.compile(r"(?i)(password|passphrase|communityname|secret|token|privatekey|psk)$")


class CiscoDriver(CodecDriver):
    name = "cisco"
    vendor = "cisco"
    ALLOWED = ALLOWED
    transports = ("ssh", "https", "http")

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._trees: dict[str, Tree | None] = {}
        self._errors: dict[str, str] = {}
        self.output_mode = "json"

    # -- session ------------------------------------------------------------------------------
    def _open_wire(self) -> Wire:
        if self.connection.transport == "ssh":
            return _SshWire(self.connection, self)
        return _HttpWire(self.connection)

    def open(self) -> None:
        with self._lock:
            fresh = not self.is_open
            super().open()
            if fresh and self.connection.transport == "ssh":
                try:
                    self._prepare_shell()
                except BaseException:
                    self.close()
                    raise

    def poll(self) -> m.CodecStatus:
        """One poll; a session kept from an earlier poll that the codec has since ended (reboot, idle
        timeout: the SSH channel is closed) is replaced once by a fresh one, so a codec that is up is not
        reported unreachable.  A fresh session that fails is the real answer."""
        kept = self.is_open
        try:
            return super().poll()
        except DeviceUnreachable:
            if not kept:
                raise
        return super().poll()

    def _prepare_shell(self) -> None:
        self.send("echo off")
        try:
            self.send("xPreferences OutputMode JSON")
            self.output_mode = "json"
        except _CommandError:
            self.output_mode = "terminal"  # TC 7 and CE < 8.1 have no JSON output
            self.send("xPreferences OutputMode Terminal")

    # -- reads shared by the getters ----------------------------------------------------------
    def _begin_poll(self) -> None:
        self._trees = {}
        self._errors = {}

    def _end_poll(self) -> None:
        self._trees = {}

    def _tree(self, which: str) -> Tree | None:
        if which not in self._trees:
            command = {"status": "xStatus", "config": "xConfiguration", "presets": PRESET_LIST}[which]
            try:
                self._trees[which] = self.send(command)
            except _CommandError as exc:
                self._trees[which] = None
                self._errors[which] = shown(exc)
        return self._trees[which]

    def _status(self) -> Tree:
        tree = self._tree("status")
        if tree is None or not any(key.startswith("Status.") for key in tree):
            english = render(self._errors.get("status"), "en") or "empty answer"
            raise localized(ProtocolError(f"the codec returned no status ({english})"),
                            "codec.cisco.no_status", why=self._errors.get("status") or Text("codec.cisco.empty_answer"))
        return tree

    def _config(self) -> Tree:
        tree = self._tree("config")
        if tree is None:
            return Tree()
        return tree

    def raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for which in ("status", "config", "presets"):
            tree = self._trees.get(which)
            if tree:
                for key, value in tree.items():
                    out[key] = "***" if value and _secret_leaf(key) else value
        return out

    # -- getters ------------------------------------------------------------------------------
    def get_facts(self) -> m.Facts:
        s, c = self._status(), self._config()
        facts = m.Facts(
            vendor="cisco",
            model=_t(s, "Status.SystemUnit.ProductId"),
            software_version=_t(s, "Status.SystemUnit.Software.Version"),
            serial=_t(s, "Status.SystemUnit.Hardware.Module.SerialNumber") or _t(s, "Status.SystemUnit.Hardware.SerialNumber"),
            uptime_s=_int(s, "Status.SystemUnit.Uptime"),
            name=_t(c, "Configuration.SystemUnit.Name") or _t(s, "Status.SystemUnit.BroadcastName")
            or _t(s, "Status.UserInterface.ContactInfo.Name"),
        )
        return facts

    def get_network(self) -> m.NetworkInfo:
        s = self._status()
        nets = s.items_of("Status.Network")
        if not nets:
            raise NotExposed(Text("codec.cisco.no_network"))
        base = next(iter(nets.values()))
        info = m.NetworkInfo(
            ip=_t(s, f"{base}.IPv4.Address"),
            netmask=_t(s, f"{base}.IPv4.SubnetMask"),
            gateway=_t(s, f"{base}.IPv4.Gateway"),
            mac=_t(s, f"{base}.Ethernet.MacAddress"),
        )
        if info.ip is None and s.get(f"{base}.IPv4.Address") == "":
            self.not_exposed("network.ip", Text("codec.cisco.no_ipv4"))
        return info

    def get_standby(self) -> m.StandbyInfo:
        s = self._status()
        raw = _t(s, "Status.Standby.State")
        if raw is None and _t(s, "Status.Standby.Active") is not None:  # TC 7
            raw = "Standby" if _t(s, "Status.Standby.Active") == "On" else "Off"
        if raw is None:
            raise NotExposed(Text("codec.cisco.no_standby"))
        state = {"off": m.AWAKE, "halfwake": m.HALFWAKE, "standby": m.STANDBY, "enteringstandby": m.STANDBY}.get(raw.lower())
        if state is None:
            self.not_exposed("standby.state", Text("codec.cisco.odd_standby", raw=repr(raw)))
        return m.StandbyInfo(state=state, raw=raw)

    def get_registration(self) -> m.Registration:
        s, c = self._status(), self._config()
        h323 = m.RegistrationState(configured_server=_t(c, "Configuration.H323.Gatekeeper.Address"))
        raw = _t(s, "Status.H323.Gatekeeper.Status")
        if raw is None:
            self.not_exposed("registration.h323.status", Text("codec.cisco.no_h323"))
            self.not_exposed("registration.h323.server", Text("codec.cisco.no_h323_short"))
            self.not_exposed("registration.h323.raw", Text("codec.cisco.no_h323_short"))
        else:
            h323.raw = raw
            h323.status = _H323.get(raw.lower())
            h323.server = _t(s, "Status.H323.Gatekeeper.Address")
            h323.reason = _t(s, "Status.H323.Gatekeeper.Reason")
        sip = m.RegistrationState(configured_server=_first(c, "Configuration.SIP.Proxy", "Address"))
        regs = s.items_of("Status.SIP.Registration")
        if not regs:
            self.not_exposed("registration.sip.status", Text("codec.cisco.no_sip"))
        else:
            base = next(iter(regs.values()))
            sip.raw = _t(s, f"{base}.Status")
            sip.status = _SIP.get((sip.raw or "").lower())
            sip.server = _first(s, "Status.SIP.Proxy", "Address")
            sip.reason = _t(s, f"{base}.Reason")
        return m.Registration(h323=h323, sip=sip)

    def get_calls(self) -> list[m.Call]:
        s = self._status()
        calls: list[m.Call] = []
        for ident, base in s.items_of("Status.Call").items():
            if s.get(f"{base}._ghost") == "True":
                continue  # an ended call the codec still announces (ghost)
            call = m.Call(
                id=ident,
                remote=_t(s, f"{base}.RemoteNumber") or _t(s, f"{base}.DisplayName"),
                protocol=(_t(s, f"{base}.Protocol") or "").lower() or None,
                direction=(_t(s, f"{base}.Direction") or "").lower() or None,
                status=(_t(s, f"{base}.Status") or "").lower() or None,
                tx_rate_kbps=_int(s, f"{base}.TransmitCallRate"),
                rx_rate_kbps=_int(s, f"{base}.ReceiveCallRate"),
            )
            self._media(s, call)
            calls.append(call)
        active = _int(s, "Status.SystemUnit.State.NumberOfActiveCalls") or 0
        if not calls and active > 0:
            raise NotExposed(Text("codec.cisco.hidden_calls", active=active))
        return calls

    def _media(self, s: Tree, call: m.Call) -> None:
        channels = s.items_of(f"Status.MediaChannels.Call[{call.id}].Channel")
        presentation = _t(s, "Status.Conference.Presentation.Mode")
        call.content_active = None if presentation is None else presentation in ("Sending", "Receiving")
        if presentation is None:
            self.not_exposed(f"calls[{call.id}].content_active", Text("codec.cisco.no_presentation"))
        if not channels:
            why = Text("codec.cisco.no_media")
            for name in ("tx_video_format", "rx_video_format", "content_rate_kbps", "loss_percent", "jitter_ms"):
                self.not_exposed(f"calls[{call.id}].{name}", why)
            return
        losses: list[float] = []
        jitters: list[float] = []
        for base in channels.values():
            direction = (_t(s, f"{base}.Direction") or "").lower()
            kind = (_t(s, f"{base}.Type") or "").lower()
            role = _t(s, f"{base}.Video.ChannelRole") or ""
            packets = _int(s, f"{base}.Netstat.Packets")
            lost = _int(s, f"{base}.Netstat.Loss")
            if packets and lost is not None:
                losses.append(100.0 * lost / (packets + lost))
            jitter = _int(s, f"{base}.Netstat.MaxJitter")
            if jitter is not None:
                jitters.append(float(jitter))
            if kind != "video":
                continue
            x, y = _int(s, f"{base}.Video.ResolutionX"), _int(s, f"{base}.Video.ResolutionY")
            fmt = f"{x}x{y}" if x and y else None
            if role == "Main":
                if direction == "outgoing":
                    call.tx_video_format = fmt
                elif direction == "incoming":
                    call.rx_video_format = fmt
            elif role == "Presentation":
                wanted = "outgoing" if presentation == "Sending" else "incoming"
                rate = _int(s, f"{base}.Netstat.ChannelRate")
                if direction == wanted and rate is not None and call.content_active:
                    call.content_rate_kbps = round(rate / 1000)
        call.loss_percent = round(max(losses), 2) if losses else None
        call.jitter_ms = max(jitters) if jitters else None
        if call.content_active is False:
            self.not_exposed(f"calls[{call.id}].content_rate_kbps", Text("codec.cisco.no_content"))

    def get_call_rate(self) -> m.CallRate:
        c = self._config()
        if not c:
            raise NotExposed(Text("codec.cisco.no_config", why=self._errors.get("config") or Text("codec.cisco.empty")))
        return m.CallRate(
            default_kbps=_int(c, "Configuration.Conference.DefaultCall.Rate"),
            max_tx_kbps=_int(c, "Configuration.Conference.MaxTransmitCallRate"),
            max_rx_kbps=_int(c, "Configuration.Conference.MaxReceiveCallRate"),
        )

    def get_monitors(self) -> list[m.Monitor]:
        s = self._status()
        monitors = []
        for ident, base in s.items_of("Status.Video.Output.Connector").items():
            monitors.append(m.Monitor(
                id=ident,
                role=_t(s, f"{base}.MonitorRole"),
                resolution=_resolution(s, f"{base}.Resolution"),
                connected=_bool(s, f"{base}.Connected"),
                device=_t(s, f"{base}.ConnectedDevice.Name"),
            ))
            if monitors[-1].resolution is None:
                self.not_exposed(f"video.monitors[{ident}].resolution", Text("codec.cisco.output.no_signal"))
            if monitors[-1].device is None:
                self.not_exposed(f"video.monitors[{ident}].device", Text("codec.cisco.no_edid"))
        if not monitors:
            raise NotExposed(Text("codec.cisco.no_outputs"))
        return monitors

    def get_video(self) -> m.Video:
        s, c = self._status(), self._config()
        try:
            monitors = self.get_monitors()
        except NotExposed as exc:
            monitors = []
            self.not_exposed("video.monitors", exc.reason or str(exc))
        main = _t(s, "Status.Video.Input.MainVideoSource")
        video = m.Video(
            monitors_configured=_t(c, "Configuration.Video.Monitors"),
            monitors=monitors,
            main_source=main,
            presentation_source=_t(c, "Configuration.Video.Presentation.DefaultSource"),
            layout=_t(s, "Status.Video.Layout.LayoutFamily.Local") or _t(s, "Status.Video.Layout.CurrentLayouts.ActiveLayout"),
        )
        if video.layout is None:
            self.not_exposed("video.layout", Text("codec.cisco.no_layout"))
        if main is None:
            self.not_exposed("video.main_source_format", Text("codec.cisco.no_main_source"))
        else:
            source = f"Status.Video.Input.Source[{main}]"
            state = _t(s, f"{source}.FormatStatus")
            fmt = _resolution(s, f"{source}.Resolution")
            if state is not None and state != "Ok" or fmt is None:
                self.not_exposed("video.main_source_format", Text("codec.cisco.main.no_signal", main=main, state=state or "?"))
            else:
                video.main_source_format = fmt
        return video

    def get_audio(self) -> m.Audio:
        s, c = self._status(), self._config()
        mics: dict[str, m.Mic] = {}
        for ident, base in s.items_of("Status.Audio.Input.Connectors.Microphone").items():
            mics[ident] = m.Mic(ident, connected=_t(s, f"{base}.ConnectionStatus") == "Connected")
        configured = c.items_of("Configuration.Audio.Input.Microphone")
        for ident, base in configured.items():
            mic = mics.setdefault(ident, m.Mic(ident))
            mode = _t(c, f"{base}.EchoControl.Mode")
            mic.echo_control = None if mode is None else mode == "On"
        model = _t(s, "Status.SystemUnit.ProductId") or Text("codec.cisco.this_model")
        if not any(mic.echo_control is not None for mic in mics.values()):
            why = Text("codec.cisco.builtin_echo", model=model) if c else Text("codec.cisco.no_config_short")
            self.not_exposed("audio.echo_control", why)
        for mic in mics.values():
            if mic.connected is None:
                self.not_exposed(f"audio.mics[{mic.id}].connected", Text("codec.cisco.no_mic_state"))
            if mic.echo_control is None:
                self.not_exposed(f"audio.mics[{mic.id}].echo_control", Text("codec.cisco.no_mic_echo", model=model))
        status_mics = s.items_of("Status.Audio.Input.Connectors.Microphone")
        audio = m.Audio(
            mics_connected=sum(1 for mic in mics.values() if mic.connected) if status_mics else None,
            mics_total=len(status_mics) if status_mics else None,
            muted=_onoff(s, "Status.Audio.Microphones.Mute"),
            volume=_int(s, "Status.Audio.Volume"),
            volume_muted=_onoff(s, "Status.Audio.VolumeMute"),
            mics=list(mics.values()),
        )
        if not status_mics:
            self.not_exposed("audio.mics_connected", Text("codec.cisco.no_mic_status"))
            self.not_exposed("audio.mics_total", Text("codec.cisco.no_mic_status"))
        if audio.volume_muted is None:
            self.not_exposed("audio.volume_muted", Text("codec.cisco.no_volume_mute"))
        return audio

    def get_presets(self) -> list[m.Preset]:
        tree = self._tree("presets")
        presets: list[m.Preset] = []
        if tree is not None:
            result = next((k.rsplit(".", 1)[0] for k in tree if k.endswith("._status")), None)
            base = result or "Command.CameraPresetListResult"
            for ident, item in tree.items_of(f"{base}.Preset").items():
                presets.append(m.Preset(id=_t(tree, f"{item}.PresetId") or ident, name=tree.get(f"{item}.Name", "")))
            return presets
        # Old software without the camera preset list: the legacy presets in the status tree.
        s = self._status()
        legacy = s.items_of("Status.Preset") or s.items_of("Status.RoomPreset")
        if not legacy:
            raise NotExposed(Text("codec.cisco.no_presets", why=self._errors.get("presets") or Text("codec.cisco.no_answer")))
        for ident, base in legacy.items():
            if _t(s, f"{base}.Defined") == "True":
                presets.append(m.Preset(id=ident, name=s.get(f"{base}.Description", "")))
        return presets


class _CommandError(DeviceError):
    """The codec answered ERROR / status=Error to a (read) command."""


_H323 = {"registered": m.REGISTERED, "registering": m.REGISTERING, "discovering": m.REGISTERING,
         "discovered": m.REGISTERING, "authenticating": m.REGISTERING, "authenticated": m.REGISTERING,
         "required": m.REGISTERING, "rejected": m.FAILED, "inactive": m.INACTIVE}
_SIP = {"registered": m.REGISTERED, "registering": m.REGISTERING, "failed": m.FAILED,
        "inactive": m.INACTIVE, "deregister": m.INACTIVE, "off": m.INACTIVE}


_SECRET_KEYS: dict[str, bool] = {}


def _secret_leaf(key: str) -> bool:
    """Whether the leaf name of ``key`` names a secret (remembered: the same keys come every poll)."""
    secret = _SECRET_KEYS.get(key)
    if secret is None:
        secret = SECRET_LEAF.search(key.split(".")[-1].split("[")[0]) is not None
        if len(_SECRET_KEYS) >= 20_000:
            _SECRET_KEYS.clear()
        _SECRET_KEYS[key] = secret
    return secret


# -- small readers ------------------------------------------------------------------------------
def _t(tree: Tree, path: str) -> str | None:
    value = tree.get(path)
    return value if value else None


def _int(tree: Tree, path: str) -> int | None:
    value = tree.get(path)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"{path} is {value[:30]!r}, not a number") from None


def _bool(tree: Tree, path: str) -> bool | None:
    value = tree.get(path)
    return None if value in (None, "", "Unknown") else value == "True"


def _onoff(tree: Tree, path: str) -> bool | None:
    value = tree.get(path)
    return None if value in (None, "") else value == "On"


def _first(tree: Tree, prefix: str, leaf: str) -> str | None:
    for base in tree.items_of(prefix).values():
        value = _t(tree, f"{base}.{leaf}")
        if value:
            return value
    return None


def _resolution(tree: Tree, base: str) -> str | None:
    w, h, r = _int(tree, f"{base}.Width"), _int(tree, f"{base}.Height"), _int(tree, f"{base}.RefreshRate")
    if not w or not h:
        return None
    return f"{w}x{h}@{r}" if r else f"{w}x{h}"


# -- wires ---------------------------------------------------------------------------------------
class _SshWire:
    """The TSH shell over one SSH channel."""

    def __init__(self, connection: Connection, driver: CiscoDriver) -> None:
        from agent.vendors.pinning import ssh_shell

        self.connection = connection
        self.driver = driver
        self.timeout = connection.timeout
        self.channel = ssh_shell(connection)  # OpenSSH child or paramiko channel (pinning.ssh_client)
        self.buffer = ""
        self.counter = 0
        try:
            banner = self._read_until(lambda buf: _ok_line(buf) is not None, "the login banner")
            if "Failed to connect to system software" in banner:
                raise localized(ProtocolError("the codec's shell is up but its system software is not (still starting?)"),
                                "codec.cisco.not_started")
            if "Hi, my name is" in banner:
                raise localized(ProtocolError("this is a Poly codec, not a Cisco one: set [codec] vendor = \"poly-gs\""),
                                "codec.cisco.is_poly")
            self.buffer = self.buffer[_ok_line(self.buffer):]
        except BaseException:
            self.channel.close()
            raise

    def exchange(self, command: str) -> Any:
        json_mode = self.driver.output_mode == "json" and command.startswith("x") and not command.startswith("xPreferences")
        try:
            self.counter += 1
            tag = f"hntht-{self.counter}"
            line = f'{command} | resultId="{tag}"' if json_mode else command
            self.channel.sendall((line + "\n").encode("ascii"))
            if json_mode:
                return self._read_json(tag, command)
            end = self._read_answer(command)
            answer, self.buffer = self.buffer[:end], self.buffer[end:]
            verdict = answer.rstrip().rsplit("\n", 1)[-1].strip()
            if verdict == "ERROR":
                raise localized(_CommandError(f"the codec answered ERROR to {command!r}"), "codec.cisco.answered_error",
                                command=repr(command))
            if command.startswith("x") and not command.startswith("xPreferences"):
                return flatten_terminal(answer)
            return answer
        except (socket.timeout, TimeoutError):
            raise localized(ProtocolError(f"the codec did not answer {command!r} within {self.timeout:g} s"),
                            "codec.err.timeout", what=repr(command), seconds=self.timeout) from None
        except OSError as exc:
            raise localized(DeviceUnreachable(f"the SSH session to the codec broke: {exc}"),
                            "codec.err.broken", transport="SSH", error=str(exc)) from None

    def _read_json(self, tag: str, command: str) -> Tree:
        deadline = time.monotonic() + self.timeout
        while True:
            consumed = 0
            for obj, end in decode_json_stream(self.buffer):
                consumed = end
                if isinstance(obj, dict) and obj.get("ResultId") == tag:
                    self.buffer = self.buffer[end:]
                    response = obj.get("CommandResponse")
                    if isinstance(response, dict):
                        for result in response.values():
                            if isinstance(result, dict) and str(result.get("status", "OK")).lower() == "error":
                                raise localized(_CommandError(f"the codec refused {command!r}: {_reason(result)}"),
                                                "codec.err.refused_command_reason", command=repr(command),
                                                reason=_reason(result))
                    return flatten_json(obj)
            self.buffer = self.buffer[consumed:]
            self._recv(deadline, command)
            # Decode only once an object may be complete (the stream ends with "}"): re-parsing a
            # 100 KB answer on every 64 KB chunk would make one poll quadratic.
            while not self.buffer.rstrip().endswith("}"):
                _refuse_text_before_json(self.buffer)  # garbage: say so now, not at the deadline
                self._recv(deadline, command)

    def _read_until(self, done: Any, what: str) -> str:
        deadline = time.monotonic() + self.timeout
        while not done(self.buffer):
            self._recv(deadline, what)
            # Test only after a chunk that ends a line: the end marker is always a whole line.
            while not self.buffer.endswith("\n"):
                self._recv(deadline, what)
        return self.buffer

    def _read_answer(self, what: str) -> int:
        """Read up to the first OK/ERROR line; the index just past it.  Each check scans only from
        the start of the last line already seen (re-scanning a 30 KB answer per chunk cost ~1 ms a poll)."""
        deadline = time.monotonic() + self.timeout
        scan = 0
        while True:
            end = _ok_line(self.buffer, scan)
            if end is not None:
                return end
            scan = self.buffer.rfind("\n") + 1  # earlier lines are complete and hold no end marker
            self._recv(deadline, what)
            while not self.buffer.endswith("\n"):
                self._recv(deadline, what)

    def _recv(self, deadline: float, what: str) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise localized(ProtocolError(f"the codec did not finish answering {what!r} within {self.timeout:g} s"),
                            "codec.err.unfinished", what=repr(what), seconds=self.timeout)
        self.channel.settimeout(left)
        try:
            data = self.channel.recv(65536)
        except (socket.timeout, TimeoutError):
            raise localized(ProtocolError(f"the codec did not answer {what!r} within {self.timeout:g} s"),
                            "codec.err.timeout", what=repr(what), seconds=self.timeout) from None
        if not data:
            raise localized(DeviceUnreachable(f"the codec closed the SSH session while answering {what!r}"),
                            "codec.err.closed", transport="SSH", what=repr(what))
        self.buffer += data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        if len(self.buffer) > MAX_ANSWER:
            raise localized(ProtocolError(f"the answer to {what!r} is larger than {MAX_ANSWER // 1048576} MB: not a codec status"),
                            "codec.err.too_large", what=repr(what))

    def close(self) -> None:
        self.channel.close()


_OK_AT = re.compile(r"(?:\x1b\[\?1034h)?(OK|ERROR)[ \t]*\n")
# Anchored on the newline before the line: the regex engine jumps from newline to newline, where a
# multi-line "^" made it try every character of a 30 KB answer.
_OK_AFTER_NEWLINE = re.compile(r"\n(?:\x1b\[\?1034h)?(OK|ERROR)[ \t]*\n")


def _ok_line(buffer: str, start: int = 0) -> int | None:
    """Index just past the first line starting at or after ``start`` that is exactly OK or ERROR (the
    TSH end-of-answer marker)."""
    if start == 0 or buffer[start - 1:start] == "\n":
        match = _OK_AT.match(buffer, start)
        if match:
            return match.end()
    match = _OK_AFTER_NEWLINE.search(buffer, start)
    return match.end() if match else None


def _reason(result: dict) -> str:
    reason = result.get("Reason")
    if isinstance(reason, dict):
        return str(reason.get("Value", ""))[:120]
    return str(reason or "")[:120]


class _HttpWire:
    """The XMLAPI over HTTPS with one session cookie (ended on close)."""

    def __init__(self, connection: Connection) -> None:
        import requests

        from agent.vendors.pinning import https_session

        self.connection = connection
        self.requests = requests
        self.session, self.base = https_session(connection)
        self.timeout = connection.timeout
        self.cookie_session = False
        try:
            self._begin()
        except BaseException:
            self.session.close()
            raise

    def _begin(self) -> None:
        """``POST /xmlapi/session/begin`` with Basic auth: a SessionId cookie (or Basic auth on each request)."""
        connection = self.connection
        auth = (connection.username, connection.password_text())
        self.session.cookies.clear()
        self.cookie_session = False
        response = self._call("POST", "/xmlapi/session/begin", auth=auth, what="login")
        if response.status_code in (200, 204) and "SessionId" in self.session.cookies:
            self.cookie_session = True
        elif response.status_code == 404:
            self.session.auth = auth  # software without XMLAPI sessions: Basic auth on each request
        elif response.status_code in (401, 403):
            raise localized(DeviceAuthError(f"{connection.host} refused the login of user {connection.username!r}"),
                            "codec.err.login_refused", host=connection.host, user=repr(connection.username))
        else:
            raise localized(ProtocolError(f"the codec answered HTTP {response.status_code} to the session login"),
                            "codec.err.http_login", code=response.status_code)

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        requests = self.requests
        try:
            return self.session.request(method, self.base + path, timeout=(self.timeout, self.timeout),
                                        allow_redirects=False, **kwargs)
        except requests.exceptions.SSLError as exc:
            from agent.vendors.pinning import tls_refusal

            raise tls_refusal(exc, self.connection) from None
        except requests.exceptions.ConnectTimeout:
            raise localized(DeviceUnreachable(f"{self.connection.host}:{self.connection.port} did not accept a connection "
                                              f"within {self.timeout:g} s"),
                            "codec.err.no_connect", host=f"{self.connection.host}:{self.connection.port}",
                            seconds=self.timeout) from None
        except requests.exceptions.ReadTimeout:
            raise localized(ProtocolError(f"the codec did not answer {what} within {self.timeout:g} s"),
                            "codec.err.timeout", what=what, seconds=self.timeout) from None
        except requests.exceptions.ConnectionError as exc:
            from agent.vendors.pinning import connection_error

            raise connection_error(exc, self.connection) from None
        except requests.exceptions.RequestException as exc:
            raise localized(ProtocolError(f"HTTP error talking to the codec: {_short(str(exc))}"),
                            "codec.err.http", error=_short(str(exc))) from None

    def exchange(self, command: str) -> Any:
        if command == "xStatus":
            method, path, body = "GET", "/status.xml", None
        elif command == "xConfiguration":
            method, path, body = "GET", "/configuration.xml", None
        elif command == PRESET_LIST:
            method, path, body = "POST", "/putxml", PRESET_LIST_XML
        else:
            raise ProtocolError(f"{command!r} has no XMLAPI form")
        headers = {"Content-Type": "text/xml"} if body else None
        response = self._call(method, path, data=body, headers=headers, what=repr(command))
        if response.status_code == 401 and self.cookie_session:
            # The codec forgot the session (reboot, idle timeout): begin a new one, once, and ask again.
            # A refused login here is the real login failure; a second 401 is the account's role.  The old
            # cookie is ended first: should the codec still hold it (a 401 for another reason), no slot leaks.
            self._end()
            self._begin()
            response = self._call(method, path, data=body, headers=headers, what=repr(command))
        if response.status_code in (401, 403):
            raise localized(DeviceAuthError(f"the codec refused {command!r} (HTTP {response.status_code}): the account "
                                            "needs the ADMIN or INTEGRATOR role"),
                            "codec.cisco.role", command=repr(command), code=response.status_code)
        if response.status_code != 200:
            raise localized(_CommandError(f"the codec answered HTTP {response.status_code} to {command!r}"),
                            "codec.err.http_status", code=response.status_code, command=repr(command))
        if len(response.content) > MAX_ANSWER:
            raise localized(ProtocolError(f"the answer to {command!r} is too large"), "codec.err.too_large", what=repr(command))
        tree = flatten_xml(response.content)
        for key, value in tree.items():
            if key.endswith("._status") and value.lower() == "error":
                raise localized(_CommandError(f"the codec refused {command!r}"), "codec.err.refused_command", command=repr(command))
        return tree

    def _end(self) -> None:
        try:
            if self.cookie_session:
                self._call("POST", "/xmlapi/session/end", what="logout")
        except Exception:  # noqa: BLE001 - the slot times out on the codec side anyway
            pass

    def close(self) -> None:
        try:
            self._end()
        finally:
            self.session.close()


def _short(text: str) -> str:
    return text if len(text) < 160 else text[:157] + "..."


def _refuse_text_before_json(buffer: str) -> None:
    """Raise as decode_json_stream would, as soon as the text before the next JSON object cannot be the
    "OK"/"ERROR" lines a JSON-mode answer may carry (a partial last line may still become one)."""
    start = buffer.find("{")
    lines = (buffer if start < 0 else buffer[:start]).split("\n")
    partial = lines.pop().strip()
    if partial and not ("OK".startswith(partial) or "ERROR".startswith(partial)) or any(
            line.strip() not in ("", "OK", "ERROR") for line in lines):
        junk = (buffer if start < 0 else buffer[:start]).strip()
        raise localized(ProtocolError(f"the codec sent text outside JSON: {junk[:60]!r}"),
                        "codec.tree.text_outside_json", text=repr(junk[:60]))
