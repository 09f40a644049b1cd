"""Running probes concurrently under hard deadlines, and building the report.

Each probe's collect() runs as its own asyncio task, cut by ``asyncio.wait_for`` at the probe's
deadline and by the checklist's total budget.  Blocking device I/O runs in abandoned-on-timeout
daemon threads (``Probe.in_thread``), so a hung peer can neither stall the others nor keep the
process alive.  A probe that overruns becomes an ``error`` result; the rest of the report comes out.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Iterable

import structlog

from agent import __version__
from agent.baseline import drift_results
from agent.errors import AgentError, ProbeTimeout
from agent.model import CheckResult, ProbeRun, Report
from agent.probes import Probe, error_result, get_probe_class

log = structlog.get_logger("agent.runner")

ProgressCallback = Callable[[str, str], None]  # (probe name, "start" | "done")


def build_probes(config: Any, only: Iterable[str] | None = None) -> list[Probe]:
    names = list(only) if only else ["network", "host", "codec", "power"]
    return [get_probe_class(name)(config) for name in names]


async def run_probe(probe: Probe, deadline: float) -> ProbeRun:
    started = time.monotonic()
    run = ProbeRun(name=probe.name)
    try:
        run.status = await asyncio.wait_for(probe.collect(), timeout=deadline)
    except asyncio.TimeoutError:
        run.error = ProbeTimeout(probe.name, deadline)
        run.timed_out = True
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result, never a traceback
        run.error = exc
        if not isinstance(exc, AgentError):
            log.warning("probe_crashed", probe=probe.name, error=f"{type(exc).__name__}: {exc}", exc_info=True)
    run.duration_ms = int((time.monotonic() - started) * 1000)
    return run


def results_for(probe: Probe, run: ProbeRun) -> list[CheckResult]:
    try:
        results = probe.failed(run.error) if run.error is not None else probe.evaluate(run.status)
    except Exception as exc:  # noqa: BLE001 - a bug in a check must not hide the other areas
        log.warning("evaluate_crashed", probe=probe.name, error=f"{type(exc).__name__}: {exc}", exc_info=True)
        results = [error_result(probe.primary_check, exc, what=probe.name)]
    for result in results:
        if result.duration_ms is None:
            result.duration_ms = run.duration_ms
    return results


async def run_checklist(
    config: Any,
    probes: list[Probe],
    *,
    progress: ProgressCallback | None = None,
) -> Report:
    started = time.monotonic()
    budget = float(config.check.budget)
    active = [p for p in probes if p.enabled()]
    results: list[CheckResult] = []
    for probe in probes:
        if not probe.enabled():
            results.extend(probe.disabled_results())

    async def one(probe: Probe) -> ProbeRun:
        if progress:
            progress(probe.name, "start")
        # Never let one probe run past what is left of the whole budget.
        deadline = max(0.1, min(probe.deadline(), budget - (time.monotonic() - started)))
        run = await run_probe(probe, deadline)
        if progress:
            progress(probe.name, "done")
        return run

    runs = await asyncio.gather(*(one(p) for p in active))
    for probe, run in zip(active, runs):
        results.extend(results_for(probe, run))
    # Post-processing: what changed since the rehearsal baseline, for the areas that actually ran.
    results.extend(drift_results(config, list(runs)))
    for probe in active:
        try:
            await asyncio.wait_for(probe.close(), timeout=2.0)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    return Report(
        room_id=config.agent.room_id,
        room_name=config.agent.room_name,
        level=config.agent.level,
        results=results,
        runs=list(runs),
        duration_ms=int((time.monotonic() - started) * 1000),
        agent_version=__version__,
    )
