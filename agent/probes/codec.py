"""Codec probe: reads the room's VCS terminal through the driver named in [codec] vendor.

The driver is blocking (paramiko, requests), so it runs in :meth:`Probe.in_thread`.  The probe keeps
one driver, hence one device session, between polls (the daemon keeps probe instances alive);
:meth:`close` releases it.  A poll that fails or is cut by the deadline throws the session away (its
thread may still be stuck in a read), so the next poll starts clean.

Errors map to results: unreachable → codec.reachable fail; refused login or changed key →
codec.login fail; an unpinned key → codec.login error with the `codec trust` remedy; garbage
→ codec.reachable error.  Never a traceback.
"""

from __future__ import annotations

import threading
from typing import Any

from agent.checks import codec as checks
from agent.errors import (CertificateUntrusted, DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProbeTimeout,
                          ProtocolError)
from agent.i18n import Text, register as register_text
from agent.model import CheckResult, Status
from agent.probes import Probe, error_result, register

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

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._driver: Any = None

    def enabled(self) -> bool:
        return self.config.codec.vendor != "none"

    def disabled_results(self) -> list[CheckResult]:
        return [CheckResult("codec.reachable", Status.SKIP, Text("codec.not_configured"),
                            remedy=Text("codec.not_configured.remedy"))]

    def _get_driver(self) -> Any:
        if self._driver is None:
            from agent.vendors import driver_for

            self._driver = driver_for(self.config)
        return self._driver

    async def collect(self) -> Any:
        driver = self._get_driver()
        try:
            return await self.in_thread(driver.poll)
        except BaseException:
            # The worker thread may still hold the session (deadline): never reuse it.
            self._driver = None
            _close_later(driver)
            raise

    def evaluate(self, status: Any) -> list[CheckResult]:
        codec = self.config.codec
        return checks.evaluate(status, codec.expect, host=codec.host, user=codec.username)

    def failed(self, error: BaseException) -> list[CheckResult]:
        host = self.config.codec.host
        from agent.vendors.base import HostKeyUnknown

        if isinstance(error, DeviceUnreachable):
            codec = self.config.codec
            return checks.unreachable(host, error, transport=codec.effective_transport(), port=codec.effective_port())
        if isinstance(error, HostKeyMismatch):
            return checks.login_failed(host, error, "hostkey")
        if isinstance(error, CertificateUntrusted):
            return checks.login_failed(host, error, "ca")
        if isinstance(error, HostKeyUnknown):
            return checks.login_failed(host, error, "untrusted")
        if isinstance(error, DeviceAuthError):
            return checks.login_failed(host, error, "fail")
        if isinstance(error, ProtocolError):
            return checks.protocol_error(host, error)
        if isinstance(error, ProbeTimeout):
            return [error_result("codec.reachable", error, what="codec")]
        return [error_result("codec.reachable", error, what="codec")]

    async def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            await self.in_thread(driver.close)


def _close_later(driver: Any) -> None:
    """Close an abandoned driver without waiting for it (its own timeouts bound the close)."""
    threading.Thread(target=driver.close, name="codec-close", daemon=True).start()
