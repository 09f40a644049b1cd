"""Demo network: the gateway is loopback, the "MCU" is a loopback address with an H.323
listener on TCP 1720 and, deliberately, nothing on SIP 5060, so the demo shows a failing
item with its remedy."""

from __future__ import annotations

import socket
import threading
from typing import Any

MCU_CANDIDATES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
H323_PORT = 1720
SIP_PORT = 5060


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


def _free(address: str, port: int) -> bool:
    probe = _listener(address, port)
    if probe is None:
        return False
    probe.close()
    return True


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


def start(room: Any) -> dict[str, Any]:
    for address in MCU_CANDIDATES:
        if not _free(address, SIP_PORT):
            continue  # someone serves SIP there: the demo's failing item would pass
        sock = _listener(address, H323_PORT)
        if sock is not None:
            break
    else:
        raise RuntimeError("no free loopback address for the simulated MCU (ports 1720/5060 in use)")
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, stop), name="demo-mcu", daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(1)
        sock.close()

    room.on_cleanup(close)
    room.notes.append(f"MCU mô phỏng / simulated MCU: {address} (H.323 {H323_PORT} mở/open, SIP {SIP_PORT} đóng/closed)")
    return {
        "network": {
            "interface": "lo",
            "ping_count": 5,
            "ping_interval": "100ms",
            "ping_timeout": "1s",
            "target": [
                {"name": "gateway", "host": "127.0.0.1"},
                {"name": "mcu", "host": address, "tcp_ports": [H323_PORT, SIP_PORT], "tcp_timeout": "2s"},
            ],
        },
    }
