"""Demo UPS: the Megatec emulator (profile "vultech": a real Q1 reply, on mains, 20 % load) behind a
socat pty pair in the room directory, read by the real megatec driver.  Without socat, the emulator
listens on 127.0.0.1 and the driver uses pyserial's socket:// URL (no termios, no modem lines)."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any

from agent.sim.megatec import MegatecEmulator, Server

PROFILE = "vultech"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def start(room: Any) -> dict[str, Any]:
    emulator = MegatecEmulator(profile=PROFILE)
    room.sims["ups"] = emulator  # or its control socket, room.dir / "ups.ctl"
    control = str(room.dir / "ups.ctl")
    if shutil.which("socat"):
        ups_end, agent_end = room.dir / "ttyUPS", room.dir / "ttyAGENT"
        proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={ups_end}", f"pty,raw,echo=0,link={agent_end}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        room.on_cleanup(_stop, proc)
        deadline = time.monotonic() + 5
        while not (ups_end.exists() and agent_end.exists()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("socat did not create the demo UPS's pty pair")
            time.sleep(0.05)
        server = Server(emulator, port=str(ups_end), control=control).start()
        port = str(agent_end)
        room.notes.append(f"UPS: Megatec/Q1 emulator ({PROFILE}) on a socat pty pair, agent side {agent_end}")
    else:
        server = Server(emulator, tcp=("127.0.0.1", 0), control=control).start()
        host, tcp_port = server.tcp_address
        port = f"socket://{host}:{tcp_port}"
        room.notes.append(f"UPS: socat is not installed, so the Megatec emulator ({PROFILE}) is reached over TCP "
                          f"with pyserial's {port} (no serial line, no DTR/RTS)")
    room.on_cleanup(server.stop)
    room.notes.append(f"UPS: simulate a power cut with `python -m agent.sim.megatec --control-send {control} "
                      "state=mains_loss` (states: normal, mains_loss, low_battery, test, fault, garbage, short, silence)")
    return {
        "ups": {
            "driver": "megatec",
            "megatec": {"port": port, "timeout": "500ms", "protocol": "megatec"},
            "expect": {"min_charge_percent": 80.0, "min_runtime_minutes": 15.0, "max_load_percent": 80.0,
                       "self_test_max_age_days": 30, "codec_on_ups": "required"},
        }
    }
