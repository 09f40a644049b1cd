"""paramiko for a long-running service: loaded without what the agent never uses, and a kept
session whose transport thread sleeps while the session is idle.

- ``paramiko.config`` imports ``invoke`` only for ``Match exec`` in an OpenSSH client config, which
  the agent never reads; invoke in turn loads yaml and unittest.mock.  :func:`load` imports paramiko
  with invoke hidden (paramiko keeps working: only ``SSHConfig`` ``Match exec`` would say invoke is
  missing): about 3.5 MB less RSS for the service.  invoke stays importable afterwards.
- paramiko's transport thread reads its socket with a 0.1 s timeout so it can notice a close and
  send keepalives; an idle kept session thus wakes the process 10 times a second (measured: ~0.07 %
  of a core per idle session).  :func:`quiet_when_idle` lengthens that timeout once the session is
  authenticated.  Nothing waits on it: the channel's own reads have their own deadlines, incoming
  data wakes the thread at once, :func:`close` shuts the reading side so the thread ends at once, and
  keepalives still go out (at most ``IDLE_WAKE`` seconds late).
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any

IDLE_WAKE = 5.0  # seconds the transport thread may sleep on an idle socket (paramiko's default: 0.1)
KEEPALIVE = 15  # seconds without traffic before a keepalive is sent: codecs drop idle sessions

_lock = threading.Lock()


def load() -> Any:
    """The paramiko module (imported without invoke unless someone imported invoke already)."""
    with _lock:
        if "paramiko" not in sys.modules and "invoke" not in sys.modules:
            sys.modules["invoke"] = None  # type: ignore[assignment]  # "import invoke" -> ImportError
            try:
                import paramiko  # noqa: F401
            finally:
                if "invoke" in sys.modules and sys.modules["invoke"] is None:
                    del sys.modules["invoke"]
        import paramiko

        return paramiko


def quiet_when_idle(transport: Any, keepalive: int = KEEPALIVE) -> None:
    """Keepalives every ``keepalive`` s and an idle transport thread that wakes every IDLE_WAKE s."""
    transport.set_keepalive(keepalive)
    transport.sock.settimeout(min(IDLE_WAKE, keepalive / 2))


def close(transport: Any) -> None:
    """Close the session and wake its thread now (a closed fd does not end a blocked poll()).

    Only the reading side is shut down first: the thread sees end-of-file at once, and the codec still
    gets an orderly close (with SHUT_RDWR its late channel-close reply met a reset)."""
    try:
        transport.sock.shutdown(socket.SHUT_RD)
    except (OSError, AttributeError):
        pass
    transport.close()
