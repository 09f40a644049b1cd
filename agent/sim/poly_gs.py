"""A Poly Group Series text-API peer (Telnet and SSH on 127.0.0.1) serving the real captures.

Answers come from ``groupseries-samples.txt`` (AVISPL, MIT: the device text of ``status``,
``callinfo all``, ``netstats``, ``advnetstats``, ``gatekeeperip get``, ``systemsetting get
sipregistrarserver``, ``mute near get``) when the loaded capture has them; commands the capture lacks
are answered in the reference formats of codecs.md §3 (``volume 39``, ``videocallrate 1024``, ...)
from :class:`GSState`.  Like the device it echoes commands, ends lines with ``\\r\\r\\n``, prints the
``-> `` prompt and the greeting block (also mid-session when ``regreet`` is set), and answers unknown
commands with ``error: command not found``.

Fault states are plain attributes of :class:`GSState` (switch them while the peer runs):
``muted``, ``echo_off``, ``unregistered``, ``in_call``, ``call_setup``, ``call_dropped``,
``video_720p``, ``delay`` (slow answers), ``silent`` (accepts, never speaks), ``garbage``,
``regreet``, ``chunked`` (the greeting and answers written ``chunk_size`` bytes at a time, so a
prompt, a line end or a UTF-8 character is split across reads), ``telnet_noise`` (Telnet commands
inside every answer: a NOP and an offer of an option the client must refuse once), ``refusals``
({read: line}: that read is answered with the line, e.g. the real ``info: AUDIO call not enabled``, as
the device refuses a read it cannot serve now).  A wrong password is an auth failure; a new host key is
:meth:`PolyGSSim.change_host_key`.

Run: ``python -m agent.sim.poly_gs --capture .../groupseries-samples.txt --transport telnet``.
"""

from __future__ import annotations

import argparse
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EOL = "\r\r\n"


def load_capture(path: str | Path) -> dict[str, list[list[str]]]:
    """groupseries-samples.txt → {command: [variant lines, ...]} (device text only, echo lines removed)."""
    blocks: dict[str, list[list[str]]] = {}
    command: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if command is not None:
            body = list(lines)
            while body and not body[-1].strip():
                body.pop()
            if body and body[0] == command:  # B samples start with the echoed command
                body = body[1:]
            blocks.setdefault(command, []).append(body)

    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        if raw.startswith("### "):
            flush()
            kind, _, rest = raw[4:].partition(": ")
            command = rest.strip() if kind == "command" else None
            lines = []
        elif command is not None and not raw.startswith("#|"):
            lines.append(raw)
    flush()
    return blocks


@dataclass
class GSState:
    name: str = "NH-GroupSeries"
    model: str = "RealPresence Group 500"
    software: str = "6.2.2.8-670021"
    serial: str = "8213420E3ADFCN"
    ip: str = "172.31.254.151"
    netmask: str = "255.255.255.0"
    gateway: str = "172.31.254.1"
    volume: int = 39
    call_rate: int = 1024
    uptime: str = "1 Hour, 10 Minutes"
    monitor1: str = "hdmi 1920x1080p 60"
    monitor2: str = "hdmi 1920x1080p 60"
    # which capture variant to serve per command (index into the capture's blocks)
    variants: dict[str, int] = field(default_factory=dict)
    mute_from_capture: bool = False  # serve the captured "mute near on" instead of the state
    # fault states
    muted: bool = False
    echo_off: bool = False
    echocanceller_missing: bool = False
    unregistered: bool = False
    in_call: bool = False
    call_setup: bool = False
    ring_at: int = 0  # an incoming call starts ringing while the device answers its N-th command (0: never)
    ring_after: float = 0.0  # > 0: its notification comes that long AFTER that answer, unprompted
    call_dropped: bool = False
    video_720p: bool = False
    delay: float = 0.0
    silent: bool = False
    garbage: bool = False
    regreet: bool = False
    chunked: bool = False
    chunk_size: int = 7  # bytes per write when chunked
    telnet_noise: bool = False
    # {read: line}: the device refuses that read with this line instead of answering it, e.g.
    # {"volume get": "info: AUDIO call not enabled"} (a real info: line, codecs.md §3)
    refusals: dict[str, str] = field(default_factory=dict)


class PolyGSSim:
    """Telnet or SSH server speaking the Group Series API; records every command it receives."""

    def __init__(self, capture: str | Path | None = None, *, transport: str = "telnet", password: str = "secret",
                 username: str = "admin", state: GSState | None = None, host: str = "127.0.0.1", port: int = 0,
                 ask_username: bool = False) -> None:
        self.capture = load_capture(capture) if capture else {}
        self.transport = transport
        self.password = password
        self.username = username
        self.ask_username = ask_username
        self.state = state or GSState()
        self.commands: list[str] = []
        self.negotiation: list[bytes] = []  # Telnet option replies received from the client
        self.sessions_opened = 0
        self.sessions_open = 0
        self.logins_failed = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[Any] = []
        self.host_key = None
        if transport == "ssh":
            self.change_host_key()

    # -- control -----------------------------------------------------------------------------------
    def change_host_key(self) -> None:
        import paramiko

        self.host_key = paramiko.RSAKey.generate(2048)

    def start(self) -> "PolyGSSim":
        t = threading.Thread(target=self._accept, name="poly-gs-sim", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass
        for conn in list(self._conns):
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "PolyGSSim":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.state.silent:
                conn.settimeout(30)
                while not self._stop.is_set() and conn.recv(4096):
                    pass
                return
            if self.transport == "ssh":
                self._serve_ssh(conn)
            else:
                self._serve_telnet(conn)
        except Exception:  # noqa: BLE001 - a client going away mid-answer is normal
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _serve_telnet(self, conn: socket.socket) -> None:
        io = _TelnetServerIO(conn, self)
        io.write(bytes((255, 251, 1, 255, 251, 3, 255, 253, 31)))  # WILL ECHO, WILL SGA, DO NAWS
        if self.ask_username:
            io.write_text("Username: ")
            io.read_line()
        for _attempt in range(3):
            io.write_text("Password: ")
            given = io.read_line()
            if given == self.password:
                self._session(io)
                return
            with self._lock:
                self.logins_failed += 1
        io.write_text(EOL + "Too many bad login attempts" + EOL)

    def _serve_ssh(self, conn: socket.socket) -> None:
        import paramiko

        from agent.vendors.legacy_ssh import offer_only_ssh_rsa

        sim = self

        class Server(paramiko.ServerInterface):
            def check_auth_password(self, username: str, password: str) -> int:
                if password == sim.password:
                    return paramiko.AUTH_SUCCESSFUL
                with sim._lock:
                    sim.logins_failed += 1
                return paramiko.AUTH_FAILED

            def get_allowed_auths(self, username: str) -> str:
                return "password"

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
        self._conns.append(transport)
        offer_only_ssh_rsa(transport, self.host_key)
        transport.start_server(server=Server())
        channel = transport.accept(10)
        if channel is None:
            transport.close()
            return
        try:
            self._session(_SshServerIO(channel, self))
        finally:
            transport.close()

    # -- the API session ---------------------------------------------------------------------------
    def _greeting(self) -> list[str]:
        s = self.state
        return [f"Hi, my name is : {s.name}", "Here is what I know about myself:", f"Model: {s.model}",
                f"Software Version: {s.software}", f"Serial Number: {s.serial}", "Build Information: release",
                "Time In Last Call: 0:42:10", "Total Time In Calls: 112:05:31", "Total Calls: 311",
                "SNTP Time Service: auto insync ntp1.vnpt.vn", "Local Time is: Mon, 6 Jan 2025 08:00:00",
                "H323 Enabled: True", "HTTP Enabled: True", "SNMP Enabled: True"]

    def _session(self, io: Any) -> None:
        with self._lock:
            self.sessions_opened += 1
            self.sessions_open += 1
        try:
            self._say(io, EOL.join(self._greeting()) + EOL + "-> ")
            count = 0
            while not self._stop.is_set():
                line = io.read_line()
                if line is None:
                    return
                command = line.strip()
                if not command:
                    io.write_text("-> ")
                    continue
                with self._lock:
                    self.commands.append(command)
                if command in ("exit", "bye"):
                    return
                count += 1
                io.write_text(command + "\r\n")  # the echo
                if self.state.delay:
                    time.sleep(self.state.delay)
                if self.state.garbage:
                    junk = bytes(random.Random(count).randrange(256) for _ in range(300))
                    io.write(junk.replace(b"\xff", b"\xfe"))
                    io.write_text(EOL + "-> ")
                    continue
                answer = self.answer(command)
                if self.state.regreet and count % 3 == 0:
                    answer = self._greeting() + answer
                ringing = "cs: call[35] chan[0] dialstr[192.168.1.103] state[RINGING]"
                if count == self.state.ring_at and not self.state.ring_after:
                    answer = [ringing] + answer  # the callstate notification, pushed ahead of the answer
                self._say(io, "".join(line + EOL for line in answer) + "-> ")
                if count == self.state.ring_at and self.state.ring_after:
                    time.sleep(self.state.ring_after)  # idle device; a command sent meanwhile waits its turn
                    self._say(io, ringing + EOL)
        finally:
            with self._lock:
                self.sessions_open -= 1

    def _say(self, io: Any, text: str) -> None:
        """Write device text as the fault states say: whole, in pieces, with Telnet commands inside."""
        data = text.encode("utf-8")
        if self.state.telnet_noise and self.transport == "telnet":
            # IAC NOP and IAC DO TERMINAL-TYPE inside the first line (UTF-8 never contains 0xFF)
            data = data[:3] + bytes((255, 241, 255, 253, 24)) + data[3:]
        if not self.state.chunked:
            io.write(data)
            return
        size = max(1, self.state.chunk_size)
        for i in range(0, len(data), size):
            io.write(data[i:i + size])
            time.sleep(0.001)

    def _captured(self, command: str) -> list[str] | None:
        variants = self.capture.get(command)
        if not variants:
            return None
        return list(variants[min(self.state.variants.get(command, 0), len(variants) - 1)])

    def answer(self, command: str) -> list[str]:
        """The device lines for one command in the current state."""
        s = self.state
        if command in s.refusals:
            return [s.refusals[command]]
        words = command.split()
        connected_call = s.in_call or s.call_dropped or s.video_720p
        if command == "callinfo all":
            if s.call_setup:
                return ["cs: call[34] chan[0] dialstr[192.168.1.103] state[RINGING]", "callinfo begin",
                        "callinfo:34::192.168.1.103:384:connecting:notmuted:outgoing:videocall", "callinfo end"]
            if connected_call:
                variants = self.capture.get(command) or []
                in_call = [v for v in variants if any(ln.startswith("callinfo:") for ln in v)]
                pick = s.variants.get(command, 0)
                if in_call:
                    return list(in_call[min(pick, len(in_call) - 1)])
                return ["callinfo begin", "callinfo:3:MCU:172.31.254.64:1024:connected:notmuted:outgoing:videocall",
                        "callinfo end"]
            variants = self.capture.get(command) or []
            idle = [v for v in variants if v == ["system is not in a call"]]
            return list(idle[0]) if idle else ["system is not in a call"]
        if command in ("netstats", "advnetstats"):
            if not connected_call:
                return ["connection 0 is not active"]
            if s.call_dropped:
                return ["connection 0 is not active"]
            lines = self._captured(command)
            if lines is None:
                return ["error: command not found"]
            if command == "netstats" and s.video_720p:
                lines = [ln.replace("tvf:640x368", "tvf:1280x720").replace("txrate:64", "txrate:1024")
                         .replace("rxrate:64", "rxrate:1024") for ln in lines]
            return lines
        if command == "status":
            lines = self._captured(command) or []
            out = []
            for ln in lines:
                key = ln.split(" ", 1)[0]
                if key in ("gatekeeper", "sipserver") and s.unregistered:
                    ln = f"{key} offline"
                if key == "inacall":
                    ln = "inacall online" if connected_call else "inacall offline"
                out.append(ln)
            return out or ["error: command not found"]
        if command == "mute near get":
            if s.mute_from_capture and self._captured(command):
                return self._captured(command) or []
            return ["mute near on" if s.muted else "mute near off"]
        if command == "gatekeeperip get":
            return self._captured(command) or ["gatekeeperip 172.31.254.64"]
        if command == "systemsetting get sipregistrarserver":
            return self._captured(command) or ["systemsetting sipregistrarserver 172.31.254.64"]
        simple = {
            "ipaddress get": f"ipaddress {s.ip}",
            "subnetmask get": f"subnetmask {s.netmask}",
            "defaultgateway get": f"defaultgateway {s.gateway}",
            "volume get": f"volume {s.volume}",
            "videocallrate get": f"videocallrate {s.call_rate}",
            "uptime get": s.uptime,
            "systemsetting get model": f'systemsetting model "{s.model}"',
            "configdisplay monitor1 get": f"configdisplay monitor1 {s.monitor1}",
            "configdisplay monitor2 get": f"configdisplay monitor2 {s.monitor2}",
        }
        if command == "getcallstate":  # one line per slot; a call's line as the callstate notification has it
            if s.call_setup:
                return ["cs: call[34] chan[0] dialstr[192.168.1.103] state[RINGING]", "cs: call[1] inactive"]
            if connected_call:
                return ["cs: call[3] chan[0] dialstr[172.31.254.64] state[COMPLETE]", "cs: call[1] inactive"]
            return ["cs: call[0] inactive", "cs: call[1] inactive"]
        if command == "echocanceller get":
            if s.echocanceller_missing:
                return ["error: command not found"]
            return ["echocanceller no" if s.echo_off else "echocanceller yes"]
        if command == "whoami":
            return self._greeting()
        if command in simple:
            return [simple[command]]
        if words and words[0] in ("dial", "hangup", "preset", "camera", "reboot", "sleep", "wake"):
            return [f"info: {words[0]} refused by the simulator (it records the attempt)"]
        return ["error: command not found"]


class _TelnetServerIO:
    def __init__(self, conn: socket.socket, sim: PolyGSSim) -> None:
        self.conn = conn
        self.sim = sim
        self.buf = b""
        conn.settimeout(60)

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)

    def write_text(self, text: str) -> None:
        self.conn.sendall(text.encode("utf-8"))

    def read_line(self) -> str | None:
        while b"\n" not in self.buf and b"\r" not in self.buf:
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            self.buf += self._strip_iac(chunk)
        for sep in (b"\r\n", b"\n", b"\r\x00", b"\r"):
            if sep in self.buf:
                line, _, self.buf = self.buf.partition(sep)
                return line.decode("utf-8", "replace")
        return None

    def _strip_iac(self, chunk: bytes) -> bytes:
        if 255 not in chunk:
            return chunk  # a typed command: nothing to strip (the per-byte loop below is for negotiation)
        out = bytearray()
        i = 0
        while i < len(chunk):
            b = chunk[i]
            if b == 255 and i + 2 < len(chunk) + 1 and i + 1 < len(chunk) and chunk[i + 1] in (251, 252, 253, 254):
                if i + 2 < len(chunk):
                    self.sim.negotiation.append(chunk[i:i + 3])
                i += 3
                continue
            if b == 255 and i + 1 < len(chunk) and chunk[i + 1] == 255:
                out.append(255)
                i += 2
                continue
            out.append(b)
            i += 1
        return bytes(out)


class _SshServerIO:
    def __init__(self, channel: Any, sim: PolyGSSim) -> None:
        self.channel = channel
        self.buf = b""
        channel.settimeout(60)

    def write(self, data: bytes) -> None:
        self.channel.sendall(data)

    def write_text(self, text: str) -> None:
        self.channel.sendall(text.encode("utf-8"))

    def read_line(self) -> str | None:
        while b"\n" not in self.buf and b"\r" not in self.buf:
            chunk = self.channel.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        for sep in (b"\r\n", b"\n", b"\r"):
            if sep in self.buf:
                line, _, self.buf = self.buf.partition(sep)
                return line.decode("utf-8", "replace")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", required=True)
    parser.add_argument("--transport", choices=["telnet", "ssh"], default="telnet")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--password", default="secret")
    args = parser.parse_args()
    sim = PolyGSSim(args.capture, transport=args.transport, port=args.port, password=args.password).start()
    print(f"poly-gs simulator ({args.transport}) on {sim.host}:{sim.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
