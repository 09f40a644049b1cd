"""Megatec/Q1 and Voltronic UPS emulator on a serial port (a socat pty) or TCP.

It serves the reply strings of real units (shared/fixtures/ups/megatec/replies.md: the Megatec
protocol text, NUT's driver test tables, NUT issue logs) — tests check every profile string against
that file — and changes state at run time through a control socket, so the agent can be shown a
mains loss, a low battery, a self-test, garbage, a short reply or silence:

    python -m agent.sim.megatec --port /tmp/lab/ttyUPS --control /tmp/lab/ups.ctl --profile vultech
    python -m agent.sim.megatec --control-send /tmp/lab/ups.ctl state=mains_loss delay=0.3

The control socket is a Unix stream socket taking one JSON object per line
(``{"state": "mains_loss"}``, ``{"delay": 0.5}``, ``{"pace": true}``) and answering ``{"ok": true, ...}``.
States are derived from the profile's real base replies by changing only the fields a real unit
changes (status bits, input voltage, charge), so parsers are always fed real layouts.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

NAK = "(NAK"

# Profiles: command -> reply (without the closing CR). None = the unit ignores the command (silence).
# A command absent from a profile is echoed back, as megatec.txt says a unit should do.
PROFILES: dict[str, dict[str, Any]] = {
    # NUT drivers/nutdrv_qx_megatec.c test table (standby unit, 24 V pack)
    "nut-test": {
        "Q1": "(215.0 195.0 230.0 014 49.0 22.7 30.0 00000000",
        "F": "#230.0 000 024.0 50.0",
        "I": "#NOT_A_LIVE_UPS  TESTING    TESTING   ",
    },
    # megatec.txt example (on-line unit, 2.05 V per cell, b5 and b4 set)
    "megatec-doc": {
        "Q1": "(208.4 140.0 208.4 034 59.9 2.05 35.0 00110000",
    },
    # NUT issue #2151, Vultech GS-1KVAS-RK (on-line, 2.25 V per cell, beeper bit)
    "vultech": {
        "Q1": "(238.8 000.0 219.9 020 49.9 2.25 43.0 00000001",
    },
    # Santak Castle C1K: Q1 rebuilt from its NUT-DDL dump values (2.28 V/cell, 231.3 V in, 220.0 V out,
    # load 0, 50.0 Hz, 40.0 °C, on-line, OL); NAKs F and I like the real unit; Q6 from nutdrv_qx_q6.c.
    "santak-c1k": {
        "Q1": "(231.3 000.0 220.0 000 50.0 2.28 40.0 00000000",
        "F": NAK,
        "I": NAK,
        "Q6": "(227.0 225.6 230.0 50.0 229.9 000.0 000.0 49.9 007 000 000 327.8 000.0 23.0 06932 100 32 00000000 00000000 11",
    },
    # NUT drivers/nutdrv_qx_voltronic.c test table
    "voltronic": {
        "QPI": "(PI00",
        "QRI": "(230.0 004 024.0 50.0",
        "QMD": "(#######OLHVT1K0 ###1000 80 1/1 230 230 02 12.0",
        "QMF": "(#######BOH",
        "QVFW": "(VERFW:00322.02",
        "QGS": "(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100000000001",
        "QMOD": "(S",
        "QBV": "(026.5 02 01 068 255",
        "QFS": "(OK",
        "Q1": NAK,
    },
    # CyberPower QGS from NUT PR #1652's log (Voltronic dialect); other replies NAKed
    "cyberpower-qgs": {
        "QPI": "(PI00",
        "QGS": "(220.4 59.9 218.7 59.9 002.8 007 361.8 361.8 273.2 ---.- 022.9 100000000010",
        "Q1": NAK,
    },
}
for _profile in ("vultech", "megatec-doc"):
    PROFILES[_profile].setdefault("QPI", None)  # plain Megatec units that ignore QPI entirely
# NUT issue #1978 (armac): a real truncated Q1 read — served by the "short" state.
SHORT_Q1 = "(231.0 000.0 231.0 016 49.0 27.0 20.8 00001"
GARBAGE = b"(\xe7\x12 2#8.\x8f0 ?\x00\xff 50.0 2\x05.28 \x1b0000\r"
STATES = ("normal", "mains_loss", "low_battery", "test", "fault", "garbage", "short", "silence")


def _set_bits(bits: str, **flags: bool) -> str:
    positions = {"b7": 0, "b6": 1, "b5": 2, "b4": 3, "b3": 4, "b2": 5, "b1": 6, "b0": 7}
    out = list(bits)
    for name, value in flags.items():
        out[positions[name]] = "1" if value else "0"
    return "".join(out)


def _q1_for(base: str, state: str) -> str:
    """Change only what a real unit changes: status bits, input voltage, battery voltage."""
    tokens = base[1:].split(" ")
    if state in ("mains_loss", "low_battery"):
        tokens[0] = "000.0"
        tokens[7] = _set_bits(tokens[7], b7=True, b5=False, b6=state == "low_battery")
        if state == "low_battery":
            volts = float(tokens[5])
            tokens[5] = f"{volts * 0.82:.2f}" if volts < 3 else f"{volts * 0.82:04.1f}"
    elif state == "test":
        tokens[7] = _set_bits(tokens[7], b2=True)
    elif state == "fault":
        tokens[7] = _set_bits(tokens[7], b4=True)
    return "(" + " ".join(tokens)


def _qgs_for(base: str, state: str) -> str:
    tokens = base[1:].split(" ")
    bits = list(tokens[11])
    if state in ("mains_loss", "low_battery"):
        tokens[0], tokens[1] = "000.0", "00.0"
        bits[2] = "1"
        bits[3] = "1" if state == "low_battery" else "0"
    elif state == "test":
        bits[7] = "1"
    elif state == "fault":
        bits[5] = "1"
    tokens[11] = "".join(bits)
    return "(" + " ".join(tokens)


def _q6_for(base: str, state: str) -> str:
    tokens = base[1:].split(" ")
    if state in ("mains_loss", "low_battery"):
        tokens[0] = "000.0"
        tokens[15] = "012" if state == "low_battery" else "085"
        tokens[14] = "00240" if state == "low_battery" else "05400"
    return "(" + " ".join(tokens)


@dataclass
class MegatecEmulator:
    """The UPS's behaviour, independent of the transport."""

    profile: str = "vultech"
    state: str = "normal"
    delay: float = 0.0  # seconds before each reply (a slow unit)
    pace: bool = False  # send at the line's real speed (10 bits per byte at `baudrate`)
    baudrate: int = 2400
    test_until: float = 0.0
    beeper_toggled: bool = False
    commands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; known: {', '.join(PROFILES)}")

    def control(self, message: dict[str, Any]) -> dict[str, Any]:
        if "state" in message:
            if message["state"] not in STATES:
                return {"ok": False, "error": f"unknown state; known: {', '.join(STATES)}"}
            self.state = message["state"]
        if "delay" in message:
            self.delay = max(0.0, float(message["delay"]))
        if "pace" in message:
            self.pace = bool(message["pace"])
        if "profile" in message:
            if message["profile"] not in PROFILES:
                return {"ok": False, "error": "unknown profile"}
            self.profile = message["profile"]
        return {"ok": True, "state": self.state, "delay": self.delay, "profile": self.profile, "commands": len(self.commands)}

    def reply(self, command: str) -> bytes | None:
        """Bytes to send for one received command, or None for silence."""
        self.commands.append(command)
        table = PROFILES[self.profile]
        state = "test" if self.state == "normal" and time.monotonic() < self.test_until else self.state
        if state == "silence":
            return None
        if state == "garbage":
            return GARBAGE
        if command in ("Q1", "QS", "D") and "Q1" in table and table["Q1"] != NAK:
            if state == "short":
                return SHORT_Q1.encode()  # and no CR: the read ends at the client's deadline
            return (_q1_for(table["Q1"], state) + "\r").encode()
        if command == "QGS" and "QGS" in table:
            return (_qgs_for(table["QGS"], state) + "\r").encode()
        if command == "QMOD" and "QMOD" in table:
            mode = {"mains_loss": "(B", "low_battery": "(B", "test": "(T", "fault": "(F"}.get(state, table["QMOD"])
            return (mode + "\r").encode()
        if command == "Q6" and "Q6" in table:
            return (_q6_for(table["Q6"], state) + "\r").encode()
        if command == "QBV" and "QBV" in table and state == "low_battery":
            return b"(021.8 02 01 012 004\r"
        if command in table:
            value = table[command]
            return None if value is None else (value + "\r").encode()
        # Commands without a reply (megatec.txt): T, TL, T<n>, Q, C, CT, S<n>...
        if command == "T" or (command.startswith("T") and command[1:].isdigit()):
            self.test_until = time.monotonic() + 10.0
            return None
        if command == "CT":
            self.test_until = 0.0
            return None
        if command == "Q":
            self.beeper_toggled = not self.beeper_toggled
            return None
        if command in ("C", "TL") or command.startswith("S"):
            return None
        return (command + "\r").encode()  # unknown command: echo it back

    def send(self, write: Any, data: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)
        if not self.pace:
            write(data)
            return
        per_byte = 10.0 / self.baudrate
        for i in range(len(data)):
            write(data[i:i + 1])
            time.sleep(per_byte)


class Server:
    """Serves one emulator on a serial port (pyserial URL or device path) or on TCP, plus a control socket."""

    def __init__(self, emulator: MegatecEmulator, *, port: str | None = None, tcp: tuple[str, int] | None = None,
                 control: str | None = None) -> None:
        self.emulator = emulator
        self.port_name = port
        self.tcp = tcp
        self.control_path = control
        self.tcp_address: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._serial: Any = None

    def start(self) -> "Server":
        if self.port_name:
            import serial

            self._serial = serial.serial_for_url(self.port_name, baudrate=self.emulator.baudrate, timeout=0.05)
            self._spawn(self._serve_serial)
        if self.tcp:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(self.tcp)
            sock.listen(4)
            sock.settimeout(0.2)
            self.tcp_address = sock.getsockname()
            self._sockets.append(sock)
            self._spawn(self._serve_tcp, sock)
        if self.control_path:
            if os.path.exists(self.control_path):
                os.unlink(self.control_path)
            ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ctl.bind(self.control_path)
            ctl.listen(4)
            ctl.settimeout(0.2)
            self._sockets.append(ctl)
            self._spawn(self._serve_control, ctl)
        return self

    def _spawn(self, fn: Any, *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True, name=f"megatec-sim-{fn.__name__}")
        thread.start()
        self._threads.append(thread)

    def _lines(self, read: Any, write: Any) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = read()
            except (OSError, ValueError):
                return
            if chunk is None:
                return
            buf += chunk
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                command = line.decode("ascii", "replace").strip()
                if not command:
                    continue
                data = self.emulator.reply(command)
                if data:
                    try:
                        self.emulator.send(write, data)
                    except OSError:
                        return

    def _serve_serial(self) -> None:
        port = self._serial
        self._lines(lambda: port.read(64), port.write)

    def _serve_tcp(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.2)
            self._spawn(self._serve_conn, conn)

    def _serve_conn(self, conn: socket.socket) -> None:
        def read() -> bytes | None:
            while not self._stop.is_set():
                try:
                    data = conn.recv(64)
                except socket.timeout:
                    continue
                return data or None
            return None

        with conn:
            self._lines(read, conn.sendall)

    def _serve_control(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    line = conn.makefile("rb").readline()
                    answer = self.emulator.control(json.loads(line or b"{}"))
                except (ValueError, OSError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                try:
                    conn.sendall(json.dumps(answer).encode() + b"\n")
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        # Join the readers before closing the port: pyserial's read() on a port closed under it
        # fails with a TypeError (fd is None) instead of returning; the 50 ms read timeout lets
        # the serial reader see the stop flag promptly.
        for thread in self._threads:
            thread.join(timeout=1.0)
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # noqa: BLE001
                pass
        if self.control_path and os.path.exists(self.control_path):
            os.unlink(self.control_path)


def send_control(path: str, timeout: float = 2.0, **message: Any) -> dict[str, Any]:
    """Change a running emulator's state: ``send_control(path, state="mains_loss")``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(sock.makefile("rb").readline())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.sim.megatec", description=__doc__.splitlines()[0])
    ap.add_argument("--port", help="serial device or pyserial URL to serve (e.g. the socat pty link)")
    ap.add_argument("--tcp", help="serve on TCP HOST:PORT instead (pyserial socket:// clients); port 0 = free port")
    ap.add_argument("--control", help="Unix socket path for state changes")
    ap.add_argument("--profile", default="vultech", choices=sorted(PROFILES))
    ap.add_argument("--state", default="normal", choices=STATES)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    ap.add_argument("--pace", action="store_true", help="send at the line's real 2400-baud speed")
    ap.add_argument("--control-send", metavar="SOCKET", help="send key=value pairs to a running emulator and exit")
    ap.add_argument("pairs", nargs="*", help="key=value for --control-send (state=mains_loss delay=0.5)")
    args = ap.parse_args(argv)
    if args.control_send:
        message: dict[str, Any] = {}
        for pair in args.pairs:
            key, _, value = pair.partition("=")
            message[key] = float(value) if key == "delay" else (value == "true" if key == "pace" else value)
        print(json.dumps(send_control(args.control_send, **message)))
        return 0
    if not args.port and not args.tcp:
        ap.error("give --port or --tcp")
    tcp = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        tcp = (host or "127.0.0.1", int(port))
    emulator = MegatecEmulator(profile=args.profile, state=args.state, delay=args.delay, pace=args.pace)
    server = Server(emulator, port=args.port, tcp=tcp, control=args.control).start()
    where = args.port or f"tcp {server.tcp_address[0]}:{server.tcp_address[1]}"
    print(f"megatec emulator ready on {where} profile={args.profile}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
