"""The service's meeting desk: the schedule it was handed, the call sessions, the overnight watch.

Glue between the pure decisions (agent/daemon/schedule.py, agent/daemon/sessions.py) and the
service (agent/daemon/scheduler.py): it keeps the last schedule in the state directory, turns each
poll into session records and overnight events, and builds the meeting events.  Every time comes
from the caller (the service's :class:`~agent.daemon.schedule.Clock`).
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from agent.daemon.schedule import (Due, Meeting, Schedule, ScheduleStore, in_overnight, is_newer, load_timezone,
                                   local_hhmm, meeting_dict, meeting_for, parse_schedule, prune_done, rfc3339,
                                   window_meeting)
from agent.daemon.sessions import OvernightWatch, SessionTracker, codec_view
from agent.i18n import Text, register as register_text, render

log = structlog.get_logger("agent.meetings")

register_text({
    "event.meeting.checklist.rehearsal": ("Đã tự động kiểm tra thiết bị cho phiên tổng duyệt «{title}»: {overall}{saved}",
                                          "Automatic equipment check for the rehearsal of \"{title}\": {overall}{saved}"),
    "event.meeting.checklist.t90": ("Đã tự động kiểm tra lần hai, 1 giờ 30 phút trước phiên họp chính thức «{title}»: "
                                    "{overall}",
                                    "Second automatic check, 1 h 30 min before the official meeting \"{title}\": "
                                    "{overall}"),
    "event.meeting.baseline_saved": ("; đã lưu trạng thái chuẩn sau tổng duyệt", "; rehearsal baseline saved"),
    "event.meeting.not_connected": (
        "Còn 20 phút đến giờ họp «{title}» mà thiết bị đầu cuối chưa kết nối vào phiên họp (chưa có cuộc gọi tới "
        "MCU): kiểm tra ngay và báo điểm cầu trung tâm (VNPT)",
        "20 minutes before \"{title}\" the terminal is not connected to the meeting (no call to the MCU): check "
        "now and call the central point (VNPT)"),
})


class MeetingDesk:
    def __init__(self, config: Any, boot_id: str, lang: str = "vi") -> None:
        self.config = config
        self.lang = lang
        self.store = ScheduleStore(config.state_dir)
        self.schedule: Schedule | None = None
        self.raw: dict[str, Any] | None = None
        self.received_at: float | None = None
        self.done: set[str] = set()
        self._save_lock = threading.Lock()
        d = config.daemon
        self.sessions = SessionTracker(config.agent.room_id, boot_id, reconnect_grace=float(d.reconnect_grace),
                                       loss_percent=d.signal_loss_percent, loss_after=float(d.signal_loss_after))
        self.overnight = OvernightWatch(start=d.overnight_start, end=d.overnight_end, grace=float(d.overnight_grace),
                                        lang=lang)
        self.tz = load_timezone(d.timezone)

    def configure(self, config: Any, lang: str) -> None:
        """After a reload: new thresholds, same state."""
        self.config, self.lang = config, lang
        d = config.daemon
        self.sessions.configure(reconnect_grace=float(d.reconnect_grace), loss_percent=d.signal_loss_percent,
                                loss_after=float(d.signal_loss_after))
        self.overnight.start, self.overnight.end = d.overnight_start, d.overnight_end
        self.overnight.grace, self.overnight.lang = float(d.overnight_grace), lang
        self.tz = load_timezone(d.timezone)

    # -- the schedule --------------------------------------------------------------------------
    def load(self) -> None:
        try:
            raw, done, received = self.store.load()
        except ValueError as exc:
            log.warning("schedule_state_unreadable", error=str(exc),
                        hint="starting without a schedule; the next heartbeat answer brings it back")
            return
        self.done = done
        if raw is not None:
            try:
                self.schedule, self.raw, self.received_at = parse_schedule(raw), raw, received
            except ValueError as exc:
                log.warning("schedule_state_unreadable", error=str(exc))

    def meetings(self) -> list[Meeting]:
        return list(self.schedule.meetings) if self.schedule else []

    def parse_answer(self, data: dict[str, Any]) -> tuple[Schedule, dict[str, Any]] | None:
        """A heartbeat answer's `schedule` (any thread): None when absent, malformed (logged) or older."""
        raw = data.get("schedule")
        if raw is None:
            return None
        try:
            parsed = parse_schedule(raw)
        except ValueError as exc:
            log.warning("schedule_refused", error=str(exc)[:300], hint="the previous schedule is kept")
            return None
        if parsed.skipped:
            log.warning("schedule_meetings_skipped", skipped=parsed.skipped[:10])
        if not is_newer(parsed, self.schedule):
            return None
        return parsed, raw

    def set_schedule(self, parsed: Schedule, raw: dict[str, Any], now: float) -> bool:
        """Take a new schedule (event loop); True when the meetings changed (then persist it)."""
        before = [meeting_dict(m) for m in self.meetings()]
        self.schedule, self.raw = parsed, raw
        if before == [meeting_dict(m) for m in parsed.meetings] and self.received_at is not None:
            return False
        self.received_at = now
        log.info("schedule_received", meetings=[{"id": m.id, "start": rfc3339(m.start), "title": m.title[:80]}
                                                for m in parsed.meetings][:20])
        return True

    def persist(self, now: float) -> None:
        """Blocking (fsync): call from a thread."""
        with self._save_lock:
            self.done = prune_done(self.done, now)
            try:
                self.store.save(self.raw, set(self.done), self.received_at)
            except OSError as exc:
                log.warning("schedule_state_not_saved", path=str(self.store.path), error=exc.strerror or str(exc))

    # -- polls -----------------------------------------------------------------------------------
    def observe(self, area: str, run: Any, now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(events, session bodies) from one poll of an area."""
        meetings = self.meetings()
        if area == "codec":
            view = codec_view(run.status, run.error)
            bodies = self.sessions.feed(now, codec=view, meetings=meetings)
            d = self.config.daemon
            excused = meeting_for(meetings, now) is not None
            events = self.overnight.feed(now, view, local_time=local_hhmm(now, self.tz),
                                         in_window=in_overnight(now, self.tz, d.overnight_start, d.overnight_end),
                                         excused=excused)
            return events, bodies
        if run.error is not None or run.status is None:
            return [], self.sessions.tick(now)
        if area == "network":
            return [], self.sessions.feed(now, network=run.status, meetings=meetings)
        if area == "power":
            return [], self.sessions.feed(now, ups=run.status, meetings=meetings)
        return [], []

    # -- events ------------------------------------------------------------------------------------
    def _event(self, kind: str, severity: str, area: str, text: Text, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "severity": severity, "area": area, "message": render(text, self.lang) or kind,
                "data": data}

    def checklist_event(self, due: Due, overall: str, baseline_saved: bool | None) -> dict[str, Any]:
        m = due.meeting
        saved = render(Text("event.meeting.baseline_saved"), self.lang) if baseline_saved else ""
        data: dict[str, Any] = {"meeting_id": m.id, "which": due.which, "overall": overall, "title": m.title,
                                "scheduled_at": rfc3339(due.at)}
        if due.which == "rehearsal":
            data["baseline_saved"] = bool(baseline_saved)
        return self._event("meeting.checklist", "info", "meeting",
                           Text(f"event.meeting.checklist.{due.which}", title=m.describe(), overall=overall,
                                saved=saved), data)

    def not_connected_event(self, m: Meeting, live: dict[str, Any]) -> dict[str, Any]:
        return self._event("meeting.not_connected", "critical", "codec",
                           Text("event.meeting.not_connected", title=m.describe()),
                           {"meeting_id": m.id, "title": m.title, "start": rfc3339(m.start),
                            "in_call": live.get("in_call"), "registered": live.get("registered")})

    # -- what `status` and the heartbeat show ------------------------------------------------------
    def state(self, now: float, fast: bool) -> dict[str, Any]:
        meetings = self.meetings()
        current = window_meeting(meetings, now)
        upcoming = [meeting_dict(m) for m in meetings if m.end >= now][:5]
        session = self.sessions.session
        return {"meeting_id": current.id if current else None, "window": current is not None,
                "fast_polling": fast, "overnight_awake": self.overnight.active,
                "session_id": session.session_id if session else None,
                "schedule_received_at": rfc3339(self.received_at), "upcoming": upcoming}
