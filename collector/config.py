"""Collector settings: command-line flags > environment (HNTHT_COLLECTOR_*) > defaults.

Secrets (a PostgreSQL URL with a password) can come from a file: `--db-file`, `HNTHT_COLLECTOR_DB_FILE`,
or the systemd credential `collector-db-url` in $CREDENTIALS_DIRECTORY.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

from .errors import ConfigError

DEFAULT_DB = "sqlite:////var/lib/hntht-collector/collector.db"


@dataclass
class Settings:
    db: str = DEFAULT_DB
    heartbeat_body_max: int = 64 * 1024
    records_body_max: int = 256 * 1024
    records_max_count: int = 500
    rate_limit_per_minute: int = 120
    sweep_interval_s: float = 5.0        # 0 disables the background liveness sweep (tests drive it)
    session_ttl_s: float = 12 * 3600
    cookie_secure: str = "auto"          # auto: Secure when the request arrived over HTTPS
    anonymous_board: bool = False        # embedded demo only: board readable without login
    board_refresh_s: int = 30
    pool_size: int = 10
    default_lang: str = "vi"
    # Board/API logins: after this many failures in login_window_s, further attempts for that user name
    # (or from that client address) are refused until the window ends, even with the right password.
    login_max_failures: int = 5
    login_max_failures_per_client: int = 20
    login_window_s: float = 900.0
    # Retention: records and events received more than N days ago are deleted (0 keeps them forever);
    # pruning runs every prune_interval_s in the server (0: only `hntht-collector prune`).
    retention_records_days: float = 400.0
    retention_events_days: float = 400.0
    prune_interval_s: float = 3600.0
    # The reporting unit printed as items 1-5 of Phụ lục II (a district's roll-up uses its own room's
    # Phụ lục III contacts instead).
    report_unit_name: str = "Sở Thông tin và Truyền thông tỉnh Quảng Ninh"
    report_unit_address: str = ""
    report_unit_phone: str = ""
    report_unit_email: str = ""
    report_unit_contact: str = ""
    report_unit_contact_phone: str = ""

    @classmethod
    def from_env(cls, env=None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        s = cls()
        for f in fields(cls):
            key = "HNTHT_COLLECTOR_" + f.name.upper()
            if key in env:
                setattr(s, f.name, _coerce(f.name, env[key], getattr(s, f.name)))
        if "HNTHT_COLLECTOR_DB" not in env:
            url = read_db_url_file(env.get("HNTHT_COLLECTOR_DB_FILE"), env)
            if url:
                s.db = url
        for k, v in overrides.items():
            if v is not None:
                setattr(s, k, v)
        return s

    def to_env(self) -> dict[str, str]:
        return {"HNTHT_COLLECTOR_" + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}


def _coerce(name: str, raw: str, default):
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"HNTHT_COLLECTOR_{name.upper()}={raw!r} is not a valid {type(default).__name__}") from None
    return raw


def read_db_url_file(path: Optional[str], env=None) -> Optional[str]:
    env = os.environ if env is None else env
    candidates = []
    if path:
        candidates.append(Path(path))
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        candidates.append(Path(cred_dir) / "collector-db-url")
    for p in candidates:
        try:
            text = p.read_text().strip()
        except OSError as exc:
            if p == Path(path or ""):
                raise ConfigError(f"database URL file {p}: cannot read ({exc.strerror})") from None
            continue
        if text:
            return text
    return None
