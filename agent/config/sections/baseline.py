"""[baseline]: the rehearsal baseline and the drift checks (Điều 5 khoản 2.2, Điều 7 khoản 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A setting name as `hntht-agent baseline show` prints it ("codec.call_rate", "codec.preset.4"),
# optionally with the "drift." prefix of its check id, and shell-style wildcards ("codec.preset.*").
IGNORE_PATTERN = re.compile(r"(drift\.)?[a-z0-9_*?-]+(\.[a-z0-9_*?-]+)*")


def _check_ignore(patterns: list[str]) -> str | None:
    for pattern in patterns:
        if not IGNORE_PATTERN.fullmatch(pattern):
            return (f"{pattern!r} is not a setting name; use names as `hntht-agent baseline show` prints them, "
                    f"e.g. \"codec.volume\" or \"codec.preset.*\"")
    return None


@dataclass
class BaselineSection:
    # Compare every check with the stored rehearsal baseline (drift.* results).
    enabled: bool = True
    # A changed setting is a warning; with strict = true it fails the checklist. Inside the meeting
    # window (the service says so) a change always fails.
    strict: bool = False
    # The service saves a new baseline by itself at the end of a rehearsal check with no fail/error item.
    auto_save_after_rehearsal: bool = True
    # How many earlier baselines are kept in the baseline file (0 = only the current one).
    history: int = field(default=10, metadata={"min": 0, "max": 100})
    # Settings never compared (e.g. "codec.volume" when the room adjusts its loudspeaker every meeting).
    ignore: list[str] = field(default_factory=list, metadata={"check": _check_ignore})
