"""Per-process memory of each room's schedule, as the JSON fragment the heartbeat answer carries.

An entry is reused while the schedule version the heartbeat statement returned (a counter every
meeting change bumps, in the same transaction) is the one it was built from, and until the moment the
room's window (now - 1 h .. now + 8 days) would gain or lose a meeting; after that the next heartbeat
rebuilds it with one read. So a meeting change made by any process reaches every agent on its next
heartbeat, and the common heartbeat costs no extra statement.
"""

from __future__ import annotations

import json
from typing import Optional

from .timeutil import format_rfc3339


def schedule_json(meetings: list[dict], now: float) -> str:
    """The `schedule` object of docs/collector-api.md §7.1, serialised once."""
    items = [{"id": m["id"], "title": m["title"], "start": format_rfc3339(m["start_at"]),
              "end": format_rfc3339(m["end_at"]), "rehearsal_at": format_rfc3339(m["rehearsal_at"]),
              "chair_room_id": m["chair_room_id"], "role": m["role"], "emergency": m["emergency"]}
             for m in meetings]
    return json.dumps({"generated_at": format_rfc3339(now), "meetings": items}, ensure_ascii=False,
                      separators=(",", ":"))


class ScheduleCache:
    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max_entries
        # room -> (version, built at, valid until, json)
        self._entries: dict[str, tuple[int, float, float, str]] = {}

    def get(self, room_id: str, version: Optional[int], now: float) -> Optional[str]:
        entry = self._entries.get(room_id)
        # (a clock set back, e.g. by an operator fixing NTP, also rebuilds)
        if entry is None or version is None or entry[0] != version or not entry[1] <= now < entry[2]:
            return None
        return entry[3]

    def put(self, room_id: str, version: int, built_at: float, valid_until: float, fragment: str) -> None:
        if len(self._entries) >= self.max_entries and room_id not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[room_id] = (version, built_at, valid_until, fragment)

    def __len__(self) -> int:
        return len(self._entries)
