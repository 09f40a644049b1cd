"""Power probe: reads the room's UPS through the driver named in [ups] driver."""

from __future__ import annotations

from typing import Any

from agent.i18n import Text, register as register_text
from agent.model import CheckResult, Status
from agent.probes import Probe, register

register_text(
    {
        "power.not_configured": (
            "Chưa khai báo bộ lưu điện (UPS) trong tệp cấu hình ([ups] driver = \"none\")",
            "No UPS configured ([ups] driver = \"none\")",
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

    def enabled(self) -> bool:
        return self.config.ups.driver != "none"

    def disabled_results(self) -> list[CheckResult]:
        return [CheckResult("power.ups_reachable", Status.SKIP, Text("power.not_configured"),
                            remedy=Text("power.not_configured.remedy"), clause="13.6")]

    async def collect(self) -> Any:
        raise NotImplementedError("UPS drivers are added by the power issue")

    def evaluate(self, status: Any) -> list[CheckResult]:
        raise NotImplementedError
