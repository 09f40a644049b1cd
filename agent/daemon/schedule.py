"""Meetings: the schedule the collector hands out, and the pure decisions the service takes from it.

The collector sends each room its meetings in the heartbeat response (docs/collector-api.md §7.1).
From them and the time, and nothing else, this module decides:

- which scheduled checklists are due (:func:`due_checklists`): at the rehearsal time (Điều 5 khoản
  2.1, Điều 14 khoản 3) and 1 h 30 min before the official start (Điều 5 khoản 2.2, Điều 9);
- whether the meeting window is open (:func:`window_meeting`, from start − 90 min to the end): fast
  polling, and drift against the rehearsal baseline fails instead of warning;
- which meeting a call session belongs to (:func:`meeting_for`, start − 90 min to end + 30 min);
- whether the codec should be connected by now (:func:`not_connected_due`, start − 20 min, Điều 6);
- whether a moment is inside the overnight window (:func:`in_overnight`, Điều 7 khoản 4).

Every function takes ``now`` (Unix seconds); the service gets it from a :class:`Clock`, which tests
replace to drive a whole meeting day in seconds.  :class:`ScheduleStore` keeps the last schedule and
the "already ran" marks in the state directory, so both survive a restart and a collector outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

T90 = 90 * 60.0  # second check: 1 h 30 min before the official start (Điều 5 khoản 2.2)
T20 = 20 * 60.0  # not connected 20 min before: escalate (Điều 6 khoản 1)
SESSION_BEFORE = 90 * 60.0  # a call from start − 90 min ...
SESSION_AFTER = 30 * 60.0  # ... to end + 30 min belongs to the meeting
REHEARSAL_CATCH_UP = 2 * 3600.0  # an agent (re)started late still runs the rehearsal check within this
DONE_KEEP = 10 * 86400.0  # "already ran" marks older than this are forgotten
WHICH = ("rehearsal", "t90")


# -- time --------------------------------------------------------------------------------------------
class Clock:
    """Wall time and sleeping, for every time decision of the service (tests inject their own)."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = Clock()


def parse_time(value: Any) -> float:
    """RFC 3339 with an explicit offset (``Z`` or ``+07:00``) → Unix seconds; ValueError otherwise."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)",
                                                      value.strip()):
        raise ValueError(f"{value!r} is not an RFC 3339 time with an offset")
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)  # Python parses microseconds at most
    return _dt.datetime.fromisoformat(text).timestamp()


def rfc3339(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}Z" if moment.microsecond
                                                   else "Z")


def load_timezone(name: str) -> _dt.tzinfo:
    """An IANA zone ("Asia/Ho_Chi_Minh") or a fixed offset ("+07:00"); ValueError with a fix otherwise."""
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", name.strip())
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return _dt.timezone(sign * _dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError, no tzdata at all
        if name == "Asia/Ho_Chi_Minh":  # no tz database on the machine: Vietnam is UTC+7 without DST
            return _dt.timezone(_dt.timedelta(hours=7), "ICT")
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as \"Asia/Ho_Chi_Minh\" "
                         "or an offset such as \"+07:00\"") from None


def local_hhmm(now: float, tz: _dt.tzinfo) -> str:
    return _dt.datetime.fromtimestamp(now, tz).strftime("%H:%M")


def in_overnight(now: float, tz: _dt.tzinfo, start: str, end: str) -> bool:
    """Is ``now`` (local time in ``tz``) inside [start, end), the window wrapping midnight when start > end."""
    moment = _dt.datetime.fromtimestamp(now, tz)
    minute = moment.hour * 60 + moment.minute
    s = int(start[:2]) * 60 + int(start[3:5])
    e = int(end[:2]) * 60 + int(end[3:5])
    if s < e:
        return s <= minute < e
    return minute >= s or minute < e


# -- the schedule ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meeting:
    id: str
    start: float
    end: float
    title: str = ""
    rehearsal_at: float | None = None
    chair_room_id: str | None = None
    role: str = "satellite"
    emergency: bool = False

    def describe(self) -> str:
        return self.title or self.id


@dataclass
class Schedule:
    generated_at: float | None
    meetings: list[Meeting] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a meeting of the list was left out


def parse_meeting(item: Any) -> Meeting:
    if not isinstance(item, dict):
        raise ValueError("a meeting is not an object")
    mid = item.get("id")
    if not isinstance(mid, str) or not mid or len(mid) > 128:
        raise ValueError("id must be a non-empty string")
    start, end = parse_time(item.get("start")), parse_time(item.get("end"))
    if end <= start:
        raise ValueError(f"meeting {mid!r}: end is not after start")
    rehearsal = item.get("rehearsal_at")
    role = item.get("role") if item.get("role") in ("chair", "satellite") else "satellite"
    title = item.get("title")
    chair = item.get("chair_room_id")
    return Meeting(id=mid, start=start, end=end, title=title[:500] if isinstance(title, str) else "",
                   rehearsal_at=None if rehearsal is None else parse_time(rehearsal),
                   chair_room_id=chair if isinstance(chair, str) else None, role=role,
                   emergency=item.get("emergency") is True)


def parse_schedule(obj: Any) -> Schedule:
    """The ``schedule`` of a heartbeat response. ValueError for a bad envelope; a bad meeting is skipped."""
    if not isinstance(obj, dict):
        raise ValueError("schedule is not an object")
    generated = obj.get("generated_at")
    meetings_raw = obj.get("meetings")
    if not isinstance(meetings_raw, list):
        raise ValueError("schedule.meetings is not a list")
    schedule = Schedule(generated_at=None if generated is None else parse_time(generated))
    seen: set[str] = set()
    for i, item in enumerate(meetings_raw[:500]):
        try:
            meeting = parse_meeting(item)
        except ValueError as exc:
            schedule.skipped.append(f"meetings[{i}]: {exc}")
            continue
        if meeting.id in seen:
            schedule.skipped.append(f"meetings[{i}]: duplicate id {meeting.id!r}")
            continue
        seen.add(meeting.id)
        schedule.meetings.append(meeting)
    schedule.meetings.sort(key=lambda m: m.start)
    return schedule


def is_newer(candidate: Schedule, current: Schedule | None) -> bool:
    """A schedule replaces the current one unless it is older (a late or replayed answer)."""
    if current is None or current.generated_at is None or candidate.generated_at is None:
        return True
    return candidate.generated_at >= current.generated_at


# -- decisions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    meeting: Meeting
    which: str  # "rehearsal" | "t90"
    at: float  # the moment it was scheduled for

    @property
    def key(self) -> str:
        # The time is part of the key: a rehearsal moved to another time runs again.
        return f"{self.meeting.id}/{self.which}/{int(self.at)}"


def due_checklists(meetings: Iterable[Meeting], now: float, done: set[str]) -> list[Due]:
    """Scheduled checklists whose time has come and that have not run yet, oldest first.

    Rehearsal: from ``rehearsal_at`` for :data:`REHEARSAL_CATCH_UP` (an agent started late still runs
    it), never once the T-90 check is due.  T-90: from start − 90 min until the end (an emergency
    meeting announced one hour ahead gets its check at once).
    """
    out = []
    for m in meetings:
        if m.rehearsal_at is not None:
            due = Due(m, "rehearsal", m.rehearsal_at)
            if (m.rehearsal_at <= now < m.rehearsal_at + REHEARSAL_CATCH_UP and now < m.start - T90
                    and due.key not in done):
                out.append(due)
        due = Due(m, "t90", m.start - T90)
        if m.start - T90 <= now < m.end and due.key not in done:
            out.append(due)
    return sorted(out, key=lambda d: d.at)


def window_meeting(meetings: Iterable[Meeting], now: float) -> Meeting | None:
    """The meeting whose window [start − 90 min, end] contains ``now`` (fast polling, strict drift)."""
    open_now = [m for m in meetings if m.start - T90 <= now <= m.end]
    return min(open_now, key=lambda m: m.start) if open_now else None


def meeting_for(meetings: Iterable[Meeting], at: float) -> Meeting | None:
    """The meeting a call starting at ``at`` belongs to: [start − 90 min, end + 30 min], nearest start."""
    candidates = [m for m in meetings if m.start - SESSION_BEFORE <= at <= m.end + SESSION_AFTER]
    return min(candidates, key=lambda m: abs(m.start - at)) if candidates else None


def not_connected_due(meetings: Iterable[Meeting], now: float, done: set[str]) -> list[tuple[str, Meeting]]:
    """(key, meeting) for meetings 20 min or less from their start, not yet checked for a connection."""
    return [(f"{m.id}/t20/{int(m.start)}", m) for m in meetings
            if m.start - T20 <= now < m.start and f"{m.id}/t20/{int(m.start)}" not in done]


def next_boundary(meetings: Iterable[Meeting], now: float) -> float | None:
    """Seconds until the next moment a decision above can change (for the service's sleep)."""
    moments = []
    for m in meetings:
        moments += [m.start - T90, m.start - T20, m.start, m.end, m.end + SESSION_AFTER]
        if m.rehearsal_at is not None:
            moments.append(m.rehearsal_at)
    future = [t - now for t in moments if t > now]
    return min(future) if future else None


def prune_done(done: set[str], now: float) -> set[str]:
    """Forget marks older than :data:`DONE_KEEP` (the time is the key's last part)."""
    kept = set()
    for key in done:
        try:
            at = float(key.rsplit("/", 1)[1])
        except (IndexError, ValueError):
            continue
        if at >= now - DONE_KEEP:
            kept.add(key)
    return kept


# -- the state file ----------------------------------------------------------------------------------
STATE_SCHEMA = "hntht.schedule-state/1"


class ScheduleStore:
    """``<state_dir>/schedule.json``: the last schedule received (as received) and the "already ran" marks.

    Written atomically (temporary file, fsync, rename); a file that cannot be read is treated as
    "no schedule yet" (the next heartbeat answer brings it back) and logged by the caller.
    """

    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / "schedule.json"

    def load(self) -> tuple[dict[str, Any] | None, set[str], float | None]:
        """(raw schedule or None, done marks, received_at). Raises ValueError on a corrupt file."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, set(), None
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA:
            raise ValueError(f"{self.path} is not a {STATE_SCHEMA} file")
        raw = data.get("schedule") if isinstance(data.get("schedule"), dict) else None
        done = {k for k in data.get("done") or [] if isinstance(k, str)}
        received = data.get("received_at")
        return raw, done, received if isinstance(received, (int, float)) else None

    def save(self, raw: dict[str, Any] | None, done: set[str], received_at: float | None) -> None:
        body = {"schema": STATE_SCHEMA, "received_at": received_at, "schedule": raw, "done": sorted(done)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".schedule.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def meeting_dict(m: Meeting) -> dict[str, Any]:
    d = asdict(m)
    d.update(start=rfc3339(m.start), end=rfc3339(m.end), rehearsal_at=rfc3339(m.rehearsal_at))
    return d
