"""agent/daemon/memory.py: two malloc arenas for the service's threads, and malloc_trim.

Counted with glibc's own malloc_stats() (one "Arena N:" block per arena on stderr) in a fresh
interpreter whose threads allocate at the same time: without the limit each thread gets an arena."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = """
import ctypes, sys, threading
from agent.daemon import memory
if sys.argv[1] == "limit":
    assert memory.limit_arenas() is True
barrier = threading.Barrier(6)
def work():
    barrier.wait()
    keep = [bytearray(2048) for _ in range(200)]  # malloc (not pymalloc) from this thread's arena
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
assert memory.trim() is True
ctypes.CDLL(None).malloc_stats()
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt/malloc_trim are glibc calls")


def arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


def test_two_arenas_for_the_service_threads():
    assert arenas("default") > 2  # glibc's default: a new arena per concurrently allocating thread
    assert 1 <= arenas("limit") <= 2


def test_an_explicit_environment_setting_wins(monkeypatch):
    from agent.daemon import memory

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False
