"""Power probe: reads the room's UPS through the driver named in [ups] driver.

The driver (and its serial port / TCP session) lives as long as the probe: the daemon keeps the
probe between polls, so a Megatec unit is not re-opened (and its modem lines not re-toggled) every
poll; ``close()`` releases it.  The probe also remembers when it first saw the UPS on battery, so
``seconds_on_battery`` is known across polls even for protocols that do not report it.
"""

from __future__ import annotations

import time
from typing import Any

from agent.checks import power as checks
from agent.i18n import Text, register as register_text
from agent.model import CheckResult, Status
from agent.probes import Probe, error_result, register
from agent.ups.base import UpsDriver, get_driver
from agent.ups.model import CodecPowerEvidence, UpsStatus

register_text(
    {
        "power.not_configured": (
            "Chưa khai báo bộ lưu điện (UPS) trong tệp cấu hình ([ups] driver = \"none\")",
            "No UPS configured ([ups] driver = \"none\")",
        ),
        "power.reason.before_first_poll": (
            "bộ lưu điện (UPS) đã chạy bằng pin từ trước lần đọc đầu tiên của agent",
            "on battery since before the agent's first poll",
        ),
        "power.not_configured.remedy": (
            "Mỗi điểm cầu phải có nguồn điện dự phòng (Điều 13 khoản 6): khai báo [ups] driver (megatec, snmp hoặc nut).",
            "Every room must have backup power (Art. 13(6)): set [ups] driver (megatec, snmp or nut).",
        ),
    }
)


@register
class UpsProbe(Probe):
    name = "power"
    primary_check = "power.ups_reachable"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._driver: UpsDriver | None = None
        self._on_battery_since: float | None = None  # monotonic time of the first on-battery poll
        # Fed by the daemon (codec reachable during a self-test or mains loss); None for `check`.
        self.evidence: CodecPowerEvidence | None = None
        self.last_status: UpsStatus | None = None

    @property
    def section(self) -> Any:
        return self.config.ups

    def enabled(self) -> bool:
        return self.section.driver != "none"

    def disabled_results(self) -> list[CheckResult]:
        return [CheckResult("power.ups_reachable", Status.SKIP, Text("power.not_configured"),
                            remedy=Text("power.not_configured.remedy"), clause="13.6")]

    def driver(self) -> UpsDriver:
        if self._driver is None:
            self._driver = get_driver(self.section.driver)(self.section)
            self._driver.budget = float(self.config.check.probe_deadline)
        return self._driver

    def deadline(self) -> float:
        # The driver's own timeouts end a read first; the runner's deadline is the backstop.
        return min(float(self.config.check.probe_deadline), self.driver().deadline() + 1.0)

    async def collect(self) -> UpsStatus:
        status = await self.driver().read()
        self._track_battery(status, time.monotonic())
        self.last_status = status
        return status

    def _track_battery(self, status: UpsStatus, now: float) -> None:
        if status.on_battery:
            if self._on_battery_since is None:
                # It went to battery some time before this first sighting: unknown, not 0.
                self._on_battery_since = now
                status.mark_unknown("seconds_on_battery", Text("power.reason.before_first_poll"))
            elif status.seconds_on_battery is None:
                # A lower bound: time since the first poll that saw it on battery.
                status.seconds_on_battery = int(now - self._on_battery_since)
                status.unknown.pop("seconds_on_battery", None)
        else:
            self._on_battery_since = None
            if status.on_battery is False and status.seconds_on_battery is None:
                status.seconds_on_battery = 0
                status.unknown.pop("seconds_on_battery", None)

    def evaluate(self, status: UpsStatus) -> list[CheckResult]:
        return checks.evaluate(status, self.section.expect, self.evidence)

    def failed(self, error: BaseException) -> list[CheckResult]:
        return [error_result(self.primary_check, error, what="UPS", clause="13.6")]

    async def close(self) -> None:
        if self._driver is not None:
            driver, self._driver = self._driver, None
            await driver.aclose()
