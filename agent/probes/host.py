"""Host probe: the mini-PC itself (load, memory, disk of the state directory, temperature,
uptime, and whether the clock is NTP-synchronised: a report with a wrong clock is worthless)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from agent.checks import host as checks
from agent.probes import Probe, register


@dataclass
class HostStatus:
    cpu_count: int
    load_1m: float
    load_5m: float
    memory_total_bytes: int
    memory_available_bytes: int
    disk_path: str
    disk_total_bytes: int | None
    disk_free_bytes: int | None
    temperature_c: float | None  # the hottest sensor the kernel exposes, None if none
    temperature_sensor: str | None
    uptime_s: int
    clock_synchronized: bool | None  # kernel's NTP state (adjtimex), None if it cannot be read
    clock_max_error_ms: float | None
    clock_unix: float


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (x86_64 and aarch64 share this layout).
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


STA_UNSYNC = 0x0040
TIME_ERROR = 5


def kernel_clock_state() -> tuple[bool | None, float | None]:
    """(synchronised, max error in ms) from adjtimex(2) in read-only mode, as timedatectl does."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        tx.modes = 0  # read only: never adjusts the clock
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None, None
    if state < 0:
        return None, None
    synced = state != TIME_ERROR and not tx.status & STA_UNSYNC
    return synced, tx.maxerror / 1000.0


def existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def hottest_sensor() -> tuple[float | None, str | None]:
    try:
        sensors = psutil.sensors_temperatures()
    except (AttributeError, OSError):
        return None, None
    best: tuple[float | None, str | None] = (None, None)
    for chip, readings in sensors.items():
        for reading in readings:
            if reading.current is None or not -40 < reading.current < 150:
                continue  # absent or nonsense sensors read 0, -273 or 255
            if best[0] is None or reading.current > best[0]:
                best = (float(reading.current), f"{chip}/{reading.label or 'temp'}")
    return best


def read_host(state_dir: Path) -> HostStatus:
    load1, load5, _ = os.getloadavg()
    memory = psutil.virtual_memory()
    disk_path = existing_parent(state_dir)
    try:
        disk = psutil.disk_usage(str(disk_path))
        total, free = disk.total, disk.free
    except OSError:
        total = free = None
    temperature, sensor = hottest_sensor()
    synced, max_error = kernel_clock_state()
    return HostStatus(
        cpu_count=psutil.cpu_count() or 1,
        load_1m=load1,
        load_5m=load5,
        memory_total_bytes=memory.total,
        memory_available_bytes=memory.available,
        disk_path=str(disk_path),
        disk_total_bytes=total,
        disk_free_bytes=free,
        temperature_c=temperature,
        temperature_sensor=sensor,
        uptime_s=int(time.time() - psutil.boot_time()),
        clock_synchronized=synced,
        clock_max_error_ms=max_error,
        clock_unix=time.time(),
    )


@register
class HostProbe(Probe):
    name = "host"
    primary_check = "host.clock"

    def deadline(self) -> float:
        return min(5.0, float(self.config.check.probe_deadline))

    async def collect(self) -> HostStatus:
        # Disk and sensor reads can block on a sick filesystem: keep them off the event loop.
        return await self.in_thread(read_host, self.config.state_dir)

    def evaluate(self, status: HostStatus) -> list:
        return checks.evaluate(status)
