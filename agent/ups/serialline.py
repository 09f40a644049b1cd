"""One serial line to a UPS: 8N1, ``\\r`` framing, modem lines, an exclusive lock, deadlines.

Locking follows NUT and uucp: ``flock(LOCK_EX|LOCK_NB)`` on the open device (pyserial's
``exclusive=True``; NUT's own drivers take the same lock, so the agent and a running nutdrv_qx never
share a line) **plus** a uucp lock file ``LCK..<device>`` holding our PID in the lock directory
(/run/lock), which other serial programs (minicom, the vendor's software) honour.  A stale lock
file (its process is gone) is removed.

pyserial URLs (``socket://127.0.0.1:PORT``, ``loop://``) are accepted for simulators; they have no
modem lines and no lock.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

from agent.errors import DeviceError
from agent.i18n import Text
from agent.ups.errors import serial_open_error

LOCK_DIRS = (Path("/run/lock"), Path("/var/lock"))


def uucp_lock_name(device: str) -> str:
    real = os.path.realpath(device)
    name = real[len("/dev/"):] if real.startswith("/dev/") else real.lstrip("/")
    return "LCK.." + name.replace("/", "_")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class UucpLock:
    """``LCK..name`` with our PID (HDB format: 10 characters and a newline)."""

    def __init__(self, device: str, lock_dir: Path | None = None) -> None:
        self.device = device
        dirs = (lock_dir,) if lock_dir is not None else LOCK_DIRS
        self.path: Path | None = None
        self._candidates = [d / uucp_lock_name(device) for d in dirs if d.is_dir()]

    def acquire(self) -> bool:
        """Take the lock; False when no lock directory is writable (flock alone then protects)."""
        for path in self._candidates:
            for _attempt in range(2):
                try:
                    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    owner = self._owner(path)
                    if owner is not None and owner != os.getpid() and not _pid_alive(owner):
                        try:
                            path.unlink()  # stale: its process is gone
                        except OSError:
                            pass
                        continue
                    error = DeviceError(
                        f"serial port {self.device} is locked by process {owner} ({path})"
                        if owner else f"serial port {self.device} is locked ({path})"
                    )
                    error.text = Text("ups.err.port_locked", port=self.device, lock=str(path))  # type: ignore[attr-defined]
                    error.remedy = Text("ups.err.port_busy.remedy", port=self.device)
                    raise error from None
                except OSError:
                    break  # not writable here: try the next directory
                with os.fdopen(fd, "w") as handle:
                    handle.write(f"{os.getpid():10d}\n")
                self.path = path
                return True
        return False

    @staticmethod
    def _owner(path: Path) -> int | None:
        try:
            return int(path.read_text().strip().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def release(self) -> None:
        if self.path is not None:
            try:
                if self._owner(self.path) == os.getpid():
                    self.path.unlink()
            except OSError:
                pass
            self.path = None


class SerialLine:
    """A UPS serial line; every query has a deadline, every byte read is bounded."""

    def __init__(self, port: str, *, baudrate: int = 2400, dtr: bool | None = True, rts: bool | None = False,
                 lock_dir: Path | None = None) -> None:
        self.port = port
        self.baudrate = baudrate
        self.dtr = dtr
        self.rts = rts
        self.lock_dir = lock_dir
        self.modem_lines = "not set"  # "set", or why not (a pty refuses the ioctls)
        self._serial: Any = None
        self._lock: UucpLock | None = None

    @property
    def is_url(self) -> bool:
        return "://" in self.port

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        import serial  # pyserial; imported here so `hntht-agent --help` stays light

        if self._serial is not None:
            return
        if self.is_url:
            try:
                self._serial = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.1)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise serial_open_error(self.port, exc) from None
            self.modem_lines = "none (URL)"
            return
        if not os.path.exists(self.port):
            raise serial_open_error(self.port, FileNotFoundError(errno.ENOENT, "No such file", self.port))
        lock = UucpLock(self.port, self.lock_dir)
        lock.acquire()
        try:
            self._serial = serial.Serial(self.port, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1,
                                         timeout=0.1, xonxoff=False, rtscts=False, dsrdtr=False, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            lock.release()
            raise serial_open_error(self.port, exc) from None
        self._lock = lock
        self._set_modem_lines()

    def _set_modem_lines(self) -> None:
        try:
            if self.dtr is not None:
                self._serial.dtr = self.dtr
            if self.rts is not None:
                self._serial.rts = self.rts
            self.modem_lines = "set"
        except OSError as exc:
            # A pty (socat test peer) has no modem lines: ENOTTY. The line still works.
            self.modem_lines = f"not supported by this device ({os.strerror(exc.errno) if exc.errno else exc})"

    def close(self) -> None:
        serial_port, self._serial = self._serial, None
        if serial_port is not None:
            try:
                serial_port.close()
            except Exception:  # noqa: BLE001 - closing a vanished USB port may fail; it is gone anyway
                pass
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def query(self, command: str, timeout: float, *, expect_reply: bool = True) -> bytes:
        """Send ``command`` + CR; return the reply up to and including CR, or what came before the deadline.

        Stale bytes (the tail of an earlier garbled reply) are dropped first, so one bad answer
        cannot shift every later one.
        """
        import serial

        if self._serial is None:
            error = DeviceError(f"serial port {self.port} is not open")
            error.text = Text("ups.err.port_closed", port=self.port)  # type: ignore[attr-defined]
            raise error
        port = self._serial
        try:
            port.reset_input_buffer()
            port.write(command.encode("ascii") + b"\r")
            port.flush()
            if not expect_reply:
                return b""
            deadline = time.monotonic() + timeout
            buf = bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(buf)
                port.timeout = min(remaining, 0.5)
                chunk = port.read(max(1, min(port.in_waiting, 256)))
                if chunk:
                    buf += chunk
                    cr = buf.find(b"\r")
                    if cr >= 0:
                        return bytes(buf[: cr + 1])
                    if len(buf) > 512:
                        return bytes(buf)  # no CR in 512 bytes: noise, let the parser reject it
        except (serial.SerialException, OSError) as exc:
            self.close()  # unplugged USB adapter and the like: reopen on the next poll
            raise serial_open_error(self.port, exc) from None
