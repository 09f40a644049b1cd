"""Codec probe: reads the room's VCS terminal through the driver named in [codec] vendor."""

from __future__ import annotations

from typing import Any

from agent.i18n import Text, register as register_text
from agent.model import CheckResult, Status
from agent.probes import Probe, register

register_text(
    {
        "codec.not_configured": (
            "Chưa khai báo thiết bị đầu cuối (VCS) trong tệp cấu hình ([codec] vendor = \"none\")",
            "No VCS terminal configured ([codec] vendor = \"none\")",
        ),
        "codec.not_configured.remedy": (
            "Khai báo [codec] vendor, host và tài khoản đọc trạng thái trong /etc/hntht-agent/agent.toml.",
            "Set [codec] vendor, host and a read-only account in /etc/hntht-agent/agent.toml.",
        ),
    }
)


@register
class CodecProbe(Probe):
    name = "codec"
    primary_check = "codec.reachable"

    def enabled(self) -> bool:
        return self.config.codec.vendor != "none"

    def disabled_results(self) -> list[CheckResult]:
        return [CheckResult("codec.reachable", Status.SKIP, Text("codec.not_configured"),
                            remedy=Text("codec.not_configured.remedy"))]

    async def collect(self) -> Any:
        raise NotImplementedError("codec drivers are added by the codec issue")

    def evaluate(self, status: Any) -> list[CheckResult]:
        raise NotImplementedError
