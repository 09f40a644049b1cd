"""sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket in $NOTIFY_SOCKET.

The protocol is newline-separated KEY=VALUE pairs in one datagram; a leading "@" names a socket
in the abstract namespace.  Outside systemd (no $NOTIFY_SOCKET) every call is a silent no-op.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address or None
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, **fields: str | int) -> bool:
        """send(READY=1, STATUS="...") -> True if the datagram left."""
        if not self.address:
            return False
        # Values are single lines: a newline would start a new (forged) field.
        text = "\n".join(f"{k}={str(v).replace(chr(10), ' ')}" for k, v in fields.items())
        try:
            if self._sock is None:
                # Non-blocking: a manager that stopped reading must never stall the event loop.
                self._sock = socket.socket(socket.AF_UNIX,
                                           socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
            self._sock.sendto(text.encode("utf-8"), self.address)
            return True
        except BlockingIOError:
            return False  # queue full: this message is lost, the next ping will do
        except OSError:
            # systemd gone or socket replaced: try a fresh socket next time, never raise.
            self.close()
            return False

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), or None if no watchdog applies to us."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2e6 if value > 0 else None
