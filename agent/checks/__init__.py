"""Checks: pure functions from a normalised status (plus the `expect` config) to check results.

They never touch a device, so every check id is tested table-driven without any peer.
"""

from __future__ import annotations

from agent.model import Status


def band(value: float, limit: float, warn_ratio: float = 0.8) -> Status:
    """Pass up to ``warn_ratio`` x limit, warn up to the limit, fail above it."""
    if value > limit:
        return Status.FAIL
    if value > warn_ratio * limit:
        return Status.WARN
    return Status.PASS
