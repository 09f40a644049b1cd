"""[daemon]: the service (`hntht-agent run`): poll schedule, outbox bounds, control socket, textfile."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.schema import Duration

HHMM = r"([01]\d|2[0-3]):[0-5]\d"


def _check_timezone(name: str) -> str | None:
    from agent.daemon.schedule import load_timezone

    try:
        load_timezone(name)
    except ValueError as exc:
        return str(exc)
    return None


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

    # -- meetings (the schedule the collector hands out, docs/service.md "Meetings") --------------
    # From 1 h 30 min before a scheduled meeting to its end, codec, UPS and network are polled this
    # often (never slower than their own interval).
    fast_interval: Duration = field(default=Duration(5.0), metadata={"min": 1.0, "max": 3600.0})
    # Run the full checklist at each meeting's rehearsal time and 1 h 30 min before its start
    # (Điều 5 khoản 2.2, Điều 9), push the reports, save the baseline after a good rehearsal.
    meeting_checklists: bool = True
    # Local time zone of the overnight window and of the messages (Vietnam: UTC+7, no DST);
    # an IANA name or a fixed offset such as "+07:00".
    timezone: str = field(default="Asia/Ho_Chi_Minh", metadata={"check": _check_timezone})
    # Điều 7 khoản 4: equipment off when not in use, never overnight. A codec awake (not standby)
    # between these local times, outside a scheduled meeting's call, for overnight_grace, is an event.
    overnight_start: str = field(default="22:00", metadata={"pattern": HHMM, "pattern_doc": "HH:MM (24 h)"})
    overnight_end: str = field(default="06:00", metadata={"pattern": HHMM, "pattern_doc": "HH:MM (24 h)"})
    overnight_grace: Duration = field(default=Duration(900.0), metadata={"min": 0.0, "max": 86400.0})
    # A call that drops and comes back to the same remote within this time is the same session
    # (with a "total" signal loss); a longer gap ends the session.
    reconnect_grace: Duration = field(default=Duration(300.0), metadata={"min": 0.0, "max": 86400.0})
    # Signal loss inside a call: packet loss (the call's own figure, else the ping to the MCU) above
    # this percentage is a "quality" loss, a connected call with no incoming media a "media" loss,
    # once the condition has lasted signal_loss_after.
    signal_loss_percent: float = field(default=10.0, metadata={"min": 0.0, "max": 100.0})
    signal_loss_after: Duration = field(default=Duration(10.0), metadata={"min": 0.0, "max": 3600.0})

    def validate(self, prefix: str, ctx) -> None:  # noqa: ANN001 - schema.LoadContext
        if self.overnight_start == self.overnight_end:
            from agent.errors import ConfigError

            raise ConfigError("overnight_start and overnight_end are equal: the window would be empty; "
                              "use e.g. \"22:00\" and \"06:00\"", file=ctx.file, key=f"{prefix}.overnight_end")

    def interval(self, area: str) -> float:
        return float(getattr(self, f"{area}_interval", 60.0))
