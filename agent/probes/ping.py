"""ICMP echo with a fixed send schedule, built on icmplib's sockets.

icmplib's own ``async_ping`` waits for each reply (or its timeout) before sending the next
request, so a dead target costs count x (interval + timeout).  Here requests leave on a fixed
schedule like ping(8) and replies are collected concurrently, so a run always ends at
``(count - 1) x interval + timeout``: the network probe's deadline can be computed, not hoped for.
RTTs are measured with ``time.monotonic()`` so that an NTP step cannot corrupt a sample.

Socket choice: unprivileged ICMP datagram sockets when ``net.ipv4.ping_group_range`` admits
our group, raw sockets when we hold CAP_NET_RAW, otherwise a PermissionDenied that says what
to grant (Debian's default range "1 0" disables unprivileged ICMP).
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
from dataclasses import dataclass, field

from icmplib import ICMPRequest
from icmplib.exceptions import ICMPLibError, SocketPermissionError, TimeoutExceeded
from icmplib.sockets import AsyncSocket, ICMPv4Socket
from icmplib.utils import unique_identifier

from agent.errors import PermissionDenied
from agent.i18n import Text, register

register(
    {
        "ping.denied": (
            "không được phép gửi gói ICMP (ping): nhóm của agent không nằm trong net.ipv4.ping_group_range "
            "và tiến trình không có quyền CAP_NET_RAW",
            "not allowed to send ICMP (ping): the agent's group is outside net.ipv4.ping_group_range "
            "and the process lacks CAP_NET_RAW",
        ),
        "ping.denied.remedy": (
            "Cài gói hntht-agent đầy đủ (có tệp /usr/lib/sysctl.d/60-hntht-agent.conf) hoặc chạy lệnh: "
            "sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"; hoặc cấp AmbientCapabilities=CAP_NET_RAW cho dịch vụ.",
            "Install the full hntht-agent package (it ships /usr/lib/sysctl.d/60-hntht-agent.conf) or run: "
            "sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"; or grant the service AmbientCapabilities=CAP_NET_RAW.",
        ),
    }
)

PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"


@dataclass
class PingRun:
    sent: int = 0
    received: int = 0
    rtts_ms: list[float] = field(default_factory=list)  # in arrival order
    method: str = ""  # "unprivileged" (datagram socket) or "raw"
    unreachable: str | None = None  # an ICMP error seen instead of replies (e.g. host unreachable)


class IcmpDenied(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(Text("ping.denied").render("en"))
        self.remedy = Text("ping.denied.remedy")
        self.text = Text("ping.denied")


def _can_open(kind: int) -> bool:
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
        return True
    except PermissionError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            return False
        raise


def icmp_method() -> str:
    """'unprivileged' or 'raw'; raises IcmpDenied when neither is allowed.

    Decided afresh for every run (opening a socket costs microseconds): the service runs for
    months while the sysctl may be changed under it.  A method remembered for the life of the
    process went stale when the range was narrowed: the socket then failed with icmplib's
    SocketPermissionError, which escaped as an internal error of the whole network probe.
    """
    if _can_open(socket.SOCK_DGRAM):
        return "unprivileged"
    if _can_open(socket.SOCK_RAW):
        return "raw"
    raise IcmpDenied()


def ping_group_range() -> str | None:
    try:
        with open(PING_GROUP_RANGE) as fh:
            return " ".join(fh.read().split())
    except OSError:
        return None


async def ping(address: str, *, count: int, interval: float, timeout: float) -> PingRun:
    """Send ``count`` echo requests ``interval`` apart; collect replies until ``timeout`` after the last."""
    method = icmp_method()
    privileged = method == "raw"
    run = PingRun(method=method)
    ident = unique_identifier()
    sent_at: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    try:
        icmp_socket = ICMPv4Socket(None, privileged)
    except SocketPermissionError:  # the sysctl or capability changed since icmp_method()
        raise IcmpDenied() from None
    with AsyncSocket(icmp_socket) as sock:

        first = time.monotonic()

        async def sender() -> None:
            for seq in range(count):
                if seq:
                    # Absolute schedule: sleeping `interval` after each send drifts by the
                    # send and wake-up cost (30 ms over 100 pings at 10 ms on an idle machine),
                    # which would eat into the last requests' reply timeout.
                    await asyncio.sleep(max(0.0, first + seq * interval - time.monotonic()))
                try:
                    sock.send(ICMPRequest(destination=address, id=ident, sequence=seq))
                except ICMPLibError as exc:  # e.g. network unreachable at send time
                    run.unreachable = type(exc).__name__
                    continue
                sent_at[seq] = time.monotonic()
                run.sent += 1

        send_task = loop.create_task(sender())
        end = first + (count - 1) * interval + timeout
        seen: set[int] = set()
        try:
            while len(seen) < count:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    reply = await sock.receive(None, remaining)
                except TimeoutExceeded:
                    break
                except ICMPLibError:
                    # A receive error raised before any await would otherwise spin here
                    # without yielding, starving every other probe until the run ends.
                    await asyncio.sleep(0.01)
                    continue
                arrived = time.monotonic()
                # Raw sockets see every ICMP packet of the host; datagram sockets only ours,
                # with the id rewritten by the kernel, so match the id only on raw sockets.
                if privileged and reply.id != ident:
                    continue
                if reply.type != 0:  # not an echo reply: destination unreachable, time exceeded...
                    if reply.sequence in sent_at:
                        run.unreachable = f"ICMP type {reply.type} code {reply.code}"
                    continue
                seq = reply.sequence
                if seq in seen or seq not in sent_at:
                    continue
                seen.add(seq)
                run.rtts_ms.append(max(0.0, (arrived - sent_at[seq]) * 1000.0))
        finally:
            send_task.cancel()
            try:
                await send_task
            except asyncio.CancelledError:
                pass
    run.received = len(run.rtts_ms)
    return run


def in_ping_group() -> bool:
    """Whether our group id falls inside net.ipv4.ping_group_range (informational)."""
    text = ping_group_range()
    if not text:
        return False
    lo, hi = (int(x) for x in text.split()[:2])
    return any(lo <= gid <= hi for gid in {os.getgid(), *os.getgroups()})
