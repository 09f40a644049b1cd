"""The data of the regulation's workflow (Decision 32/2019): meetings and their rooms, the schedule each
agent gets, call sessions, alerts (T-20 not connected, codec awake overnight), the Phụ lục III contacts
and the technicians' entries. A mixin of :class:`collector.storage.Storage`: same constant SQL with
bound parameters on both backends, same rule for transitions (an INSERT ... ON CONFLICT DO NOTHING
or a conditional UPDATE that exactly one process wins, with its event in the same transaction).
"""

from __future__ import annotations

import json
from typing import Optional

from ..errors import UnknownRoom

SCHEDULE_BEFORE_S = 3600.0          # the schedule an agent gets: meetings from now - 1 h ...
SCHEDULE_AHEAD_S = 8 * 86400.0      # ... to now + 8 days (docs/collector-api.md §7.1)
SCHEDULE_CACHE_MAX_S = 6 * 3600.0   # a cached schedule is rebuilt at least this often (version and window bounds are exact)
T20_S = 20 * 60.0                   # Điều 6 khoản 1: not connected 20 minutes before the start

_MEETING_COLUMNS = ("meeting_id, title, chair_room_id, start_at, end_at, rehearsal_at, emergency, "
                    "created_at, updated_at, updated_by")


def _meeting_row(r) -> dict:
    return dict(meeting_id=r[0], title=r[1], chair_room_id=r[2], start_at=r[3], end_at=r[4],
                rehearsal_at=r[5], emergency=bool(r[6]), created_at=r[7], updated_at=r[8], updated_by=r[9],
                room_ids=[])


def _jdump(v) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


class RegulationStore:
    # -- meetings ------------------------------------------------------------------------------
    def upsert_meeting(self, m: dict, by: str, now: float) -> bool:
        """Create or replace a meeting (validated by collector.meetings) and its rooms. True if new.
        Bumps the schedule version in the same transaction, so every process rebuilds its cache."""
        return self.upsert_meetings([m], by, now)[0]

    def upsert_meetings(self, ms: list[dict], by: str, now: float) -> list[bool]:
        """Several meetings in one transaction (a CSV import): all stored, or none (an unknown room or a
        database failure half-way leaves the schedule as it was). True for each new one."""
        with self.tx() as tx:
            created = [self._upsert_meeting_in(tx, m, by, now) for m in ms]
            if ms:
                self._bump_schedule(tx)
        return created

    def _upsert_meeting_in(self, tx, m: dict, by: str, now: float) -> bool:
        wanted = sorted(set(m["room_ids"]) | ({m["chair_room_id"]} if m.get("chair_room_id") else set()))
        if wanted:
            known = {r[0] for r in tx.all(f"SELECT room_id FROM rooms WHERE room_id IN "
                                          f"({', '.join('?' * len(wanted))})", wanted)}
            missing = [r for r in wanted if r not in known]
            if missing:
                raise UnknownRoom("unknown room(s): " + ", ".join(missing))
        exists = tx.one("SELECT 1 FROM meetings WHERE meeting_id = ?", (m["meeting_id"],))
        params = (m["title"], m.get("chair_room_id"), m["start_at"], m["end_at"], m.get("rehearsal_at"),
                  1 if m.get("emergency") else 0, now, by)
        if exists:
            tx.execute("UPDATE meetings SET title = ?, chair_room_id = ?, start_at = ?, end_at = ?, "
                       "rehearsal_at = ?, emergency = ?, updated_at = ?, updated_by = ? WHERE meeting_id = ?",
                       params + (m["meeting_id"],))
            tx.execute("DELETE FROM meeting_rooms WHERE meeting_id = ?", (m["meeting_id"],))
        else:
            tx.execute(f"INSERT INTO meetings ({_MEETING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (m["meeting_id"],) + params[:6] + (now,) + params[6:])
        for room_id in wanted:
            tx.execute("INSERT INTO meeting_rooms (meeting_id, room_id) VALUES (?, ?)", (m["meeting_id"], room_id))
        return not exists

    def delete_meeting(self, meeting_id: str) -> bool:
        with self.tx() as tx:
            tx.execute("DELETE FROM meeting_rooms WHERE meeting_id = ?", (meeting_id,))
            tx.execute("DELETE FROM meetings WHERE meeting_id = ?", (meeting_id,))
            gone = tx.rowcount == 1
            if gone:
                self._bump_schedule(tx)
        return gone

    @staticmethod
    def _bump_schedule(tx) -> None:
        tx.execute("UPDATE schedule_version SET version = version + 1 WHERE id = 1")

    def schedule_version(self) -> int:
        with self.read() as tx:
            return int(tx.one("SELECT version FROM schedule_version WHERE id = 1")[0])

    def _with_rooms(self, tx, meetings: list[dict]) -> list[dict]:
        if meetings:
            by_id = {m["meeting_id"]: m for m in meetings}
            ids = list(by_id)
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                for mid, rid in tx.all(f"SELECT meeting_id, room_id FROM meeting_rooms WHERE meeting_id IN "
                                       f"({', '.join('?' * len(part))}) ORDER BY room_id", part):
                    by_id[mid]["room_ids"].append(rid)
        return meetings

    def meeting(self, meeting_id: str) -> Optional[dict]:
        with self.read() as tx:
            row = tx.one(f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE meeting_id = ?", (meeting_id,))
            return self._with_rooms(tx, [_meeting_row(row)])[0] if row else None

    def meetings_between(self, t0: float, t1: float, room_id: Optional[str] = None) -> list[dict]:
        """Meetings overlapping [t0, t1], by start (only those of `room_id` when given)."""
        with self.read() as tx:
            if room_id is None:
                rows = tx.all(f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE end_at >= ? AND start_at <= ? "
                              "ORDER BY start_at, meeting_id", (t0, t1))
            else:
                rows = tx.all(f"SELECT {', '.join('m.' + c.strip() for c in _MEETING_COLUMNS.split(','))} "
                              "FROM meetings m JOIN meeting_rooms mr ON mr.meeting_id = m.meeting_id "
                              "WHERE mr.room_id = ? AND m.end_at >= ? AND m.start_at <= ? "
                              "ORDER BY m.start_at, m.meeting_id", (room_id, t0, t1))
            return self._with_rooms(tx, [_meeting_row(r) for r in rows])

    def schedule_for_room(self, room_id: str, now: float) -> tuple[int, list[dict], float]:
        """(schedule version, the room's meetings from now - 1 h to now + 8 days, valid until): the
        list can only change by a meeting change (a new version) or at `valid until` (a meeting leaves
        or enters the window), so a process may reuse it until then."""
        t0, t1 = now - SCHEDULE_BEFORE_S, now + SCHEDULE_AHEAD_S
        with self.read() as tx:
            version = int(tx.one("SELECT version FROM schedule_version WHERE id = 1")[0])
            rows = tx.all("SELECT m.meeting_id, m.title, m.start_at, m.end_at, m.rehearsal_at, m.chair_room_id, "
                          "m.emergency FROM meetings m JOIN meeting_rooms mr ON mr.meeting_id = m.meeting_id "
                          "WHERE mr.room_id = ? AND m.end_at >= ? AND m.start_at <= ? "
                          "ORDER BY m.start_at, m.meeting_id LIMIT 500", (room_id, t0, t1))
            nxt = tx.one("SELECT MIN(m.start_at) FROM meetings m JOIN meeting_rooms mr "
                         "ON mr.meeting_id = m.meeting_id WHERE mr.room_id = ? AND m.start_at > ?", (room_id, t1))
        meetings = [dict(id=r[0], title=r[1], start_at=r[2], end_at=r[3], rehearsal_at=r[4], chair_room_id=r[5],
                         role="chair" if r[5] == room_id else "satellite", emergency=bool(r[6])) for r in rows]
        bounds = [now + SCHEDULE_CACHE_MAX_S] + [m["end_at"] + SCHEDULE_BEFORE_S for m in meetings]
        if nxt and nxt[0] is not None:
            bounds.append(nxt[0] - SCHEDULE_AHEAD_S)
        return version, meetings, min(bounds)

    # -- sessions and alerts derived from new records (part of the records transaction) ------
    _SESSION_UPSERT = (
        "INSERT INTO call_sessions (session_id, room_id, meeting_id, start_at, end_at, final, at, record_id, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
        "meeting_id = excluded.meeting_id, start_at = excluded.start_at, end_at = excluded.end_at, "
        "final = excluded.final, at = excluded.at, record_id = excluded.record_id, body = excluded.body "
        # the latest by session_id; a final record is never replaced by a non-final one
        "WHERE call_sessions.room_id = excluded.room_id AND (call_sessions.final < excluded.final OR "
        "(call_sessions.final = excluded.final AND call_sessions.at <= excluded.at))")

    def _derive_plan(self, room_id: str, fresh: list[dict], now: float):
        """Sessions and alerts from newly stored records, in arrival order (the agent sends oldest first)."""
        for rec in sorted(fresh, key=lambda r: r["at_epoch"]):
            body = rec["body"]
            if rec["kind"] == "session" and body.get("schema") == "hntht.session/1":
                yield ("execute", self._SESSION_UPSERT,
                       (body["session_id"], room_id, body.get("meeting_id"), rec["session_start"], rec["session_end"],
                        1 if body.get("final") else 0, rec["at_epoch"], rec["id"], _jdump(body)))
                if body.get("meeting_id"):  # connected to the meeting: its T-20 alert (if any) is over
                    yield ("execute", "UPDATE room_alerts SET closed_at = ? WHERE room_id = ? AND kind = "
                                      "'not_connected' AND ref = ? AND closed_at IS NULL",
                           (rec["session_start"], room_id, body["meeting_id"]))
            elif rec["kind"] == "event":
                etype, data = body.get("type"), body.get("data") or {}
                if etype == "meeting.not_connected" and isinstance(data.get("meeting_id"), str):
                    # The agent saw it first: the collector's own T-20 check will find the row and stay quiet.
                    yield ("execute", "INSERT INTO room_alerts (room_id, kind, ref, opened_at, source, data) "
                                      "VALUES (?, 'not_connected', ?, ?, 'agent', ?) "
                                      "ON CONFLICT (room_id, kind, ref) DO NOTHING",
                           (room_id, data["meeting_id"][:128], rec["at_epoch"], _jdump(data)))
                elif etype == "codec.overnight_awake":
                    yield ("execute", "INSERT INTO room_alerts (room_id, kind, ref, opened_at, source, data) "
                                      "VALUES (?, 'overnight', ?, ?, 'agent', ?) "
                                      "ON CONFLICT (room_id, kind, ref) DO NOTHING",
                           (room_id, rec["id"], rec["at_epoch"], _jdump(data)))
                elif etype == "codec.overnight_off":
                    yield ("execute", "UPDATE room_alerts SET closed_at = ? WHERE room_id = ? AND kind = 'overnight' "
                                      "AND closed_at IS NULL AND opened_at <= ?",
                           (rec["at_epoch"], room_id, rec["at_epoch"]))

    def sweep_meetings(self, now: float) -> list:
        """T-20 (Điều 6 khoản 1): every room of a meeting starting within 20 minutes whose latest
        heartbeat does not show the codec in a call gets one `not_connected` alert and one
        `meeting.not_connected` event; a room seen in a call again closes it. Safe in many processes:
        the alert row is an INSERT ... ON CONFLICT DO NOTHING, its event written only by the winner."""
        from . import NewEvent

        events: list = []
        with self.tx() as tx:
            rows = tx.all("SELECT m.meeting_id, m.title, m.start_at, mr.room_id, s.heartbeat, s.liveness "
                          "FROM meetings m JOIN meeting_rooms mr ON mr.meeting_id = m.meeting_id "
                          "JOIN room_state s ON s.room_id = mr.room_id JOIN rooms r ON r.room_id = mr.room_id "
                          "WHERE r.enabled = 1 AND m.start_at - ? <= ? AND ? < m.start_at", (T20_S, now, now))
            for meeting_id, title, start, room_id, hb_json, liveness in rows:
                codec = ((json.loads(hb_json) if hb_json else {}).get("live") or {}).get("codec") or {}
                if codec.get("in_call") is True and liveness == "online":
                    continue
                data = {"meeting_id": meeting_id, "title": title, "start": start, "in_call": codec.get("in_call"),
                        "registered": codec.get("registered"), "liveness": liveness}
                won = tx.one("INSERT INTO room_alerts (room_id, kind, ref, opened_at, source, data) "
                             "VALUES (?, 'not_connected', ?, ?, 'collector', ?) "
                             "ON CONFLICT (room_id, kind, ref) DO NOTHING RETURNING room_id",
                             (room_id, meeting_id, now, _jdump(data)))
                if won:
                    events.append(NewEvent(room_id, now, "meeting.not_connected", "critical", "codec",
                                           f"not connected to the MCU {round((start - now) / 60)} min before "
                                           f"meeting {meeting_id}", data, "collector"))
            # A room seen in a call (by its heartbeat) closes its open T-20 alerts.
            open_rows = tx.all("SELECT a.room_id, a.ref, s.heartbeat FROM room_alerts a JOIN room_state s "
                               "ON s.room_id = a.room_id WHERE a.kind = 'not_connected' AND a.closed_at IS NULL "
                               "AND s.liveness = 'online'")
            for room_id, ref, hb_json in open_rows:
                codec = ((json.loads(hb_json) if hb_json else {}).get("live") or {}).get("codec") or {}
                if codec.get("in_call") is True:
                    tx.execute("UPDATE room_alerts SET closed_at = ? WHERE room_id = ? AND kind = 'not_connected' "
                               "AND ref = ? AND closed_at IS NULL", (now, room_id, ref))
            self._insert_events(tx, events, now)
        return events

    def alerts(self, *, open_only: bool = True, room_id: Optional[str] = None, now: Optional[float] = None) -> list[dict]:
        """Alerts for the board. A T-20 alert of a meeting that has ended is no longer shown as open."""
        sql = ("SELECT a.room_id, a.kind, a.ref, a.opened_at, a.closed_at, a.source, a.data, m.end_at, m.title "
               "FROM room_alerts a LEFT JOIN meetings m ON a.kind = 'not_connected' AND m.meeting_id = a.ref")
        where, params = [], []
        if open_only:
            where.append("a.closed_at IS NULL")
        if room_id is not None:
            where.append("a.room_id = ?")
            params.append(room_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.read() as tx:
            rows = tx.all(sql + " ORDER BY a.opened_at DESC LIMIT 1000", params)
        out = []
        for r in rows:
            if open_only and now is not None and r[1] == "not_connected" and r[7] is not None and r[7] < now:
                continue
            out.append(dict(room_id=r[0], kind=r[1], ref=r[2], opened_at=r[3], closed_at=r[4], source=r[5],
                            data=json.loads(r[6]), meeting_end=r[7], meeting_title=r[8]))
        return out

    # -- sessions for the forms ---------------------------------------------------------------
    def sessions_between(self, t0: float, t1: float, room_ids: Optional[list[str]] = None) -> list[dict]:
        """The kept record of every call session of these rooms that started in [t0, t1)."""
        with self.read() as tx:
            rows = tx.all("SELECT room_id, session_id, meeting_id, start_at, end_at, final, body FROM call_sessions "
                          "WHERE start_at >= ? AND start_at < ? ORDER BY room_id, start_at, session_id", (t0, t1))
        wanted = set(room_ids) if room_ids is not None else None
        return [dict(room_id=r[0], session_id=r[1], meeting_id=r[2], start_at=r[3], end_at=r[4], final=bool(r[5]),
                     body=json.loads(r[6])) for r in rows if wanted is None or r[0] in wanted]

    def sessions_of_meeting(self, meeting_id: str) -> list[dict]:
        with self.read() as tx:
            rows = tx.all("SELECT room_id, session_id, start_at, end_at, final, body FROM call_sessions "
                          "WHERE meeting_id = ? ORDER BY room_id, start_at", (meeting_id,))
        return [dict(room_id=r[0], session_id=r[1], start_at=r[2], end_at=r[3], final=bool(r[4]),
                     body=json.loads(r[5])) for r in rows]

    # -- Phụ lục III contacts, technicians' entries --------------------------------------------
    def room_contacts(self, room_id: str) -> dict:
        with self.read() as tx:
            row = tx.one("SELECT data, updated_at, updated_by FROM room_contacts WHERE room_id = ?", (room_id,))
        return dict(json.loads(row[0]), _updated_at=row[1], _updated_by=row[2]) if row else {}

    def all_room_contacts(self) -> dict[str, dict]:
        with self.read() as tx:
            rows = tx.all("SELECT room_id, data FROM room_contacts")
        return {r[0]: json.loads(r[1]) for r in rows}

    def set_room_contacts(self, room_id: str, data: dict, by: str, now: float) -> None:
        with self.tx() as tx:
            if not tx.one("SELECT 1 FROM rooms WHERE room_id = ?", (room_id,)):
                raise UnknownRoom(f"no room {room_id!r}")
            tx.execute("INSERT INTO room_contacts (room_id, data, updated_at, updated_by) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (room_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, "
                       "updated_by = excluded.updated_by", (room_id, _jdump(data), now, by))

    def room_notes(self, room_id: Optional[str] = None) -> dict[tuple[str, str], dict]:
        """{(room_id, ref): entry}; ref is a meeting id, or `session:<session_id>` for an unscheduled call."""
        with self.read() as tx:
            if room_id is None:
                rows = tx.all("SELECT room_id, ref, data, updated_at, updated_by FROM room_notes")
            else:
                rows = tx.all("SELECT room_id, ref, data, updated_at, updated_by FROM room_notes WHERE room_id = ?",
                              (room_id,))
        return {(r[0], r[1]): dict(json.loads(r[2]), _updated_at=r[3], _updated_by=r[4]) for r in rows}

    def set_room_note(self, room_id: str, ref: str, data: dict, by: str, now: float) -> None:
        with self.tx() as tx:
            if not tx.one("SELECT 1 FROM rooms WHERE room_id = ?", (room_id,)):
                raise UnknownRoom(f"no room {room_id!r}")
            tx.execute("INSERT INTO room_notes (room_id, ref, data, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (room_id, ref) DO UPDATE SET data = excluded.data, "
                       "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                       (room_id, ref, _jdump(data), now, by))

    # -- roles ---------------------------------------------------------------------------------
    def set_viewer_role(self, username: str, role: str) -> None:
        with self.tx() as tx:
            tx.execute("UPDATE viewers SET role = ? WHERE username = ?", (role, username))
            if tx.rowcount != 1:
                raise UnknownRoom(f"no viewer {username!r}")

    def latest_reports_for(self, room_ids: list[str]) -> dict[str, dict]:
        """The latest check report body of each room (for the VCS model and readiness details)."""
        if not room_ids:
            return {}
        out = {}
        with self.read() as tx:
            for chunk in range(0, len(room_ids), 500):
                part = room_ids[chunk:chunk + 500]
                for rid, body in tx.all("SELECT lr.room_id, rec.body FROM latest_report lr JOIN records rec "
                                        f"ON rec.id = lr.record_id WHERE lr.room_id IN ({', '.join('?' * len(part))})",
                                        part):
                    out[rid] = json.loads(body)
        return out
