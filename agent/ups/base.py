"""The UPS driver contract and the registry of drivers by name (imported lazily).

A driver turns one protocol into :class:`~agent.ups.model.UpsStatus`.  Two flavours:

* :class:`UpsDriver` — ``async read()``; for natively asynchronous clients (pysnmp 7).
* :class:`BlockingUpsDriver` — implements ``read_blocking()`` with ordinary blocking I/O
  (pyserial, sockets); ``read()`` runs it in an abandoned-on-timeout daemon thread, the way
  ``Probe.in_thread`` does, and never lets two reads overlap on one session.

Every driver raises only :mod:`agent.errors` types (see :mod:`agent.ups.errors`), with messages
that carry no secret.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, ClassVar

from agent.errors import DeviceError
from agent.i18n import Text, register
from agent.ups.model import UpsStatus

register(
    {
        "ups.err.busy": (
            "lần đọc trước ({driver}) vẫn đang chờ bộ lưu điện (UPS) trả lời; thử lại sau",
            "the previous {driver} read is still waiting for the UPS; try again later",
        ),
    }
)

# name -> "module:Class"; a driver module is imported only when a room uses it.
DRIVERS: dict[str, str] = {
    "megatec": "agent.ups.megatec:MegatecDriver",
    "snmp": "agent.ups.snmp:SnmpDriver",
    "nut": "agent.ups.nut:NutDriver",
}


def driver_names() -> list[str]:
    return list(DRIVERS)


def get_driver(name: str) -> type["UpsDriver"]:
    try:
        target = DRIVERS[name]
    except KeyError:
        raise KeyError(f"unknown UPS driver {name!r}; known: {', '.join(DRIVERS)}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


class UpsDriver:
    """Base class of every UPS driver."""

    name: ClassVar[str]

    def __init__(self, section: Any) -> None:
        self.section = section  # the whole [ups] section (driver, per-driver tables, expect)
        # The probe's hard deadline in seconds (set by the power probe); drivers that can cut their
        # requests to it (SNMP) keep deadline() below it, so their own timeout ends a read first.
        self.budget: float | None = None

    def deadline(self) -> float:
        """How long one read() may take at worst, from the driver's own timeouts."""
        return 10.0

    async def read(self) -> UpsStatus:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release the session (port, connection, engine). Safe to call twice."""


class BlockingUpsDriver(UpsDriver):
    """A driver written with blocking I/O; reads run in a daemon thread, one at a time."""

    def __init__(self, section: Any) -> None:
        super().__init__(section)
        self._busy = threading.Lock()

    def read_blocking(self) -> UpsStatus:
        raise NotImplementedError

    def close_blocking(self) -> None:
        pass

    def _guarded_read(self) -> UpsStatus:
        # A read abandoned at the runner's deadline may still be stuck in the device call; the
        # next poll must not interleave its bytes with it on the same line or connection.
        if not self._busy.acquire(timeout=0.2):
            error = DeviceError(f"the previous {self.name} read is still waiting for the UPS; try again later")
            error.text = Text("ups.err.busy", driver=self.name)  # type: ignore[attr-defined]
            raise error
        try:
            return self.read_blocking()
        finally:
            self._busy.release()

    async def read(self) -> UpsStatus:
        from agent.probes import Probe

        return await Probe.in_thread(self._guarded_read)

    def _guarded_close(self) -> None:
        if self._busy.acquire(timeout=1.0):
            try:
                self.close_blocking()
            finally:
                self._busy.release()
        else:  # a hung read owns the session: close under it, which also unblocks it
            self.close_blocking()

    async def aclose(self) -> None:
        from agent.probes import Probe

        await Probe.in_thread(self._guarded_close)
