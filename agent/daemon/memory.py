"""glibc heap settings for a months-long service (measured in docs/service.md, "Footprint").

- :func:`limit_arenas`: at most two malloc arenas instead of glibc's default of up to eight per
  core.  The service's threads (uploader, asyncio workers, the codec's SSH transport, probe threads)
  allocate little, and each extra arena keeps its own free pages: about 1 MB of RSS.  An explicit
  ``MALLOC_ARENA_MAX`` in the environment wins.  Must run before the first thread starts.
- :func:`trim`: ``malloc_trim(0)`` gives back the free pages inside the heap that ``free()`` keeps
  (start-up garbage, a poll's answers): about 1 MB more, for a few milliseconds every few minutes.

Both are no-ops where the C library has no such call (musl, macOS).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

M_ARENA_MAX = -8  # glibc malloc.h
ARENAS = 2


def _libc() -> Any:
    try:
        return ctypes.CDLL(None)  # the symbols already in the process, glibc's among them
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt and mallopt(M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True
