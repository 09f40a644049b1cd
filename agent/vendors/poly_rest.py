"""Poly VideoOS (G7500, Studio X30/X50/X70) through its REST API over HTTPS.

Session: ``POST /rest/current/session`` with ``{"user", "password"}`` → cookie ``session_id``; on HTTP
403 (expired) the old session is logged out, one new login, then the read again (a second 403 is a
refusal: codec.login FAIL).  VideoOS can lock up when REST sessions are left open
(sifuas/PolyVideoOSRestAPI), so this driver **logs out after every poll** — in ``poll()``'s ``finally``,
so also when a read failed or the deadline cut the poll (the probe closes an abandoned driver in the
background).  Logout is ``DELETE /rest/current/session``, falling back to the Group Series 6.x form
``POST /rest/session {"action": "Logout"}`` when the first is not known.

Trust: the certificate must match the pinned fingerprint or chain to ``[codec.tls] ca_file``
(agent/vendors/pinning.py); plain ``http`` only with ``allow_insecure``.

Reads (``GET`` unless marked): ``/rest/system`` (model, version, serial, name, uptime, sleep state),
``/rest/system/status`` (gatekeeper / SIP / microphones lines), ``/rest/system/h323gatekeepers``,
``/rest/system/sipservers``, ``/rest/audio``, ``/rest/audio/microphones``, ``/rest/conferences`` (and,
per connected conference, ``/rest/conferences/{id}/mediastats``), ``/rest/cameras/contentstatus``
(a bare ``CONTENT_IDLE``, not JSON) and ``POST /rest/current/devicemanagement/devices`` (a read: the
codec's own IP and MAC).  Not in the REST reads we know: monitors, echo canceller, camera presets,
default call rate, netmask/gateway — null with a reason.
"""

from __future__ import annotations

import json
from typing import Any

from agent.errors import DeviceAuthError, DeviceError, DeviceUnreachable, ProtocolError, shown
from agent.i18n import Text, register
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, NotExposed, Wire, localized

# Why a value is null, and what a malformed answer means, in both languages (English as before).
register(
    {
        "codec.rest.not_found": (
            "phần mềm của thiết bị đầu cuối không có {command} (HTTP 404)",
            "{command} is not on this software (HTTP 404)",
        ),
        "codec.rest.no_value": ("`{command}` không trả về giá trị", "`{command}` gave no value"),
        "codec.rest.system_not_object": (
            "GET /rest/system không trả về một đối tượng JSON: đây không phải thiết bị đầu cuối Poly VideoOS",
            "GET /rest/system did not return a JSON object: not a Poly VideoOS codec",
        ),
        "codec.rest.system_missing": ("GET /rest/system không báo giá trị này", "GET /rest/system did not report it"),
        "codec.rest.devices_not_list": ("danh sách thiết bị không phải danh sách JSON", "the device list is not a JSON list"),
        "codec.rest.no_codec_entry": (
            "danh sách thiết bị không có mục CODEC chứa giá trị này",
            "the device list has no CODEC entry with it",
        ),
        "codec.rest.not_in_reads": ("không có trong các lệnh đọc REST của VideoOS", "not in the VideoOS REST reads"),
        "codec.rest.not_among_reads": ("không có trong các lệnh đọc REST của VideoOS", "not among the VideoOS REST reads"),
        "codec.rest.no_state": ("GET /rest/system không có trạng thái (state)", "GET /rest/system has no state"),
        "codec.rest.odd_system_state": ("trạng thái hệ thống lạ: {raw}", "unknown system state {raw}"),
        "codec.rest.not_list": ("câu trả lời {command} không phải danh sách JSON", "{command} is not a JSON list"),
        "codec.rest.odd_state": ("trạng thái đăng ký lạ: {raw}", "unknown state {raw}"),
        "codec.rest.no_status_line": ("GET /rest/system/status không có dòng {line}", "no {line} line in GET /rest/system/status"),
        "codec.rest.no_server": (
            "chưa đăng ký, hoặc thiết bị đầu cuối không báo máy chủ",
            "not registered, or no server reported",
        ),
        "codec.rest.none_configured": ("chưa cài đặt máy chủ nào", "none configured"),
        "codec.rest.no_failure_reason": (
            "API REST không cho biết lý do đăng ký không thành công",
            "the REST API gives no failure reason",
        ),
        "codec.rest.not_reported": ("thiết bị đầu cuối không báo giá trị này", "not reported"),
        "codec.rest.conf_not_object": ("một cuộc gọi (conference) không phải đối tượng JSON", "a conference is not a JSON object"),
        "codec.rest.connections_not_list": (
            "danh sách kết nối của cuộc gọi không phải danh sách JSON",
            "conference connections is not a list",
        ),
        "codec.rest.no_media_yet": (
            "cuộc gọi đang ở trạng thái {state}: chưa có thống kê đường truyền",
            "the call is {state}: no media statistics yet",
        ),
        "codec.rest.no_media_unconnected": (
            "cuộc gọi chưa kết nối: chưa có thống kê đường truyền",
            "the call is not connected: no media statistics yet",
        ),
        "codec.rest.call_ended": (
            "cuộc gọi đã kết thúc trong lúc đang đọc ({why})",
            "the call ended while it was read ({why})",
        ),
        "codec.rest.conf_gone": (
            "{command} trả lời HTTP 404 và GET /rest/conferences không còn cuộc gọi {id}",
            "{command} answered HTTP 404 and GET /rest/conferences no longer lists conference {id}",
        ),
        "codec.rest.conf_now": (
            "{command} trả lời HTTP 404 và cuộc gọi {id} nay ở trạng thái {state}",
            "{command} answered HTTP 404 and conference {id} is now {state}",
        ),
        "codec.rest.no_mediastats": (
            "phần mềm của thiết bị đầu cuối không có {command} (HTTP 404 trong khi cuộc gọi {id} vẫn đang kết nối)",
            "{command} is not on this software (HTTP 404 while conference {id} is still connected)",
        ),
        "codec.rest.not_stats_list": (
            "câu trả lời {command} không phải danh sách thống kê đường truyền",
            "{command} is not a list of media statistics",
        ),
        "codec.rest.stats_entry_not_object": (
            "một mục thống kê đường truyền không phải đối tượng JSON",
            "a media statistics entry is not a JSON object",
        ),
        "codec.rest.no_content": ("không có trình chiếu dữ liệu", "no content is being shared"),
        "codec.rest.mediastats_missing": ("thống kê đường truyền (mediastats) không báo giá trị này", "mediastats did not report it"),
        "codec.rest.no_call_rate": (
            "băng thông kết nối mặc định không có trong các lệnh đọc REST của VideoOS (xem trên giao diện web của "
            "thiết bị đầu cuối)",
            "the default call rate is not among the VideoOS REST reads (set it in the web UI)",
        ),
        "codec.rest.no_screens": (
            "các lệnh đọc REST của VideoOS không báo trạng thái màn hình",
            "the VideoOS REST reads do not report the screens",
        ),
        "codec.rest.format_in_call_only": (
            "VideoOS chỉ báo định dạng hình ảnh khi đang trong cuộc gọi (mediastats)",
            "VideoOS reports the video format only during a call (mediastats)",
        ),
        "codec.rest.audio_not_object": ("GET /rest/audio không phải đối tượng JSON", "GET /rest/audio is not an object"),
        "codec.rest.mic_not_object": ("một mục micro không phải đối tượng JSON", "a microphone entry is not a JSON object"),
        "codec.rest.audio_missing": ("GET /rest/audio không báo giá trị này", "GET /rest/audio did not report it"),
        "codec.rest.no_echo": (
            "cài đặt chế độ triệt vọng không có trong các lệnh đọc REST của VideoOS; micro của VideoOS tự triệt vọng",
            "the echo canceller setting is not among the VideoOS REST reads; VideoOS microphones cancel echo themselves",
        ),
        "codec.rest.no_mic_state": ("không có trạng thái của micro này", "no state for this microphone"),
        "codec.rest.no_speaker_mute": (
            "VideoOS không báo riêng trạng thái tắt tiếng của loa",
            "VideoOS reports no separate loudspeaker mute",
        ),
        "codec.rest.no_presets": (
            "danh sách preset camera không có trong các lệnh đọc REST đã được công bố của VideoOS; kiểm tra các vị "
            "trí preset trên màn hình điều khiển cảm ứng",
            "camera presets are not among the documented VideoOS REST reads; check them on the touch panel",
        ),
        "codec.rest.login_not_json": (
            "câu trả lời khi đăng nhập không phải JSON: đây không phải thiết bị đầu cuối Poly VideoOS",
            "the session login answer is not JSON: not a Poly VideoOS codec",
        ),
        "codec.rest.no_session": (
            "thiết bị đầu cuối nhận đăng nhập nhưng không cấp phiên làm việc",
            "the codec accepted the login but gave no session",
        ),
        "codec.rest.broke_off": (
            "câu trả lời cho {what} bị ngắt giữa chừng: {error}",
            "the answer to {what} broke off: {error}",
        ),
        "codec.rest.refused": (
            "thiết bị đầu cuối từ chối {command} (HTTP {code})",
            "the codec refused {command} (HTTP {code})",
        ),
        "codec.rest.what_login": ("yêu cầu đăng nhập", "the login"),
        "codec.rest.what_logout": ("yêu cầu đăng xuất", "the logout"),
        "codec.rest.not_json": (
            "câu trả lời cho {command} không phải JSON ({text})",
            "the answer to {command} is not JSON ({text})",
        ),
    }
)

ALLOWED = AllowList(
    "poly-rest",
    r"GET /rest/system(?:/status|/sipservers|/h323gatekeepers)?",
    r"GET /rest/audio(?:/microphones)?",
    r"GET /rest/conferences",
    r"GET /rest/conferences/[0-9]{1,6}/mediastats",
    r"GET /rest/cameras/contentstatus",
    r"POST /rest/current/devicemanagement/devices",
)
MAX_BODY = 4 * 1024 * 1024
SECRET_KEYS = ("password", "sessionid", "session_id", "token", "secret")

_REG = {"up": m.REGISTERED, "registered": m.REGISTERED, "down": m.FAILED, "failed": m.FAILED,
        "registering": m.REGISTERING, "off": m.INACTIVE, "disabled": m.INACTIVE}
_SLEEP = {"asleep": m.STANDBY, "sleep": m.STANDBY, "awake": m.AWAKE, "ready": m.AWAKE, "incall": m.AWAKE,
          "in_call": m.AWAKE, "idle": m.AWAKE}
_FORMATS = {"1080p": "1920x1080", "720p": "1280x720", "4k": "3840x2160", "2160p": "3840x2160", "576p": "1024x576",
            "480p": "848x480", "448p": "768x448", "360p": "640x360", "288p": "352x288", "cif": "352x288",
            "4cif": "704x576", "sif": "352x240", "qcif": "176x144"}


# The session requests named inside error sentences, in the reader's language (a read is named by its
# command, the same in both).
_WHAT = {"the login": Text("codec.rest.what_login"), "the logout": Text("codec.rest.what_logout")}


def _what(what: str) -> Text | str:
    return _WHAT.get(what, what)


class _NotFound(DeviceError):
    """HTTP 404 for a read: this software does not have that resource."""


class PolyRestDriver(CodecDriver):
    name = "poly-rest"
    vendor = "poly"
    ALLOWED = ALLOWED
    transports = ("https", "http")

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._data: dict[str, Any] = {}
        self._missing: dict[str, str] = {}

    def _open_wire(self) -> Wire:
        return _RestWire(self.connection)

    def poll(self) -> m.CodecStatus:
        """One session per poll: VideoOS can lock up with REST sessions left open."""
        try:
            return super().poll()
        finally:
            self.close()

    # -- reads ------------------------------------------------------------------------------------
    def _begin_poll(self) -> None:
        self._data, self._missing = {}, {}

    def _end_poll(self) -> None:
        pass  # keep _data for raw(); dropped at the next poll

    def _get(self, command: str) -> Any:
        if command not in self._data and command not in self._missing:
            try:
                self._data[command] = self.send(command)
            except _NotFound as exc:
                self._missing[command] = shown(exc)
        return self._data.get(command)

    def _why(self, command: str) -> Text | str:
        return self._missing.get(command) or Text("codec.rest.no_value", command=command)

    def raw(self) -> dict[str, Any]:
        return {command: _redact(value) for command, value in self._data.items()}

    # -- getters ------------------------------------------------------------------------------------
    def _system(self) -> dict:
        system = self._get("GET /rest/system")
        if not isinstance(system, dict):
            raise localized(ProtocolError("GET /rest/system did not return a JSON object: not a Poly VideoOS codec"),
                            "codec.rest.system_not_object")
        return system

    def get_facts(self) -> m.Facts:
        s = self._system()
        uptime = s.get("uptime")
        facts = m.Facts(vendor="poly", model=_str(s.get("model")), software_version=_str(s.get("softwareVersion")),
                        serial=_str(s.get("serialNumber")), name=_str(s.get("systemName")),
                        uptime_s=int(float(uptime)) if _number(uptime) else None)
        for name in ("model", "software_version", "serial", "name", "uptime_s"):
            if getattr(facts, name) is None:
                self.not_exposed(f"facts.{name}", Text("codec.rest.system_missing"))
        return facts

    def get_network(self) -> m.NetworkInfo:
        devices = self._get("POST /rest/current/devicemanagement/devices")
        info = m.NetworkInfo()
        if isinstance(devices, list):
            codec = next((d for d in devices if isinstance(d, dict) and
                          (d.get("uid") == "local-system" or d.get("deviceType") == "CODEC")), None)
            if codec is not None:
                info.ip = _str(codec.get("ip"))
                info.mac = _mac(_str(codec.get("macAddress")))
        elif devices is not None:
            raise localized(ProtocolError("the device list is not a JSON list"), "codec.rest.devices_not_list")
        for name in ("ip", "mac"):
            if getattr(info, name) is None:
                self.not_exposed(f"network.{name}", self._why("POST /rest/current/devicemanagement/devices")
                                 if devices is None else Text("codec.rest.no_codec_entry"))
        self.not_exposed("network.netmask", Text("codec.rest.not_in_reads"))
        self.not_exposed("network.gateway", Text("codec.rest.not_in_reads"))
        return info

    def get_standby(self) -> m.StandbyInfo:
        raw = _str(self._system().get("state"))
        if raw is None:
            raise NotExposed(Text("codec.rest.no_state"))
        state = _SLEEP.get(raw.lower())
        if state is None:
            self.not_exposed("standby.state", Text("codec.rest.odd_system_state", raw=repr(raw)))
        return m.StandbyInfo(state=state, raw=raw)

    def _status_lines(self) -> dict[str, list[str]]:
        lines = self._get("GET /rest/system/status")
        if lines is None:
            return {}
        if not isinstance(lines, list):
            raise localized(ProtocolError("GET /rest/system/status is not a JSON list"), "codec.rest.not_list",
                            command="GET /rest/system/status")
        out = {}
        for item in lines:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                states = item.get("stateList", item.get("state", []))  # GS 6.x says "state"
                out[item["name"]] = [str(s).lower() for s in (states if isinstance(states, list) else [states])]
        return out

    def get_registration(self) -> m.Registration:
        lines = self._status_lines()
        reg = m.Registration()
        for proto, key, command in (("h323", "system.status.gatekeeper", "GET /rest/system/h323gatekeepers"),
                                    ("sip", "system.status.sipserver", "GET /rest/system/sipservers")):
            state = getattr(reg, proto)
            servers = self._get(command)
            if servers is not None and not isinstance(servers, list):
                raise localized(ProtocolError(f"{command} is not a JSON list"), "codec.rest.not_list", command=command)
            first = next((s for s in servers or [] if isinstance(s, dict)), None)
            state.configured_server = _str(first.get("address")) if first else None
            words = lines.get(key)
            if words:
                state.raw = ",".join(words)
                state.status = _REG.get(words[0])
                if state.status is None:
                    self.not_exposed(f"registration.{proto}.status", Text("codec.rest.odd_state", raw=repr(state.raw)))
            elif first is not None and isinstance(first.get("state"), str) and first["state"].strip():
                state.raw = first["state"].strip()  # a word only: a JSON true/false/number here is no state
                state.status = _REG.get(state.raw.lower())
                if state.status is None:
                    self.not_exposed(f"registration.{proto}.status", Text("codec.rest.odd_state", raw=repr(state.raw)))
            else:
                self.not_exposed(f"registration.{proto}.status", Text("codec.rest.no_status_line", line=key))
            if state.status == m.REGISTERED:
                state.server = state.configured_server
            if state.server is None:
                self.not_exposed(f"registration.{proto}.server", Text("codec.rest.no_server"))
            if state.configured_server is None:
                self.not_exposed(f"registration.{proto}.configured_server",
                                 self._why(command) if servers is None else Text("codec.rest.none_configured"))
            self.not_exposed(f"registration.{proto}.reason", Text("codec.rest.no_failure_reason"))
            if state.raw is None:
                self.not_exposed(f"registration.{proto}.raw", Text("codec.rest.not_reported"))
        return reg

    def get_calls(self) -> list[m.Call]:
        conferences = self._get("GET /rest/conferences")
        if conferences is None:
            raise NotExposed(self._why("GET /rest/conferences"))
        if not isinstance(conferences, list):
            raise localized(ProtocolError("GET /rest/conferences is not a JSON list"), "codec.rest.not_list",
                            command="GET /rest/conferences")
        content = self._get("GET /rest/cameras/contentstatus")
        sharing = None if content is None else str(content).strip().strip('"').upper() not in ("CONTENT_IDLE", "")
        calls = []
        for conf in conferences:
            if not isinstance(conf, dict):
                raise localized(ProtocolError("a conference is not a JSON object"), "codec.rest.conf_not_object")
            conf_id = str(conf.get("id", len(calls)))
            connections = conf.get("connections") or [{}]
            if not isinstance(connections, list):
                raise localized(ProtocolError("conference connections is not a list"), "codec.rest.connections_not_list")
            conn = connections[0] if isinstance(connections[0], dict) else {}
            state = (_str(conn.get("state")) or "").lower() or None
            call = m.Call(id=conf_id, remote=_str(conn.get("address")) or _str(conn.get("remoteName")),
                          protocol=(_str(conn.get("callType")) or "").lower().replace(".", "") or None,
                          direction="incoming" if conn.get("incoming") is True else
                          ("outgoing" if conn.get("incoming") is False else None),
                          status=state, content_active=sharing)
            rate = conn.get("rate")
            if _number(rate):
                call.tx_rate_kbps = call.rx_rate_kbps = int(rate)
            self._media(call, conf_id, state)
            calls.append(call)
        return calls

    def _media(self, call: m.Call, conf_id: str, state: str | None) -> None:
        base = f"calls[{call.id}]"
        names = ("tx_video_format", "rx_video_format", "content_rate_kbps", "loss_percent", "jitter_ms")
        if state != "connected":
            why = Text("codec.rest.no_media_yet", state=state) if state else Text("codec.rest.no_media_unconnected")
            for name in names + ("tx_rate_kbps", "rx_rate_kbps"):
                if getattr(call, name) is None:
                    self.not_exposed(f"{base}.{name}", why)
            return
        command = f"GET /rest/conferences/{conf_id}/mediastats"
        stats = self._get(command)
        if stats is None:
            why = self._no_media_why(conf_id, command)
            for name in names:
                self.not_exposed(f"{base}.{name}", why)
            return
        entries = stats.get("mediaStats", stats) if isinstance(stats, dict) else stats
        if not isinstance(entries, list):
            raise localized(ProtocolError(f"{command} is not a list of media statistics"), "codec.rest.not_stats_list",
                            command=command)
        losses, jitters, rates = [], [], {"TX": 0, "RX": 0}
        for entry in entries:
            if not isinstance(entry, dict):
                raise localized(ProtocolError("a media statistics entry is not a JSON object"),
                                "codec.rest.stats_entry_not_object")
            direction = str(entry.get("mediaDirection", "")).upper()
            kind = str(entry.get("mediaType", "")).upper()
            if _number(entry.get("percentPacketLoss")):
                losses.append(float(entry["percentPacketLoss"]))
            if _number(entry.get("jitter")):
                jitters.append(float(entry["jitter"]))
            bitrate = int(entry["actualBitRate"]) if _number(entry.get("actualBitRate")) else None
            if bitrate is not None and direction in rates:
                rates[direction] += bitrate
            fmt = _format(entry.get("mediaFormat"))
            if kind == "VIDEO" and direction == "TX":
                call.tx_video_format = fmt
            elif kind == "VIDEO" and direction == "RX":
                call.rx_video_format = fmt
            elif kind == "CONTENT" and bitrate is not None:
                call.content_rate_kbps = max(call.content_rate_kbps or 0, bitrate)
                call.content_active = True if bitrate > 0 else call.content_active
        call.loss_percent = max(losses) if losses else None
        call.jitter_ms = max(jitters) if jitters else None
        if rates["TX"] and call.tx_rate_kbps is None:
            call.tx_rate_kbps = rates["TX"]
        if rates["RX"] and call.rx_rate_kbps is None:
            call.rx_rate_kbps = rates["RX"]
        for name in names + ("tx_rate_kbps", "rx_rate_kbps", "content_active"):
            if getattr(call, name) is None:
                self.not_exposed(f"{base}.{name}", Text("codec.rest.no_content") if name == "content_rate_kbps"
                                 else Text("codec.rest.mediastats_missing"))

    def _no_media_why(self, conf_id: str, command: str) -> Text:
        """mediastats answered 404 for a conference listed as connected: either the call ended between the two
        reads (not read this time: an error) or this software has no mediastats (an API limit: by hand).  One
        fresh read of the conference list tells them apart; a 404 never says which by itself."""
        conferences = self.send("GET /rest/conferences")  # not the cached list: the state now
        if not isinstance(conferences, list):
            raise localized(ProtocolError("GET /rest/conferences is not a JSON list"), "codec.rest.not_list",
                            command="GET /rest/conferences")
        now = next((c for c in conferences if isinstance(c, dict) and str(c.get("id")) == conf_id), None)
        if now is None:
            return Text("codec.rest.call_ended", why=Text("codec.rest.conf_gone", command=command, id=conf_id))
        connections = now.get("connections")
        conn = connections[0] if isinstance(connections, list) and connections and isinstance(connections[0], dict) else {}
        state = (_str(conn.get("state")) or "").lower()
        if state != "connected":
            return Text("codec.rest.call_ended",
                        why=Text("codec.rest.conf_now", command=command, id=conf_id, state=state or "?"))
        return Text("codec.rest.no_mediastats", command=command, id=conf_id)

    def get_call_rate(self) -> m.CallRate:
        raise NotExposed(Text("codec.rest.no_call_rate"))

    def get_video(self) -> m.Video:
        for path in ("monitors_configured", "main_source", "presentation_source", "layout"):
            self.not_exposed(f"video.{path}", Text("codec.rest.not_among_reads"))
        self.not_exposed("video.monitors", Text("codec.rest.no_screens"))
        self.not_exposed("video.main_source_format", Text("codec.rest.format_in_call_only"))
        return m.Video()

    def get_audio(self) -> m.Audio:
        audio_info = self._get("GET /rest/audio")
        if not isinstance(audio_info, dict):
            raise NotExposed(self._why("GET /rest/audio") if audio_info is None else Text("codec.rest.audio_not_object"))
        mics_raw = self._get("GET /rest/audio/microphones")
        audio = m.Audio(
            mics_connected=int(audio_info["numOfMicsConnected"]) if _number(audio_info.get("numOfMicsConnected")) else None,
            muted=audio_info.get("muted") if isinstance(audio_info.get("muted"), bool) else None,
            volume=int(audio_info["volume"]) if _number(audio_info.get("volume")) else None,
        )
        if isinstance(mics_raw, list):
            for mic in mics_raw:
                if not isinstance(mic, dict):
                    raise localized(ProtocolError("a microphone entry is not a JSON object"), "codec.rest.mic_not_object")
                state = str(mic.get("state", ""))
                audio.mics.append(m.Mic(id=str(mic.get("number", len(audio.mics))),
                                        connected=None if not state else state == "MIC_STATE_GREEN"))
            audio.mics_total = len(audio.mics)
        elif mics_raw is not None:
            raise localized(ProtocolError("GET /rest/audio/microphones is not a JSON list"), "codec.rest.not_list",
                            command="GET /rest/audio/microphones")
        for name in ("mics_connected", "muted", "volume", "mics_total"):
            if getattr(audio, name) is None:
                self.not_exposed(f"audio.{name}", Text("codec.rest.audio_missing"))
        echo_why = Text("codec.rest.no_echo")
        for mic in audio.mics:
            if mic.connected is None:
                self.not_exposed(f"audio.mics[{mic.id}].connected", Text("codec.rest.no_mic_state"))
            self.not_exposed(f"audio.mics[{mic.id}].echo_control", echo_why)
        self.not_exposed("audio.volume_muted", Text("codec.rest.no_speaker_mute"))
        self.not_exposed("audio.echo_control", echo_why)
        return audio

    def get_presets(self) -> list[m.Preset]:
        raise NotExposed(Text("codec.rest.no_presets"))


# -- helpers ------------------------------------------------------------------------------------
def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) < 1e12


def _mac(value: str | None) -> str | None:
    if not value:
        return None
    hexd = value.replace(":", "").replace("-", "").lower()
    if len(hexd) != 12 or any(c not in "0123456789abcdef" for c in hexd):
        return value
    return ":".join(hexd[i:i + 2] for i in range(0, 12, 2)).upper()


def _format(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if "x" in text and text.replace("x", "").replace("p", "").isdigit():
        return text.rstrip("p")
    return _FORMATS.get(text)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if any(s in k.lower() for s in SECRET_KEYS) else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


# -- the wire -------------------------------------------------------------------------------------
class _RestWire:
    def __init__(self, connection: Connection) -> None:
        from agent.vendors.pinning import https_session

        self.connection = connection
        self.timeout = connection.timeout
        if connection.transport == "http" and not connection.allow_insecure:
            from agent.errors import ConfigError

            raise ConfigError("http sends the codec password in clear: use https, or set allow_insecure = true",
                              key="codec.transport")
        import requests

        self.requests = requests
        self.session, self.base = https_session(connection)
        self.logged_in = False
        self.logins = 0
        try:
            self._login()
        except BaseException:
            self.session.close()
            raise

    def _login(self) -> None:
        body = {"user": self.connection.username, "password": self.connection.password_text()}
        response = self._call("POST", "/rest/current/session", json=body, what="the login")
        if response.status_code == 404:  # Group Series 6.x
            body = {"action": "Login", **body}
            response = self._call("POST", "/rest/session", json=body, what="the login")
        if response.status_code in (401, 403):
            raise self._refused_login()
        if response.status_code != 200:
            raise localized(ProtocolError(f"the codec answered HTTP {response.status_code} to the session login"),
                            "codec.err.http_login", code=response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise localized(ProtocolError("the session login answer is not JSON: not a Poly VideoOS codec"),
                            "codec.rest.login_not_json") from None
        if isinstance(answer, dict) and answer.get("success") is False:
            raise self._refused_login()
        session_id = None
        if isinstance(answer, dict) and isinstance(answer.get("session"), dict):
            session_id = answer["session"].get("sessionId")
        if session_id and "session_id" not in self.session.cookies:
            self.session.cookies.set("session_id", str(session_id))
        if "session_id" not in self.session.cookies:
            raise localized(ProtocolError("the codec accepted the login but gave no session"), "codec.rest.no_session")
        if self.connection.transport == "http":
            # A codec may flag its cookie Secure even over plain HTTP (allow_insecure): the client would then
            # never send it back, every read would be 403 (a false login failure) and the session left open.
            for cookie in self.session.cookies:
                cookie.secure = False
        token = self.session.cookies.get("XSRF-TOKEN")
        if token:
            self.session.headers["x-xsrf-token"] = token
        self.logged_in = True
        self.logins += 1

    def _refused_login(self) -> DeviceAuthError:
        c = self.connection
        return localized(DeviceAuthError(f"{c.host} refused the login of user {c.username!r}"),
                         "codec.err.login_refused", host=c.host, user=repr(c.username))

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        requests = self.requests
        try:
            response = self.session.request(method, self.base + path, timeout=(self.timeout, self.timeout),
                                            allow_redirects=False, stream=True, **kwargs)
            content = self._read_body(response, what)
            if len(content) > MAX_BODY:
                response.close()
                raise localized(ProtocolError(f"the answer to {what} is larger than {MAX_BODY // 1048576} MB"),
                                "codec.err.too_large", what=_what(what))
            response._content = content
            return response
        except requests.exceptions.SSLError as exc:
            from agent.vendors.pinning import tls_refusal

            raise tls_refusal(exc, self.connection) from None
        except requests.exceptions.ConnectTimeout:
            raise localized(DeviceUnreachable(f"{self.connection.host}:{self.connection.port} did not accept a connection "
                                              f"within {self.timeout:g} s"),
                            "codec.err.no_connect", host=f"{self.connection.host}:{self.connection.port}",
                            seconds=self.timeout) from None
        except (requests.exceptions.ReadTimeout, TimeoutError):
            raise self._timeout(what) from None
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise self._timeout(what) from None
            from agent.vendors.pinning import connection_error

            raise connection_error(exc, self.connection) from None
        except requests.exceptions.RequestException as exc:
            raise localized(ProtocolError(f"HTTP error talking to the codec: {str(exc)[:120]}"),
                            "codec.err.http", error=str(exc)[:120]) from None
        except (OSError, ValueError) as exc:
            raise localized(ProtocolError(f"the answer to {what} broke off: {str(exc)[:120]}"),
                            "codec.rest.broke_off", what=_what(what), error=str(exc)[:120]) from None

    def _read_body(self, response: Any, what: str) -> bytes:
        """The body, read here below requests (to cap it), so urllib3's own errors are translated here:
        a body cut short, a stall mid-body, a bad gzip, content after a 204 (found by the wire fuzz)."""
        from urllib3.exceptions import HTTPError, ReadTimeoutError

        try:
            return response.raw.read(MAX_BODY + 1, decode_content=True)
        except ReadTimeoutError:
            response.close()
            raise self._timeout(what) from None
        except HTTPError as exc:
            response.close()
            raise localized(ProtocolError(f"the answer to {what} broke off: {str(exc)[:120]}"),
                            "codec.rest.broke_off", what=_what(what), error=str(exc)[:120]) from None

    def _timeout(self, what: str) -> ProtocolError:
        return localized(ProtocolError(f"the codec did not answer {what} within {self.timeout:g} s"),
                         "codec.err.timeout", what=_what(what), seconds=self.timeout)

    def exchange(self, command: str) -> Any:
        method, _, path = command.partition(" ")
        for attempt in (1, 2):
            response = self._call(method, path, what=repr(command))
            if response.status_code == 403 and attempt == 1:
                # VideoOS answers 403 when the session expired: one new login.  The old session is logged
                # out first: a 403 that a live session gets (an account without API rights) would otherwise
                # leave it open, and VideoOS locks up when sessions pile up.
                self._logout()
                self._login()
                continue
            break
        if response.status_code in (401, 403):
            raise localized(DeviceAuthError(f"the codec refused {command!r} (HTTP {response.status_code})"),
                            "codec.rest.refused", command=repr(command), code=response.status_code)
        if response.status_code == 404:
            raise localized(_NotFound(f"{command} is not on this software (HTTP 404)"), "codec.rest.not_found",
                            command=command)
        if response.status_code != 200:
            raise localized(ProtocolError(f"the codec answered HTTP {response.status_code} to {command!r}"),
                            "codec.err.http_status", code=response.status_code, command=repr(command))
        text = response.content.decode("utf-8", "replace").strip()
        try:
            return json.loads(text)
        except ValueError:
            if command == "GET /rest/cameras/contentstatus" and text.replace("_", "").isalnum():
                return text  # VideoOS answers a bare CONTENT_IDLE here, not JSON
            raise localized(ProtocolError(f"the answer to {command!r} is not JSON ({text[:40]!r})"), "codec.rest.not_json",
                            command=repr(command), text=repr(text[:40])) from None

    def _logout(self) -> None:
        """Best effort: the codec ages sessions out eventually.  Group Series 6.x knows only /rest/session."""
        try:
            if self.logged_in:
                self.logged_in = False
                response = self._call("DELETE", "/rest/current/session", what="the logout")
                if response.status_code in (404, 405):
                    self._call("POST", "/rest/session", json={"action": "Logout"}, what="the logout")
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        try:
            self._logout()
        finally:
            self.session.close()
