"""The collector's one thin data layer, over SQLite (WAL, embedded default) or PostgreSQL (psycopg 3).

Every value a client sends reaches SQL only as a bound parameter: the SQL text below is constant
(written with `?` placeholders and translated to `%s` for psycopg). All state is here, so several
collector processes can share one database; state transitions are conditional UPDATEs, so two
processes racing on the same transition produce exactly one event.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional
from urllib.parse import urlparse

from ..errors import ConfigError, RoomExists, StorageError, StorageUnavailable, UnknownRoom
from .coalesce import Coalescer
from .migrations import MIGRATIONS, statements
from .regulation import RegulationStore

# Liveness thresholds in heartbeat intervals (docs/collector-api.md §5).
STALE_AFTER_INTERVALS = 1.5
OFFLINE_AFTER_INTERVALS = 3.0


@dataclass(frozen=True)
class RoomAuth:
    room_id: str
    token_salt: str
    token_hash: str
    enabled: bool
    request_count: int  # requests in the current rate-limit window, this one included


@dataclass(frozen=True)
class Transition:
    room_id: str
    liveness: str
    at: float


@dataclass
class NewEvent:
    room_id: str
    at: float
    type: str
    severity: str
    area: Optional[str]
    message: str
    data: dict
    source: str
    record_id: Optional[str] = None


async def _to_thread(fn, *args):
    from anyio import to_thread  # starlette's thread pool (the collector's server dependency)

    return await to_thread.run_sync(fn, *args)


def _drive(tx: "_Tx", plan):
    """Run a plan (see Storage._store_records_plan) on a blocking transaction; returns its result."""
    try:
        step = next(plan)
        while True:
            kind, sql, params = step
            if kind == "all":
                result = tx.all(sql, params)
            elif kind == "one":
                result = tx.one(sql, params)
            else:
                tx.execute(sql, params)
                result = tx.rowcount
            step = plan.send(result)
    except StopIteration as stop:
        return stop.value


def open_storage(url: str, **kwargs) -> "Storage":
    """`sqlite:///abs/path.db`, a bare file path, or `postgresql://...`."""
    if url.startswith(("postgresql://", "postgres://")) or url.startswith("host=") or " dbname=" in url:
        return PostgresStorage(url, **kwargs)
    if url.startswith("sqlite:"):
        parsed = urlparse(url)
        path = parsed.path
        if url.startswith("sqlite:///"):
            path = url[len("sqlite://"):]
        if not path:
            raise ConfigError(f"database url {url!r}: no file path; use sqlite:////var/lib/hntht-collector/collector.db")
        return SqliteStorage(path, **kwargs)
    if "://" in url:
        raise ConfigError(f"database url scheme not supported: {url.split('://')[0]!r} (use sqlite:/// or postgresql://)")
    return SqliteStorage(url, **kwargs)


class _Tx:
    """A tiny cursor facade shared by both backends."""

    def __init__(self, cur, translate):
        self._cur = cur
        self._tr = translate

    def execute(self, sql: str, params: Iterable[Any] = ()):
        self._cur.execute(self._tr(sql), tuple(params))
        return self._cur

    def one(self, sql: str, params: Iterable[Any] = ()):
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Iterable[Any] = ()):
        return self.execute(sql, params).fetchall()

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class Storage(RegulationStore):
    """Backend-independent queries; subclasses provide connections and transactions."""

    dialect = "?"

    # -- plumbing provided by subclasses --------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[_Tx]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    @contextmanager
    def read(self) -> Iterator[_Tx]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    @contextmanager
    def auto(self) -> Iterator[_Tx]:  # pragma: no cover - abstract
        """A connection in autocommit mode: each statement is its own transaction. For the ingest hot
        path, where one atomic statement does the whole job and BEGIN/COMMIT would only add round trips."""
        raise NotImplementedError
        yield

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _migration_lock(self, tx: _Tx) -> None:
        """Serialise concurrent migrators (several processes starting at once)."""

    # -- schema ----------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        applied: list[int] = []
        with self.tx() as tx:
            self._migration_lock(tx)
            tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                       "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            done = {r[0] for r in tx.all("SELECT version FROM schema_migrations")}
            for version, description, sqlite_sql, pg_sql in MIGRATIONS:
                if version in done:
                    continue
                for stmt in statements(sqlite_sql if self.dialect == "sqlite" else pg_sql):
                    tx.execute(stmt)
                tx.execute("INSERT INTO schema_migrations (version, description, applied_at) "
                           "VALUES (?, ?, CURRENT_TIMESTAMP)", (version, description))
                applied.append(version)
        return applied

    def schema_version(self) -> int:
        with self.read() as tx:
            row = tx.one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0] or 0)

    def ping(self) -> None:
        with self.read() as tx:
            tx.one("SELECT 1")

    # -- rooms and tokens ------------------------------------------------------------------
    def add_room(self, room_id: str, name: str, level: str, district: str,
                 token_id: str, token_salt: str, token_hash: str, now: float) -> None:
        with self.tx() as tx:
            if tx.one("SELECT 1 FROM rooms WHERE room_id = ?", (room_id,)):
                raise RoomExists(f"room {room_id!r} already exists; use `room rotate` for a new token")
            tx.execute("INSERT INTO rooms (room_id, name, level, district, enabled, token_id, token_salt, "
                       "token_hash, created_at, token_rotated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                       (room_id, name, level, district, token_id, token_salt, token_hash, now, now))
            tx.execute("INSERT INTO room_state (room_id, liveness, liveness_since) VALUES (?, 'never', ?)",
                       (room_id, now))

    def rotate_token(self, room_id: str, token_id: str, token_salt: str, token_hash: str, now: float) -> None:
        with self.tx() as tx:
            tx.execute("UPDATE rooms SET token_id = ?, token_salt = ?, token_hash = ?, token_rotated_at = ? "
                       "WHERE room_id = ?", (token_id, token_salt, token_hash, now, room_id))
            if tx.rowcount != 1:
                raise UnknownRoom(f"no room {room_id!r}")

    def set_room_enabled(self, room_id: str, enabled: bool) -> None:
        with self.tx() as tx:
            tx.execute("UPDATE rooms SET enabled = ? WHERE room_id = ?", (1 if enabled else 0, room_id))
            if tx.rowcount != 1:
                raise UnknownRoom(f"no room {room_id!r}")

    def update_room(self, room_id: str, *, name=None, level=None, district=None) -> None:
        with self.tx() as tx:
            row = tx.one("SELECT name, level, district FROM rooms WHERE room_id = ?", (room_id,))
            if not row:
                raise UnknownRoom(f"no room {room_id!r}")
            tx.execute("UPDATE rooms SET name = ?, level = ?, district = ? WHERE room_id = ?",
                       (name if name is not None else row[0], level if level is not None else row[1],
                        district if district is not None else row[2], room_id))

    # Rate limit: count this request in the room's current one-minute window (a new window restarts at 1).
    _RL_SET = "rl_count = CASE WHEN rl_window = ? THEN rl_count + 1 ELSE 1 END, rl_window = ?"
    # The token columns come from correlated subqueries in RETURNING because SQLite's RETURNING cannot
    # name the FROM table of an UPDATE; the same text then serves both backends.
    _AUTH_SQL = (f"UPDATE room_state SET {_RL_SET} "
                 "WHERE room_id = (SELECT room_id FROM rooms WHERE token_id = ?) "
                 "RETURNING room_id, "
                 "(SELECT token_salt FROM rooms WHERE rooms.room_id = room_state.room_id), "
                 "(SELECT token_hash FROM rooms WHERE rooms.room_id = room_state.room_id), "
                 "(SELECT enabled FROM rooms WHERE rooms.room_id = room_state.room_id), "
                 "rl_count")

    @staticmethod
    def _auth_from_row(row) -> Optional[RoomAuth]:
        return RoomAuth(row[0], row[1], row[2], bool(row[3]), int(row[4])) if row else None

    def authenticate(self, token_id: str, window: int) -> Optional[RoomAuth]:
        """Look a token up and count one request in the room's rate-limit window, in one autocommit
        statement (one round trip)."""
        with self.auto() as tx:
            return self._auth_from_row(tx.one(self._AUTH_SQL, (window, window, token_id)))

    def list_rooms_admin(self) -> list[dict]:
        with self.read() as tx:
            rows = tx.all("SELECT room_id, name, level, district, enabled, created_at, token_rotated_at "
                          "FROM rooms ORDER BY room_id")
        return [dict(room_id=r[0], name=r[1], level=r[2], district=r[3], enabled=bool(r[4]),
                     created_at=r[5], token_rotated_at=r[6]) for r in rows]

    # -- heartbeats and liveness -----------------------------------------------------------
    _HB_SET = ("last_heartbeat_at = ?, stale_at = ?, offline_at = ?, interval_s = ?, heartbeat = ?, "
               "sent_at = ?, overall_since = CASE WHEN overall = ? AND overall_since IS NOT NULL "
               "THEN overall_since ELSE ? END, overall = ?, agent_version = ?, boot_id = ?")
    # SQL evaluates every right-hand side of SET against the old row, so overall_since sees the old
    # overall whatever the order in SET; the parameters follow the text order.

    @staticmethod
    def _hb_params(hb: dict, hb_json: str, sent_at: float, now: float) -> tuple:
        interval = int(hb.get("interval_s") or 30)
        overall = hb["overall"]
        return (now, now + interval * STALE_AFTER_INTERVALS, now + interval * OFFLINE_AFTER_INTERVALS, interval,
                hb_json, sent_at, overall, now, overall, hb["agent_version"], hb["boot_id"])

    # RETURNING the schedule version: the same statement tells the process whether the room's cached
    # schedule is still current (docs/collector.md, "Performance": no extra round trip per heartbeat).
    _HB_FAST_SQL = (f"UPDATE room_state SET {_HB_SET}, {_RL_SET} "
                    "WHERE room_id = ? AND liveness = 'online' AND (rl_window <> ? OR rl_count < ?) "
                    "AND EXISTS (SELECT 1 FROM rooms WHERE rooms.room_id = ? AND rooms.token_id = ? "
                    "AND rooms.token_hash = ? AND rooms.enabled = 1) "
                    "RETURNING (SELECT version FROM schedule_version WHERE id = 1)")
    _HB_ONLINE_SQL = f"UPDATE room_state SET {_HB_SET} WHERE room_id = ? AND liveness = 'online'"

    @classmethod
    def _hb_fast_params(cls, room_id, token_id, token_hash, window, rate_limit, hb, hb_json, sent_at, now) -> tuple:
        return (cls._hb_params(hb, hb_json, sent_at, now)
                + (window, window, room_id, window, rate_limit, room_id, token_id, token_hash))

    def heartbeat_fast(self, room_id: str, token_id: str, token_hash: str, window: int, rate_limit: int,
                       hb: dict, hb_json: str, sent_at: float, now: float) -> Optional[int]:
        """The common case in ONE autocommit statement: the room is already online, its token is still
        the one the caller verified (same id and hash, room enabled: a rotate or disable in any process
        takes effect at once), and this request stays within the rate limit; count it and store the
        heartbeat. False when any of that does not hold: the caller then takes the general path
        (`authenticate` + `record_heartbeat`), which decides 401/429 and writes transitions.
        Returns the schedule version when stored, None when not."""
        with self.auto() as tx:
            row = tx.one(self._HB_FAST_SQL, self._hb_fast_params(room_id, token_id, token_hash, window, rate_limit,
                                                                  hb, hb_json, sent_at, now))
            return int(row[0]) if row else None

    def record_heartbeat(self, room_id: str, hb: dict, hb_json: str, sent_at: float, now: float) -> list[NewEvent]:
        """Store the latest heartbeat; bring the room online (one `room.online` event per transition)."""
        params = self._hb_params(hb, hb_json, sent_at, now)
        # Already online (no transition): one conditional UPDATE, atomic by itself, no transaction.
        with self.auto() as tx:
            tx.execute(self._HB_ONLINE_SQL, params + (room_id,))
            if tx.rowcount == 1:
                return []
        return self._heartbeat_transition(room_id, hb, params, now)

    def _heartbeat_transition(self, room_id: str, hb: dict, params: tuple, now: float) -> list[NewEvent]:
        with self.tx() as tx:
            # The transition and its event commit together; of two processes racing here, one wins it.
            row = tx.one(f"UPDATE room_state SET {self._HB_SET}, liveness = 'online', liveness_since = ? "
                         "WHERE room_id = ? AND liveness <> 'online' RETURNING room_id",
                         params + (now, room_id))
            if not row:  # someone else brought it online meanwhile: just store the values
                tx.execute(f"UPDATE room_state SET {self._HB_SET} WHERE room_id = ?", params + (room_id,))
                return []
            event = NewEvent(room_id, now, "room.online", "info", None,
                             "room online: heartbeat received", {"boot_id": hb["boot_id"],
                                                                 "agent_version": hb["agent_version"]},
                             "collector")
            self._insert_events(tx, [event], now)
            return [event]

    # -- the ingest hot path from the event loop -------------------------------------------------
    # A backend with a native async driver overrides these (PostgreSQL: no thread hop, no GIL
    # hand-over per statement); by default they run the blocking method in a worker thread.
    async def open_async(self) -> None:
        """Called from the server's lifespan, on the event loop that will serve requests."""

    async def close_async(self) -> None:
        pass

    async def authenticate_async(self, token_id: str, window: int) -> Optional[RoomAuth]:
        return await _to_thread(self.authenticate, token_id, window)

    async def heartbeat_fast_async(self, *args) -> Optional[int]:
        return await _to_thread(self.heartbeat_fast, *args)

    async def record_heartbeat_async(self, room_id: str, hb: dict, hb_json: str, sent_at: float,
                                     now: float) -> list[NewEvent]:
        return await _to_thread(self.record_heartbeat, room_id, hb, hb_json, sent_at, now)

    def sweep_liveness(self, now: float) -> list[Transition]:
        """Mark late rooms stale/offline. Safe to run in many processes at once: each transition is a
        conditional UPDATE, so exactly one process wins it and writes its event."""
        out: list[Transition] = []
        with self.tx() as tx:
            if not self._sweep_lock(tx):
                return out
            rows = tx.all("UPDATE room_state SET liveness = 'offline', liveness_since = ? "
                          "WHERE liveness IN ('online', 'stale') AND offline_at <= ? "
                          "RETURNING room_id, last_heartbeat_at, interval_s", (now, now))
            events = []
            for room_id, last, interval in rows:
                out.append(Transition(room_id, "offline", now))
                events.append(NewEvent(room_id, now, "room.offline", "critical", None,
                                       "room offline: no heartbeat for 3 intervals",
                                       {"last_heartbeat_at": last, "interval_s": interval}, "collector"))
            rows = tx.all("UPDATE room_state SET liveness = 'stale', liveness_since = ? "
                          "WHERE liveness = 'online' AND stale_at <= ? "
                          "RETURNING room_id, last_heartbeat_at, interval_s", (now, now))
            for room_id, last, interval in rows:
                out.append(Transition(room_id, "stale", now))
                events.append(NewEvent(room_id, now, "room.stale", "warning", None,
                                       "heartbeat late", {"last_heartbeat_at": last, "interval_s": interval},
                                       "collector"))
            self._insert_events(tx, events, now)
        return out

    def _sweep_lock(self, tx: _Tx) -> bool:
        return True

    # -- records ---------------------------------------------------------------------------
    # The records transaction is written once, as a plan: a generator that yields (kind, sql, params)
    # and receives each result. `_drive` runs it on a blocking transaction; PostgreSQL also runs it on its
    # asyncio pool (store_records_async), so the same logic serves both without a thread on that path.
    def store_records(self, room_id: str, records: list[dict], now: float) -> list[str]:
        """Insert new records (first copy of an id wins) and derive events and the latest report.

        `records` are validated dicts with `at_epoch` added. Returns the ids that were new."""
        with self.tx() as tx:
            return _drive(tx, self._store_records_plan(room_id, records, now))

    async def store_records_async(self, room_id: str, records: list[dict], now: float) -> list[str]:
        return await _to_thread(self.store_records, room_id, records, now)

    def _store_records_plan(self, room_id: str, records: list[dict], now: float):
        seen: set[str] = set()
        unique = []
        for rec in records:
            if rec["id"] not in seen:
                seen.add(rec["id"])
                unique.append(rec)
        new_ids: set[str] = set()
        if self.dialect == "postgres" and unique:
            # One statement with six array parameters: its text never changes, so psycopg parses it once
            # and PostgreSQL plans it once (a VALUES list with 6 placeholders per record was re-parsed by
            # psycopg on every batch: statements over 50 parameters skip its cache).
            cols: list[list] = [[], [], [], [], [], []]
            for rec in unique:
                for i, v in enumerate((rec["id"], room_id, rec["kind"], rec["at_epoch"], now,
                                       json.dumps(rec["body"], ensure_ascii=False, separators=(",", ":")))):
                    cols[i].append(v)
            rows = yield ("all", "INSERT INTO records (id, room_id, kind, at, received_at, body) "
                                 "SELECT * FROM unnest(?b::text[], ?b::text[], ?b::text[], ?b::float8[], "
                                 "?b::float8[], ?b::text[]) ON CONFLICT (id) DO NOTHING RETURNING id", cols)
            new_ids.update(r[0] for r in rows)
            unique_chunks = []
        else:
            unique_chunks = range(0, len(unique), 100)
        for chunk_start in unique_chunks:
            chunk = unique[chunk_start:chunk_start + 100]
            values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
            params: list[Any] = []
            for rec in chunk:
                params += [rec["id"], room_id, rec["kind"], rec["at_epoch"], now,
                           json.dumps(rec["body"], ensure_ascii=False, separators=(",", ":"))]
            rows = yield ("all", f"INSERT INTO records (id, room_id, kind, at, received_at, body) VALUES {values} "
                                 "ON CONFLICT (id) DO NOTHING RETURNING id", params)
            new_ids.update(r[0] for r in rows)
        fresh = [r for r in unique if r["id"] in new_ids]
        events = []
        for rec in fresh:
            if rec["kind"] == "event":
                b = rec["body"]
                events.append(NewEvent(room_id, rec["at_epoch"], b["type"], b["severity"], b.get("area"),
                                       b["message"], b.get("data") or {}, "agent", rec["id"]))
        yield from self._insert_events_plan(events, now)
        yield from self._derive_plan(room_id, fresh, now)
        reports = [r for r in fresh if r["kind"] == "check_report"]
        if reports:
            newest = max(reports, key=lambda r: r["generated_epoch"])
            yield from self._update_latest_report_plan(room_id, newest, now)
        return [r["id"] for r in fresh]

    def _update_latest_report_plan(self, room_id: str, rec: dict, now: float):
        gen = rec["generated_epoch"]
        current = yield ("one", "SELECT generated_at FROM latest_report WHERE room_id = ?", (room_id,))
        if current and current[0] >= gen:
            return  # a late backlog report never hides a newer one
        body = rec["body"]
        if current:
            yield ("execute", "UPDATE latest_report SET record_id = ?, generated_at = ?, received_at = ?, overall = ? "
                              "WHERE room_id = ?", (rec["id"], gen, now, body["overall"], room_id))
        else:
            yield ("execute", "INSERT INTO latest_report (room_id, record_id, generated_at, received_at, overall) "
                              "VALUES (?, ?, ?, ?, ?)", (room_id, rec["id"], gen, now, body["overall"]))
        previous = {r[0]: (r[1], r[2]) for r in (yield (
            "all", "SELECT check_id, status, since FROM check_state WHERE room_id = ?", (room_id,)))}
        yield ("execute", "DELETE FROM check_state WHERE room_id = ?", (room_id,))
        seen = set()
        for check in body.get("checks", []):
            cid = check["id"]
            if cid in seen:
                continue
            seen.add(cid)
            status = check["status"]
            prev = previous.get(cid)
            since = prev[1] if prev and prev[0] == status else gen
            yield ("execute", "INSERT INTO check_state (room_id, check_id, status, since, message) "
                              "VALUES (?, ?, ?, ?, ?)", (room_id, cid, status, since, check.get("message") or ""))

    def _insert_events(self, tx: _Tx, events: list[NewEvent], now: float) -> None:
        _drive(tx, self._insert_events_plan(events, now))

    _EVENT_INSERT_COLUMNS = "room_id, at, received_at, type, severity, area, message, data, source, record_id"

    def _insert_events_plan(self, events: list[NewEvent], now: float):
        """All the events in one statement (per 100 on SQLite), in list order, so their `seq` follows it."""
        rows = [(ev.room_id, float(ev.at), float(now), ev.type, ev.severity, ev.area, ev.message,
                 json.dumps(ev.data, ensure_ascii=False), ev.source, ev.record_id) for ev in events]
        if not rows:
            return
        if self.dialect == "postgres":
            # Ten array parameters, one fixed text (prepared once), rows inserted in array order.
            yield ("execute", f"INSERT INTO events ({self._EVENT_INSERT_COLUMNS}) SELECT * FROM unnest(?b::text[], "
                              "?b::float8[], ?b::float8[], ?b::text[], ?b::text[], ?b::text[], ?b::text[], ?b::text[], "
                              "?b::text[], ?b::text[]) ON CONFLICT (record_id) DO NOTHING",
                   [list(col) for col in zip(*rows)])
            return
        for start in range(0, len(rows), 100):
            chunk = rows[start:start + 100]
            yield ("execute", f"INSERT INTO events ({self._EVENT_INSERT_COLUMNS}) VALUES "
                              + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                              + " ON CONFLICT (record_id) DO NOTHING",
                   [v for row in chunk for v in row])

    # -- reads for the board ---------------------------------------------------------------
    _ROOM_COLUMNS = ("r.room_id, r.name, r.level, r.district, r.enabled, s.liveness, s.liveness_since, "
                     "s.last_heartbeat_at, s.interval_s, s.heartbeat, s.sent_at, s.overall, s.overall_since, "
                     "s.agent_version, lr.record_id, lr.generated_at, lr.overall")

    @staticmethod
    def _room_row(row) -> dict:
        return dict(room_id=row[0], name=row[1], level=row[2], district=row[3], enabled=bool(row[4]),
                    liveness=row[5], liveness_since=row[6], last_heartbeat_at=row[7], interval_s=row[8],
                    heartbeat=json.loads(row[9]) if row[9] else None, sent_at=row[10], overall=row[11],
                    overall_since=row[12], agent_version=row[13], report_record_id=row[14],
                    report_generated_at=row[15], report_overall=row[16], checks=[])

    def rooms_overview(self) -> list[dict]:
        with self.read() as tx:
            rows = tx.all(f"SELECT {self._ROOM_COLUMNS} FROM rooms r JOIN room_state s ON s.room_id = r.room_id "
                          "LEFT JOIN latest_report lr ON lr.room_id = r.room_id ORDER BY r.room_id")
            checks = tx.all("SELECT room_id, check_id, status, since, message FROM check_state "
                            "WHERE status IN ('fail', 'error', 'warn') ORDER BY room_id, check_id")
        rooms = {row[0]: self._room_row(row) for row in rows}
        for room_id, cid, status, since, message in checks:
            if room_id in rooms:
                rooms[room_id]["checks"].append(dict(id=cid, status=status, since=since, message=message))
        return list(rooms.values())

    def room(self, room_id: str) -> Optional[dict]:
        with self.read() as tx:
            row = tx.one(f"SELECT {self._ROOM_COLUMNS} FROM rooms r JOIN room_state s ON s.room_id = r.room_id "
                         "LEFT JOIN latest_report lr ON lr.room_id = r.room_id WHERE r.room_id = ?", (room_id,))
            if not row:
                return None
            checks = tx.all("SELECT check_id, status, since, message FROM check_state WHERE room_id = ? "
                            "AND status IN ('fail', 'error', 'warn') ORDER BY check_id", (room_id,))
        room = self._room_row(row)
        room["checks"] = [dict(id=c[0], status=c[1], since=c[2], message=c[3]) for c in checks]
        return room

    def latest_report(self, room_id: str) -> Optional[dict]:
        with self.read() as tx:
            row = tx.one("SELECT rec.id, rec.received_at, rec.body FROM latest_report lr "
                         "JOIN records rec ON rec.id = lr.record_id WHERE lr.room_id = ?", (room_id,))
        if not row:
            return None
        return dict(record_id=row[0], received_at=row[1], report=json.loads(row[2]))

    @staticmethod
    def _event_row(r) -> dict:
        return dict(seq=r[0], room_id=r[1], at=r[2], received_at=r[3], type=r[4], severity=r[5], area=r[6],
                    message=r[7], data=json.loads(r[8]), source=r[9], record_id=r[10])

    _EVENT_COLUMNS = "seq, room_id, at, received_at, type, severity, area, message, data, source, record_id"

    def room_events(self, room_id: str, limit: int = 100) -> list[dict]:
        with self.read() as tx:
            rows = tx.all(f"SELECT {self._EVENT_COLUMNS} FROM events WHERE room_id = ? ORDER BY seq DESC LIMIT ?",
                          (room_id, int(limit)))
        return [self._event_row(r) for r in rows]

    def events_after(self, after: int, limit: int = 100) -> list[dict]:
        with self.read() as tx:
            rows = tx.all(f"SELECT {self._EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                          (int(after), int(limit)))
        return [self._event_row(r) for r in rows]

    # -- failed logins (brute-force throttling, shared by every process) ----------------------
    def login_blocked(self, limits: dict[str, int], window_s: float, now: float) -> float:
        """Seconds until a login may be tried again for these keys ({key: max failures}); 0 when allowed."""
        keys = list(limits)
        with self.read() as tx:
            rows = tx.all(f"SELECT key, window_start, failures FROM login_failures WHERE key IN "
                          f"({', '.join('?' * len(keys))})", keys)
        wait = 0.0
        for key, start, failures in rows:
            if start + window_s > now and failures >= limits[key]:
                wait = max(wait, start + window_s - now)
        return wait

    def login_failed(self, keys: list[str], window_s: float, now: float) -> None:
        """Count one failure per key in its fixed window (a window that has run out restarts)."""
        with self.tx() as tx:
            for key in keys:
                tx.execute("INSERT INTO login_failures (key, window_start, failures) VALUES (?, ?, 1) "
                           "ON CONFLICT (key) DO UPDATE SET "
                           "failures = CASE WHEN login_failures.window_start + ? <= ? THEN 1 "
                           "ELSE login_failures.failures + 1 END, "
                           "window_start = CASE WHEN login_failures.window_start + ? <= ? THEN ? "
                           "ELSE login_failures.window_start END",
                           (key, now, window_s, now, window_s, now, now))

    def login_succeeded(self, key: str) -> None:
        with self.auto() as tx:
            tx.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    # -- retention ---------------------------------------------------------------------------
    _PRUNE_CHUNK = 5000

    def prune(self, now: float, records_days: float, events_days: float, login_window_s: float = 900) -> dict:
        """Delete records and events received more than N days ago (0 keeps them forever), expired
        sessions and stale failed-login counters. The record behind a room's latest check report is
        always kept. Deletes in chunks of a few thousand rows, each its own short transaction, so
        ingest never waits long behind it; safe to run in several processes at once."""
        out = {"records": 0, "events": 0, "sessions": 0, "login_failures": 0}
        plans = []
        if records_days > 0:
            plans.append(("records", "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE received_at < ? "
                          "AND id NOT IN (SELECT record_id FROM latest_report) LIMIT ?)", now - records_days * 86400))
        if events_days > 0:
            plans.append(("events", "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? "
                          "LIMIT ?)", now - events_days * 86400))
        plans.append(("sessions", "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions "
                      "WHERE expires_at < ? LIMIT ?)", now))
        plans.append(("login_failures", "DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures "
                      "WHERE window_start < ? LIMIT ?)", now - login_window_s))
        for name, sql, cutoff in plans:
            while True:
                with self.tx() as tx:
                    tx.execute(sql, (cutoff, self._PRUNE_CHUNK))
                    n = tx.rowcount
                out[name] += max(0, n)
                if n < self._PRUNE_CHUNK:
                    break
        return out

    def count(self, table: str) -> int:
        if table not in {"records", "events", "rooms", "sessions", "check_state", "login_failures", "call_sessions",
                         "room_alerts", "meetings"}:
            raise ValueError(table)
        with self.read() as tx:
            return int(tx.one(f"SELECT COUNT(*) FROM {table}")[0])

    # -- viewers and sessions --------------------------------------------------------------
    def add_viewer(self, username: str, password_hash: str, now: float, role: Optional[str] = None) -> None:
        """Create a viewer (role `viewer` unless given) or reset its password (and role, when given)."""
        with self.tx() as tx:
            if tx.one("SELECT 1 FROM viewers WHERE username = ?", (username,)):
                tx.execute("UPDATE viewers SET password_hash = ?, enabled = 1 WHERE username = ?",
                           (password_hash, username))
                if role:
                    tx.execute("UPDATE viewers SET role = ? WHERE username = ?", (role, username))
            else:
                tx.execute("INSERT INTO viewers (username, password_hash, enabled, created_at, role) "
                           "VALUES (?, ?, 1, ?, ?)", (username, password_hash, now, role or "viewer"))

    def set_viewer_enabled(self, username: str, enabled: bool) -> None:
        with self.tx() as tx:
            tx.execute("UPDATE viewers SET enabled = ? WHERE username = ?", (1 if enabled else 0, username))
            if tx.rowcount != 1:
                raise UnknownRoom(f"no viewer {username!r}")
            if not enabled:
                tx.execute("DELETE FROM sessions WHERE username = ?", (username,))

    def viewer(self, username: str) -> Optional[tuple[str, bool, str]]:
        with self.read() as tx:
            row = tx.one("SELECT password_hash, enabled, role FROM viewers WHERE username = ?", (username,))
        return (row[0], bool(row[1]), row[2]) if row else None

    def create_session(self, id_hash: str, username: str, csrf: str, now: float, ttl: float) -> None:
        with self.tx() as tx:
            tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            tx.execute("INSERT INTO sessions (id_hash, username, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                       (id_hash, username, csrf, now, now + ttl))

    def session(self, id_hash: str, now: float) -> Optional[tuple[str, str, str]]:
        """(username, csrf token, role) of a live session."""
        with self.read() as tx:
            row = tx.one("SELECT s.username, s.csrf, v.role FROM sessions s JOIN viewers v ON v.username = s.username "
                         "WHERE s.id_hash = ? AND s.expires_at > ? AND v.enabled = 1", (id_hash, now))
        return (row[0], row[1], row[2]) if row else None

    def delete_session(self, id_hash: str) -> None:
        with self.tx() as tx:
            tx.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))


class SqliteStorage(Storage):
    """SQLite in WAL mode: one connection per thread, BEGIN IMMEDIATE for every write."""

    dialect = "sqlite"

    def __init__(self, path: str, **_ignored):
        import sqlite3

        self._sqlite3 = sqlite3
        self.path = path
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        try:
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {path!r}: {exc}") from exc

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _translate(sql: str) -> str:
        return sql

    @contextmanager
    def tx(self):
        conn = self._conn()
        # Threads of this process queue on a mutex for the write lock: SQLite's own busy handler
        # polls with sleeps of 1-100 ms, which is what made ingest latency spike under load.
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except self._sqlite3.OperationalError as exc:
                raise StorageUnavailable(f"database busy: {exc}") from exc
            try:
                yield _Tx(conn.cursor(), self._translate)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def auto(self):
        conn = self._conn()
        with self._write_lock:
            try:
                yield _Tx(conn.cursor(), self._translate)
            except self._sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StorageUnavailable(f"database busy: {exc}") from exc
                raise

    @contextmanager
    def read(self):
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield _Tx(conn.cursor(), self._translate)
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:
                    pass
            self._all.clear()
        self._local = threading.local()


class PostgresStorage(Storage):
    """PostgreSQL through a psycopg 3 connection pool."""

    dialect = "postgres"
    _SWEEP_LOCK_KEY = 0x68_6E_74_68  # 'hnth': one sweeper at a time; others skip this round
    _MIGRATE_LOCK_KEY = 0x68_6E_74_6D

    def __init__(self, dsn: str, *, pool_size: int = 10, **_ignored):
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        self._cache: dict[str, str] = {}
        self._pool_size = pool_size
        self._apool = None
        self._coalescer = Coalescer(self._heartbeat_fast_many, key=lambda row: row[0],
                                    max_batch=100, max_inflight=max(1, pool_size // 2))
        try:
            self.pool = ConnectionPool(dsn, min_size=min(2, pool_size), max_size=pool_size, kwargs={"autocommit": True},
                                       open=True, timeout=10, name="hntht-collector")
            self.pool.wait(timeout=10)
        except Exception as exc:  # never echo the DSN: it may hold a password
            raise StorageUnavailable(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None

    def _translate(self, sql: str) -> str:
        out = self._cache.get(sql)
        if out is None:
            # `?b`: a parameter sent in binary (arrays: no per-element text escaping in the driver).
            out = self._cache[sql] = sql.replace("%", "%%").replace("?b", "%b").replace("?", "%s")
        return out

    @contextmanager
    def tx(self):
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    with conn.cursor() as cur:
                        yield _Tx(cur, self._translate)
        except self._psycopg.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except Exception as exc:
            from psycopg_pool import PoolTimeout
            if isinstance(exc, PoolTimeout):
                raise StorageUnavailable("database pool exhausted") from exc
            raise

    read = tx

    @contextmanager
    def auto(self):
        try:
            with self.pool.connection() as conn:
                with conn.cursor() as cur:
                    yield _Tx(cur, self._translate)
        except self._psycopg.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except Exception as exc:
            from psycopg_pool import PoolTimeout
            if isinstance(exc, PoolTimeout):
                raise StorageUnavailable("database pool exhausted") from exc
            raise

    # -- async hot path: psycopg's asyncio connections on the server's event loop ---------------------
    async def open_async(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        # Opened whole at start: growing a pool under load makes requests queue for connections.
        pool = AsyncConnectionPool(self.pool.conninfo, min_size=self._pool_size, max_size=self._pool_size,
                                   kwargs={"autocommit": True}, open=False, timeout=10,
                                   name="hntht-collector-async")
        try:
            await pool.open(wait=True, timeout=10)
        except Exception as exc:  # never echo the DSN
            await pool.close()
            raise StorageUnavailable(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None
        self._apool = pool

    async def close_async(self) -> None:
        pool, self._apool = self._apool, None
        if pool is not None:
            await pool.close()

    async def _execute_async(self, sql: str, params: tuple, fetch: bool):
        from psycopg_pool import PoolTimeout

        try:
            async with self._apool.connection() as conn:
                cur = await conn.execute(self._translate(sql), params)
                return await cur.fetchone() if fetch else cur.rowcount
        except self._psycopg.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except PoolTimeout as exc:
            raise StorageUnavailable("database pool exhausted") from exc

    async def authenticate_async(self, token_id: str, window: int) -> Optional[RoomAuth]:
        if self._apool is None:
            return await super().authenticate_async(token_id, window)
        return self._auth_from_row(await self._execute_async(self._AUTH_SQL, (window, window, token_id), True))

    async def heartbeat_fast_async(self, *args) -> Optional[int]:
        if self._apool is None:
            return await super().heartbeat_fast_async(*args)
        return await self._coalescer.submit(args)

    # The fast path for many rooms in one statement, with the same conditions per row as _HB_FAST_SQL;
    # the rows come as arrays, so the text (and its prepared plan) is the same for any batch size.
    _HB_FAST_MANY_SQL = (
        "UPDATE room_state AS s SET last_heartbeat_at = v.now, stale_at = v.stale_at, offline_at = v.offline_at, "
        "interval_s = v.interval_s, heartbeat = v.heartbeat, sent_at = v.sent_at, "
        "overall_since = CASE WHEN s.overall = v.overall AND s.overall_since IS NOT NULL "
        "THEN s.overall_since ELSE v.now END, overall = v.overall, agent_version = v.agent_version, "
        "boot_id = v.boot_id, rl_count = CASE WHEN s.rl_window = v.win THEN s.rl_count + 1 ELSE 1 END, "
        "rl_window = v.win "
        "FROM unnest(?b::text[], ?b::text[], ?b::text[], ?b::float8[], ?b::float8[], ?b::float8[], ?b::int[], "
        "?b::text[], ?b::float8[], ?b::text[], ?b::text[], ?b::text[], ?b::bigint[], ?b::int[]) "
        "AS v(room_id, token_id, token_hash, now, stale_at, offline_at, interval_s, heartbeat, sent_at, "
        "overall, agent_version, boot_id, win, lim) "
        "WHERE s.room_id = v.room_id AND s.liveness = 'online' AND (s.rl_window <> v.win OR s.rl_count < v.lim) "
        "AND EXISTS (SELECT 1 FROM rooms r WHERE r.room_id = v.room_id AND r.token_id = v.token_id "
        "AND r.token_hash = v.token_hash AND r.enabled = 1) "
        "RETURNING s.room_id, (SELECT version FROM schedule_version WHERE id = 1)")

    async def _heartbeat_fast_many(self, rows) -> dict:
        cols: list[list] = [[] for _ in range(14)]
        # Rows in room order, so concurrent statements of several processes lock rows in one order.
        for room_id, token_id, token_hash, window, rate_limit, hb, hb_json, sent_at, now in sorted(rows, key=lambda r: r[0]):
            p = self._hb_params(hb, hb_json, sent_at, now)  # now, stale, offline, interval, json, sent_at, overall, now, overall, version, boot
            for i, v in enumerate((room_id, token_id, token_hash, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[9],
                                   p[10], window, rate_limit)):
                cols[i].append(v)
        from psycopg_pool import PoolTimeout

        try:
            async with self._apool.connection() as conn:
                cur = await conn.execute(self._translate(self._HB_FAST_MANY_SQL), cols)
                return {r[0]: int(r[1]) for r in await cur.fetchall()}
        except (self._psycopg.errors.DeadlockDetected, self._psycopg.errors.SerializationFailure):
            return {}  # nothing applied: each heartbeat takes the full path on its own
        except self._psycopg.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except PoolTimeout as exc:
            raise StorageUnavailable("database pool exhausted") from exc

    async def record_heartbeat_async(self, room_id: str, hb: dict, hb_json: str, sent_at: float,
                                     now: float) -> list[NewEvent]:
        if self._apool is None:
            return await super().record_heartbeat_async(room_id, hb, hb_json, sent_at, now)
        params = self._hb_params(hb, hb_json, sent_at, now)
        if await self._execute_async(self._HB_ONLINE_SQL, params + (room_id,), False) == 1:
            return []
        # A liveness transition (first heartbeat, or back from offline): rare; the blocking method, in a
        # worker thread, handles it in one transaction.
        return await _to_thread(self.record_heartbeat, room_id, hb, hb_json, sent_at, now)

    async def store_records_async(self, room_id: str, records: list[dict], now: float) -> list[str]:
        if self._apool is None:
            return await super().store_records_async(room_id, records, now)
        from psycopg_pool import PoolTimeout

        plan = self._store_records_plan(room_id, records, now)
        try:
            async with self._apool.connection() as conn:
                async with conn.transaction():
                    cur = conn.cursor()
                    try:
                        step = next(plan)
                        while True:
                            kind, sql, params = step
                            await cur.execute(self._translate(sql), tuple(params))
                            if kind == "all":
                                result = await cur.fetchall()
                            elif kind == "one":
                                result = await cur.fetchone()
                            else:
                                result = cur.rowcount
                            step = plan.send(result)
                    except StopIteration as stop:
                        return stop.value
        except self._psycopg.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except PoolTimeout as exc:
            raise StorageUnavailable("database pool exhausted") from exc

    def _migration_lock(self, tx: _Tx) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (self._MIGRATE_LOCK_KEY,))

    def _sweep_lock(self, tx: _Tx) -> bool:
        return bool(tx.one("SELECT pg_try_advisory_xact_lock(?)", (self._SWEEP_LOCK_KEY,))[0])

    def close(self) -> None:
        self.pool.close()
