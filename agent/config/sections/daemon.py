"""[daemon]: the service (`hntht-agent run`): poll schedule, outbox bounds, control socket, textfile."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.schema import Duration


@dataclass
class DaemonSection:
    # Poll interval of each area (each poll also feeds events and a status sample).
    codec_interval: Duration = field(default=Duration(60.0), metadata={"min": 0.1, "max": 86400.0})
    power_interval: Duration = field(default=Duration(30.0), metadata={"min": 0.1, "max": 86400.0})
    network_interval: Duration = field(default=Duration(60.0), metadata={"min": 0.1, "max": 86400.0})
    host_interval: Duration = field(default=Duration(60.0), metadata={"min": 0.1, "max": 86400.0})
    # The full checklist on a schedule, pushed as a check_report; "0s" = only on demand.
    checklist_interval: Duration = field(default=Duration(0.0), metadata={"min": 0.0, "max": 604800.0})
    # Each probe's first poll is delayed by a random time up to this (never more than its interval),
    # so 250 rooms restarted together do not poll and push in lockstep.
    splay: Duration = field(default=Duration(15.0), metadata={"min": 0.0, "max": 3600.0})
    # Outbox bounds: total size of waiting records and their age. When full, status samples go
    # first, events and check reports last; every drop is counted and reported.
    outbox_max_mb: int = field(default=64, metadata={"min": 1, "max": 4096})
    outbox_max_age: Duration = field(default=Duration(30 * 86400.0), metadata={"min": 60.0})
    # An MCU packet loss above this (percent) raises a network.mcu_loss_high event.
    mcu_loss_event_percent: float = field(default=5.0, metadata={"min": 0.0, "max": 100.0})
    # A battery charge below this (percent) raises a ups.battery_low event.
    battery_low_percent: float = field(default=40.0, metadata={"min": 0.0, "max": 100.0})
    # Local control socket used by `hntht-agent check` and `status`; "" = $RUNTIME_DIRECTORY/control.sock,
    # else /run/hntht-agent/control.sock.
    control_socket: str = ""
    # Group (besides root) allowed to use the control socket.
    control_group: str = "hntht"
    # node_exporter textfile (e.g. "/var/lib/prometheus/node-exporter/hntht_agent.prom"); "" = off.
    prometheus_textfile: str = ""
    # On SIGTERM, time spent pushing what is left before exiting (keep below TimeoutStopSec).
    stop_flush_timeout: Duration = field(default=Duration(10.0), metadata={"min": 0.0, "max": 120.0})

    def interval(self, area: str) -> float:
        return float(getattr(self, f"{area}_interval", 60.0))
