"""Network probe: the room's link (interface, address, route) and each target (gateway, MCU).

Per target: DNS resolution when it is a name, ICMP echo (RTT, loss, RFC 3550 jitter, estimated
MOS) and a TCP connect to each configured port (H.323 1720, SIP 5060...), all concurrently and
each with its own deadline, so one dead target costs no more time than a live one.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from icmplib.exceptions import ICMPLibError

from agent.checks import network as checks
from agent.errors import AgentError
from agent.probes import Probe, register
from agent.probes.netinfo import InterfaceStatus, default_route, interface_status
from agent.probes.ping import IcmpDenied, ping
from agent.quality import mean_delta_jitter, mos, r_factor, rfc3550_jitter


@dataclass
class PingStats:
    sent: int
    received: int
    loss_percent: float
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    jitter_rfc3550_ms: float | None  # RFC 3550 §6.4.1 estimator over the RTT sequence
    jitter_mean_delta_ms: float | None  # mean |RTT(i) - RTT(i-1)|
    r_factor: float | None  # simplified E-model, see docs/network.md
    mos: float | None
    method: str
    icmp_error: str | None = None


@dataclass
class TcpResult:
    port: int
    state: str  # "open" | "refused" | "timeout" | "unreachable" | "error"
    connect_ms: float | None = None
    error: str | None = None
    timeout_s: float | None = None  # the deadline that applied (tcp_timeout, or less when the budget was short)


@dataclass
class TargetStatus:
    name: str
    host: str
    address: str | None = None
    dns_ms: float | None = None
    dns_error: str | None = None
    ping: PingStats | None = None
    ping_error: str | None = None  # why no ping statistics (permission, no gateway...)
    tcp: list[TcpResult] = field(default_factory=list)


@dataclass
class NetworkStatus:
    interface: InterfaceStatus | None
    interface_error: str | None
    default_gateway: str | None
    targets: list[TargetStatus]


def ping_stats(sent: int, rtts: list[float], method: str, icmp_error: str | None = None) -> PingStats:
    received = len(rtts)
    loss = 100.0 * (sent - received) / sent if sent else 100.0
    if not rtts:
        return PingStats(sent, 0, loss, None, None, None, None, None, None, None, method, icmp_error)
    avg = sum(rtts) / received
    jitter = rfc3550_jitter(rtts)
    r = r_factor(avg, jitter or 0.0, loss)
    return PingStats(
        sent=sent,
        received=received,
        loss_percent=loss,
        rtt_min_ms=min(rtts),
        rtt_avg_ms=avg,
        rtt_max_ms=max(rtts),
        jitter_rfc3550_ms=jitter,
        jitter_mean_delta_ms=mean_delta_jitter(rtts),
        r_factor=r,
        mos=mos(r),
        method=method,
        icmp_error=icmp_error,
    )


async def tcp_connect(address: str, port: int, timeout: float) -> TcpResult:
    started = time.monotonic()
    limit = round(timeout, 2)
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except asyncio.TimeoutError:
        return TcpResult(port, "timeout", timeout_s=limit)
    except ConnectionRefusedError:
        return TcpResult(port, "refused", round((time.monotonic() - started) * 1000, 2), timeout_s=limit)
    except OSError as exc:
        state = "unreachable" if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else "error"
        return TcpResult(port, state, error=exc.strerror or type(exc).__name__, timeout_s=limit)
    elapsed = (time.monotonic() - started) * 1000
    writer.close()
    try:
        # Bounded by what is left of the connect's own deadline: closing must not overrun it.
        await asyncio.wait_for(writer.wait_closed(), max(0.05, min(1.0, timeout - elapsed / 1000)))
    except (OSError, asyncio.TimeoutError):
        pass
    return TcpResult(port, "open", round(elapsed, 2), timeout_s=limit)


def fit_ping(count: int, interval: float, timeout: float, available: float) -> tuple[int, float]:
    """(count, timeout) of a ping run that ends within ``available`` seconds.

    The reply timeout is kept when it fits (a slow reply is better measured than cut) and the
    count shrinks instead, so the loss figure stays honest: every request sent gets its full wait.
    """
    if available >= (count - 1) * interval + timeout:
        return count, timeout
    timeout = min(timeout, available)
    if timeout <= 0:
        return 0, 0.0
    fits = int((available - timeout) / interval + 1e-9) + 1 if interval > 0 else count
    return max(1, min(count, fits)), timeout


async def resolve(host: str, timeout: float) -> str:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM), timeout
    )
    return infos[0][4][0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False


@register
class NetworkProbe(Probe):
    name = "network"
    primary_check = "network.link"

    @property
    def section(self) -> Any:
        return self.config.network

    def deadline(self) -> float:
        # The probe ends on its own at the slowest of: a full ping run, DNS then TCP.
        net = self.section
        ping_run = (net.ping_count - 1) * net.ping_interval + net.ping_timeout
        tcp = max((t.tcp_timeout for t in net.target if t.tcp_ports), default=0.0)  # only targets that connect
        return min(float(self.config.check.budget), max(ping_run, tcp) + net.dns_timeout + 1.0)

    # Kept free at the end of the probe's deadline for evaluation and the report.
    SAFETY_MARGIN = 0.3
    _stop_at = float("inf")  # set by collect()

    def _left(self) -> float:
        return self._stop_at - time.monotonic()

    async def collect(self) -> NetworkStatus:
        net = self.section
        # Every DNS lookup, ping run and TCP connect is cut to end before the probe's deadline.
        # Normally each fits on its own; when the checklist budget is shorter (a short
        # [check] budget, a long tcp_timeout), a slow or dead target must cost only its own
        # items, not every network result, as a runner timeout of the whole probe would.
        self._stop_at = time.monotonic() + self.deadline() - self.SAFETY_MARGIN
        route = default_route()
        gateway = route[1] if route and route[1] else None
        iface_name = net.interface if net.interface != "auto" else (route[0] if route else None)
        interface, interface_error = None, None
        if iface_name is None:
            interface_error = "no default route, so the interface cannot be chosen automatically"
        else:
            interface = interface_status(iface_name)
        targets = await asyncio.gather(*(self._target(t, gateway) for t in net.target))
        return NetworkStatus(interface, interface_error, gateway, list(targets))

    async def _target(self, target: Any, gateway: str | None) -> TargetStatus:
        net = self.section
        status = TargetStatus(name=target.name, host=target.host)
        host = gateway if target.host == "auto" else target.host
        if host is None:
            status.dns_error = "no default gateway"
            return status
        if _is_ip(host):
            status.address = host
        else:
            started = time.monotonic()
            dns_timeout = max(0.05, min(net.dns_timeout, self._left()))
            try:
                status.address = await resolve(host, dns_timeout)
                status.dns_ms = round((time.monotonic() - started) * 1000, 2)
            except asyncio.TimeoutError:
                status.dns_error = f"no DNS answer within {dns_timeout:.1f} s"
                return status
            except OSError as exc:
                status.dns_error = str(exc.strerror or exc)
                return status
        tcp_timeout = max(0.05, min(float(target.tcp_timeout), self._left()))
        jobs = [tcp_connect(status.address, port, tcp_timeout) for port in target.tcp_ports]
        if target.ping:
            jobs.insert(0, self._ping(status.address))
        results = await asyncio.gather(*jobs)
        if target.ping:
            first = results[0]
            if isinstance(first, PingStats):
                status.ping = first
            else:
                status.ping_error = first
            results = results[1:]
        status.tcp = list(results)
        return status

    async def _ping(self, address: str) -> PingStats | str:
        net = self.section
        count, timeout = fit_ping(net.ping_count, float(net.ping_interval), float(net.ping_timeout), self._left())
        if count == 0:
            return "no time left in the checklist budget"
        try:
            run = await ping(address, count=count, interval=net.ping_interval, timeout=timeout)
        except IcmpDenied:
            return "icmp-denied"
        except (OSError, AgentError, ICMPLibError) as exc:  # a ping failure is this target's item, not the probe's
            return f"{type(exc).__name__}: {exc}"
        return ping_stats(run.sent, run.rtts_ms, run.method, run.unreachable)

    def evaluate(self, status: NetworkStatus) -> list:
        return checks.evaluate(status, self.section)
