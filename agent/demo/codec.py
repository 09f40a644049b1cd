"""Demo codec: the Cisco simulator (real Room Bar / SX20 captures) on loopback, healthy except ONE
fault: the expected camera preset "Thu nhỏ" (zoom out) is not stored, so codec.camera_presets fails
with its remedy.  The host key is pinned in the demo state dir, the password is in a file in room.dir."""

from __future__ import annotations

import secrets as _secrets
from typing import Any

from agent.sim.cisco import CiscoSim


def start(room: Any) -> dict[str, Any]:
    password = _secrets.token_urlsafe(12)
    sim = CiscoSim(password=password).start()
    room.on_cleanup(sim.stop)
    room.sims["codec"] = sim  # faults switch at run time: sim.set_faults("720p")
    pw_file = room.dir / "codec-password"
    pw_file.write_text(password + "\n", encoding="utf-8")
    pw_file.chmod(0o600)
    state = room.dir / "state"
    state.mkdir(exist_ok=True)
    from agent.vendors import pinning
    from agent.vendors.base import Connection

    conn = Connection("127.0.0.1", "ssh", sim.ssh_port, sim.username, None, 3.0, state)
    pinning.store_ssh_key(conn, sim.host_key)
    room.notes.append(f"Codec mô phỏng / simulated codec: Cisco Room Bar, SSH 127.0.0.1:{sim.ssh_port}, "
                      f"HTTPS 127.0.0.1:{sim.https_port} (thiếu preset \"Thu nhỏ\" / preset \"Thu nhỏ\" missing)")
    return {
        "codec": {
            "vendor": "cisco",
            "host": "127.0.0.1",
            "port": sim.ssh_port,
            "username": sim.username,
            "password_file": str(pw_file),
            "timeout": "3s",
            "expect": {
                "ip": "10.8.50.218",
                "video_format": "1080p",
                "min_call_rate_kbps": 2048,
                "monitors": 2,
                "camera_presets": ["Chủ tọa", "Bên trái", "Bên phải", "Toàn cảnh", "Thu nhỏ"],
                "registration": "h323",
                "gatekeeper": "10.0.0.10",
            },
        },
    }
