"""Poly (Polycom) RealPresence Group Series and HDX through their text API (Telnet 24/23, SSH 22).

Transports:
- ``ssh`` (default): password login after the host key is pinned (agent/vendors/pinning.py); the
  Group Series offers only ``ssh-rsa`` host keys, accepted per transport (agent/vendors/legacy_ssh.py);
- ``telnet`` (port 24 by default, 23 works too) only with ``[codec] allow_insecure = true``: the
  password crosses the network in clear and ``codec.login`` warns.  Telnet is spoken here directly
  over a socket (telnetlib is gone in Python 3.13): IAC option negotiation is refused except ECHO and
  SUPPRESS-GO-AHEAD, which the device offers and we accept.

One poll sends ``callinfo all`` FIRST.  If a call is being set up (any call not ``connected``, or a
``cs: call[..] state[..]`` notification in a setup state), no other command is sent — the Integrator's
Reference says "do not send any commands while an incoming or outgoing call is being established" —
and every value that was not read is null with that reason.  Otherwise: ``status``, registration
servers, network, uptime, call rate, audio, echo canceller, displays, and in a call ``netstats`` /
``advnetstats``; a call notification that arrives meanwhile and says a call is being set up stops the
poll there, with the same reason.  Each command goes out ``command_gap`` seconds after the device's
prompt ended the answer before (the HDX IRM asks for about 200 ms), and that answer is parsed while the
device works on the next one.

What the API does not expose becomes null with a reason: camera presets (there is no list command:
``preset near go N`` would move the camera), standby state, the main camera's signal format outside a
call, and the MAC address.
"""

from __future__ import annotations

import codecs
import re
import socket
import time
from typing import Any, Callable, Sequence

from agent.errors import DeviceAuthError, DeviceError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.i18n import Text, register
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, HostKeyUnknown, NotExposed, Wire, localized
from agent.vendors.poly_gs_text import (
    AnswerStream, CallInfo, CommandRefused, answer_prefix, get_value, parse_callinfo, parse_display,
    parse_stats, parse_status, parse_uptime, stats_float, stats_int, video_format,
)

# Why a value is null, in both languages (English as the case files and logs had it).
register(
    {
        "codec.gs.deferred": (
            "chưa đọc: cuộc gọi {call} đang được thiết lập (trạng thái {state}), lúc này không được gửi lệnh nào cho "
            "thiết bị đầu cuối (tài liệu Poly Integrator's Reference); chạy lại kiểm tra khi cuộc gọi đã kết nối",
            "not read: call {call} is {state} and the codec must not receive commands while a call is being set up "
            "(Poly Integrator's Reference); run the check again once the call is connected",
        ),
        "codec.gs.refused": ("thiết bị đầu cuối từ chối lệnh `{command}` ({line})", "the codec refused `{command}` ({line})"),
        "codec.gs.not_answered": ("thiết bị đầu cuối không trả lời lệnh `{command}`", "`{command}` was not answered"),
        "codec.gs.no_greeting_line": (
            "lời chào của thiết bị đầu cuối không có dòng {label}",
            "the greeting block had no {label} line",
        ),
        "codec.gs.no_mac": (
            "API văn bản của Group Series không có lệnh đọc địa chỉ MAC",
            "the Group Series text API has no read of the MAC address",
        ),
        "codec.gs.no_standby": (
            "API văn bản của Group Series không có lệnh đọc trạng thái chờ (chỉ có lệnh sleep/wake để chuyển chế độ)",
            "the Group Series text API has no read of the sleep state (only sleep/wake commands)",
        ),
        "codec.gs.not_configured": ("chưa được cài đặt trên thiết bị đầu cuối", "not configured"),
        "codec.gs.no_failure_reason": (
            "API văn bản không cho biết lý do đăng ký không thành công",
            "the text API gives no failure reason",
        ),
        "codec.gs.status_no_line": ("câu trả lời `status` không có dòng {line}", "`status` has no {line} line"),
        "codec.gs.odd_state": ("trạng thái {line} lạ: {raw}", "unknown {line} state {raw}"),
        "codec.gs.no_server": (
            "chưa đăng ký, hoặc thiết bị đầu cuối không báo máy chủ",
            "not registered, or no server reported",
        ),
        "codec.gs.call_state": ("cuộc gọi đang ở trạng thái {state}", "the call is {state}"),
        "codec.gs.first_call_only": (
            "lệnh netstats chỉ báo thống kê của cuộc gọi thứ nhất",
            "netstats reports the first call only",
        ),
        "codec.gs.call_ended": (
            "cuộc gọi đã kết thúc trong lúc đang đọc ({refused})",
            "the call ended while it was read ({refused})",
        ),
        "codec.gs.netstats_missing": ("lệnh netstats không báo giá trị này", "netstats did not report it"),
        "codec.gs.bad_format": (
            "netstats báo {field} là {value}, không phải định dạng hình ảnh",
            "netstats {field} is {value}, not a format",
        ),
        "codec.gs.no_jitter": ("lệnh advnetstats không báo độ trễ biến thiên (jitter)", "advnetstats had no jitter"),
        "codec.gs.no_content_channel": (
            "lệnh netstats của API văn bản không có kênh trình chiếu dữ liệu (H.239)",
            "the text API's netstats has no content (H.239) channel",
        ),
        "codec.gs.no_max_rates": (
            "API văn bản không có lệnh đọc băng thông kết nối tối đa",
            "the text API has no read of the maximum rates",
        ),
        "codec.gs.output_off": ("cổng ra màn hình này đang tắt", "this output is switched off"),
        "codec.gs.plug_unknown": (
            "API văn bản chỉ báo cổng ra đã cài đặt, không cho biết màn hình có được cắm hay không",
            "the text API reports the configured output, not whether a screen is plugged in",
        ),
        "codec.gs.no_output_format": ("cổng ra màn hình chưa cài đặt định dạng hình ảnh", "no output format configured"),
        "codec.gs.no_display_answer": (
            "thiết bị đầu cuối không trả lời lệnh configdisplay",
            "no configdisplay answer",
        ),
        "codec.gs.not_read": ("API văn bản không đọc được giá trị này", "not read through the text API"),
        "codec.gs.format_in_call_only": (
            "API văn bản chỉ báo định dạng hình ảnh khi đang trong cuộc gọi (netstats tvf)",
            "the text API reports the video format only during a call (netstats tvf)",
        ),
        "codec.gs.mics_any_only": (
            "API văn bản chỉ cho biết có micro nào đang kết nối hay không, không cho biết số micro",
            "the text API reports only whether any microphone is online",
        ),
        "codec.gs.no_speaker_mute": (
            "API văn bản không có lệnh đọc riêng trạng thái tắt tiếng của loa",
            "the text API has no separate loudspeaker mute read",
        ),
        "codec.gs.no_presets": (
            "API văn bản của Group Series không có lệnh liệt kê preset camera (chỉ có `preset near go/set`, sẽ "
            "làm camera quay hoặc ghi đè nút nhớ); kiểm tra các vị trí preset bằng điều khiển từ xa",
            "the Group Series text API has no command that lists camera presets (only `preset near go/set`, which "
            "move the camera or overwrite a preset); check them on the remote",
        ),
        "codec.gs.bad_mute": ("trạng thái tắt tiếng micro {value} không phải on hoặc off", "mute near answer {value} is neither on nor off"),
        "codec.gs.bad_volume": ("âm lượng {value} không nằm trong khoảng 0..100", "volume is {value}, not 0..100"),
        "codec.gs.bad_echo": ("cài đặt chế độ triệt vọng (echocanceller) lạ: {value}", "echocanceller is {value}"),
        # Errors of the session in check messages, a fall-back for any that carries no .text (the Telnet
        # and SSH links localise their own): both languages say what failed; the log keeps str(exc).
        "codec.gs.flood": (
            "thiết bị đầu cuối gửi quá nhiều dữ liệu so với một lần đọc trạng thái: không phải API văn bản Poly",
            "the codec sent far more text than a status read: not a Poly text API",
        ),
        "codec.gs.broke": ("phiên làm việc với thiết bị đầu cuối bị ngắt: {error}", "the session to the codec broke: {error}"),
        "codec.gs.password_refused": (
            "{host} từ chối mật khẩu (hỏi lại mật khẩu): kiểm tra tệp mật khẩu",
            "{host} refused the password (it asked again)",
        ),
        "codec.gs.no_prompt": (
            "thiết bị đầu cuối không hỏi mật khẩu cũng không gửi lời chào trong {seconds} giây (cổng này có phải "
            "API văn bản Poly không?)",
            "the codec sent no Password: prompt or greeting within {seconds} s (is this a Poly text API port?)",
        ),
        "codec.gs.what.login_prompt": ("lời nhắc đăng nhập", "the login prompt"),
        "codec.gs.what.greeting": ("lời chào của API", "the greeting"),
        "codec.gs.what.pause": ("lệnh trước (trong khoảng nghỉ trước lệnh sau)",
                                "the last command (in the pause before the next)"),
        "codec.gs.login_failed": ("{host} từ chối đăng nhập", "{host} refused the login"),
        "codec.gs.login_refused": (
            "tên tài khoản {user} hoặc mật khẩu không đúng ({host})",
            "the user name {user} or the password is wrong ({host})",
        ),
        "codec.gs.no_session": (
            "không mở được phiên {transport} tới {host} (cổng {port}), hoặc phiên bị ngắt khi đang đăng nhập",
            "cannot open the {transport} session to {host} (port {port}), or it broke during the login",
        ),
        "codec.gs.bad_login": (
            "thiết bị đầu cuối không trả lời đúng khi đăng nhập qua {transport} trong {seconds} giây (không thấy lời "
            "chào hay dấu nhắc của API văn bản Poly): kiểm tra cổng và loại thiết bị",
            "the codec did not answer the {transport} login properly within {seconds} s (no greeting or prompt "
            "of the Poly text API): check the port and the device type",
        ),
        "codec.gs.session_broke": (
            "phiên {transport} tới thiết bị đầu cuối bị ngắt khi đang đọc {what}",
            "the {transport} session to the codec broke while reading {what}",
        ),
        "codec.gs.no_answer": (
            "thiết bị đầu cuối không trả lời đúng lệnh {what} trong {seconds} giây",
            "the codec did not answer {what} properly within {seconds} s",
        ),
    }
)

# Read-only: `get` forms, status/statistics reads, whoami.  No set, no dial, no preset go/set, no
# camera, no sleep/wake, no reboot; nothing with a second statement.
ALLOWED = AllowList(
    "poly-gs",
    r"status",
    r"whoami",
    r"callinfo all",
    r"getcallstate",
    r"(?:adv)?netstats(?: [0-9]{1,2})?",
    r"(?:gatekeeperip|ipaddress|subnetmask|defaultgateway|hostname|videocallrate|volume|echocanceller|uptime)"
    r" get",
    r"mute near get",
    r"systemsetting get (?:model|sipregistrarserver|sipproxyserver)",
    r"configdisplay monitor[12] get",
)

MAX_ANSWER_BYTES = 1024 * 1024
SETUP_STATES = {"connecting", "ringing", "dialing", "allocated", "ringback", "proceeding", "alerting",
                "offered", "incoming", "outgoing", "negotiating", "opened", "active-setup"}
CONNECTED = {"connected", "complete"}

# (command, normalised part it feeds) in poll order after callinfo all.
IDLE_READS = (
    "status", "gatekeeperip get", "systemsetting get sipregistrarserver", "ipaddress get", "subnetmask get",
    "defaultgateway get", "uptime get", "videocallrate get", "mute near get", "volume get",
    "echocanceller get", "configdisplay monitor1 get", "configdisplay monitor2 get",
)
CALL_READS = ("netstats", "advnetstats")


class CallSettingUp(Exception):
    """Internal: a call is being established; send nothing more this poll."""


class PolyGSDriver(CodecDriver):
    name = "poly-gs"
    vendor = "poly"
    ALLOWED = ALLOWED
    transports = ("ssh", "telnet")
    default_ports = {"ssh": 22, "telnet": 24}
    command_gap = 0.2  # seconds between commands (HDX IRM); tests set 0

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._answers: dict[str, list[str] | None] = {}
        self._parses: dict[str, Any] = {}  # command -> its parsed answer, or the ProtocolError parsing raised
        self._refused: dict[str, str] = {}
        self._setup: str | None = None  # "call 34 is connecting" (raw.deferred)
        self._setup_call: tuple[str, str] = ("", "")  # (call id, state) for the reason
        # The session's answer stream (greeting, call notifications), not the wire: only the guard may send.
        self._stream: AnswerStream | None = None

    # -- session ------------------------------------------------------------------------------
    def _open_wire(self) -> Wire:
        try:
            wire = _TextWire(self.connection)
        except DeviceError as exc:
            _explained(exc, self.connection, None)
            raise
        self._stream = wire.stream
        return wire

    # -- one poll -------------------------------------------------------------------------------
    def _begin_poll(self) -> None:
        self._answers, self._parses, self._refused, self._setup = {}, {}, {}, None
        self._read("callinfo all")
        infos = self._parsed("callinfo all") or []
        setting_up = [(c.id, c.state) for c in infos if c.state not in CONNECTED]
        if "callinfo all" in self._refused:
            # No call list: the call slots' states still tell whether a call is being set up, before
            # anything more is sent.  (Both refused: nothing can tell; the calls stay null with the reason.)
            setting_up = _slots_setting_up(self._read("getcallstate") or [])
        events = self._stream.call_events if self._stream else []
        recent = _setup_event(events)
        if setting_up:
            self._setup_call = setting_up[0]
        elif recent:
            self._setup_call = recent
        if setting_up or recent:
            self._setup = "call {} is {}".format(*self._setup_call)
        if self._setup:
            return  # nothing more: the IRM forbids commands while a call is established
        reads = IDLE_READS + (CALL_READS if any(c.state in CONNECTED for c in infos) else ())
        self._read_all(reads, halt=self._call_setup_began())

    def _end_poll(self) -> None:
        self._answers, self._parses = {}, {}

    def _read(self, command: str) -> list[str] | None:
        """One read; a refusal (error:/info:) is remembered as the reason, not raised."""
        if command not in self._answers:
            self._read_all((command,))
        return self._answers.get(command)

    def _read_all(self, commands: tuple[str, ...], halt: Callable[[], bool] | None = None) -> None:
        """Send the reads not yet answered this poll, paced by ``command_gap``; refusals become reasons."""
        todo = [command for command in commands if command not in self._answers]
        self.send_many(todo, gap=self.command_gap, halt=halt, on_answer=self._took)

    def _took(self, command: str, result: list[str] | CommandRefused) -> None:
        """One answer, as soon as the wire has it (the codec already works on the next command): kept,
        and parsed now rather than after the last answer."""
        if isinstance(result, CommandRefused):
            self._answers[command] = None
            self._refused[command] = result.line
        else:
            self._answers[command] = result
            self._parses[command] = _parse(command, result)

    def _parsed(self, command: str) -> Any:
        """``command``'s answer parsed (None without an answer); a malformed one raises its ProtocolError
        here, in the getter that needs it, as if it were parsed now."""
        if command not in self._parses:
            self._parses[command] = _parse(command, self._answers.get(command))
        parsed = self._parses[command]
        if isinstance(parsed, ProtocolError):
            raise parsed
        return parsed

    def _call_setup_began(self) -> Callable[[], bool]:
        """A check, before each further read, that no call began to be set up since now (the IRM: no
        commands while a call is being established); when one did, the poll stops and says why."""
        stream = self._stream
        if stream is None:
            return lambda: False
        seen = stream.call_events_seen

        def began() -> bool:
            if stream.call_events_seen == seen:
                return False  # the usual case: no call notification at all
            event = _setup_event(stream.call_events)
            if event is None:
                return False
            self._setup_call = event
            self._setup = "call {} is {}".format(*event)
            return True
        return began

    def _why(self, command: str) -> Text:
        if self._setup:
            call, state = self._setup_call
            return Text("codec.gs.deferred", call=call, state=state)
        if command in self._refused:
            return Text("codec.gs.refused", command=command, line=self._refused[command])
        return Text("codec.gs.not_answered", command=command)

    def _value(self, command: str) -> str | None:
        return self._parsed(command)

    def raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"greeting.{k}": v for k, v in self._greeting().items() if v}
        for command, lines in self._answers.items():
            out[command] = "\n".join(lines) if lines is not None else None
        for command, line in self._refused.items():
            out[f"refused.{command}"] = line
        if self._setup:
            out["deferred"] = self._setup
        return out

    def _greeting(self) -> dict[str, str]:
        return dict(self._stream.greeting) if self._stream else {}

    # -- getters --------------------------------------------------------------------------------
    def get_facts(self) -> m.Facts:
        g = self._greeting()
        facts = m.Facts(vendor="poly", model=g.get("Model") or None, software_version=g.get("Software Version") or None,
                        serial=g.get("Serial Number") or None, name=g.get("Name") or None)
        uptime = self._answers.get("uptime get")  # "1 Hour, 10 Minutes": no echoed prefix
        facts.uptime_s = parse_uptime(uptime[0]) if uptime else None
        if facts.uptime_s is None:
            self.not_exposed("facts.uptime_s", self._why("uptime get"))
        for path, label in (("model", "Model"), ("software_version", "Software Version"), ("serial", "Serial Number"),
                            ("name", "Hi, my name is")):
            if getattr(facts, path) is None:
                self.not_exposed(f"facts.{path}", Text("codec.gs.no_greeting_line", label=repr(label)))
        return facts

    def get_network(self) -> m.NetworkInfo:
        info = m.NetworkInfo(ip=self._value("ipaddress get") or None, netmask=self._value("subnetmask get") or None,
                             gateway=self._value("defaultgateway get") or None)
        for path, command in (("ip", "ipaddress get"), ("netmask", "subnetmask get"), ("gateway", "defaultgateway get")):
            if getattr(info, path) is None:
                self.not_exposed(f"network.{path}", self._why(command))
        self.not_exposed("network.mac", Text("codec.gs.no_mac"))
        return info

    def get_standby(self) -> m.StandbyInfo:
        raise NotExposed(Text("codec.gs.no_standby"))

    def get_registration(self) -> m.Registration:
        if self._answers.get("status") is None:
            raise NotExposed(self._why("status"))
        st = self._parsed("status") or {}
        reg = m.Registration()
        for proto, key, command in (("h323", "gatekeeper", "gatekeeperip get"),
                                    ("sip", "sipserver", "systemsetting get sipregistrarserver")):
            state = getattr(reg, proto)
            state.configured_server = self._value(command) or None
            if state.configured_server is None:
                self.not_exposed(f"registration.{proto}.configured_server", self._why(command)
                                 if command in self._refused or not self._answers.get(command)
                                 else Text("codec.gs.not_configured"))
            raw = st.get(key)
            self.not_exposed(f"registration.{proto}.reason", Text("codec.gs.no_failure_reason"))
            if raw is None:
                self.not_exposed(f"registration.{proto}.status", Text("codec.gs.status_no_line", line=key))
                continue
            state.raw = raw
            state.status = {"online": m.REGISTERED, "offline": m.FAILED, "off": m.INACTIVE,
                            "n/a": m.INACTIVE}.get(raw.lower())
            if state.status is None:
                self.not_exposed(f"registration.{proto}.status", Text("codec.gs.odd_state", line=key, raw=repr(raw)))
            if state.status == m.REGISTERED:
                state.server = state.configured_server
            if state.server is None:
                self.not_exposed(f"registration.{proto}.server", Text("codec.gs.no_server"))
        return reg

    def get_calls(self) -> list[m.Call]:
        if "callinfo all" in self._refused:
            raise NotExposed(self._why("callinfo all"))  # unknown, not "no call"
        infos = self._parsed("callinfo all") or []
        calls = []
        net = self._parsed("netstats") or {}
        adv = self._parsed("advnetstats") or {}
        for index, info in enumerate(infos):
            call = m.Call(id=info.id, remote=info.number or info.name or None, direction=info.direction or None,
                          status=info.state or None, protocol=None)
            self._call_stats(call, info, index, net, adv)
            calls.append(call)
        return calls

    def _call_stats(self, call: m.Call, info: CallInfo, index: int, net: dict, adv: dict) -> None:
        base = f"calls[{call.id}]"
        stats_why: Text | None = None
        if self._setup and not net:  # a call began to be set up before the statistics were read
            stats_why = self._why("netstats")
        elif info.state not in CONNECTED:
            stats_why = Text("codec.gs.call_state", state=info.state)
        elif index > 0:
            stats_why = Text("codec.gs.first_call_only")
        elif not net:
            refused = self._refused.get("netstats")
            stats_why = (Text("codec.gs.call_ended", refused=refused) if refused and "not active" in refused
                         else self._why("netstats"))
        if stats_why is None:
            call.protocol = (net.get("tcp") or "").lower().replace(".", "") or None
            call.tx_rate_kbps = stats_int(net, "txrate")
            call.rx_rate_kbps = stats_int(net, "rxrate")
            call.tx_video_format = video_format(net.get("tvf"))
            call.rx_video_format = video_format(net.get("rvf"))
            call.loss_percent = stats_float(net, "%pktloss")
            if adv:
                jitters = [stats_float(adv, k) for k in ("taj", "raj", "tvj", "rvj")]
                jitters = [j for j in jitters if j is not None]
                call.jitter_ms = max(jitters) if jitters else None
            for name in ("protocol", "tx_rate_kbps", "rx_rate_kbps", "loss_percent"):
                if getattr(call, name) is None:
                    self.not_exposed(f"{base}.{name}", Text("codec.gs.netstats_missing"))
            if call.tx_video_format is None:
                self.not_exposed(f"{base}.tx_video_format",
                                 Text("codec.gs.bad_format", field="tvf", value=repr(net.get("tvf"))))
            if call.rx_video_format is None:
                self.not_exposed(f"{base}.rx_video_format",
                                 Text("codec.gs.bad_format", field="rvf", value=repr(net.get("rvf"))))
            if call.jitter_ms is None:
                self.not_exposed(f"{base}.jitter_ms",
                                 self._why("advnetstats") if not adv else Text("codec.gs.no_jitter"))
        else:
            if call.tx_rate_kbps is None and info.speed_kbps is not None:
                call.tx_rate_kbps = call.rx_rate_kbps = info.speed_kbps  # callinfo's negotiated speed
            for name in ("protocol", "tx_rate_kbps", "rx_rate_kbps", "tx_video_format", "rx_video_format",
                         "loss_percent", "jitter_ms"):
                if getattr(call, name) is None:
                    self.not_exposed(f"{base}.{name}", stats_why)
        self.not_exposed(f"{base}.content_active", Text("codec.gs.no_content_channel"))
        self.not_exposed(f"{base}.content_rate_kbps", Text("codec.gs.no_content_channel"))

    def get_call_rate(self) -> m.CallRate:
        value = self._value("videocallrate get")
        rate = m.CallRate()
        if value and value.isdigit():
            rate.default_kbps = int(value)
        elif value:
            raise localized(ProtocolError(f"videocallrate is {value[:20]!r}, not a number"), "codec.gs.not_number",
                            name="videocallrate", value=repr(value[:20]))
        else:
            self.not_exposed("call_rate.default_kbps", self._why("videocallrate get"))
        self.not_exposed("call_rate.max_tx_kbps", Text("codec.gs.no_max_rates"))
        self.not_exposed("call_rate.max_rx_kbps", Text("codec.gs.no_max_rates"))
        return rate

    def get_monitors(self) -> list[m.Monitor]:
        monitors = []
        for n in ("1", "2"):
            command = f"configdisplay monitor{n} get"
            value = self._value(command)
            if value is None:
                self.not_exposed(f"video.monitors[{n}]", self._why(command))
                continue
            enabled, connector, resolution = parse_display(value[len(f"monitor{n}"):].strip()
                                                           if value.startswith(f"monitor{n}") else value)
            mon = m.Monitor(id=n, role=f"monitor{n}", resolution=resolution, connected=None, device=connector)
            if not enabled:
                mon.connected = False
                self.not_exposed(f"video.monitors[{n}].resolution", Text("codec.gs.output_off"))
                self.not_exposed(f"video.monitors[{n}].device", Text("codec.gs.output_off"))
            else:
                self.not_exposed(f"video.monitors[{n}].connected", Text("codec.gs.plug_unknown"))
                if resolution is None:
                    self.not_exposed(f"video.monitors[{n}].resolution", Text("codec.gs.no_output_format"))
            monitors.append(mon)
        if not monitors:
            raise NotExposed(self._why("configdisplay monitor1 get"))
        return monitors

    def get_video(self) -> m.Video:
        try:
            monitors = self.get_monitors()
        except NotExposed as exc:
            monitors = []
            self.not_exposed("video.monitors", exc.reason or Text("codec.gs.no_display_answer"))
        video = m.Video(monitors=monitors)
        unread = [n for n in ("1", "2") if self._value(f"configdisplay monitor{n} get") is None]
        if monitors and unread:  # one output unknown: the mode would be a guess
            self.not_exposed("video.monitors_configured", self._why(f"configdisplay monitor{unread[0]} get"))
        elif monitors:
            enabled = [mon for mon in monitors if mon.connected is not False]
            video.monitors_configured = "Single" if len(enabled) == 1 else ("Dual" if len(enabled) >= 2 else "Off")
        else:
            self.not_exposed("video.monitors_configured", Text("codec.gs.no_display_answer"))
        for path in ("main_source", "presentation_source", "layout"):
            self.not_exposed(f"video.{path}", Text("codec.gs.not_read"))
        self.not_exposed("video.main_source_format",
                         self._why("callinfo all") if self._setup else Text("codec.gs.format_in_call_only"))
        return video

    def get_audio(self) -> m.Audio:
        status = self._answers.get("status")
        st = self._parsed("status") or {}
        audio = m.Audio()
        mics = st.get("microphones")
        if mics is None:
            self.not_exposed("audio.mics_connected", self._why("status") if status is None
                             else Text("codec.gs.status_no_line", line="microphones"))
        else:
            audio.mics_connected = 1 if mics.lower() == "online" else 0
        self.not_exposed("audio.mics_total", Text("codec.gs.mics_any_only"))
        mute = self._value("mute near get")
        if mute is not None:
            if mute.lower() not in ("on", "off"):
                raise localized(ProtocolError(f"mute near answer {mute[:20]!r} is neither on nor off"),
                                "codec.gs.bad_mute", value=repr(mute[:20]))
            audio.muted = mute.lower() == "on"
        else:
            self.not_exposed("audio.muted", self._why("mute near get"))
        volume = self._value("volume get")
        if volume is not None:
            if not volume.isdigit() or int(volume) > 100:
                raise localized(ProtocolError(f"volume is {volume[:20]!r}, not 0..100"), "codec.gs.bad_volume",
                                value=repr(volume[:20]))
            audio.volume = int(volume)
        else:
            self.not_exposed("audio.volume", self._why("volume get"))
        self.not_exposed("audio.volume_muted", Text("codec.gs.no_speaker_mute"))
        echo = self._value("echocanceller get")
        if echo is not None:
            if echo.lower() not in ("yes", "no", "on", "off", "true", "false"):
                raise localized(ProtocolError(f"echocanceller is {echo[:20]!r}"), "codec.gs.bad_echo",
                                value=repr(echo[:20]))
            audio.mics = [m.Mic(id="1", connected=audio.mics_connected == 1 if mics is not None else None,
                                echo_control=echo.lower() in ("yes", "on", "true"))]
            if mics is None:
                self.not_exposed("audio.mics[1].connected", Text("codec.gs.status_no_line", line="microphones"))
        else:
            self.not_exposed("audio.echo_control", self._why("echocanceller get"))
        return audio

    def get_presets(self) -> list[m.Preset]:
        raise NotExposed(Text("codec.gs.no_presets"))


# How an answer is parsed; any other read is a ``get``: its value after the echoed setting name.
_PARSERS: dict[str, Callable[[list[str]], Any]] = {
    "callinfo all": parse_callinfo, "status": parse_status, "netstats": parse_stats, "advnetstats": parse_stats,
    "getcallstate": list,
}


def _parse(command: str, lines: list[str] | None) -> Any:
    """The parsed answer, None for no answer (or an empty one), or the ProtocolError it raised."""
    if not lines:
        return [] if lines is not None and command == "callinfo all" else None
    parser = _PARSERS.get(command)
    try:
        return parser(lines) if parser else get_value(lines, answer_prefix(command) or command)
    except ProtocolError as exc:
        return exc


def _explained(exc: DeviceError, connection: Connection, what: str | None) -> DeviceError:
    """Give ``exc`` a check-message text (``.text``) when the session code gave none.

    The Telnet/SSH session errors are English only; what the driver was doing (logging in, or reading
    ``what``) and the error's class are enough for a plain Vietnamese sentence, while the English text
    stays the error's own words.  Pinned-key errors keep theirs (codec.login says what they mean).
    """
    if getattr(exc, "text", None) is not None or isinstance(exc, (HostKeyMismatch, HostKeyUnknown)):
        return exc
    c, detail = connection, str(exc)
    transport = "SSH" if c.transport == "ssh" else "Telnet"
    if isinstance(exc, DeviceAuthError):
        return localized(exc, "codec.gs.login_refused", host=c.host, user=repr(c.username), detail=detail)
    if isinstance(exc, DeviceUnreachable):
        if what is None:
            return localized(exc, "codec.gs.no_session", transport=transport, host=c.host, port=c.port, detail=detail)
        return localized(exc, "codec.gs.session_broke", transport=transport, what=what, detail=detail)
    if isinstance(exc, ProtocolError):
        if what is None:
            return localized(exc, "codec.gs.bad_login", transport=transport, seconds=c.timeout, detail=detail)
        return localized(exc, "codec.gs.no_answer", what=what, seconds=c.timeout, detail=detail)
    return exc


_WHAT = {"the login prompt": Text("codec.gs.what.login_prompt"), "the greeting": Text("codec.gs.what.greeting"),
         "the pause between commands": Text("codec.gs.what.pause")}


def _what(what: str) -> Text | str:
    """What was being read, in the reader's language (a command is shown as it is)."""
    return _WHAT.get(what, what)


_CALL_STATE = re.compile(r"cs: call\[(\d+)\].*state\[([A-Za-z_]+)\]")
_CALL_OVER = re.compile(r"cs: call\[(\d+)\] inactive|(?:cleared|ended|active): call\[(\d+)\]")


def _call_event(line: str) -> tuple[str, str, bool] | None:
    """(call id, state, being set up?) of one call-state line (callstate register, notify callstatus,
    getcallstate), or None for any other line."""
    match = _CALL_STATE.search(line)
    if match:
        state = match.group(2).lower()
        return match.group(1), state, state in SETUP_STATES
    match = _CALL_OVER.match(line)
    if match:  # the slot is idle, the call ended, or it is up ("active: call[34] speed [384]")
        return match.group(1) or match.group(2), "inactive" if "inactive" in line else line.split(":")[0], False
    if line.startswith("notification:callstatus:"):
        parts = line.split(":")
        state = parts[6].lower() if len(parts) > 6 else ""
        return parts[3] if len(parts) > 3 else "", state, bool(state) and state not in CONNECTED | {"disconnected"}
    return None


def _slots_setting_up(lines: list[str]) -> list[tuple[str, str]]:
    """(call id, state) of each ``getcallstate`` slot in a set-up state (``cs: call[0] inactive`` is idle)."""
    return [(call, state) for call, state, setting_up in filter(None, map(_call_event, lines)) if setting_up]


def _setup_event(events: list[str]) -> tuple[str, str] | None:
    """A call whose NEWEST state line says it is being established, (call id, state), newest first; a call
    that rang and then ended or came up is not (each call is judged by its own last line)."""
    judged: set[str] = set()
    for line in reversed(events):
        event = _call_event(line)
        if event is None or event[0] in judged:
            continue
        judged.add(event[0])
        if event[2]:
            return event[0], event[1]
    return None


# -- the wire: Telnet or SSH, then the same line protocol ---------------------------------------
class _TextWire:
    """Login, then one command at a time; answers taken from the stream by their prefix."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.timeout = connection.timeout
        self.stream = AnswerStream()
        self.received = 0
        self.closed = False
        self._prompt = False
        self._tail = ""  # the last two characters read, for a prompt split across reads
        self._answered_at = 0.0  # monotonic time of the device's last finished answer (pacing)
        if connection.transport == "telnet":
            self.link: _Link = _TelnetLink(connection)
        else:
            self.link = _SshLink(connection)
        try:
            self.link.login(self)
        except BaseException:
            self.link.close()  # a failed login must not leak one of the codec's few API sessions
            raise
        self.stream.pending.clear()  # prompts and login noise

    def read_until(self, done: Callable[[], Any], what: str) -> Any:
        """Read until ``done()`` returns something (the login's prompt or greeting)."""
        deadline = time.monotonic() + self.timeout
        got = 0
        while True:
            result = done()
            if result is not None:
                return result
            data = self._recv(deadline, what)
            got = self._count(got, data)
            if not self._prompt:
                recent = self._tail + data
                self._prompt = "-> " in recent  # also a prompt split across reads
                self._tail = recent[-2:]
            self.stream.feed(data)

    def exchange(self, command: str) -> Any:
        result = self.exchange_many((command,))[0]
        if isinstance(result, CommandRefused):
            raise result
        return result

    def exchange_many(self, commands: Sequence[str], gap: float = 0.0, halt: Callable[[], bool] | None = None,
                      on_answer: Callable[[str, Any], None] | None = None) -> list[Any]:
        """Several reads, each sent once the device has finished the one before; per command its answer
        lines, its refusal (a CommandRefused) or None when ``halt()`` stopped the batch before it.

        A read that ends with the prompt means the device is ready: with no ``gap``, the next command
        goes out before that read is parsed, so parsing overlaps the device's work on the next answer (a
        text API's time is its round trips).  The answers are still taken in order from the same stream,
        by their own rules, so a prompt that comes early or late changes only when a command is sent,
        never which lines answer it.  A read that holds a call notification is parsed first.  ``halt()``
        is asked before every command (the IRM: no command while a call is being established).  With a
        ``gap`` (the HDX IRM asks for about 200 ms after the device's previous answer), the pause is spent
        reading, so a notification that arrives in it is seen before the next command would go out.
        ``on_answer(command, answer)`` gets each answer as soon as it is taken.
        """
        stream, total = self.stream, len(commands)
        results: list[Any] = [None] * total
        for command in commands:
            stream.expect(command)
        sent = 0

        def send_next() -> bool:
            nonlocal sent
            if halt is not None and halt():
                return False
            if gap and not self._pause(gap, halt):
                return False
            self._send(commands[sent])
            sent += 1
            return True

        if not total or not send_next():
            return results
        try:
            for index, command in enumerate(commands):
                what = repr(command)
                deadline = time.monotonic() + self.timeout  # per answer: a device busy on the one before is slow
                got = 0
                while True:
                    try:
                        answer = stream.take(command)
                    except CommandRefused as refusal:
                        answer = refusal
                    if answer is not None:
                        break
                    data = self._recv(deadline, what)
                    got = self._count(got, data)
                    if (not gap and sent == index + 1 < total and data.endswith("-> ") and "call[" not in data
                            and "notification:" not in data):
                        if not send_next():
                            total = sent
                    stream.feed(data)
                results[index] = answer
                if on_answer is not None:
                    on_answer(command, answer)
                if sent == index + 1:  # answered before its prompt, or its last read held a call notification
                    self._answered_at = time.monotonic()
                    if sent == total or not send_next():
                        break
        except DeviceError as exc:
            _explained(exc, self.connection, repr(command))
            raise
        return results

    def _pause(self, gap: float, halt: Callable[[], bool] | None) -> bool:
        """Wait until ``gap`` seconds after the device's last answer, reading what it sends meanwhile;
        False when ``halt()`` says that stops the batch (a call began to be set up during the pause)."""
        while True:
            wait = self._answered_at + gap - time.monotonic()
            if wait <= 0:
                return True
            data = self.link.recv(wait, "the pause between commands", quiet_ok=True)
            if data:
                self._count(0, data)
                self.stream.feed(data)
                if halt is not None and halt():
                    return False

    def _send(self, command: str) -> None:
        try:
            self.link.send(command + "\r\n")
        except OSError as exc:
            raise localized(DeviceUnreachable(f"the session to the codec broke: {exc}"),
                            "codec.gs.broke", error=str(exc)) from None

    def _recv(self, deadline: float, what: str) -> str:
        left = deadline - time.monotonic()
        if left <= 0:
            raise localized(ProtocolError(f"the codec did not answer {what} within {self.timeout:g} s"),
                            "codec.err.timeout", what=_what(what), seconds=f"{self.timeout:g}")
        return self.link.recv(left, what)

    def _count(self, got: int, data: str) -> int:
        """Bytes read for the current answer; the cap is per answer (a kept session reads for days)."""
        got += len(data)
        self.received += len(data)
        if got > MAX_ANSWER_BYTES * 16:
            raise localized(ProtocolError("the codec sent far more text than a status read: not a Poly text API"),
                            "codec.gs.flood")
        return got

    def close(self) -> None:
        # No logout command: closing the socket ends the API session on the codec (and frees its slot).
        if not self.closed:
            self.closed = True
            self.link.close()


class _Link:
    def login(self, wire: _TextWire) -> None: ...
    def recv(self, timeout: float, what: str, quiet_ok: bool = False) -> str:
        """Text the device sent within ``timeout``; when nothing came, "" if ``quiet_ok`` else a timeout
        ProtocolError."""
    def send(self, text: str) -> None: ...
    def close(self) -> None: ...


def _greeting_done(wire: _TextWire) -> bool | None:
    return True if wire.stream.greetings_seen else None


class _SshLink(_Link):
    def __init__(self, connection: Connection) -> None:
        from agent.vendors.pinning import ssh_shell

        self.connection = connection
        # The API shell wants a terminal; 200 columns so long status lines are not wrapped.
        self.channel = ssh_shell(connection, pty_cols=200, term="dumb")
        # A UTF-8 character (a Vietnamese room name) may be split across two reads.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def login(self, wire: _TextWire) -> None:
        wire.read_until(lambda: _greeting_done(wire) or (True if _prompt_seen(wire) else None), "the greeting")

    def recv(self, timeout: float, what: str, quiet_ok: bool = False) -> str:
        self.channel.settimeout(timeout)
        try:
            data = self.channel.recv(65536)
        except (socket.timeout, TimeoutError):
            if quiet_ok:
                return ""
            raise localized(ProtocolError(f"the codec did not answer {what} within {self.connection.timeout:g} s"),
                            "codec.err.timeout", what=_what(what), seconds=f"{self.connection.timeout:g}") from None
        except OSError as exc:
            raise localized(DeviceUnreachable(f"the SSH session to the codec broke: {exc}"),
                            "codec.err.broken", transport="SSH", error=str(exc)) from None
        if not data:
            raise localized(DeviceUnreachable(f"the codec closed the SSH session while answering {what}"),
                            "codec.err.closed", transport="SSH", what=_what(what))
        return self._decoder.decode(data)

    def send(self, text: str) -> None:
        self.channel.sendall(text.encode("ascii"))

    def close(self) -> None:
        self.channel.close()


def _prompt_seen(wire: _TextWire) -> bool:
    return getattr(wire, "_prompt", False)


# Telnet (RFC 854) bytes.
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
OPT_ECHO, OPT_SGA = 1, 3


class TelnetCodec:
    """Strips Telnet commands from received bytes and answers option negotiation (RFC 854/855).

    We accept the server's WILL ECHO / WILL SGA (DO), refuse every other WILL (DONT) and every DO
    (WONT); sub-negotiations are skipped.  State survives chunk boundaries (an IAC split across reads).
    """

    def __init__(self) -> None:
        self.state = "data"
        self.verb = 0
        self.replies = bytearray()
        self.answered: set[tuple[int, int]] = set()

    def decode(self, chunk: bytes) -> bytes:
        if self.state == "data" and IAC not in chunk:
            return bytes(chunk)  # the usual chunk: plain text, nothing to strip or answer
        out = bytearray()
        for byte in chunk:
            if self.state == "data":
                if byte == IAC:
                    self.state = "iac"
                else:
                    out.append(byte)
            elif self.state == "iac":
                if byte == IAC:
                    out.append(IAC)
                    self.state = "data"
                elif byte in (DO, DONT, WILL, WONT):
                    self.verb = byte
                    self.state = "option"
                elif byte == SB:
                    self.state = "sb"
                else:
                    self.state = "data"  # NOP, GA, AYT...: nothing to do
            elif self.state == "option":
                self._negotiate(self.verb, byte)
                self.state = "data"
            elif self.state == "sb":
                if byte == IAC:
                    self.state = "sb-iac"
            elif self.state == "sb-iac":
                self.state = "data" if byte == SE else "sb"
        return bytes(out)

    def _negotiate(self, verb: int, option: int) -> None:
        if verb == WILL:
            reply = DO if option in (OPT_ECHO, OPT_SGA) else DONT
        elif verb == DO:
            reply = WONT
        else:
            return  # WONT/DONT: acknowledged by doing nothing (no loop)
        if (reply, option) not in self.answered:  # answer each option once (RFC 854: no negotiation loops)
            self.answered.add((reply, option))
            self.replies += bytes((IAC, reply, option))

    def take_replies(self) -> bytes:
        out, self.replies = bytes(self.replies), bytearray()
        return out

    @staticmethod
    def encode(text: str) -> bytes:
        # ASCII (the allow-list's commands) never holds 0xFF, so there is no IAC to double.
        return text.encode("ascii")


class _TelnetLink(_Link):
    def __init__(self, connection: Connection) -> None:
        from agent.errors import ConfigError
        from agent.vendors.pinning import _connect

        if not connection.allow_insecure:
            raise ConfigError("telnet sends the codec password in clear: set allow_insecure = true only if the "
                              "codec offers nothing else", key="codec.allow_insecure")
        self.connection = connection
        self.sock = _connect(connection.host, connection.port, connection.timeout)
        # One command per write and a wait for its answer: Nagle's algorithm could only delay it.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.codec = TelnetCodec()
        # UTF-8 (a room name in the greeting) may be split across reads: decode incrementally.
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._utf8_held = False  # the decoder holds the start of a split character
        self.text = ""

    def login(self, wire: _TextWire) -> None:
        """``Username:`` (when an admin ID is set) and ``Password:`` prompts, then the greeting."""
        sent_user = sent_password = False
        deadline = time.monotonic() + self.connection.timeout
        seen = ""
        while True:
            if wire.stream.greetings_seen or (sent_password and "-> " in seen):
                return
            lower = seen.lower()
            if "password:" in lower:
                if sent_password:
                    raise localized(DeviceAuthError(f"{self.connection.host} refused the password (it asked again)"),
                                    "codec.gs.password_refused", host=self.connection.host)
                self.sock.sendall(self.connection.password_text().encode("utf-8") + b"\r\n")
                sent_password = True
                seen = ""
                wire.stream.partial = ""  # the prompt's line: the greeting's "Hi, my name is" starts its own
                continue
            if "username:" in lower or "user name:" in lower or "login:" in lower:
                if sent_user:
                    raise localized(DeviceAuthError(f"{self.connection.host} refused the login of user "
                                                    f"{self.connection.username!r}"),
                                    "codec.err.login_refused", host=self.connection.host,
                                    user=repr(self.connection.username))
                self.send(self.connection.username + "\r\n")
                sent_user = True
                seen = ""
                wire.stream.partial = ""
                continue
            if "-> " in seen and not sent_password:
                return  # no password set on the device: straight to the prompt
            left = deadline - time.monotonic()
            if left <= 0:
                raise localized(ProtocolError("the codec sent no Password: prompt or greeting within "
                                              f"{self.connection.timeout:g} s (is this a Poly text API port?)"),
                                "codec.gs.no_prompt", seconds=f"{self.connection.timeout:g}")
            data = self.recv(left, "the login prompt")
            seen = (seen + data)[-4096:]
            wire.stream.feed(data)
            if "incorrect" in seen.lower() or "login failed" in seen.lower():
                raise localized(DeviceAuthError(f"{self.connection.host} refused the login"),
                                "codec.gs.login_failed", host=self.connection.host)

    def recv(self, timeout: float, what: str, quiet_ok: bool = False) -> str:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            if quiet_ok:
                return ""
            raise localized(ProtocolError(f"the codec did not answer {what} within {self.connection.timeout:g} s"),
                            "codec.err.timeout", what=_what(what), seconds=f"{self.connection.timeout:g}") from None
        except OSError as exc:
            raise localized(DeviceUnreachable(f"the Telnet session to the codec broke: {exc}"),
                            "codec.err.broken", transport="Telnet", error=str(exc)) from None
        if not chunk:
            raise localized(DeviceUnreachable(f"the codec closed the Telnet session while answering {what}"),
                            "codec.err.closed", transport="Telnet", what=_what(what))
        codec = self.codec
        if codec.state != "data" or IAC in chunk:  # Telnet commands only then (an IAC may end the last read)
            chunk = codec.decode(chunk)
            replies = codec.take_replies()
            if replies:
                try:
                    self.sock.sendall(replies)
                except OSError:
                    pass
        if self._utf8_held or not chunk.isascii():
            text = self._utf8.decode(chunk)
            self._utf8_held = bool(self._utf8.getstate()[0])
            return text
        return chunk.decode("ascii")

    def send(self, text: str) -> None:
        self.sock.sendall(TelnetCodec.encode(text))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


__all__ = ["PolyGSDriver", "ALLOWED", "TelnetCodec", "DeviceError"]
