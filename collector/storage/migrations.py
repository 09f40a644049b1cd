"""Schema migrations, one list per backend, applied in order and recorded in schema_migrations.

Add a migration by appending a (version, description, sqlite_sql, postgres_sql) tuple; never edit an
applied one. Timestamps are epoch seconds (float), JSON is stored as text, so the data layer's SQL
is the same on both backends except for the DDL below.
"""

from __future__ import annotations

_COMMON_TABLES = """
CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    district TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    token_id TEXT NOT NULL UNIQUE,
    token_salt TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at {real} NOT NULL,
    token_rotated_at {real} NOT NULL
);
CREATE TABLE room_state (
    room_id TEXT PRIMARY KEY REFERENCES rooms(room_id),
    liveness TEXT NOT NULL DEFAULT 'never',
    liveness_since {real},
    last_heartbeat_at {real},
    stale_at {real},
    offline_at {real},
    interval_s INTEGER NOT NULL DEFAULT 30,
    heartbeat TEXT,
    sent_at {real},
    overall TEXT NOT NULL DEFAULT 'unknown',
    overall_since {real},
    agent_version TEXT,
    boot_id TEXT,
    rl_window BIGINT NOT NULL DEFAULT 0,
    rl_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX room_state_stale ON room_state (liveness, stale_at);
CREATE INDEX room_state_offline ON room_state (liveness, offline_at);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    kind TEXT NOT NULL,
    at {real} NOT NULL,
    received_at {real} NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX records_room_kind_at ON records (room_id, kind, at);
CREATE TABLE latest_report (
    room_id TEXT PRIMARY KEY REFERENCES rooms(room_id),
    record_id TEXT NOT NULL,
    generated_at {real} NOT NULL,
    received_at {real} NOT NULL,
    overall TEXT NOT NULL
);
CREATE TABLE check_state (
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since {real} NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, check_id)
);
CREATE TABLE events (
    seq {serial},
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    at {real} NOT NULL,
    received_at {real} NOT NULL,
    type TEXT NOT NULL,
    severity TEXT NOT NULL,
    area TEXT,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{{}}',
    source TEXT NOT NULL,
    record_id TEXT UNIQUE
);
CREATE INDEX events_room_seq ON events (room_id, seq);
CREATE TABLE viewers (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at {real} NOT NULL
);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES viewers(username),
    csrf TEXT NOT NULL,
    created_at {real} NOT NULL,
    expires_at {real} NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
"""

_V2 = """
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    window_start {real} NOT NULL,
    failures INTEGER NOT NULL
);
CREATE INDEX records_received_at ON records (received_at);
CREATE INDEX events_received_at ON events (received_at);
"""

# v3: the regulation's workflow (docs/collector.md "Meetings", "Forms"). Meetings and their rooms; a
# version counter bumped by every meeting change (read by the heartbeat statement itself, so each
# process knows when its cached schedules are stale); call sessions (latest record per session_id);
# alerts with one row per (room, kind, ref) so that a transition is an INSERT that only one process
# wins; Phụ lục III contacts; technicians' entries per room and meeting (or unscheduled session);
# viewer roles.
_V3 = """
CREATE TABLE meetings (
    meeting_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    chair_room_id TEXT,
    start_at {real} NOT NULL,
    end_at {real} NOT NULL,
    rehearsal_at {real},
    emergency INTEGER NOT NULL DEFAULT 0,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX meetings_start ON meetings (start_at);
CREATE TABLE meeting_rooms (
    meeting_id TEXT NOT NULL REFERENCES meetings(meeting_id) ON DELETE CASCADE,
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    PRIMARY KEY (meeting_id, room_id)
);
CREATE INDEX meeting_rooms_room ON meeting_rooms (room_id);
CREATE TABLE schedule_version (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO schedule_version (id, version) VALUES (1, 1);
CREATE TABLE call_sessions (
    session_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    meeting_id TEXT,
    start_at {real} NOT NULL,
    end_at {real},
    final INTEGER NOT NULL,
    at {real} NOT NULL,
    record_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX call_sessions_room_start ON call_sessions (room_id, start_at);
CREATE INDEX call_sessions_meeting ON call_sessions (meeting_id);
CREATE TABLE room_alerts (
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    opened_at {real} NOT NULL,
    closed_at {real},
    source TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (room_id, kind, ref)
);
CREATE INDEX room_alerts_open ON room_alerts (closed_at, kind);
CREATE TABLE room_contacts (
    room_id TEXT PRIMARY KEY REFERENCES rooms(room_id),
    data TEXT NOT NULL,
    updated_at {real} NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE room_notes (
    room_id TEXT NOT NULL REFERENCES rooms(room_id),
    ref TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at {real} NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, ref)
);
ALTER TABLE viewers ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'
"""

MIGRATIONS = [
    (
        1,
        "rooms, state, records, reports, events, viewers, sessions",
        _COMMON_TABLES.format(real="REAL", serial="INTEGER PRIMARY KEY AUTOINCREMENT"),
        _COMMON_TABLES.format(real="DOUBLE PRECISION", serial="BIGSERIAL PRIMARY KEY"),
    ),
    (
        2,
        "failed-login counters; received_at indexes for retention",
        _V2.format(real="REAL"),
        _V2.format(real="DOUBLE PRECISION"),
    ),
    (
        3,
        "meetings, schedule version, call sessions, alerts, contacts (Phụ lục III), technicians' notes, roles",
        _V3.format(real="REAL"),
        _V3.format(real="DOUBLE PRECISION"),
    ),
]


def statements(sql: str) -> list[str]:
    """Split a migration script on ';' (our DDL has no ';' inside literals)."""
    return [s.strip() for s in sql.split(";") if s.strip()]
