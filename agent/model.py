"""The typed records that flow through the agent: check results and the report.

Each probe defines its own normalised status record next to it (``NetworkStatus`` in
``agent/probes/network.py`` and so on); this module holds what every area shares.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any

from agent.i18n import Text, render, sentence

REPORT_SCHEMA = "hntht.report/1"


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"

    @property
    def severity(self) -> int:
        # error ranks with fail: either way the room is not known to be ready.
        return {"pass": 0, "skip": 0, "warn": 1, "fail": 2, "error": 2}[self.value]


def worst(statuses: list[Status]) -> Status:
    """The verdict of a list: fail beats error beats warn beats pass; all-skip (or nothing) is skip."""
    order = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS]
    present = set(statuses)
    for status in order:
        if status in present:
            return status
    return Status.SKIP


@dataclass
class CheckResult:
    """One line of the checklist."""

    id: str  # stable dotted id, e.g. "network.mcu.loss"
    status: Status
    message: Text
    observed: Any = None
    expected: Any = None
    remedy: Text | None = None
    clause: str = "5.2.1"  # key into the clause.* catalogue entries
    duration_ms: int | None = None

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    def to_dict(self, lang: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "status": self.status.value,
            "observed": _plain(self.observed, lang),
            "expected": _plain(self.expected, lang),
            "message": sentence(render(self.message, lang)),
            "remedy": sentence(render(self.remedy, lang)) if self.status not in (Status.PASS, Status.SKIP) else None,
            "clause": render(Text(f"clause.{self.clause}"), lang),
            "duration_ms": self.duration_ms,
        }


def _plain(value: Any, lang: str) -> Any:
    """Turn records, enums and texts into JSON-ready values."""
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), lang) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, lang) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 3)
    return value


def to_plain(value: Any, lang: str = "en") -> Any:
    """Public form of :func:`_plain` for statuses and other records."""
    return _plain(value, lang)


@dataclass
class ProbeRun:
    """What happened when one probe ran: its normalised status or its error, and how long it took."""

    name: str
    status: Any = None
    error: BaseException | None = None
    duration_ms: int = 0
    timed_out: bool = False


@dataclass
class Report:
    room_id: str
    room_name: str
    level: str
    results: list[CheckResult]
    runs: list[ProbeRun] = field(default_factory=list)
    generated_at: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))
    duration_ms: int = 0
    agent_version: str = ""
    mode: str = "standalone"  # or "service": the daemon ran it for us

    @property
    def overall(self) -> Status:
        return worst([r.status for r in self.results])

    def area_status(self) -> dict[str, str]:
        areas: dict[str, list[Status]] = {}
        for r in self.results:
            areas.setdefault(r.area, []).append(r.status)
        return {area: worst(statuses).value for area, statuses in areas.items()}

    def exit_code(self) -> int:
        """0 all pass, 1 warnings only, 2 any fail or error."""
        return {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1}.get(self.overall, 2)

    def to_dict(self, lang: str) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "agent_version": self.agent_version,
            "room_id": self.room_id,
            "room_name": self.room_name,
            "level": self.level,
            "generated_at": self.generated_at.isoformat().replace("+00:00", "Z"),
            "lang": lang,
            "mode": self.mode,
            "overall": self.overall.value,
            "duration_ms": self.duration_ms,
            "areas": self.area_status(),
            "probes": {
                run.name: {
                    "ok": run.error is None,
                    "duration_ms": run.duration_ms,
                    "timed_out": run.timed_out,
                    "error": None if run.error is None else str(run.error),
                }
                for run in self.runs
            },
            "checks": [r.to_dict(lang) for r in self.results],
            "statuses": {run.name: _plain(run.status, lang) for run in self.runs if run.status is not None},
        }
