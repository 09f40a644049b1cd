"""The service: polls every area on its own schedule, turns polls into events and samples, keeps
the outbox, feeds the uploader, answers the control socket and talks to systemd.

Scheduling (one asyncio task per probe):

- a random splay before the first poll (at most the probe's interval), then fixed ticks;
- no overlapping runs of one probe: a tick that finds the previous run busy is skipped and
  counted (Telegraf's "previous collection has not completed");
- every run goes through :func:`agent.runner.run_probe` (the hard per-probe deadline); a probe
  that even ignores cancellation is abandoned after the deadline plus a grace period, reported as
  hung, and its later ticks are skipped until it returns;
- the watchdog ping (``WATCHDOG=1``) comes from the loop itself after checking that the probe
  tasks and the uploader thread are alive, so a wedged loop or a dead uploader gets us restarted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from agent import __version__
from agent.daemon import control as control_mod, memory
from agent.daemon.events import EventTracker, live_values
from agent.daemon.meetings import MeetingDesk
from agent.daemon.notify import Notifier, watchdog_interval
from agent.daemon.outbox import Outbox, rfc3339
from agent.daemon.schedule import (SYSTEM_CLOCK, Clock, Due, Meeting, due_checklists, next_boundary,
                                   not_connected_due, window_meeting)
from agent.daemon.uploader import Uploader
from agent.errors import ConfigError, ProbeTimeout
from agent.model import CheckResult, ProbeRun, Report, Status, to_plain, worst
from agent.probes import Probe
from agent.runner import build_probes, results_for, run_probe

log = structlog.get_logger("agent.service")

AREAS = ["network", "host", "codec", "power"]
HUNG_GRACE = 5.0  # seconds past the deadline before a run that ignores cancellation is abandoned
PRUNE_EVERY = 600.0
TRIM_EVERY = 300.0  # malloc_trim (agent/daemon/memory.py); the first one once the first polls are done
MEETING_TICK = 15.0  # the meeting loop looks at the schedule at least this often
FAST_AREAS = ("codec", "network", "power")  # polled every fast_interval inside a meeting window
TRIGGERS = {"request": "manual", "schedule": "interval"}  # names of protocol v1.0


class ProbeHung(ProbeTimeout):
    def __init__(self, probe: str, seconds: float) -> None:
        super().__init__(probe, seconds)
        self.args = (f"probe {probe!r} is still stuck in a previous run ({seconds:g} s); its ticks are skipped",)


@dataclass
class Slot:
    """One probe kept alive between polls, its schedule and its last outcome."""

    probe: Probe
    interval: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # the interval changed: plan the next tick again
    loop_task: asyncio.Task | None = None
    stuck: asyncio.Task | None = None  # a run abandoned past its deadline, still not finished
    stuck_since: float | None = None
    runs: int = 0
    timeouts: int = 0
    skipped: int = 0
    hung: int = 0
    last_unix: float | None = None
    last_mono: float | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_duration_ms: int | None = None
    last_timed_out: bool = False
    results: list[CheckResult] = field(default_factory=list)
    live: dict[str, Any] = field(default_factory=dict)
    _skip_logged: float = -1e9

    @property
    def name(self) -> str:
        return self.probe.name

    def busy(self) -> bool:
        return self.lock.locked() or (self.stuck is not None and not self.stuck.done())

    def area_status(self) -> str:
        if not self.results:
            return "unknown"
        return worst([r.status for r in self.results]).value

    def summary(self) -> dict[str, Any]:
        age = None if self.last_mono is None else round(time.monotonic() - self.last_mono, 1)
        return {
            "interval_s": self.interval, "runs": self.runs, "skipped": self.skipped, "timeouts": self.timeouts,
            "hung": self.stuck is not None and not self.stuck.done(), "hung_total": self.hung,
            "last_at": rfc3339(self.last_unix) if self.last_unix else None, "last_unix": self.last_unix,
            "age_s": age, "ok": self.last_ok, "error": self.last_error, "timed_out": self.last_timed_out,
            "duration_ms": self.last_duration_ms, "status": self.area_status(),
            "checks": [{"id": r.id, "status": r.status.value} for r in self.results],
        }


class Service:
    def __init__(self, config: Any, *, notifier: Notifier | None = None, rng: random.Random | None = None,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        self.rng = rng or random.Random()
        # Every decision about the meeting day asks this clock (tests drive a whole day in seconds).
        self.clock = clock or SYSTEM_CLOCK
        self.boot_id = str(uuid.uuid4())
        self.started_mono = time.monotonic()
        self.lang = config.agent.language or "vi"
        self.slots: dict[str, Slot] = {}
        self.disabled: dict[str, list[CheckResult]] = {}
        self.tracker = EventTracker(config, self.lang)
        self.desk = MeetingDesk(config, self.boot_id, self.lang)
        self.fast = False  # inside a meeting window: codec, network, power every fast_interval
        self._meetings_changed: asyncio.Event | None = None
        self.heartbeat_seq = 0
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._polls: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_prune = 0.0
        self._last_trim = 0.0
        self.control: control_mod.ControlServer | None = None
        self.outbox: Outbox | None = None
        self.uploader: Uploader | None = None
        self.reloads = 0
        self.reload_error: str | None = None

    # -- life cycle ------------------------------------------------------------------------
    def _open_outbox(self) -> Outbox:
        config = self.config
        return Outbox(config.state_dir / "outbox.sqlite", room_id=config.agent.room_id, boot_id=self.boot_id,
                      max_bytes=config.daemon.outbox_max_mb << 20, max_age=float(config.daemon.outbox_max_age),
                      record_max_bytes=config.collector.batch_max_bytes - 512)

    def _build_slots(self) -> None:
        self.slots.clear()
        self.disabled.clear()
        for probe in build_probes(self.config, AREAS):
            if probe.enabled():
                self.slots[probe.name] = Slot(probe, self.config.daemon.interval(probe.name))
            else:
                self.disabled[probe.name] = probe.disabled_results()

    async def run(self) -> int:
        self._loop = asyncio.get_running_loop()
        # Signals first: a SIGTERM that arrives as soon as the control socket appears must stop us
        # cleanly, not kill the process with the default action.
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self.stopping.set)
        self._loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        self.outbox = self._open_outbox()
        self.outbox.prune()
        self._build_slots()
        self._meetings_changed = asyncio.Event()
        await asyncio.to_thread(self.desk.load)
        self.uploader = Uploader(self.config, self.outbox, self.build_heartbeat, rng=self.rng,
                                 on_heartbeat_answer=self._heartbeat_answer)
        self.control = control_mod.ControlServer(control_mod.socket_path(self.config),
                                                 self.config.daemon.control_group, self.handle_control)
        await self.control.start()
        self.uploader.start()
        self._start_probe_loops()
        self._tasks += [asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
                        asyncio.create_task(self._watchdog_loop(), name="watchdog"),
                        asyncio.create_task(self._meeting_loop(), name="meetings")]
        if self.config.daemon.checklist_interval > 0:
            self._tasks.append(asyncio.create_task(self._checklist_loop(), name="checklist"))
        log.info("service_started", room_id=self.config.agent.room_id, boot_id=self.boot_id,
                 probes=list(self.slots), disabled=list(self.disabled), collector=self.config.collector.url or None,
                 control_socket=str(self.control.path), version=__version__)
        self.notifier.send(READY=1, STATUS=self.status_line(), MAINPID=os.getpid())
        await self.stopping.wait()
        await self.shutdown()
        return 0

    def _start_probe_loops(self) -> None:
        for slot in self.slots.values():
            slot.loop_task = asyncio.create_task(self._probe_loop(slot), name=f"probe-{slot.name}")

    async def _stop_probe_loops(self) -> None:
        tasks = [s.loop_task for s in self.slots.values() if s.loop_task]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        # Let runs in flight finish within their deadline, then close the sessions they hold.
        for slot in self.slots.values():
            if slot.lock.locked():
                try:
                    await asyncio.wait_for(slot.lock.acquire(), 3.0)
                    slot.lock.release()
                except asyncio.TimeoutError:
                    pass
            try:
                await asyncio.wait_for(slot.probe.close(), 2.0)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    async def shutdown(self) -> None:
        log.info("service_stopping")
        self.notifier.send(STOPPING=1, STATUS="stopping: pushing what is left")
        for task in self._tasks:
            task.cancel()
        if self.control:
            await self.control.close()
        await self._stop_probe_loops()
        if self.uploader is not None:
            self.uploader.heartbeat_due()
            await asyncio.to_thread(self.uploader.stop, float(self.config.daemon.stop_flush_timeout))
        self.write_snapshot()
        if self.outbox is not None:
            stats = self.outbox.stats()
            self.outbox.close()
            log.info("service_stopped", outbox_depth=stats.depth, dropped=stats.dropped)
        self.notifier.close()

    def _on_sighup(self) -> None:
        if self.uploader is None or self.stopping.is_set():
            return  # still starting (or stopping): the file is read at start anyway
        task = asyncio.ensure_future(self.reload())
        self._polls.add(task)
        task.add_done_callback(self._poll_done)

    async def reload(self) -> None:
        """SIGHUP: load the config again; an invalid one is logged and the running one kept."""
        from agent import config as config_mod

        self.notifier.send(RELOADING=1, STATUS="reloading configuration",
                           MONOTONIC_USEC=int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6))
        try:
            new = config_mod.load(self.config.path)
            for field_name in ("room_id",):
                if getattr(new.agent, field_name) != getattr(self.config.agent, field_name):
                    raise ConfigError(f"changing {field_name} needs a restart (systemctl restart hntht-agent)",
                                      file=self.config.path, key=f"agent.{field_name}")
            if new.state_dir != self.config.state_dir:
                raise ConfigError("changing state_dir needs a restart", file=self.config.path, key="agent.state_dir")
        except ConfigError as exc:
            self.reload_error = str(exc)
            log.error("reload_refused_keeping_old_config", error=str(exc))
            self.notifier.send(READY=1, STATUS=f"reload refused, old configuration kept: {exc}"[:400])
            return
        for warning in new.warnings:
            log.warning("config_warning", warning=warning)
        await self._stop_probe_loops()
        self.config = new
        self.lang = new.agent.language or "vi"
        self.tracker.config = new
        self.tracker.lang = self.lang
        self.desk.configure(new, self.lang)
        self._build_slots()
        assert self.uploader is not None and self.outbox is not None
        self.uploader.apply(new)
        self.outbox.max_bytes = new.daemon.outbox_max_mb << 20
        self.outbox.max_age = float(new.daemon.outbox_max_age)
        self._start_probe_loops()
        self.reloads += 1
        self.reload_error = None
        log.info("config_reloaded", probes=list(self.slots), disabled=list(self.disabled))
        self.notifier.send(READY=1, STATUS=self.status_line())

    # -- polling ---------------------------------------------------------------------------
    def interval(self, slot: Slot) -> float:
        """The slot's interval now: ``fast_interval`` for codec, network and power in a meeting window."""
        if self.fast and slot.name in FAST_AREAS:
            return min(slot.interval, float(self.config.daemon.fast_interval))
        return slot.interval

    def _set_fast(self, fast: bool) -> None:
        if fast == self.fast:
            return
        self.fast = fast
        log.info("fast_polling", on=fast, interval_s=float(self.config.daemon.fast_interval) if fast else None)
        for slot in self.slots.values():
            slot.wake.set()

    async def _probe_loop(self, slot: Slot) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.rng.uniform(0.0, min(float(self.config.daemon.splay), slot.interval)))
        next_at = loop.time()
        while True:
            launched = loop.time()
            if slot.busy():
                slot.skipped += 1
                if loop.time() - slot._skip_logged > 300:
                    slot._skip_logged = loop.time()
                    log.warning("probe_tick_skipped", probe=slot.name, skipped_total=slot.skipped,
                                hung=slot.stuck is not None and not slot.stuck.done(),
                                hint="the previous run has not finished; this tick is skipped")
            else:
                # Keep a reference: the loop holds tasks weakly, a running poll must not vanish.
                task = asyncio.create_task(self.poll(slot), name=f"poll-{slot.name}")
                self._polls.add(task)
                task.add_done_callback(self._poll_done)
            interval = self.interval(slot)
            next_at += interval
            now = loop.time()
            if next_at < now:  # we were suspended or starved: count the missed ticks, re-anchor
                missed = int((now - next_at) // interval) + 1
                slot.skipped += missed
                next_at += missed * interval
            # Sleep until the next tick; a meeting window opening (fast polling) brings it forward.
            while (wait := next_at - loop.time()) > 0:
                slot.wake.clear()
                try:
                    await asyncio.wait_for(slot.wake.wait(), wait)
                except asyncio.TimeoutError:
                    break
                interval = self.interval(slot)
                next_at = min(next_at, max(launched + interval, loop.time()))

    def _poll_done(self, task: asyncio.Task) -> None:
        self._polls.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("poll_failed", task=task.get_name(), error=f"{type(exc).__name__}: {exc}")

    async def _guarded_run(self, slot: Slot, deadline: float) -> ProbeRun:
        if slot.stuck is not None and not slot.stuck.done():
            return ProbeRun(name=slot.name, error=ProbeHung(slot.name, time.monotonic() - (slot.stuck_since or 0)),
                            timed_out=True)
        task = asyncio.create_task(run_probe(slot.probe, deadline), name=f"run-{slot.name}")
        done, _ = await asyncio.wait({task}, timeout=deadline + HUNG_GRACE)
        if task in done:
            return task.result()
        # The probe swallowed its cancellation: abandon it (it keeps the slot busy) and say so.
        slot.stuck, slot.stuck_since = task, time.monotonic()
        slot.hung += 1
        log.error("probe_hung", probe=slot.name, deadline_s=deadline,
                  hint="the probe ignores cancellation; its ticks are skipped until it returns")

        def recovered(_: asyncio.Task) -> None:
            log.warning("probe_unstuck", probe=slot.name, stuck_s=round(time.monotonic() - (slot.stuck_since or 0)))
            if not task.cancelled():
                task.exception()  # consume, so asyncio does not log "never retrieved"

        task.add_done_callback(recovered)
        return ProbeRun(name=slot.name, error=ProbeHung(slot.name, deadline + HUNG_GRACE), timed_out=True,
                        duration_ms=int((deadline + HUNG_GRACE) * 1000))

    async def poll(self, slot: Slot, *, deadline: float | None = None) -> list[CheckResult]:
        async with slot.lock:
            run = await self._guarded_run(slot, deadline if deadline is not None else slot.probe.deadline())
            results = results_for(slot.probe, run)
            await self._record(slot, run, results)
            return results

    async def _record(self, slot: Slot, run: ProbeRun, results: list[CheckResult]) -> None:
        slot.runs += 1
        slot.timeouts += int(run.timed_out)
        slot.last_unix, slot.last_mono = time.time(), time.monotonic()
        slot.last_ok = run.error is None
        slot.last_error = None if run.error is None else str(run.error)[:300]
        slot.last_timed_out = run.timed_out
        slot.last_duration_ms = run.duration_ms
        slot.results = results
        try:
            live = live_values(slot.name, run.status, self.config) if run.error is None else {}
        except Exception as exc:  # noqa: BLE001 - a surprising status record must not stop the service
            log.warning("live_values_failed", probe=slot.name, error=f"{type(exc).__name__}: {exc}")
            live = {}
        slot.live = live
        events = self.tracker.observe(slot.name, run, results, live)
        sample: dict[str, Any] = {"area": slot.name, "ok": run.error is None, "duration_ms": run.duration_ms,
                                  "checks": [{"id": r.id, "status": r.status.value} for r in results]}
        if run.error is None:
            status = to_plain(run.status, self.lang)
            sample["status"] = status if isinstance(status, dict) else {"value": status}
        else:
            sample["status"] = {"error": str(run.error)[:500], "timed_out": run.timed_out}
        if slot.name in FAST_AREAS:
            now = self.clock.now()
            try:
                meeting_events, sessions = self.desk.observe(slot.name, run, now)
            except Exception as exc:  # noqa: BLE001 - a bug in session tracking must not lose the poll
                log.error("session_tracking_failed", probe=slot.name, error=f"{type(exc).__name__}: {exc}",
                          exc_info=True)
                meeting_events, sessions = [], []
            events = events + meeting_events
        else:
            now, sessions = time.time(), []
        items = ([("event", e, None) for e in events] + [("session", b, now) for b in sessions]
                 + [("status_sample", sample, None)])
        for body in sessions:
            log.info("session", session_id=body["session_id"], final=body["final"], meeting_id=body["meeting_id"],
                     losses=len(body["signal_losses"]))
        for event in events:
            log.info("event", type=event["type"], severity=event["severity"], area=event["area"])
        assert self.outbox is not None
        await asyncio.to_thread(self.outbox.add_many, items)
        if (events or sessions) and self.uploader is not None:
            self.uploader.wake()  # events are pushed at once, ahead of samples

    # -- the checklist ---------------------------------------------------------------------
    async def checklist(self, only: list[str] | None = None, *, reason: str = "manual",
                        meeting: Meeting | None = None) -> Report:
        """The full checklist with the probes the service already holds (no second session).

        ``reason`` is the report's ``trigger`` (manual, rehearsal, t90, interval); inside a meeting
        window (start − 90 min to the end) drift against the rehearsal baseline fails.
        """
        from agent.baseline import drift_results

        reason = TRIGGERS.get(reason, reason)
        started = time.monotonic()
        budget = float(self.config.check.budget)
        names = [a for a in AREAS if not only or a in only]

        async def one(slot: Slot) -> tuple[ProbeRun, list[CheckResult]]:
            left = budget - (time.monotonic() - started)
            try:
                await asyncio.wait_for(slot.lock.acquire(), max(0.1, left - 0.5))
            except asyncio.TimeoutError:
                run = ProbeRun(name=slot.name, error=ProbeTimeout(slot.name, left), timed_out=True)
                return run, results_for(slot.probe, run)
            try:
                left = budget - (time.monotonic() - started)
                deadline = max(0.1, min(slot.probe.deadline(), left))
                run = await self._guarded_run(slot, deadline)
                results = results_for(slot.probe, run)
                await self._record(slot, run, results)
                return run, results
            finally:
                slot.lock.release()

        active = [self.slots[n] for n in names if n in self.slots]
        outcomes = dict(zip([s.name for s in active], await asyncio.gather(*(one(s) for s in active))))
        results: list[CheckResult] = []
        runs: list[ProbeRun] = []
        for name in names:
            if name in self.disabled:
                results.extend(self.disabled[name])
            elif name in outcomes:
                run, area_results = outcomes[name]
                runs.append(run)
                results.extend(area_results)
        in_window = window_meeting(self.desk.meetings(), self.clock.now()) is not None
        results.extend(await asyncio.to_thread(drift_results, self.config, runs, meeting_window=in_window))
        report = Report(room_id=self.config.agent.room_id, room_name=self.config.agent.room_name,
                        level=self.config.agent.level, results=results, runs=runs,
                        duration_ms=int((time.monotonic() - started) * 1000), agent_version=__version__,
                        mode="service")
        body = report.to_dict(self.lang)
        body["trigger"] = reason
        body["meeting_id"] = meeting.id if meeting is not None else None
        if body.get("overall") in ("pass", "warn", "fail", "error"):
            assert self.outbox is not None
            await asyncio.to_thread(self.outbox.add, "check_report", body)
            if self.uploader is not None:
                self.uploader.wake()
        return report

    async def _checklist_loop(self) -> None:
        interval = float(self.config.daemon.checklist_interval)
        await asyncio.sleep(self.rng.uniform(0.0, min(interval, float(self.config.daemon.splay) + 1)))
        while True:
            try:
                await self.checklist(reason="interval")
            except Exception as exc:  # noqa: BLE001
                log.error("scheduled_checklist_failed", error=f"{type(exc).__name__}: {exc}", exc_info=True)
            await asyncio.sleep(interval)

    # -- meetings ----------------------------------------------------------------------------
    def _heartbeat_answer(self, data: dict[str, Any]) -> None:
        """Uploader thread: a 2xx heartbeat answer; a new schedule is handed to the event loop."""
        parsed = self.desk.parse_answer(data)
        if parsed is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._take_schedule, *parsed)

    def _take_schedule(self, schedule: Any, raw: dict[str, Any]) -> None:
        if self.desk.set_schedule(schedule, raw, self.clock.now()):
            task = asyncio.ensure_future(asyncio.to_thread(self.desk.persist, self.clock.now()))
            self._polls.add(task)
            task.add_done_callback(self._poll_done)
        if self._meetings_changed is not None:
            self._meetings_changed.set()

    def meetings_changed(self) -> None:
        """Tell the meeting loop to look again now (a new schedule; tests after moving their clock)."""
        if self._meetings_changed is not None:
            self._meetings_changed.set()

    async def _meeting_loop(self) -> None:
        assert self._meetings_changed is not None
        while True:
            try:
                await self._meeting_tick()
            except Exception as exc:  # noqa: BLE001 - the loop must survive a bug in one tick
                log.error("meeting_tick_failed", error=f"{type(exc).__name__}: {exc}", exc_info=True)
            nxt = next_boundary(self.desk.meetings(), self.clock.now())
            wait = MEETING_TICK if nxt is None else max(0.05, min(MEETING_TICK, nxt + 0.01))
            sleeper = asyncio.ensure_future(self.clock.sleep(wait))
            changed = asyncio.ensure_future(self._meetings_changed.wait())
            try:
                await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                changed.cancel()
            self._meetings_changed.clear()

    async def _meeting_tick(self) -> None:
        assert self.outbox is not None
        now = self.clock.now()
        meetings = self.desk.meetings()
        self._set_fast(window_meeting(meetings, now) is not None)
        items: list[tuple[str, dict[str, Any], float | None]] = [
            ("session", body, now) for body in self.desk.sessions.tick(now)]
        marks = 0
        codec = self.slots.get("codec")
        for key, meeting in not_connected_due(meetings, now, self.desk.done):
            if codec is None:
                break
            if codec.runs == 0:
                continue  # not polled yet: look again at the next tick
            self.desk.done.add(key)
            marks += 1
            if codec.last_ok is False or codec.live.get("in_call") is False:
                items.append(("event", self.desk.not_connected_event(meeting, codec.live), now))
                log.warning("meeting_not_connected", meeting_id=meeting.id, start=rfc3339(meeting.start))
        if items:
            await asyncio.to_thread(self.outbox.add_many, items)
            if self.uploader is not None:
                self.uploader.wake()
        if marks:
            await asyncio.to_thread(self.desk.persist, now)
        if self.config.daemon.meeting_checklists:
            for due in due_checklists(meetings, now, self.desk.done):
                # Marked before it runs: a checklist that crashes is not retried in a loop.
                self.desk.done.add(due.key)
                await asyncio.to_thread(self.desk.persist, now)
                await self._scheduled_checklist(due)

    async def _scheduled_checklist(self, due: Due) -> None:
        from agent.baseline import save_after_rehearsal

        log.info("meeting_checklist_started", meeting_id=due.meeting.id, which=due.which)
        report = await self.checklist(reason=due.which, meeting=due.meeting)
        saved = None
        if due.which == "rehearsal":
            saved = await asyncio.to_thread(save_after_rehearsal, self.config, report)
        overall = report.overall.value
        event = self.desk.checklist_event(due, overall, saved is not None if due.which == "rehearsal" else None)
        assert self.outbox is not None
        await asyncio.to_thread(self.outbox.add, "event", event, self.clock.now())
        if self.uploader is not None:
            self.uploader.wake()
        log.info("meeting_checklist", meeting_id=due.meeting.id, which=due.which, overall=overall,
                 baseline_saved=saved is not None if due.which == "rehearsal" else None)

    # -- heartbeat, snapshot, watchdog -----------------------------------------------------
    def areas(self) -> dict[str, str]:
        areas = {name: slot.area_status() for name, slot in self.slots.items()}
        for name, results in self.disabled.items():
            areas[name] = worst([r.status for r in results]).value if results else "skip"
        return {a: areas[a] for a in AREAS if a in areas}

    def live(self) -> dict[str, Any]:
        def pick(area: str, keys: list[str]) -> dict[str, Any]:
            values = self.slots[area].live if area in self.slots else {}
            return {k: values.get(k) for k in keys}

        return {"codec": pick("codec", ["in_call", "registered", "standby"]),
                "power": pick("power", ["on_battery", "battery_charge_percent"]),
                "network": pick("network", ["mcu_rtt_ms", "mcu_loss_percent"])}

    def alarms(self) -> list[str]:
        alarms = []
        if self.uploader is not None:
            if self.uploader.state.auth_alarm:
                alarms.append(f"collector_auth: {self.uploader.state.auth_alarm}")
            if self.uploader.state.tls_alarm:
                alarms.append(f"collector_tls: {self.uploader.state.tls_alarm}")
        if self.outbox is not None and self.outbox.alarm:
            alarms.append(f"outbox: {self.outbox.alarm}")
        for slot in self.slots.values():
            if slot.stuck is not None and not slot.stuck.done():
                alarms.append(f"probe_hung: {slot.name}")
        if self.reload_error:
            alarms.append(f"reload_refused: {self.reload_error[:200]}")
        return alarms

    def _clock(self) -> dict[str, Any]:
        synced = None
        host = self.slots.get("host")
        if host is not None:
            for r in host.results:
                if r.id == "host.clock" and r.status in (Status.PASS, Status.WARN, Status.FAIL):
                    synced = r.status is Status.PASS
        offset = self.uploader.state.clock_offset_ms if self.uploader else None
        return {"ntp_synchronized": synced, "offset_ms": offset}

    def build_heartbeat(self) -> dict[str, Any]:
        """Called by the uploader thread right before sending, so the numbers are current."""
        assert self.outbox is not None and self.uploader is not None
        self.heartbeat_seq += 1
        areas = self.areas()
        known = [Status(s) for s in areas.values() if s != "unknown"]
        overall = worst(known).value if known else "unknown"
        if overall == "skip" and any(s == "unknown" for s in areas.values()):
            overall = "unknown"
        return {
            "schema": "hntht.heartbeat/1",
            "room_id": self.config.agent.room_id,
            "agent_version": __version__,
            "boot_id": self.boot_id,
            "seq": self.heartbeat_seq,
            "sent_at": rfc3339(),
            "uptime_s": round(time.monotonic() - self.started_mono, 1),
            "interval_s": max(1, min(3600, round(float(self.config.collector.heartbeat_interval)))),
            "overall": overall,
            "areas": areas,
            "live": self.live(),
            "outbox": self.outbox.stats().heartbeat(),
            "last_push_at": self.uploader.state.last_push_at,
            "clock": self._clock(),
            # Optional extras (the collector ignores fields it does not know):
            "alarms": self.alarms(),
            "probes": {n: {k: v for k, v in s.summary().items() if k in ("skipped", "timeouts", "hung", "ok", "age_s")}
                       for n, s in self.slots.items()},
            "meeting": {k: v for k, v in self.desk.state(self.clock.now(), self.fast).items() if k != "upcoming"},
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything `hntht-agent status` shows."""
        stats = self.outbox.stats() if self.outbox else None
        state = self.uploader.state if self.uploader else None
        last_push_unix = None
        if state and state.last_push_at:
            import datetime as _dt

            last_push_unix = _dt.datetime.fromisoformat(state.last_push_at.replace("Z", "+00:00")).timestamp()
        probes = {n: s.summary() for n, s in self.slots.items()}
        for name, results in self.disabled.items():
            probes[name] = {"enabled": False, "status": self.areas().get(name, "skip"),
                            "checks": [{"id": r.id, "status": r.status.value} for r in results]}
        return {
            "schema": "hntht.agent-status/1",
            "room_id": self.config.agent.room_id,
            "agent_version": __version__,
            "boot_id": self.boot_id,
            "pid": os.getpid(),
            "written_at": rfc3339(),
            "uptime_s": round(time.monotonic() - self.started_mono, 1),
            "config": self.config.path,
            "collector_url": self.config.collector.url or None,
            "areas": self.areas(),
            "live": self.live(),
            "probes": probes,
            "outbox": None if stats is None else {
                "depth": stats.depth, "oldest_at": stats.oldest_at, "dropped": stats.dropped,
                "dropped_by_kind": stats.dropped_by_kind, "quarantined": stats.quarantined,
                "quarantined_total": stats.quarantined_total, "bytes": stats.bytes,
                "max_bytes": self.outbox.max_bytes, "alarm": stats.alarm},
            "quarantined_recent": self.outbox.quarantined(5) if self.outbox else [],
            "push": None if state is None else state.to_dict(),
            "last_push_unix": last_push_unix,
            "alarms": self.alarms(),
            "reloads": self.reloads,
            "meetings": self.desk.state(self.clock.now(), self.fast),
        }

    def write_snapshot(self) -> None:
        """status.json in the state directory (for `status` when the service is down) and the .prom file."""
        try:
            snap = self.snapshot()
        except Exception as exc:  # noqa: BLE001 - the outbox may be closed or the disk full
            log.warning("snapshot_failed", error=f"{type(exc).__name__}: {exc}")
            return
        target = self.config.state_dir / "status.json"
        try:
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(snap, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            log.warning("status_file_failed", path=str(target), error=exc.strerror)
        if self.config.daemon.prometheus_textfile:
            from agent.daemon import prom

            try:
                prom.write_textfile(self.config.daemon.prometheus_textfile, prom.render(snap))
            except OSError as exc:
                log.warning("prometheus_textfile_failed", path=self.config.daemon.prometheus_textfile,
                            error=exc.strerror)

    def status_line(self) -> str:
        parts = [f"{len(self.slots)} probes"]
        if self.outbox is not None:
            stats = self.outbox.stats()
            parts.append(f"outbox {stats.depth} waiting, {stats.dropped} dropped, {stats.quarantined} quarantined")
        if self.uploader is not None:
            parts.append(f"last push {self.uploader.state.last_push_at or 'never'}")
        alarms = self.alarms()
        if alarms:
            parts.append("ALARM " + "; ".join(a[:80] for a in alarms))
        return "; ".join(parts)

    async def _heartbeat_loop(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, min(3.0, float(self.config.daemon.splay) + 0.5)))
        while True:
            assert self.uploader is not None and self.outbox is not None
            self.uploader.heartbeat_due()
            if time.monotonic() - self._last_prune > PRUNE_EVERY:
                self._last_prune = time.monotonic()
                await asyncio.to_thread(self.outbox.prune)
            now = time.monotonic()
            if now - self._last_trim > TRIM_EVERY and now - self.started_mono > 60:
                self._last_trim = now
                await asyncio.to_thread(memory.trim)
            await asyncio.to_thread(self.write_snapshot)
            self.notifier.send(STATUS=self.status_line())
            await asyncio.sleep(float(self.config.collector.heartbeat_interval))

    def healthy(self) -> tuple[bool, str]:
        for slot in self.slots.values():
            if slot.loop_task is not None and slot.loop_task.done() and not slot.loop_task.cancelled():
                return False, f"schedule of {slot.name} ended"
        if self.uploader is not None:
            if not self.uploader.is_alive():
                return False, "uploader thread died"
            settings = self.config.collector
            limit = float(settings.connect_timeout + settings.timeout) * 4 + 60
            if time.monotonic() - self.uploader.alive_at > limit:
                return False, "uploader thread wedged"
        return True, ""

    async def _watchdog_loop(self) -> None:
        interval = watchdog_interval()
        if interval is None:
            return
        interval = max(0.05, interval)
        while True:
            ok, why = self.healthy()
            if ok:
                self.notifier.send(WATCHDOG=1)
            else:
                log.error("watchdog_withheld", reason=why, hint="systemd will restart the service")
            await asyncio.sleep(interval)

    # -- control socket --------------------------------------------------------------------
    async def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid(), "boot_id": self.boot_id}
        if cmd == "status":
            return {"ok": True, "status": await asyncio.to_thread(self.snapshot)}
        if cmd == "check":
            from agent.render import format_report

            only = request.get("only")
            if only is not None and not (isinstance(only, list) and all(a in AREAS for a in only)):
                return {"ok": False, "error": "bad_request", "message": f"only: choose from {AREAS}"}
            lang = request.get("lang") if request.get("lang") in ("vi", "en") else self.lang
            report = await self.checklist(only, reason="manual")
            width = request.get("width") if isinstance(request.get("width"), int) else None
            return {"ok": True, "exit_code": report.exit_code(), "report": report.to_dict(lang),
                    "text": format_report(report, lang, colour=bool(request.get("colour")), width=width)}
        return {"ok": False, "error": "unknown_command", "message": f"unknown command {cmd!r}"}


def state_snapshot_path(config: Any) -> Path:
    return config.state_dir / "status.json"


def run_service(service: Service) -> int:
    """Run the service on a fresh loop.

    Unlike ``asyncio.run``, tasks still pending at the end (a probe that swallowed its
    cancellation) get one cancellation and two seconds, then are left behind: a stuck probe
    must not turn a clean SIGTERM into a SIGKILL after TimeoutStopSec.
    """
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        code = loop.run_until_complete(service.run())
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2.0))
        return code
    finally:
        asyncio.set_event_loop(None)
        loop.close()
