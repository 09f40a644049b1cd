"""Probe registry (Telegraf style) and the contract every probe follows.

A probe reads one area of the room (network, host, codec, power) into a normalised status
record, and turns that record into check results with pure functions.  Probe modules register
themselves with :func:`register` when imported; :data:`PROBE_MODULES` maps each area to its
module so that only the areas a command needs are imported (pysnmp and paramiko are slow
to import and heavy in memory).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import Any, Callable, ClassVar, TypeVar

from agent.errors import AgentError, PermissionDenied, ProbeTimeout, shown
from agent.i18n import Text
from agent.model import CheckResult, Status

# area name -> module that registers the probe of that area (imported lazily)
PROBE_MODULES: dict[str, str] = {
    "network": "agent.probes.network",
    "host": "agent.probes.host",
    "codec": "agent.probes.codec",
    "power": "agent.probes.ups",
}

_REGISTRY: dict[str, type["Probe"]] = {}

T = TypeVar("T")


def register(cls: type["Probe"]) -> type["Probe"]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"probe {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def get_probe_class(name: str) -> type["Probe"]:
    if name not in _REGISTRY:
        module = PROBE_MODULES.get(name)
        if module is None:
            raise KeyError(name)
        importlib.import_module(module)
    return _REGISTRY[name]


def available() -> list[str]:
    return list(PROBE_MODULES)


class Probe:
    """Base class of every probe.

    Subclasses set ``name`` (the area, also the first part of their check ids), implement
    :meth:`collect` (async; blocking device I/O goes through :meth:`in_thread`) and
    :meth:`evaluate` (pure: status -> check results).  They may override :meth:`failed`
    to turn a collection error into more precise check results than the default single line.
    """

    name: ClassVar[str]
    # The check that stands for "could we read this area at all", used by failed().
    primary_check: ClassVar[str]

    def __init__(self, config: Any) -> None:
        self.config = config

    # -- what the runner calls -------------------------------------------------------------
    def enabled(self) -> bool:
        return True

    def deadline(self) -> float:
        """Hard deadline in seconds for one collect(); the runner enforces it."""
        return float(self.config.check.probe_deadline)

    async def collect(self) -> Any:
        raise NotImplementedError

    def evaluate(self, status: Any) -> list[CheckResult]:
        raise NotImplementedError

    def failed(self, error: BaseException) -> list[CheckResult]:
        return [error_result(self.primary_check, error, what=self.name)]

    def disabled_results(self) -> list[CheckResult]:
        """Results shown when the area is not configured (e.g. no UPS in the config)."""
        return []

    async def close(self) -> None:
        """Release sessions held between polls (the daemon keeps probes alive)."""

    # -- helpers for subclasses ------------------------------------------------------------
    @staticmethod
    async def in_thread(fn: Callable[..., T], *args: Any) -> T:
        """Run blocking I/O in its own daemon thread.

        Unlike ``asyncio.to_thread`` (a shared pool whose threads are joined at exit), a thread
        stuck in a device call is simply abandoned when the runner's deadline cancels us: it
        can neither exhaust a pool nor keep the process from exiting.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(setter: Callable[[Any], None], value: Any) -> None:
            if not future.done():
                setter(value)

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                _call_soon(loop, deliver, future.set_exception, exc)
            else:
                _call_soon(loop, deliver, future.set_result, result)

        threading.Thread(target=work, name=f"probe-io-{getattr(fn, '__name__', 'call')}", daemon=True).start()
        return await future


def _call_soon(loop: asyncio.AbstractEventLoop, *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(*args)
    except RuntimeError:
        pass  # the loop is gone: the caller stopped waiting long ago


def error_result(check_id: str, error: BaseException, *, what: str, clause: str = "5.2.1") -> CheckResult:
    """The check result that says a probe could not read its area, without a traceback."""
    if isinstance(error, ProbeTimeout):
        return CheckResult(
            id=check_id,
            status=Status.ERROR,
            message=Text("probe.timeout", seconds=round(error.seconds, 1)),
            remedy=Text("probe.timeout.remedy"),
            clause=clause,
        )
    if isinstance(error, PermissionDenied):
        return CheckResult(
            id=check_id,
            status=Status.ERROR,
            message=Text("probe.permission", error=shown(error)),
            remedy=getattr(error, "remedy", None) or Text("probe.failed.remedy"),
            clause=clause,
        )
    if isinstance(error, AgentError):
        return CheckResult(
            id=check_id,
            status=Status.ERROR,
            message=Text("probe.failed", error=shown(error)),
            remedy=getattr(error, "remedy", None) or Text("probe.failed.remedy"),
            clause=clause,
        )
    return CheckResult(
        id=check_id,
        status=Status.ERROR,
        message=Text("probe.internal_error", what=what, error=f"{type(error).__name__}: {error}"),
        remedy=Text("probe.internal_error.remedy"),
        clause=clause,
    )
