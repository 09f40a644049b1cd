"""Host checks: table-driven, boundaries included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.checks import host
from agent.model import Status
from agent.probes.host import HostStatus, read_host

GIB = 1024**3
MIB = 1024**2


def status(**over) -> HostStatus:
    base = HostStatus(
        cpu_count=2, load_1m=0.5, load_5m=0.5, memory_total_bytes=8 * GIB, memory_available_bytes=4 * GIB,
        disk_path="/var/lib/hntht-agent", disk_total_bytes=100 * GIB, disk_free_bytes=50 * GIB,
        temperature_c=45.0, temperature_sensor="coretemp/Package id 0", uptime_s=3600,
        clock_synchronized=True, clock_max_error_ms=12.5, clock_unix=0.0,
    )
    return replace(base, **over)


def by_id(results):
    return {r.id: r for r in results}


@pytest.mark.parametrize(
    "synced, expected",
    [(True, Status.PASS), (False, Status.FAIL), (None, Status.WARN)],
)
def test_clock(synced, expected):
    result = by_id(host.evaluate(status(clock_synchronized=synced)))["host.clock"]
    assert result.status is expected
    if expected is not Status.PASS:
        assert result.remedy is not None and "NTP" in result.remedy.render("vi")


@pytest.mark.parametrize(
    "free, total, expected",
    [
        (50 * GIB, 100 * GIB, Status.PASS),
        (host.DISK_WARN_BYTES, 5 * GIB, Status.PASS),  # exactly 1 GiB and 20 %: not below the warn line
        (host.DISK_WARN_BYTES - 1, 5 * GIB, Status.WARN),
        (9 * GIB, 100 * GIB, Status.WARN),  # 9 % free
        (host.DISK_FAIL_BYTES, 1 * GIB, Status.WARN),  # 200 MiB of 1 GiB: ~20 %, not below 200 MiB
        (host.DISK_FAIL_BYTES - 1, 100 * GIB, Status.FAIL),
        (int(1.9 * GIB), 100 * GIB, Status.FAIL),  # 1.9 % free
        (None, None, Status.ERROR),
    ],
)
def test_disk(free, total, expected):
    assert by_id(host.evaluate(status(disk_free_bytes=free, disk_total_bytes=total)))["host.disk"].status is expected


@pytest.mark.parametrize(
    "available, expected",
    [(500, Status.PASS), (150, Status.PASS), (149, Status.WARN), (50, Status.WARN), (49, Status.FAIL)],
)
def test_memory(available, expected):
    # 1000 MiB total so that the 15 % and 5 % lines fall on whole numbers
    s = status(memory_total_bytes=1000 * MIB, memory_available_bytes=available * MIB)
    assert by_id(host.evaluate(s))["host.memory"].status is expected


@pytest.mark.parametrize(
    "load, expected",
    [(0.1, Status.PASS), (4.0, Status.PASS), (4.01, Status.WARN), (8.0, Status.WARN), (8.01, Status.FAIL)],
)
def test_load_per_cpu(load, expected):
    assert by_id(host.evaluate(status(load_5m=load)))["host.load"].status is expected


@pytest.mark.parametrize(
    "temp, expected",
    [(None, Status.SKIP), (74.9, Status.PASS), (75.0, Status.WARN), (84.9, Status.WARN), (85.0, Status.FAIL)],
)
def test_temperature(temp, expected):
    assert by_id(host.evaluate(status(temperature_c=temp)))["host.temperature"].status is expected


def test_every_host_check_id_is_present():
    assert set(by_id(host.evaluate(status()))) == {"host.clock", "host.disk", "host.memory", "host.load", "host.temperature"}


def test_read_host_on_this_machine(tmp_path):
    # The real kernel interfaces: values are plausible, the state dir need not exist yet.
    s = read_host(tmp_path / "not" / "yet")
    assert s.disk_path == str(tmp_path)
    assert s.disk_total_bytes and s.disk_free_bytes is not None
    assert s.memory_total_bytes > s.memory_available_bytes > 0
    assert s.uptime_s > 0
    assert s.clock_synchronized in (True, False, None)
