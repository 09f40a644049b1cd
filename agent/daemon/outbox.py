"""The outbox: records waiting for the collector, in SQLite (WAL) under the state directory.

Why SQLite: a committed transaction survives kill -9 and power cuts (WAL + synchronous=FULL),
the file heals itself on the next open, and deleting on acknowledgement means a restart never
resends the whole backlog (Telegraf #16500).  Every record carries its idempotency id
``<room_id>/<boot_id>/<seq>`` (docs/collector-api.md §3), so a resend after a crash between
"collector said 200" and "rows deleted" is stored once by the collector.

Bounds (both enforced here, every drop counted by kind and reported in the heartbeat):

- size: the total of waiting records stays under ``max_bytes``; to make room, quarantined
  records go first, then status samples, then (only if still needed) events, check reports and
  sessions, oldest first in each tier;
- age: records older than ``max_age`` are dropped by :meth:`Outbox.prune`.

Send order (:meth:`Outbox.next_batch`): events, check reports and sessions before status
samples, oldest first within each class; batches stop at the record and byte limits.

A full disk (SQLITE_FULL) is not fatal: the outbox frees status samples, checkpoints the WAL
and retries once; a record that still cannot be written is counted as dropped, and
:attr:`Outbox.alarm` says why until a write succeeds again.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import structlog

log = structlog.get_logger("agent.outbox")

KINDS = ("check_report", "status_sample", "event", "session")
# drop tier: lower goes first when the outbox is full
DROP_TIER = {"status_sample": 0, "check_report": 1, "event": 1, "session": 1}
# send class: lower is sent first (events ahead of samples)
SEND_CLASS = {"event": 0, "check_report": 0, "session": 0, "status_sample": 1}
ENVELOPE_OVERHEAD = 160  # {"schema":"hntht.records/1","room_id":"...","records":[...]} without the records

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    n           INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    tier        INTEGER NOT NULL,
    send_class  INTEGER NOT NULL,
    created     REAL    NOT NULL,
    data        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0,
    reason      TEXT
);
CREATE INDEX IF NOT EXISTS records_send ON records (quarantined, send_class, n);
CREATE INDEX IF NOT EXISTS records_drop ON records (quarantined, tier, n);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def rfc3339(ts: float | None = None) -> str:
    moment = _dt.datetime.fromtimestamp(time.time() if ts is None else ts, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class OutboxError(Exception):
    """The outbox file cannot be opened or is not an outbox."""


@dataclass
class Pending:
    n: int
    id: str
    kind: str
    data: str  # the record, serialised

    @property
    def size(self) -> int:
        return len(self.data.encode("utf-8"))


@dataclass
class OutboxStats:
    depth: int
    oldest_at: str | None
    dropped: int
    quarantined: int
    quarantined_total: int
    bytes: int
    dropped_by_kind: dict[str, int] = field(default_factory=dict)
    alarm: str | None = None

    def heartbeat(self) -> dict[str, Any]:
        return {"depth": self.depth, "oldest_at": self.oldest_at, "dropped": self.dropped,
                "quarantined": self.quarantined}


def _is_full(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


class Outbox:
    def __init__(self, path: str | os.PathLike[str], *, room_id: str, boot_id: str,
                 max_bytes: int = 64 << 20, max_age: float = 30 * 86400.0,
                 record_max_bytes: int = 256 << 10, readonly: bool = False) -> None:
        self.path = Path(path)
        self.room_id = room_id
        self.boot_id = boot_id
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.record_max_bytes = record_max_bytes
        self._seq = 0
        self._lock = threading.RLock()
        self.alarm: str | None = None
        self.unpersisted_drops = 0  # drops we could not even count on disk (disk full)
        self._drops_since_log: dict[str, int] = {}
        self._drop_logged_at = -1e9
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                           check_same_thread=False, timeout=5.0)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                           timeout=10.0)
                self._db.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit is on disk before add() returns, so a power cut loses nothing committed.
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(SCHEMA)
                if os.name == "posix":
                    os.chmod(self.path, 0o600)
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"cannot open the outbox {self.path}: {exc}") from None
        self._bytes = self._scalar("SELECT COALESCE(SUM(size), 0) FROM records")

    # -- helpers ---------------------------------------------------------------------------
    def _scalar(self, sql: str, *args: Any) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()[0]

    def _bump(self, name: str, by: int) -> None:
        self._db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, by))

    def counter(self, name: str) -> int:
        return int(self._scalar("SELECT COALESCE((SELECT value FROM counters WHERE name = ?), 0)", name))

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            try:
                self._db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                                 "SET value = excluded.value", (key, json.dumps(value)))
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise
                self.alarm = "disk_full"

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def next_id(self) -> str:
        self._seq += 1
        return f"{self.room_id}/{self.boot_id}/{self._seq}"

    # -- writing ---------------------------------------------------------------------------
    def add(self, kind: str, body: dict[str, Any], at: float | None = None) -> str | None:
        ids = self.add_many([(kind, body, at)])
        return ids[0] if ids else None

    def add_many(self, items: Iterable[tuple[str, dict[str, Any], float | None]]) -> list[str]:
        """Commit records in one transaction; returns their ids ([] if the disk refused them).

        Ids are numbered and committed under one lock, so the committed sequence numbers of a
        boot are always 1..n without holes (the crash test relies on it).
        """
        items = list(items)
        if not items:
            return []
        with self._lock:
            rows = []
            for kind, body, at in items:
                if kind not in KINDS:
                    raise ValueError(f"unknown record kind {kind!r}")
                created = time.time() if at is None else at
                rid = self.next_id()
                data = json.dumps({"id": rid, "kind": kind, "at": rfc3339(created), "body": body},
                                  ensure_ascii=False, separators=(",", ":"), allow_nan=False)
                rows.append((rid, kind, DROP_TIER[kind], SEND_CLASS[kind], created, data,
                             len(data.encode("utf-8"))))
            for attempt in (1, 2):
                try:
                    self._insert(rows)
                    if self.alarm == "disk_full":
                        log.warning("outbox_disk_ok", path=str(self.path))
                    self.alarm = None
                    return [r[0] for r in rows]
                except sqlite3.OperationalError as exc:
                    if not _is_full(exc):
                        raise
                    self._rollback()
                    if attempt == 1:
                        self._free_after_full()
                        continue
                    self.alarm = "disk_full"
                    self.unpersisted_drops += len(rows)
                    log.error("outbox_disk_full", path=str(self.path), dropped=len(rows),
                              kinds=sorted({r[1] for r in rows}),
                              hint="the state directory's file system is full; records are dropped "
                                   "(status samples first) until space is freed")
            return []

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction was open

    def _insert(self, rows: list[tuple]) -> None:
        incoming = sum(r[6] for r in rows)
        self._db.execute("BEGIN IMMEDIATE")
        freed = self._evict(self._bytes + incoming - self.max_bytes) if self._bytes + incoming > self.max_bytes else 0
        for row in rows:
            if row[6] > self.record_max_bytes:
                # Larger than any batch may be: the collector would answer 413 forever.
                self._db.execute("INSERT INTO records(id, kind, tier, send_class, created, data, size, quarantined, "
                                 "reason) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                                 (*row, f"record of {row[6]} bytes exceeds the batch limit"))
                self._bump("quarantined_total", 1)
                log.warning("outbox_record_too_large", id=row[0], kind=row[1], bytes=row[6])
            else:
                self._db.execute("INSERT INTO records(id, kind, tier, send_class, created, data, size) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        self._db.execute("COMMIT")
        self._bytes += incoming - freed

    def _evict(self, need: int, *, reason: str = "size") -> int:
        """Delete the least valuable records until ``need`` bytes are free (inside a transaction)."""
        freed = 0
        dropped: dict[str, int] = {}
        for where in ("quarantined = 1", "quarantined = 0 AND tier = 0", "quarantined = 0 AND tier = 1"):
            while freed < need:
                victims = self._db.execute(f"SELECT n, kind, size FROM records WHERE {where} ORDER BY n LIMIT 256"
                                           ).fetchall()
                if not victims:
                    break
                take = []
                for n, kind, size in victims:
                    take.append(n)
                    freed += size
                    dropped[kind] = dropped.get(kind, 0) + 1
                    if freed >= need:
                        break
                self._db.execute(f"DELETE FROM records WHERE n IN ({','.join('?' * len(take))})", take)
            if freed >= need:
                break
        for kind, count in dropped.items():
            self._bump("dropped_total", count)
            self._bump(f"dropped.{kind}", count)
        if dropped:
            self._log_drops(reason, dropped)
        return freed

    def _log_drops(self, reason: str, dropped: dict[str, int]) -> None:
        # A full outbox drops on every write: one line a minute with the running total, not a flood.
        for kind, count in dropped.items():
            self._drops_since_log[kind] = self._drops_since_log.get(kind, 0) + count
        now = time.monotonic()
        if now - self._drop_logged_at >= 60.0:
            log.warning("outbox_full_dropped", reason=reason, dropped=dict(self._drops_since_log),
                        max_bytes=self.max_bytes, hint="counted in the heartbeat's outbox.dropped")
            self._drops_since_log.clear()
            self._drop_logged_at = now

    def _free_after_full(self) -> None:
        """SQLITE_FULL: give back WAL space and drop the oldest status samples, so new records fit."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass
        try:
            self._db.execute("BEGIN IMMEDIATE")
            freed = self._evict(max(64 << 10, self._bytes // 10), reason="disk_full")
            self._db.execute("COMMIT")
            self._bytes -= freed
        except sqlite3.OperationalError as exc:
            self._rollback()
            log.error("outbox_disk_full_evict_failed", error=str(exc))
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass

    def prune(self, now: float | None = None) -> int:
        """Drop records older than max_age (counted); returns how many."""
        cutoff = (time.time() if now is None else now) - self.max_age
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                rows = self._db.execute("SELECT kind, COUNT(*), COALESCE(SUM(size),0) FROM records "
                                        "WHERE created < ? GROUP BY kind", (cutoff,)).fetchall()
                self._db.execute("DELETE FROM records WHERE created < ?", (cutoff,))
                total = 0
                for kind, count, size in rows:
                    self._bump("dropped_total", count)
                    self._bump(f"dropped.{kind}", count)
                    self._bytes -= size
                    total += count
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                if not _is_full(exc):
                    raise
                self.alarm = "disk_full"
                return 0
        if total:
            log.warning("outbox_expired_dropped", dropped=total, max_age_s=self.max_age)
        return total

    # -- sending ---------------------------------------------------------------------------
    def next_batch(self, max_records: int, max_bytes: int, *, after: tuple[int, int] | None = None) -> list[Pending]:
        """The next records to send: events/reports/sessions first, then samples, oldest first."""
        budget = max_bytes - ENVELOPE_OVERHEAD - len(self.room_id)
        batch: list[Pending] = []
        with self._lock:
            cur = self._db.execute("SELECT n, id, kind, data, size FROM records WHERE quarantined = 0 "
                                   "ORDER BY send_class, n LIMIT ?", (max_records,))
            for n, rid, kind, data, size in cur:
                if batch and size + 1 > budget:
                    break
                budget -= size + 1
                batch.append(Pending(n, rid, kind, data))
        return batch

    def ack(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                size = 0
                for i in range(0, len(ids), 500):
                    chunk = ids[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    size += self._db.execute(f"SELECT COALESCE(SUM(size),0) FROM records WHERE id IN ({marks})",
                                             chunk).fetchone()[0]
                    self._db.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._bytes -= size
        return len(ids)

    def quarantine(self, reasons: dict[str, str]) -> int:
        if not reasons:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for rid, reason in reasons.items():
                    changed += self._db.execute("UPDATE records SET quarantined = 1, reason = ? "
                                                "WHERE id = ? AND quarantined = 0", (reason[:2000], rid)).rowcount
                self._bump("quarantined_total", changed)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        if changed:
            log.error("outbox_quarantined", count=changed, reasons=sorted(set(reasons.values()))[:5])
        return changed

    def quarantined(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT id, kind, created, reason FROM records WHERE quarantined = 1 "
                                    "ORDER BY n DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "kind": r[1], "at": rfc3339(r[2]), "reason": r[3]} for r in rows]

    # -- reading ---------------------------------------------------------------------------
    def stats(self) -> OutboxStats:
        with self._lock:
            depth, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(created) FROM records WHERE quarantined = 0").fetchone()
            held = self._db.execute("SELECT COUNT(*) FROM records WHERE quarantined = 1").fetchone()[0]
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        by_kind = {k.split(".", 1)[1]: v for k, v in counters.items() if k.startswith("dropped.")}
        return OutboxStats(
            depth=depth,
            oldest_at=rfc3339(oldest) if oldest is not None else None,
            dropped=int(counters.get("dropped_total", 0)) + self.unpersisted_drops,
            quarantined=held,
            quarantined_total=int(counters.get("quarantined_total", 0)),
            bytes=self._bytes,
            dropped_by_kind=by_kind,
            alarm=self.alarm,
        )

    def integrity_check(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._db.close()
