#!/usr/bin/env python3
"""TCP listeners that complete the handshake and close (stdlib only): an "open" H.323/SIP port.

Usage (inside a namespace): tcp_listener.py 10.99.2.2:1720 [ADDR:PORT ...]
Prints "ready" once every port listens; stops on SIGTERM.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    selector = selectors.DefaultSelector()
    for spec in argv:
        host, _, port = spec.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        sock.listen(64)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    accepted = 0
    while not stopping:
        for key, _ in selector.select(0.5):
            try:
                conn, _ = key.fileobj.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.close()  # the agent only checks that the handshake completes
            accepted += 1
    print(f"accepted {accepted}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
