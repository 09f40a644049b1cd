"""Time helpers: the collector keeps time as float epoch seconds and speaks RFC 3339 UTC."""

from __future__ import annotations

import datetime as _dt
import time
from typing import Callable, Optional

Clock = Callable[[], float]
system_clock: Clock = time.time


def parse_rfc3339(value: str) -> float:
    """RFC 3339 string (already validated by the schema) -> epoch seconds."""
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # fromisoformat on 3.10 accepts at most 6 fractional digits: trim longer fractions.
    if "." in value:
        head, rest = value.split(".", 1)
        frac, tz = rest[: rest.index("+")] if "+" in rest else rest, rest[rest.index("+"):] if "+" in rest else ""
        value = f"{head}.{frac[:6]}{tz}"
    dt = _dt.datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt.timestamp()


def format_rfc3339(epoch: Optional[float]) -> Optional[str]:
    if epoch is None:
        return None
    dt = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
