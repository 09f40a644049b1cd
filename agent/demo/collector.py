"""Demo collector: the real collector, embedded (SQLite, loopback only, board readable without login),
with the demo room registered and its token written to a 0600 file the agent reads."""

from __future__ import annotations

import os
from typing import Any


def start(room: Any) -> dict[str, Any]:
    try:
        from collector.embedded import start_embedded
    except ImportError:
        # The collector is an optional part of the package: the demo still checks the room.
        room.notes.append("bộ thu thập (collector) chưa cài / collector not installed: pip install 'hntht-agent[collector]'")
        return {}
    handle = start_embedded(str(room.dir / "collector.db"), host="127.0.0.1", port=0)
    room.on_cleanup(handle.stop)
    token = handle.add_room(room.room_id, room.room_name, "commune", district="Hạ Long")
    token_file = room.dir / "collector-token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    room.collector = handle
    room.notes.append(f"bộ thu thập mô phỏng / simulated collector: {handle.url}")
    return {
        "agent": {"district": "Hạ Long"},
        "collector": {"url": handle.url, "token_file": str(token_file), "heartbeat_interval": "5s",
                      "backoff_base": "200ms", "backoff_max": "2s"},
        "daemon": {"control_socket": str(room.dir / "agent.sock"), "control_group": "", "splay": "0s"},
    }
