"""Paths and small helpers shared by the test suite."""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository with shared/ beside it; $HNTHT_SHARED overrides.
SHARED = Path(os.environ.get("HNTHT_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_root() -> bool:
    return os.geteuid() == 0
