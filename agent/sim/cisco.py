"""A Cisco codec on loopback, serving real captures: xAPI over SSH (terminal and JSON) and the XMLAPI over HTTPS.

Used by the tests and by `hntht-agent demo`.  The status and configuration trees are the real
captures (shared/fixtures/cisco/: a Room Bar's status.xml on RoomOS 11.19, an SX20's
configuration.xml on CE 9.1.4); the SSH peer renders the *same* trees as ``*s``/``*c`` lines (quoting
configuration values by their valuespace type, from the real valuespace.xml) and as JSON, and opens
with the real TSH welcome banner and ``echo off`` answer.

State changes are overlays on the real tree (:data:`HEALTHY` makes the Room Bar an idle, H.323-registered
room with two screens; each fault changes a few leaves); ``state="capture"`` serves the captures verbatim.
Faults switch at run time with :meth:`CiscoSim.set_faults`.  Every command and request received is logged
in :attr:`CiscoSim.received` so tests can prove the agent sent only read-only commands.

Every capture can be given (``status_xml``, ``config_xml``, ``valuespace_xml``, ``banner``,
``echo_response``: the test cases' files); ``plain_http=True`` also serves the XMLAPI without TLS on
``http_port``.  Model states transform the real trees the way other models answer (codecs.md §2.3, §2.6):
``room_kit`` strips the microphones' EchoControl from the configuration, ``no_preset_list`` refuses the
camera preset list and defines the room's presets as the status tree's RoomPreset items.
"""

from __future__ import annotations

import copy
import datetime as _dt
import http.server
import json
import logging
import random
import re
import socket
import ssl
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

FAULTS = ("muted", "720p", "preset_missing", "echo_off", "unregistered", "standby", "in_call", "call_dropped",
          "slow", "never_answers", "garbage", "auth_failure", "changed_host_key", "no_json", "session_expired",
          "room_kit", "no_preset_list")
# session_expired and changed_host_key happen once, when switched on (not a lasting state): the codec
# forgets its XMLAPI sessions and ends its SSH sessions (reboot, idle timeout); it shows a new SSH host
# key and TLS certificate.

DEFAULT_PRESETS = [("1", "Chủ tọa"), ("2", "Bên trái"), ("3", "Bên phải"), ("4", "Toàn cảnh")]

# An idle, registered room: leaves changed on the real Room Bar status (path, value).
HEALTHY: list[tuple[str, str]] = [
    ("SystemUnit/State/NumberOfActiveCalls", "0"),
    ("SystemUnit/State/System", "Initialized"),
    ("MicrosoftTeams/Calling/InCall", "False"),
    ("Audio/Microphones/Mute", "Off"),
    ("Audio/Volume", "50"),
    ("H323/Gatekeeper/Address", "10.0.0.10"),
    ("H323/Gatekeeper/Port", "1719"),
    ("H323/Gatekeeper/Status", "Registered"),
    ("Video/Output/Connector[2]/Connected", "True"),
    ("Video/Output/Connector[2]/MonitorRole", "Second"),
    ("Video/Output/Connector[2]/ConnectedDevice/Name", "LG 43UN"),
    ("Video/Output/Connector[2]/Resolution/Height", "1080"),
    ("Video/Output/Connector[2]/Resolution/RefreshRate", "60"),
    ("Video/Output/Connector[2]/Resolution/Width", "1920"),
]

FAULT_STATUS: dict[str, list[tuple[str, str]]] = {
    "muted": [("Audio/Microphones/Mute", "On")],
    "720p": [("Video/Input/Source[1]/Resolution/Width", "1280"), ("Video/Input/Source[1]/Resolution/Height", "720")],
    "unregistered": [("H323/Gatekeeper/Status", "Rejected"), ("H323/Gatekeeper/Reason", "Duplicate alias")],
    "standby": [("Standby/State", "Standby")],
}
FAULT_CONFIG: dict[str, list[tuple[str, str]]] = {
    "echo_off": [("Audio/Input/Microphone[1]/EchoControl/Mode", "Off")],
}
# A connected H.323 call with content, field names from the API guide (codecs.md §2.3).
IN_CALL: list[tuple[str, str]] = [
    ("Call[3]/AnswerState", "Answered"), ("Call[3]/CallType", "Video"), ("Call[3]/Direction", "outgoing"),
    ("Call[3]/DisplayName", "MCU VNPT"), ("Call[3]/Protocol", "h323"), ("Call[3]/ReceiveCallRate", "2048"),
    ("Call[3]/RemoteNumber", "10.0.0.10"), ("Call[3]/Status", "Connected"), ("Call[3]/TransmitCallRate", "2048"),
    ("Conference/Presentation/Mode", "Sending"),
    ("MediaChannels/Call[3]/Channel[1]/Direction", "outgoing"), ("MediaChannels/Call[3]/Channel[1]/Type", "Video"),
    ("MediaChannels/Call[3]/Channel[1]/Video/ChannelRole", "Main"),
    ("MediaChannels/Call[3]/Channel[1]/Video/ResolutionX", "1920"),
    ("MediaChannels/Call[3]/Channel[1]/Video/ResolutionY", "1080"),
    ("MediaChannels/Call[3]/Channel[1]/Netstat/ChannelRate", "1536000"),
    ("MediaChannels/Call[3]/Channel[1]/Netstat/Loss", "2"), ("MediaChannels/Call[3]/Channel[1]/Netstat/Packets", "998"),
    ("MediaChannels/Call[3]/Channel[1]/Netstat/MaxJitter", "4"),
    ("MediaChannels/Call[3]/Channel[2]/Direction", "incoming"), ("MediaChannels/Call[3]/Channel[2]/Type", "Video"),
    ("MediaChannels/Call[3]/Channel[2]/Video/ChannelRole", "Main"),
    ("MediaChannels/Call[3]/Channel[2]/Video/ResolutionX", "1280"),
    ("MediaChannels/Call[3]/Channel[2]/Video/ResolutionY", "720"),
    ("MediaChannels/Call[3]/Channel[3]/Direction", "outgoing"), ("MediaChannels/Call[3]/Channel[3]/Type", "Video"),
    ("MediaChannels/Call[3]/Channel[3]/Video/ChannelRole", "Presentation"),
    ("MediaChannels/Call[3]/Channel[3]/Video/ResolutionX", "1920"),
    ("MediaChannels/Call[3]/Channel[3]/Video/ResolutionY", "1080"),
    ("MediaChannels/Call[3]/Channel[3]/Netstat/ChannelRate", "768000"),
    ("SystemUnit/State/NumberOfActiveCalls", "1"), ("SystemUnit/State/System", "InCall"),
]


def fixtures_dir() -> Path:
    import os

    env = os.environ.get("HNTHT_SHARED")
    if env:
        return Path(env) / "fixtures" / "cisco"
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "fixtures" / "cisco"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/fixtures/cisco")


def set_path(root: ET.Element, path: str, value: str) -> None:
    el = root
    for part in path.split("/"):
        match = re.fullmatch(r"(\w+)(?:\[(\w+)\])?", part)
        assert match, part
        name, item = match.groups()
        found = None
        for child in el:
            if child.tag == name and child.get("item") == item:
                found = child
                break
        if found is None:
            found = ET.SubElement(el, name)
            if item is not None:
                found.set("item", item)
                found.set("maxOccurrence", "n")
        el = found
    el.text = value


class Valuespace:
    """Types of configuration values (Integer / String / Literal) from the codec's valuespace.xml."""

    def __init__(self, text: bytes | None) -> None:
        self.types: dict[str, str] = {}
        if text:
            for el in ET.fromstring(text):
                self.types[el.tag] = el.get("type", "")

    def quoted(self, ref: str | None, value: str) -> bool:
        name = (ref or "").rsplit("/", 1)[-1]
        kind = self.types.get(name) or ("Integer" if name.startswith("INT_") else
                                        "String" if name.startswith(("STR_", "PASSWORD_")) else "")
        if kind == "String":
            return True
        if kind in ("Integer", "Literal"):
            return False
        return not re.fullmatch(r"-?\d+|[A-Za-z][A-Za-z0-9_]*", value)


def _status_quoted(value: str) -> bool:
    return not re.fullmatch(r"-?\d+|[A-Za-z][A-Za-z0-9_]*", value)


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render_terminal(root: ET.Element, kind: str, valuespace: Valuespace | None = None) -> str:
    """The codec's terminal flattening: ``*s Path Item N Leaf: value`` / ``*c xConfiguration ...``."""
    lines: list[str] = []

    def walk(el: ET.Element, words: list[str]) -> None:
        name = el.tag + (f" {el.get('item')}" if el.get("item") else "")
        here = words + [name]
        if el.get("ghost") == "True":
            lines.append(f"*s {' '.join(here)} (ghost=True):")
            return
        children = list(el)
        if not children:
            value = (el.text or "").strip()
            if kind == "c":
                quoted = (valuespace or Valuespace(None)).quoted(el.get("valueSpaceRef"), value)
                text = f'"{_esc(value)}"' if quoted else value
                lines.append(f"*c xConfiguration {' '.join(here)}: {text}")
            else:
                text = f'"{_esc(value)}"' if _status_quoted(value) else value
                lines.append(f"*{kind} {' '.join(here)}: {text}")
            return
        for child in children:
            walk(child, here)

    for child in root:
        walk(child, [])
    return "\n".join(lines)


def render_json(root: ET.Element, top: str) -> dict[str, Any]:
    def node(el: ET.Element) -> Any:
        if el.get("ghost") == "True":
            return {"ghost": "True"}
        children = list(el)
        if not children:
            return {"Value": (el.text or "").strip()}
        out: dict[str, Any] = {}
        for child in children:
            value = node(child)
            if child.get("item") is not None:
                value["id"] = child.get("item")
                out.setdefault(child.tag, []).append(value)
            else:
                out[child.tag] = value
        return out

    return {top: node(root)}


def select(root: ET.Element, words: list[str]) -> ET.Element | None:
    """The subtree ``xStatus Audio Volume`` asks for, wrapped in a copy of the root (None: no match)."""
    if not words:
        return root
    wrapper = ET.Element(root.tag, root.attrib)
    parent_copy, el = wrapper, root
    i = 0
    while i < len(words):
        name = words[i]
        item = words[i + 1] if i + 1 < len(words) and words[i + 1].isdigit() else None
        i += 2 if item else 1
        match = [c for c in el if c.tag.lower() == name.lower() and (item is None or c.get("item") == item)]
        if not match:
            return None
        if len(match) > 1 and i >= len(words):
            for c in match:
                parent_copy.append(copy.deepcopy(c))
            return wrapper
        el = match[0]
        new = ET.SubElement(parent_copy, el.tag, el.attrib)
        if i >= len(words):
            new.extend(copy.deepcopy(list(el)))
            new.text = el.text
        parent_copy = new
    return wrapper


class CiscoSim:
    """Both servers of one simulated codec. ``with CiscoSim() as sim:``; ports in ssh_port / https_port."""

    def __init__(self, *, status_xml: bytes | None = None, config_xml: bytes | None = None,
                 banner: bytes | None = None, echo_response: bytes | None = None, valuespace_xml: bytes | None = None,
                 username: str = "admin", password: str = "codec-pass", state: str = "healthy",
                 presets: list[tuple[str, str]] | None = None, faults: tuple[str, ...] = (),
                 slow_seconds: float = 1.0, host: str = "127.0.0.1", plain_http: bool = False) -> None:
        fx = fixtures_dir()
        # Each capture is the caller's (a test case's files) or, by default, the shared one of that kind.
        given = lambda value, name: value if value is not None else (fx / name).read_bytes()  # noqa: E731
        self.status_xml = given(status_xml, "roombar-roomos11.19-status.xml")
        self.config_xml = given(config_xml, "sx20-ce9.1.4-configuration.xml")
        self.banner = given(banner, "jsxapi-welcome.txt")
        self.echo_response = given(echo_response, "jsxapi-echo_response.txt")
        self.valuespace_xml = given(valuespace_xml, "valuespace.xml")
        self.valuespace = Valuespace(self.valuespace_xml)
        self.plain_http = plain_http  # also serve the XMLAPI over plain HTTP (http_port), as a codec with HTTP on
        self.username, self.password = username, password
        self.state = state
        self.presets = list(presets if presets is not None else DEFAULT_PRESETS)
        self.faults: set[str] = set()
        self.slow_seconds = slow_seconds
        self.host = host
        self.received: list[tuple[str, str]] = []  # (transport, command or "METHOD path")
        self.ssh_logins = 0
        self.http_sessions_open = 0
        self.http_sessions_begun = 0
        self.http_sessions: set[str] = set()  # SessionId cookies the codec currently knows
        self.tls_context: ssl.SSLContext | None = None
        self._tls_conns: set[Any] = set()  # open TLS connections (ended when the certificate changes)
        self._ssh_transports: set[Any] = set()  # open SSH sessions (ended when the sessions expire)
        self.cert_der, self.cert_file = b"", ""
        self._httpd_plain: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ssh_sock: socket.socket | None = None
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="cisco-sim-")
        self.set_faults(*faults)

    # -- state ------------------------------------------------------------------------------------
    def set_faults(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; choose from {FAULTS}")
        with self._lock:
            if "changed_host_key" in faults and "changed_host_key" not in self.faults:
                self._new_host_key()
                if self.tls_context is not None:
                    self._new_certificate()
            if "session_expired" in faults and "session_expired" not in self.faults:
                self.http_sessions_open -= len(self.http_sessions)
                self.http_sessions.clear()
                for transport in list(self._ssh_transports):  # a reboot ends the SSH sessions too
                    transport.close()
            self.faults = set(faults)

    def status_tree(self) -> ET.Element:
        root = ET.fromstring(self.status_xml)
        if self.state == "capture":
            return root
        for path, value in HEALTHY:
            set_path(root, path, value)
        for fault, edits in FAULT_STATUS.items():
            if fault in self.faults:
                for path, value in edits:
                    set_path(root, path, value)
        if self.faults & {"in_call", "call_dropped"}:
            for path, value in IN_CALL:
                set_path(root, path, value)
        if "no_preset_list" in self.faults:
            # Software without `xCommand Camera Preset List` keeps its presets as the status tree's
            # RoomPreset items (the real capture has ten, none defined): define the room's presets there.
            for i, (_pid, name) in enumerate(self.current_presets(), start=1):
                set_path(root, f"RoomPreset[{i}]/Defined", "True")
                set_path(root, f"RoomPreset[{i}]/Description", name)
        if "call_dropped" in self.faults:
            for call in root.findall("Call"):
                for child in list(call):
                    call.remove(child)
                call.set("ghost", "True")
            media = root.find("MediaChannels")
            if media is not None:
                root.remove(media)
            set_path(root, "SystemUnit/State/NumberOfActiveCalls", "0")
            set_path(root, "Conference/Presentation/Mode", "Off")
        return root

    def config_tree(self) -> ET.Element:
        root = ET.fromstring(self.config_xml)
        if self.state == "capture":
            return root
        for fault, edits in FAULT_CONFIG.items():
            if fault in self.faults:
                for path, value in edits:
                    set_path(root, path, value)
        if "room_kit" in self.faults:
            # Room Kit / Room Bar: microphone inputs without an EchoControl node (codecs.md §2.3, §2.6).
            for mic in root.findall("Audio/Input/Microphone"):
                for echo in mic.findall("EchoControl"):
                    mic.remove(echo)
        return root

    def current_presets(self) -> list[tuple[str, str]]:
        presets = list(self.presets)
        if "preset_missing" in self.faults and presets:
            presets = presets[:-1]
        return presets

    def presets_tree(self) -> ET.Element:
        result = ET.Element("CameraPresetListResult", {"status": "OK"})
        for i, (pid, name) in enumerate(self.current_presets(), start=1):
            preset = ET.SubElement(result, "Preset", {"item": str(i), "maxOccurrence": "n"})
            ET.SubElement(preset, "CameraId").text = "1"
            ET.SubElement(preset, "Name").text = name
            ET.SubElement(preset, "PresetId").text = pid
        command = ET.Element("Command")
        command.append(result)
        return command

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "CiscoSim":
        import paramiko

        self._host_key = paramiko.Ed25519Key.from_private_key_file(self._make_ed25519())
        self._ssh_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._ssh_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._ssh_sock.bind((self.host, 0))
        self._ssh_sock.listen(32)
        self._ssh_sock.settimeout(0.2)
        self.ssh_port = self._ssh_sock.getsockname()[1]
        self._spawn(self._ssh_accept_loop, "cisco-sim-ssh")
        self._start_https()
        return self

    def stop(self) -> None:
        self._stop.set()
        for httpd in (self._httpd, self._httpd_plain):
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
        if self._ssh_sock is not None:
            self._ssh_sock.close()
        for t in self._threads:
            t.join(2)
        self._tmp.cleanup()

    def __enter__(self) -> "CiscoSim":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _spawn(self, fn: Any, name: str, *args: Any) -> None:
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    # -- keys and certificates --------------------------------------------------------------------
    def _make_ed25519(self) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.generate()
        path = Path(self._tmp.name) / f"host_{random.randrange(1 << 30)}"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
        return str(path)

    def _new_host_key(self) -> None:
        import paramiko

        self._host_key = paramiko.Ed25519Key.from_private_key_file(self._make_ed25519())

    @property
    def host_key(self) -> Any:
        return self._host_key

    def _make_cert(self) -> tuple[str, str, bytes]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cisco Codec (simulated)")])
        now = _dt.datetime.now(_dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=30)).sign(key, hashes.SHA256()))
        stem = f"{random.randrange(1 << 30)}"
        cert_path, key_path = Path(self._tmp.name) / f"cert_{stem}.pem", Path(self._tmp.name) / f"key_{stem}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return str(cert_path), str(key_path), cert.public_bytes(serialization.Encoding.DER)

    def _new_certificate(self) -> None:
        """A new self-signed certificate in a new TLS context: connections from now on see only it."""
        cert, key, der = self._make_cert()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.cert_der, self.cert_file, self.tls_context = der, cert, context
        # A codec whose certificate changes restarts its web server: open connections end with it.
        for conn in list(self._tls_conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._tls_conns.clear()

    # -- answers shared by both transports --------------------------------------------------------
    def _log(self, transport: str, command: str) -> None:
        with self._lock:
            self.received.append((transport, command))

    def _delay(self) -> bool:
        """Apply slow / never-answer faults; False = do not answer at all."""
        if "never_answers" in self.faults:
            self._stop.wait(3600)
            return False
        if "slow" in self.faults:
            time.sleep(self.slow_seconds)
        return True

    def _garbage(self) -> bytes:
        rnd = random.Random(len(self.received))
        junk = bytes(rnd.randrange(256) for _ in range(300))
        return b'*s Audio Volume: "50\n{"Status": [1, 2\n' + junk + b"\n** end\n\nOK\n"

    # -- SSH ----------------------------------------------------------------------------------------
    def _ssh_accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._ssh_sock.accept()  # type: ignore[union-attr]
            except socket.timeout:
                continue
            except OSError:
                return
            self._spawn(self._ssh_session, "cisco-sim-ssh-conn", conn)

    def _ssh_session(self, conn: socket.socket) -> None:
        import paramiko

        sim = self

        class Server(paramiko.ServerInterface):
            def get_allowed_auths(self, username: str) -> str:
                return "keyboard-interactive"

            def check_auth_interactive(self, username: str, submethods: str) -> Any:
                self.user = username
                query = paramiko.InteractiveQuery("", "")
                query.add_prompt("Password: ", False)
                return query

            def check_auth_interactive_response(self, responses: list[str]) -> int:
                ok = (getattr(self, "user", None) == sim.username and list(responses) == [sim.password]
                      and "auth_failure" not in sim.faults)
                return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

            def check_channel_request(self, kind: str, chanid: int) -> int:
                return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

            def check_channel_shell_request(self, channel: Any) -> bool:
                return True

            def check_channel_pty_request(self, *args: Any) -> bool:
                return True

        transport = paramiko.Transport(conn)
        # A client that asks for a key type this codec lacks (ssh-keyscan asks for each) is normal here:
        # paramiko would print its server-side traceback; the simulator stays quiet.
        transport.set_log_channel("hntht.sim.ssh")
        logging.getLogger("hntht.sim.ssh").setLevel(logging.CRITICAL)
        transport.add_server_key(self._host_key)
        with self._lock:
            self._ssh_transports.add(transport)
        try:
            transport.start_server(server=Server())
            channel = transport.accept(10)
            if channel is None:
                return
            with self._lock:
                self.ssh_logins += 1
            self._tsh(channel)
        except Exception:  # noqa: BLE001 - a client that goes away is normal
            pass
        finally:
            with self._lock:
                self._ssh_transports.discard(transport)
            transport.close()

    def _tsh(self, channel: Any) -> None:
        channel.sendall(self.banner)
        mode, echo = "terminal", True
        buffer = b""
        channel.settimeout(0.5)
        while not self._stop.is_set():
            try:
                data = channel.recv(4096)
            except socket.timeout:
                continue
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                if echo:
                    channel.sendall(raw + b"\r\n")
                self._log("ssh", line)
                command, tag = line, None
                match = re.search(r'\s*\|\s*resultId="([^"]*)"\s*$', line)
                if match:
                    command, tag = line[:match.start()], match.group(1)
                low = command.lower()
                if low == "echo off":
                    echo = False
                    channel.sendall(self.echo_response)
                    continue
                if low.startswith("xpreferences outputmode "):
                    wanted = low.split()[-1]
                    if wanted == "json" and "no_json" in self.faults:
                        channel.sendall(b"ERROR\r\n")
                        continue
                    mode = "json" if wanted == "json" else "terminal"
                    channel.sendall(b"OK\r\n")
                    continue
                if not self._delay():
                    return
                if "garbage" in self.faults:
                    channel.sendall(self._garbage())
                    continue
                channel.sendall(self._tsh_answer(command, tag, mode).encode("utf-8"))

    def _tsh_answer(self, command: str, tag: str | None, mode: str) -> str:
        words = command.split()
        verb = words[0].lower() if words else ""
        root: ET.Element | None = None
        if verb == "xstatus" and ":" not in command:
            root = select(self.status_tree(), words[1:])
            kind, top = "s", "Status"
        elif verb == "xconfiguration" and ":" not in command:
            root = select(self.config_tree(), words[1:])
            kind, top = "c", "Configuration"
        elif [w.lower() for w in words] == ["xcommand", "camera", "preset", "list"] and "no_preset_list" not in self.faults:
            kind, top = "r", "CommandResponse"
            tree = self.presets_tree()
            if mode == "json":
                body = render_json(tree.find("CameraPresetListResult"), "CameraPresetListResult")
                body["CameraPresetListResult"]["status"] = "OK"
                return self._json({"CommandResponse": body}, tag)
            lines = ["*r CameraPresetListResult (status=OK):"]
            lines += ["*r CameraPresetListResult " + ln[3:] for ln in render_terminal(tree.find("CameraPresetListResult"), "r").splitlines()]
            return "\r\n".join(lines + ["** end", "", "OK", ""])
        else:
            # Anything else (a write, a dial...) is refused; the log keeps it for the tests.
            if mode == "json":
                return self._json({"CommandResponse": {"Result": {"status": "Error",
                                   "Reason": {"Value": "Unknown command"}}}}, tag)
            return '*r Result (status=Error):\r\n*r Result Reason: "Unknown command"\r\n** end\r\n\r\nERROR\r\n'
        if root is None:
            if mode == "json":
                return self._json({"CommandResponse": {"Status": {"status": "Error",
                                   "Reason": {"Value": "No match on address expression."}}}}, tag)
            return ('*r Status (status=Error):\r\n*r Status Reason: "No match on address expression."\r\n'
                    '** end\r\n\r\nERROR\r\n')
        if mode == "json":
            return self._json(render_json(root, top), tag)
        text = render_terminal(root, kind, self.valuespace)
        return text.replace("\n", "\r\n") + "\r\n** end\r\n\r\nOK\r\n"

    @staticmethod
    def _json(obj: dict[str, Any], tag: str | None) -> str:
        if tag is not None:
            obj["ResultId"] = tag
        return json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", "\r\n") + "\r\n"

    # -- HTTPS XMLAPI -------------------------------------------------------------------------------
    def _start_https(self) -> None:
        self._new_certificate()
        sim = self

        class TlsServer(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                # Each connection is wrapped with the context of the moment, so a changed certificate
                # (changed_host_key) is what every later client sees.  The handshake runs in the
                # connection's own thread (first read), never in the accept loop.
                conn, addr = self.socket.accept()
                tls = sim.tls_context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)  # type: ignore[union-attr]
                with sim._lock:
                    sim._tls_conns.add(tls)
                return tls, addr

            def shutdown_request(self, request: Any) -> None:
                with sim._lock:
                    sim._tls_conns.discard(request)
                super().shutdown_request(request)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client refusing the certificate (pinning) is what the tests want, not a traceback

        httpd = TlsServer((self.host, 0), self._handler("https"))
        self._httpd = httpd
        self.https_port = httpd.server_address[1]
        self._spawn(httpd.serve_forever, "cisco-sim-https", 0.2)
        if self.plain_http:
            plain = http.server.ThreadingHTTPServer((self.host, 0), self._handler("http"))
            plain.daemon_threads = True
            self._httpd_plain = plain
            self.http_port = plain.server_address[1]
            self._spawn(plain.serve_forever, "cisco-sim-http", 0.2)

    def _handler(self, transport: str) -> type:
        import base64

        sim = self
        sessions = self.http_sessions

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                cookie = self.headers.get("Cookie", "")
                match = re.search(r"SessionId=([\w-]+)", cookie)
                if match and match.group(1) in sessions:
                    return True
                return self._basic_ok()

            def _basic_ok(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Basic "):
                    return False
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:  # noqa: BLE001
                    return False
                return user == sim.username and pw == sim.password and "auth_failure" not in sim.faults

            def do_GET(self) -> None:  # noqa: N802
                sim._log(transport, f"GET {self.path}")
                if not self._authorised():
                    return self._send(401, b"", {"WWW-Authenticate": 'Basic realm="codec"'})
                if not sim._delay():
                    return
                if "garbage" in sim.faults:
                    return self._send(200, sim._garbage(), {"Content-Type": "text/xml"})
                root: ET.Element | None
                if self.path == "/status.xml":
                    root = sim.status_tree()
                elif self.path == "/configuration.xml":
                    root = sim.config_tree()
                elif self.path.startswith("/getxml?location=/"):
                    words = [w for w in self.path.split("=", 1)[1].split("/") if w]
                    base = sim.status_tree() if words[0] == "Status" else sim.config_tree()
                    root = select(base, words[1:])
                else:
                    return self._send(404)
                if root is None:
                    return self._send(200, b'<?xml version="1.0"?>\n<Status/>', {"Content-Type": "text/xml"})
                body = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")
                self._send(200, body, {"Content-Type": "text/xml"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                sim._log(transport, f"POST {self.path} {body.decode('utf-8', 'replace')}".strip())
                if self.path == "/xmlapi/session/begin":
                    if not self._basic_ok():
                        return self._send(401)
                    sid = f"s{random.randrange(1 << 40)}"
                    with sim._lock:
                        sessions.add(sid)
                        sim.http_sessions_open += 1
                        sim.http_sessions_begun += 1
                    return self._send(204, b"", {"Set-Cookie": f"SessionId={sid}; Path=/; HttpOnly"})
                if self.path == "/xmlapi/session/end":
                    match = re.search(r"SessionId=([\w-]+)", self.headers.get("Cookie", ""))
                    with sim._lock:
                        if match and match.group(1) in sessions:
                            sessions.discard(match.group(1))
                            sim.http_sessions_open -= 1
                    return self._send(204)
                if not self._authorised():
                    return self._send(401)
                if (self.path == "/putxml" and "no_preset_list" not in sim.faults
                        and re.sub(rb"\s", b"", body) == b"<Command><Camera><Preset><List/></Preset></Camera></Command>"):
                    if not sim._delay():
                        return
                    out = b'<?xml version="1.0"?>\n' + ET.tostring(sim.presets_tree(), encoding="utf-8")
                    return self._send(200, out, {"Content-Type": "text/xml"})
                self._send(200, b'<?xml version="1.0"?>\n<Command><Result status="Error"><Reason>Unknown command'
                                b'</Reason></Result></Command>', {"Content-Type": "text/xml"})

        return Handler
