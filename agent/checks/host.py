"""Host checks: host.clock, host.disk, host.memory, host.load, host.temperature."""

from __future__ import annotations

from typing import Any

from agent.i18n import Text, register
from agent.model import CheckResult, Status

MIB = 1024 * 1024
DISK_FAIL_BYTES = 200 * MIB  # below this the outbox cannot keep a day of records
DISK_WARN_BYTES = 1024 * MIB
DISK_FAIL_RATIO, DISK_WARN_RATIO = 0.02, 0.10
MEM_FAIL_RATIO, MEM_WARN_RATIO = 0.05, 0.15
LOAD_WARN_PER_CPU, LOAD_FAIL_PER_CPU = 2.0, 4.0
TEMP_WARN_C, TEMP_FAIL_C = 75.0, 85.0

register(
    {
        "host.clock.ok": ("Đồng hồ máy agent đã đồng bộ NTP (sai số tối đa {err} ms)", "The agent clock is NTP-synchronised (max error {err} ms)"),
        "host.clock.unsync": ("Đồng hồ máy agent CHƯA đồng bộ thời gian (NTP)", "The agent clock is NOT synchronised (NTP)"),
        "host.clock.unknown": ("Không đọc được trạng thái đồng bộ thời gian của máy agent", "Cannot read the agent clock's synchronisation state"),
        "host.clock.remedy": (
            "Giờ sai làm báo cáo gửi về Sở TTTT vô giá trị: bật đồng bộ thời gian (timedatectl set-ntp true) và kiểm tra máy chủ NTP trong mạng truyền số liệu chuyên dùng.",
            "A wrong clock makes every report worthless: enable time sync (timedatectl set-ntp true) and check the NTP server on the dedicated network.",
        ),
        "host.disk.ok": ("Dung lượng trống tại {path}: {free} MiB ({pct}%)", "Free space at {path}: {free} MiB ({pct}%)"),
        "host.disk.low": ("Sắp hết dung lượng đĩa tại {path}: còn {free} MiB ({pct}%)", "Disk almost full at {path}: {free} MiB free ({pct}%)"),
        "host.disk.unknown": ("Không đọc được dung lượng đĩa tại {path}", "Cannot read disk usage at {path}"),
        "host.disk.remedy": (
            "Giải phóng dung lượng đĩa của máy agent (xóa tệp không cần thiết, nhật ký cũ: journalctl --vacuum-size=100M).",
            "Free disk space on the agent PC (remove unneeded files, old logs: journalctl --vacuum-size=100M).",
        ),
        "host.memory.ok": ("Bộ nhớ còn trống: {avail} MiB ({pct}%)", "Memory available: {avail} MiB ({pct}%)"),
        "host.memory.low": ("Máy agent thiếu bộ nhớ: còn {avail} MiB ({pct}%)", "The agent PC is low on memory: {avail} MiB ({pct}%)"),
        "host.memory.remedy": ("Tắt các chương trình không cần thiết trên máy agent, hoặc khởi động lại máy ngoài giờ họp.",
                               "Close unneeded programs on the agent PC, or restart it outside meeting hours."),
        "host.load.ok": ("Tải CPU: {load} (trên {cpus} nhân)", "CPU load: {load} (on {cpus} cores)"),
        "host.load.high": ("Máy agent quá tải: tải CPU {load} trên {cpus} nhân", "The agent PC is overloaded: load {load} on {cpus} cores"),
        "host.load.remedy": ("Kiểm tra chương trình nào đang chiếm CPU (lệnh top) và tắt nếu không cần.",
                             "Find what uses the CPU (top) and stop it if not needed."),
        "host.temp.ok": ("Nhiệt độ cao nhất ({sensor}): {temp} °C", "Highest temperature ({sensor}): {temp} °C"),
        "host.temp.high": ("Máy agent quá nóng: {temp} °C ({sensor})", "The agent PC is too hot: {temp} °C ({sensor})"),
        "host.temp.none": ("Máy không có cảm biến nhiệt độ", "No temperature sensor exposed"),
        "host.temp.remedy": ("Đặt máy agent nơi thoáng khí, vệ sinh quạt; kiểm tra điều hòa phòng máy.",
                             "Give the agent PC air, clean its fan; check the room's air conditioning."),
    }
)


def _mib(value: int) -> int:
    return int(value / MIB)


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def clock_result(s: Any) -> CheckResult:
    if s.clock_synchronized is None:
        return CheckResult("host.clock", Status.WARN, Text("host.clock.unknown"), remedy=Text("host.clock.remedy"), clause="agent")
    if s.clock_synchronized:
        return CheckResult("host.clock", Status.PASS, Text("host.clock.ok", err=s.clock_max_error_ms), observed="synchronised",
                           expected="synchronised", clause="agent")
    return CheckResult("host.clock", Status.FAIL, Text("host.clock.unsync"), observed="unsynchronised", expected="synchronised",
                       remedy=Text("host.clock.remedy"), clause="agent")


def disk_result(s: Any) -> CheckResult:
    if s.disk_free_bytes is None or not s.disk_total_bytes:
        return CheckResult("host.disk", Status.ERROR, Text("host.disk.unknown", path=s.disk_path), remedy=Text("host.disk.remedy"), clause="agent")
    free, ratio = s.disk_free_bytes, s.disk_free_bytes / s.disk_total_bytes
    params = {"path": s.disk_path, "free": _mib(free), "pct": _pct(free, s.disk_total_bytes)}
    if free < DISK_FAIL_BYTES or ratio < DISK_FAIL_RATIO:
        status = Status.FAIL
    elif free < DISK_WARN_BYTES or ratio < DISK_WARN_RATIO:
        status = Status.WARN
    else:
        status = Status.PASS
    key = "host.disk.ok" if status is Status.PASS else "host.disk.low"
    return CheckResult("host.disk", status, Text(key, **params), observed=_mib(free), expected=f">= {_mib(DISK_WARN_BYTES)} MiB",
                       remedy=Text("host.disk.remedy"), clause="agent")


def memory_result(s: Any) -> CheckResult:
    ratio = s.memory_available_bytes / s.memory_total_bytes if s.memory_total_bytes else 0.0
    params = {"avail": _mib(s.memory_available_bytes), "pct": _pct(s.memory_available_bytes, s.memory_total_bytes)}
    status = Status.FAIL if ratio < MEM_FAIL_RATIO else Status.WARN if ratio < MEM_WARN_RATIO else Status.PASS
    key = "host.memory.ok" if status is Status.PASS else "host.memory.low"
    return CheckResult("host.memory", status, Text(key, **params), observed=params["pct"], expected=f">= {MEM_WARN_RATIO * 100:g}%",
                       remedy=Text("host.memory.remedy"), clause="agent")


def load_result(s: Any) -> CheckResult:
    per_cpu = s.load_5m / max(1, s.cpu_count)
    status = Status.FAIL if per_cpu > LOAD_FAIL_PER_CPU else Status.WARN if per_cpu > LOAD_WARN_PER_CPU else Status.PASS
    key = "host.load.ok" if status is Status.PASS else "host.load.high"
    return CheckResult("host.load", status, Text(key, load=round(s.load_5m, 2), cpus=s.cpu_count), observed=round(s.load_5m, 2),
                       expected=f"<= {LOAD_WARN_PER_CPU * s.cpu_count:g}", remedy=Text("host.load.remedy"), clause="agent")


def temperature_result(s: Any) -> CheckResult:
    if s.temperature_c is None:
        return CheckResult("host.temperature", Status.SKIP, Text("host.temp.none"), clause="agent")
    t = s.temperature_c
    status = Status.FAIL if t >= TEMP_FAIL_C else Status.WARN if t >= TEMP_WARN_C else Status.PASS
    key = "host.temp.ok" if status is Status.PASS else "host.temp.high"
    return CheckResult("host.temperature", status, Text(key, temp=round(t, 1), sensor=s.temperature_sensor), observed=round(t, 1),
                       expected=f"< {TEMP_WARN_C:g}", remedy=Text("host.temp.remedy"), clause="agent")


def evaluate(status: Any) -> list[CheckResult]:
    return [clock_result(status), disk_result(status), memory_result(status), load_result(status), temperature_result(status)]
