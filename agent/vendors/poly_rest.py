"""Poly VideoOS (G7500, Studio X30/X50/X70) through its REST API over HTTPS.

Session: ``POST /rest/current/session`` with ``{"user", "password"}`` → cookie ``session_id``; on HTTP
403 (expired) one new login, then the read again.  VideoOS can lock up when REST sessions are left open
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

from agent.errors import DeviceAuthError, DeviceError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, NotExposed, Wire

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
                self._missing[command] = str(exc)
        return self._data.get(command)

    def _why(self, command: str) -> str:
        return self._missing.get(command, f"`{command}` gave no value")

    def raw(self) -> dict[str, Any]:
        return {command: _redact(value) for command, value in self._data.items()}

    # -- getters ------------------------------------------------------------------------------------
    def _system(self) -> dict:
        system = self._get("GET /rest/system")
        if not isinstance(system, dict):
            raise ProtocolError("GET /rest/system did not return a JSON object: not a Poly VideoOS codec")
        return system

    def get_facts(self) -> m.Facts:
        s = self._system()
        uptime = s.get("uptime")
        facts = m.Facts(vendor="poly", model=_str(s.get("model")), software_version=_str(s.get("softwareVersion")),
                        serial=_str(s.get("serialNumber")), name=_str(s.get("systemName")),
                        uptime_s=int(float(uptime)) if _number(uptime) else None)
        for name in ("model", "software_version", "serial", "name", "uptime_s"):
            if getattr(facts, name) is None:
                self.not_exposed(f"facts.{name}", "GET /rest/system did not report it")
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
            raise ProtocolError("the device list is not a JSON list")
        for name in ("ip", "mac"):
            if getattr(info, name) is None:
                self.not_exposed(f"network.{name}", self._why("POST /rest/current/devicemanagement/devices")
                                 if devices is None else "the device list has no CODEC entry with it")
        self.not_exposed("network.netmask", "not in the VideoOS REST reads")
        self.not_exposed("network.gateway", "not in the VideoOS REST reads")
        return info

    def get_standby(self) -> m.StandbyInfo:
        raw = _str(self._system().get("state"))
        if raw is None:
            raise NotExposed("GET /rest/system has no state")
        state = _SLEEP.get(raw.lower())
        if state is None:
            self.not_exposed("standby.state", f"unknown system state {raw!r}")
        return m.StandbyInfo(state=state, raw=raw)

    def _status_lines(self) -> dict[str, list[str]]:
        lines = self._get("GET /rest/system/status")
        if lines is None:
            return {}
        if not isinstance(lines, list):
            raise ProtocolError("GET /rest/system/status is not a JSON list")
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
                raise ProtocolError(f"{command} is not a JSON list")
            first = next((s for s in servers or [] if isinstance(s, dict)), None)
            state.configured_server = _str(first.get("address")) if first else None
            words = lines.get(key)
            if words:
                state.raw = ",".join(words)
                state.status = _REG.get(words[0])
                if state.status is None:
                    self.not_exposed(f"registration.{proto}.status", f"unknown state {state.raw!r}")
            elif first is not None and _str(first.get("state")):
                state.raw = first["state"]
                state.status = _REG.get(str(first["state"]).lower())
            else:
                self.not_exposed(f"registration.{proto}.status", f"no {key} line in GET /rest/system/status")
            if state.status == m.REGISTERED:
                state.server = state.configured_server
            if state.server is None:
                self.not_exposed(f"registration.{proto}.server", "not registered, or no server reported")
            if state.configured_server is None:
                self.not_exposed(f"registration.{proto}.configured_server",
                                 self._why(command) if servers is None else "none configured")
            self.not_exposed(f"registration.{proto}.reason", "the REST API gives no failure reason")
            if state.raw is None:
                self.not_exposed(f"registration.{proto}.raw", "not reported")
        return reg

    def get_calls(self) -> list[m.Call]:
        conferences = self._get("GET /rest/conferences")
        if conferences is None:
            raise NotExposed(self._why("GET /rest/conferences"))
        if not isinstance(conferences, list):
            raise ProtocolError("GET /rest/conferences is not a JSON list")
        content = self._get("GET /rest/cameras/contentstatus")
        sharing = None if content is None else str(content).strip().strip('"').upper() not in ("CONTENT_IDLE", "")
        calls = []
        for conf in conferences:
            if not isinstance(conf, dict):
                raise ProtocolError("a conference is not a JSON object")
            conf_id = str(conf.get("id", len(calls)))
            connections = conf.get("connections") or [{}]
            if not isinstance(connections, list):
                raise ProtocolError("conference connections is not a list")
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
            for name in names + ("tx_rate_kbps", "rx_rate_kbps"):
                if getattr(call, name) is None:
                    self.not_exposed(f"{base}.{name}", f"the call is {state or 'not connected'}: no media statistics yet")
            return
        command = f"GET /rest/conferences/{conf_id}/mediastats"
        stats = self._get(command)
        if stats is None:
            for name in names:
                self.not_exposed(f"{base}.{name}", f"the call ended while it was read ({self._why(command)})")
            return
        entries = stats.get("mediaStats", stats) if isinstance(stats, dict) else stats
        if not isinstance(entries, list):
            raise ProtocolError(f"{command} is not a list of media statistics")
        losses, jitters, rates = [], [], {"TX": 0, "RX": 0}
        for entry in entries:
            if not isinstance(entry, dict):
                raise ProtocolError("a media statistics entry is not a JSON object")
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
                why = "no content is being shared" if name == "content_rate_kbps" else "mediastats did not report it"
                self.not_exposed(f"{base}.{name}", why)

    def get_call_rate(self) -> m.CallRate:
        raise NotExposed("the default call rate is not among the VideoOS REST reads (set it in the web UI)")

    def get_video(self) -> m.Video:
        for path in ("monitors_configured", "main_source", "presentation_source", "layout"):
            self.not_exposed(f"video.{path}", "not among the VideoOS REST reads")
        self.not_exposed("video.monitors", "the VideoOS REST reads do not report the screens")
        self.not_exposed("video.main_source_format",
                         "VideoOS reports the video format only during a call (mediastats)")
        return m.Video()

    def get_audio(self) -> m.Audio:
        audio_info = self._get("GET /rest/audio")
        if not isinstance(audio_info, dict):
            raise NotExposed(self._why("GET /rest/audio") if audio_info is None else "GET /rest/audio is not an object")
        mics_raw = self._get("GET /rest/audio/microphones")
        audio = m.Audio(
            mics_connected=int(audio_info["numOfMicsConnected"]) if _number(audio_info.get("numOfMicsConnected")) else None,
            muted=audio_info.get("muted") if isinstance(audio_info.get("muted"), bool) else None,
            volume=int(audio_info["volume"]) if _number(audio_info.get("volume")) else None,
        )
        if isinstance(mics_raw, list):
            for mic in mics_raw:
                if not isinstance(mic, dict):
                    raise ProtocolError("a microphone entry is not a JSON object")
                state = str(mic.get("state", ""))
                audio.mics.append(m.Mic(id=str(mic.get("number", len(audio.mics))),
                                        connected=None if not state else state == "MIC_STATE_GREEN"))
            audio.mics_total = len(audio.mics)
        elif mics_raw is not None:
            raise ProtocolError("GET /rest/audio/microphones is not a JSON list")
        for name in ("mics_connected", "muted", "volume", "mics_total"):
            if getattr(audio, name) is None:
                self.not_exposed(f"audio.{name}", "GET /rest/audio did not report it")
        echo_why = ("the echo canceller setting is not among the VideoOS REST reads; VideoOS microphones cancel "
                    "echo themselves")
        for mic in audio.mics:
            if mic.connected is None:
                self.not_exposed(f"audio.mics[{mic.id}].connected", "no state for this microphone")
            self.not_exposed(f"audio.mics[{mic.id}].echo_control", echo_why)
        self.not_exposed("audio.volume_muted", "VideoOS reports no separate loudspeaker mute")
        self.not_exposed("audio.echo_control", echo_why)
        return audio

    def get_presets(self) -> list[m.Preset]:
        raise NotExposed("camera presets are not among the documented VideoOS REST reads; check them on the touch panel")


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
            raise DeviceAuthError(f"{self.connection.host} refused the login of user {self.connection.username!r}")
        if response.status_code != 200:
            raise ProtocolError(f"the codec answered HTTP {response.status_code} to the session login")
        try:
            answer = response.json()
        except ValueError:
            raise ProtocolError("the session login answer is not JSON: not a Poly VideoOS codec") from None
        if isinstance(answer, dict) and answer.get("success") is False:
            raise DeviceAuthError(f"{self.connection.host} refused the login of user {self.connection.username!r}")
        session_id = None
        if isinstance(answer, dict) and isinstance(answer.get("session"), dict):
            session_id = answer["session"].get("sessionId")
        if session_id and "session_id" not in self.session.cookies:
            self.session.cookies.set("session_id", str(session_id))
        if "session_id" not in self.session.cookies:
            raise ProtocolError("the codec accepted the login but gave no session")
        token = self.session.cookies.get("XSRF-TOKEN")
        if token:
            self.session.headers["x-xsrf-token"] = token
        self.logged_in = True
        self.logins += 1

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        requests = self.requests
        try:
            response = self.session.request(method, self.base + path, timeout=(self.timeout, self.timeout),
                                            allow_redirects=False, stream=True, **kwargs)
            content = response.raw.read(MAX_BODY + 1, decode_content=True)
            if len(content) > MAX_BODY:
                response.close()
                raise ProtocolError(f"the answer to {what} is larger than {MAX_BODY // 1048576} MB")
            response._content = content
            return response
        except requests.exceptions.SSLError as exc:
            text = str(exc)
            if "ingerprint" in text:
                raise HostKeyMismatch(
                    f"the TLS certificate of {self.connection.host}:{self.connection.port} does not match the pinned "
                    "fingerprint; the password was not sent. If the codec's certificate was renewed, check it and run "
                    "`hntht-agent codec trust --replace`") from None
            raise HostKeyMismatch(f"the TLS certificate of {self.connection.host} is not trusted ({text[:120]})") from None
        except requests.exceptions.ConnectTimeout:
            raise DeviceUnreachable(f"{self.connection.host}:{self.connection.port} did not accept a connection "
                                    f"within {self.timeout:g} s") from None
        except (requests.exceptions.ReadTimeout, TimeoutError):
            raise ProtocolError(f"the codec did not answer {what} within {self.timeout:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise ProtocolError(f"the codec did not answer {what} within {self.timeout:g} s") from None
            raise DeviceUnreachable(f"cannot connect to {self.connection.host}:{self.connection.port}: "
                                    f"{str(exc)[:120]}") from None
        except requests.exceptions.RequestException as exc:
            raise ProtocolError(f"HTTP error talking to the codec: {str(exc)[:120]}") from None
        except (OSError, ValueError) as exc:
            raise ProtocolError(f"the answer to {what} broke off: {str(exc)[:120]}") from None

    def exchange(self, command: str) -> Any:
        method, _, path = command.partition(" ")
        for attempt in (1, 2):
            response = self._call(method, path, what=repr(command))
            if response.status_code == 403 and attempt == 1:
                self._login()  # the session expired: one new login (VideoOS answers 403)
                continue
            break
        if response.status_code in (401, 403):
            raise DeviceAuthError(f"the codec refused {command!r} (HTTP {response.status_code})")
        if response.status_code == 404:
            raise _NotFound(f"{command} is not on this software (HTTP 404)")
        if response.status_code != 200:
            raise ProtocolError(f"the codec answered HTTP {response.status_code} to {command!r}")
        text = response.content.decode("utf-8", "replace").strip()
        try:
            return json.loads(text)
        except ValueError:
            if command == "GET /rest/cameras/contentstatus" and text.replace("_", "").isalnum():
                return text  # VideoOS answers a bare CONTENT_IDLE here, not JSON
            raise ProtocolError(f"the answer to {command!r} is not JSON ({text[:40]!r})") from None

    def close(self) -> None:
        try:
            if self.logged_in:
                self.logged_in = False
                response = self._call("DELETE", "/rest/current/session", what="the logout")
                if response.status_code in (404, 405):
                    self._call("POST", "/rest/session", json={"action": "Logout"}, what="the logout")
        except Exception:  # noqa: BLE001 - best effort: the codec ages sessions out eventually
            pass
        finally:
            self.session.close()
