"""The runner: concurrency, hard deadlines, errors become results (pure logic, fake probes)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agent.config import load_dict
from agent.errors import DeviceUnreachable
from agent.i18n import Text
from agent.model import CheckResult, Status
from agent.probes import Probe
from agent.runner import run_checklist


def config(budget="3s", deadline="2s"):
    return load_dict({"agent": {"room_id": "test-room"}, "check": {"budget": budget, "probe_deadline": deadline}})


class Fake(Probe):
    name = "fake"
    primary_check = "fake.read"

    def __init__(self, cfg, behaviour, name="fake"):
        super().__init__(cfg)
        self.behaviour = behaviour
        self.name = name
        self.primary_check = f"{name}.read"

    async def collect(self):
        return await self.behaviour(self)

    def evaluate(self, status):
        return [CheckResult(f"{self.name}.read", Status.PASS, Text("status.pass"), observed=status)]


async def ok(probe):
    await asyncio.sleep(0.05)
    return "fine"


async def hangs_in_thread(probe):
    # A device call that never returns: a blocked thread the runner must abandon.
    return await probe.in_thread(threading.Event().wait)


async def hangs_async(probe):
    await asyncio.Event().wait()


async def unreachable(probe):
    raise DeviceUnreachable("connection refused by 127.0.0.1:22")


async def crashes(probe):
    raise KeyError("garbage")


def run(cfg, probes):
    return asyncio.run(run_checklist(cfg, probes))


def test_hung_probes_become_errors_and_the_rest_still_reports():
    cfg = config(budget="3s", deadline="1s")
    probes = [Fake(cfg, ok, "a"), Fake(cfg, hangs_in_thread, "b"), Fake(cfg, hangs_async, "c")]
    started = time.monotonic()
    report = run(cfg, probes)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, "one hung peer must not stall the checklist past its deadline"
    results = {r.id: r for r in report.results}
    assert results["a.read"].status is Status.PASS
    for name in ("b", "c"):
        assert results[f"{name}.read"].status is Status.ERROR
        assert "1" in results[f"{name}.read"].message.render("en") and "No answer within" in results[f"{name}.read"].message.render("en")
    assert {run.name: run.timed_out for run in report.runs} == {"a": False, "b": True, "c": True}
    assert report.exit_code() == 2


def test_probes_run_concurrently():
    cfg = config()

    async def slow(probe):
        await asyncio.sleep(0.5)
        return 1

    started = time.monotonic()
    run(cfg, [Fake(cfg, slow, f"p{i}") for i in range(4)])
    assert time.monotonic() - started < 1.5


def test_budget_caps_every_deadline():
    cfg = config(budget="1s", deadline="10s")
    started = time.monotonic()
    report = run(cfg, [Fake(cfg, hangs_async, "x")])
    assert time.monotonic() - started < 2.0
    assert report.results[0].status is Status.ERROR


def test_device_errors_and_crashes_are_results_not_tracebacks():
    cfg = config()
    report = run(cfg, [Fake(cfg, unreachable, "u"), Fake(cfg, crashes, "k")])
    results = {r.id: r for r in report.results}
    assert results["u.read"].status is Status.ERROR
    assert "connection refused" in results["u.read"].message.render("en")
    assert results["k.read"].status is Status.ERROR
    assert "Internal agent error" in results["k.read"].message.render("en")


def test_evaluate_bug_is_contained():
    cfg = config()

    class Broken(Fake):
        def evaluate(self, status):
            raise ZeroDivisionError("oops")

    report = run(cfg, [Broken(cfg, ok, "z"), Fake(cfg, ok, "a")])
    statuses = {r.id: r.status for r in report.results}
    assert statuses == {"z.read": Status.ERROR, "a.read": Status.PASS}


def test_results_carry_probe_duration():
    cfg = config()
    report = run(cfg, [Fake(cfg, ok, "a")])
    assert report.results[0].duration_ms >= 40


@pytest.mark.parametrize(
    "statuses, overall, code",
    [
        ([Status.PASS, Status.PASS], Status.PASS, 0),
        ([Status.PASS, Status.SKIP], Status.PASS, 0),
        ([Status.PASS, Status.WARN], Status.WARN, 1),
        ([Status.WARN, Status.ERROR], Status.ERROR, 2),
        ([Status.ERROR, Status.FAIL], Status.FAIL, 2),
        ([Status.SKIP], Status.SKIP, 0),
    ],
)
def test_verdict_and_exit_codes(statuses, overall, code):
    from agent.model import Report

    report = Report("r-1", "", "other", [CheckResult(f"x.{i}", s, Text("status.pass")) for i, s in enumerate(statuses)])
    assert report.overall is overall
    assert report.exit_code() == code
