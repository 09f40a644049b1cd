"""Demo network: the gateway is loopback, the "MCU" is another loopback address with listeners on
the call-signalling ports (H.323 1720, SIP 5060), so the network items pass and the demo's one
deliberate failure stays in the codec (a missing camera preset)."""

from __future__ import annotations

import socket
import threading
from typing import Any

# Every 127.x.y.z address is this machine's loopback: demos running side by side (tests, several
# technicians' shells) each take their own address for the fixed call-signalling ports.
MCU_CANDIDATES = [f"127.0.{third}.{fourth}" for third in (0, 1) for fourth in range(2, 255)]
CALL_PORTS = (1720, 5060)  # H.323 call signalling, SIP


def _listener(address: str, port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError:
        sock.close()
        return None
    sock.listen(16)
    return sock


def _serve(sock: socket.socket, stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        conn.close()  # a TCP handshake is all the check needs


def _bind_all(address: str) -> list[socket.socket] | None:
    socks = []
    for port in CALL_PORTS:
        sock = _listener(address, port)
        if sock is None:
            for s in socks:
                s.close()
            return None
        socks.append(sock)
    return socks


def start(room: Any) -> dict[str, Any]:
    import random

    start_at = random.randrange(len(MCU_CANDIDATES))
    for address in MCU_CANDIDATES[start_at:] + MCU_CANDIDATES[:start_at]:
        socks = _bind_all(address)
        if socks is not None:
            break
    else:
        raise RuntimeError("no free loopback address for the simulated MCU (ports 1720/5060 in use)")
    stop = threading.Event()
    threads = [threading.Thread(target=_serve, args=(s, stop), name="demo-mcu", daemon=True) for s in socks]
    for thread in threads:
        thread.start()

    def close() -> None:
        stop.set()
        for thread in threads:
            thread.join(1)
        for sock in socks:
            sock.close()

    room.on_cleanup(close)
    room.notes.append(f"MCU mô phỏng / simulated MCU: {address} (H.323 1720, SIP 5060)")
    return {
        "network": {
            "interface": "lo",
            "ping_count": 5,
            "ping_interval": "100ms",
            "ping_timeout": "1s",
            "target": [
                {"name": "gateway", "host": "127.0.0.1"},
                {"name": "mcu", "host": address, "tcp_ports": list(CALL_PORTS), "tcp_timeout": "2s"},
            ],
        },
    }
