#!/usr/bin/env python3
"""Userspace ICMP echo responder with per-address delay, jitter and loss (stdlib only).

Why: ``tc netem`` is not available on the CI kernels, so delay and jitter come from a process
that answers echo requests itself, in a network namespace where the kernel's own replies are
switched off (``sysctl net.ipv4.icmp_echo_ignore_all=1``; the sysctl is per namespace).

One raw socket is bound to each served address.  A raw socket bound to a local address only
receives packets whose destination is that address, and its replies leave from it, so one
process can serve a fast MCU and a slow one side by side.  Replies keep the request's id,
sequence and payload, so both raw and datagram (unprivileged) ICMP sockets on the agent match
them.  Replies are scheduled on a heap and sent from the one loop, without a thread per packet.

Usage (as root, inside the namespace):
    icmp_responder.py --serve 10.99.2.2 --serve 10.99.2.3,delay=40,jitter=15 [--seed 7]
``delay``/``jitter`` in ms (uniform in delay +/- jitter), ``loss`` a probability of not answering.
With ``--seed`` the delays of each address are reproducible: address number i (0-based, in
the order given) draws from ``random.Random(seed + i)``, one ``uniform(-jitter, jitter)`` per
answered request, in arrival order.  Prints "ready" once every socket is bound.
"""

from __future__ import annotations

import argparse
import heapq
import random
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass

ECHO_REQUEST, ECHO_REPLY = 8, 0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


@dataclass
class Served:
    address: str
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    rng: random.Random | None = None
    sock: socket.socket | None = None
    answered: int = 0


def parse_serve(text: str) -> Served:
    address, *options = text.split(",")
    socket.inet_aton(address)  # raises on a bad address
    served = Served(address)
    for option in options:
        key, _, value = option.partition("=")
        if key not in ("delay", "jitter", "loss"):
            raise argparse.ArgumentTypeError(f"unknown option {key!r} in {text!r}")
        setattr(served, {"delay": "delay_ms", "jitter": "jitter_ms", "loss": "loss"}[key], float(value))
    return served


def echo_reply(icmp: bytes) -> bytes:
    reply = bytes([ECHO_REPLY, 0]) + b"\0\0" + icmp[4:]  # same id, sequence and payload
    return reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", type=parse_serve, action="append", required=True,
                        metavar="ADDR[,delay=MS][,jitter=MS][,loss=P]")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    selector = selectors.DefaultSelector()
    for index, served in enumerate(args.serve):
        served.rng = random.Random(None if args.seed is None else args.seed + index)
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        sock.bind((served.address, 0))
        sock.setblocking(False)
        served.sock = sock
        selector.register(sock, selectors.EVENT_READ, served)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)

    pending: list[tuple[float, int, socket.socket, bytes, str]] = []
    counter = 0
    while not stopping:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, sock, reply, destination = heapq.heappop(pending)
            try:
                sock.sendto(reply, (destination, 0))
            except OSError as exc:  # e.g. the route went away mid-test: keep serving
                print(f"send to {destination} failed: {exc}", file=sys.stderr, flush=True)
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else 0.5
        for key, _ in selector.select(timeout):
            served: Served = key.data
            try:
                packet, (source, _) = served.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                continue
            arrived = time.monotonic()
            icmp = packet[(packet[0] & 0x0F) * 4:]  # strip the IPv4 header
            if len(icmp) < 8 or icmp[0] != ECHO_REQUEST:
                continue
            if served.loss and served.rng.random() < served.loss:
                continue
            offset = served.rng.uniform(-served.jitter_ms, served.jitter_ms) if served.jitter_ms else 0.0
            delay = max(0.0, served.delay_ms + offset) / 1000.0
            counter += 1
            served.answered += 1
            heapq.heappush(pending, (arrived + delay, counter, served.sock, echo_reply(icmp), source))
    for served in args.serve:
        print(f"{served.address}: answered {served.answered}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
