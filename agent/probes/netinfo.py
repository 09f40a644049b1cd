"""Reading the mini-PC's own network state from the kernel: interface, address, default route."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from pathlib import Path

import psutil

SYS_NET = Path("/sys/class/net")
PROC_ROUTE = Path("/proc/net/route")


@dataclass
class InterfaceStatus:
    name: str
    exists: bool
    operstate: str | None = None  # "up", "down", "unknown" (virtual links), ...
    carrier: bool | None = None
    speed_mbps: int | None = None
    duplex: str | None = None
    mac: str | None = None
    ipv4: str | None = None
    netmask: str | None = None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # e.g. EINVAL reading carrier/speed of a down or virtual link
        return None


def default_route(route_file: Path = PROC_ROUTE) -> tuple[str, str] | None:
    """(interface, gateway) of the IPv4 default route with the lowest metric, from the kernel table."""
    best: tuple[int, str, str] | None = None
    try:
        lines = route_file.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, gateway, flags, metric, mask = (
            fields[0], fields[1], fields[2], int(fields[3], 16), int(fields[6]), fields[7])
        # RTF_UP (0x1) and RTF_GATEWAY (0x2); destination and mask 0 = default route.
        if destination != "00000000" or mask != "00000000" or not flags & 0x1:
            continue
        gw = socket.inet_ntoa(struct.pack("<I", int(gateway, 16))) if flags & 0x2 else ""
        if best is None or metric < best[0]:
            best = (metric, iface, gw)
    return (best[1], best[2]) if best else None


def interface_status(name: str) -> InterfaceStatus:
    base = SYS_NET / name
    if not base.exists():
        return InterfaceStatus(name=name, exists=False)
    status = InterfaceStatus(name=name, exists=True)
    status.operstate = _read(base / "operstate")
    carrier = _read(base / "carrier")
    status.carrier = None if carrier is None else carrier == "1"
    speed = _read(base / "speed")
    if speed is not None and speed.lstrip("-").isdigit() and int(speed) > 0:
        status.speed_mbps = int(speed)
    duplex = _read(base / "duplex")
    status.duplex = duplex if duplex in ("full", "half") else None
    for addr in psutil.net_if_addrs().get(name, []):
        if addr.family == socket.AF_INET and status.ipv4 is None:
            status.ipv4, status.netmask = addr.address, addr.netmask
        elif addr.family == psutil.AF_LINK and addr.address:
            status.mac = addr.address
    return status
