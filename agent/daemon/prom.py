"""node_exporter textfile (``*.prom``): the live values for sites that already run Prometheus.

Written to a temporary file in the same directory and renamed over the target, so the
textfile collector never reads half a file (node_exporter README, "Textfile Collector").
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

STATUS_VALUE = {"pass": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3, "unknown": -1}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(snapshot: dict[str, Any]) -> str:
    room = _label(snapshot["room_id"])
    lines: list[str] = []

    def metric(name: str, help_: str, samples: list[tuple[dict[str, str], float | int | bool | None]],
               kind: str = "gauge") -> None:
        samples = [(labels, value) for labels, value in samples if value is not None]
        if not samples:
            return
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in {"room_id": room, **labels}.items())
            lines.append(f"{name}{{{text}}} {float(value):g}")

    metric("hntht_agent_up", "1 while the hntht-agent service runs (file mtime says when it last wrote).",
           [({"version": snapshot.get("agent_version", "")}, 1)])
    areas = snapshot.get("areas", {})
    metric("hntht_agent_area_status", "Area status: 0 pass/skip, 1 warn, 2 fail, 3 error, -1 unknown.",
           [({"area": a}, STATUS_VALUE.get(s, -1)) for a, s in sorted(areas.items())])
    probes = snapshot.get("probes", {})
    metric("hntht_agent_probe_last_run_timestamp_seconds", "Unix time of the probe's last finished run.",
           [({"probe": p}, v.get("last_unix")) for p, v in sorted(probes.items())])
    metric("hntht_agent_probe_ok", "1 if the probe's last run produced a status.",
           [({"probe": p}, v.get("ok")) for p, v in sorted(probes.items()) if v.get("ok") is not None])
    metric("hntht_agent_probe_skipped_ticks_total", "Scheduled runs skipped because the previous one was busy.",
           [({"probe": p}, v.get("skipped", 0)) for p, v in sorted(probes.items())], "counter")
    metric("hntht_agent_probe_timeouts_total", "Runs cut by the hard deadline.",
           [({"probe": p}, v.get("timeouts", 0)) for p, v in sorted(probes.items())], "counter")
    live = snapshot.get("live", {})
    codec, power, network = live.get("codec", {}), live.get("power", {}), live.get("network", {})
    metric("hntht_codec_in_call", "1 if the codec is in a call.", [({}, codec.get("in_call"))])
    metric("hntht_codec_registered", "1 if the codec is registered to the MCU.", [({}, codec.get("registered"))])
    metric("hntht_codec_standby", "1 if the codec is in standby.", [({}, codec.get("standby"))])
    metric("hntht_ups_on_battery", "1 if the UPS runs on battery.", [({}, power.get("on_battery"))])
    metric("hntht_ups_battery_charge_percent", "UPS battery charge.", [({}, power.get("battery_charge_percent"))])
    metric("hntht_mcu_rtt_ms", "Average round-trip time to the MCU.", [({}, network.get("mcu_rtt_ms"))])
    metric("hntht_mcu_loss_percent", "Packet loss to the MCU.", [({}, network.get("mcu_loss_percent"))])
    outbox = snapshot.get("outbox", {})
    metric("hntht_agent_outbox_depth", "Records waiting for the collector.", [({}, outbox.get("depth"))])
    metric("hntht_agent_outbox_dropped_total", "Records dropped by the outbox caps.",
           [({}, outbox.get("dropped"))], "counter")
    metric("hntht_agent_outbox_quarantined", "Records rejected by the collector and kept aside.",
           [({}, outbox.get("quarantined"))])
    metric("hntht_agent_last_push_timestamp_seconds", "Unix time of the last 2xx from the collector.",
           [({}, snapshot.get("last_push_unix"))])
    return "\n".join(lines) + "\n"


def write_textfile(path: str | os.PathLike[str], text: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # node_exporter runs as another user
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
