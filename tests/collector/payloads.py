"""Valid protocol bodies (docs/collector-api.md) for tests, the e2e agents and the benchmark."""

from __future__ import annotations

import datetime as _dt


def iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def heartbeat(room_id: str, *, seq: int = 1, boot_id: str = "boot-1", at: float = 1_750_000_000.0,
              overall: str = "pass", areas=None, registered=True, on_battery=False, interval_s: int = 30,
              outbox=None, ntp=True) -> dict:
    return {
        "schema": "hntht.heartbeat/1", "room_id": room_id, "agent_version": "0.1.0", "boot_id": boot_id,
        "seq": seq, "sent_at": iso(at), "uptime_s": 120.5, "interval_s": interval_s, "overall": overall,
        "areas": areas or {"network": "pass", "host": "pass", "codec": "pass", "power": "pass"},
        "live": {"codec": {"in_call": False, "registered": registered, "standby": True},
                 "power": {"on_battery": on_battery, "battery_charge_percent": 100 if not on_battery else 84},
                 "network": {"mcu_rtt_ms": 18.5, "mcu_loss_percent": 0.0}},
        "outbox": outbox or {"depth": 0, "oldest_at": None, "dropped": 0, "quarantined": 0},
        "last_push_at": iso(at - 30), "clock": {"ntp_synchronized": ntp, "offset_ms": 1.5},
    }


def report(room_id: str, *, at: float = 1_750_000_000.0, overall="pass", checks=None) -> dict:
    return {
        "schema": "hntht.report/1", "agent_version": "0.1.0", "room_id": room_id, "room_name": "Phòng họp",
        "level": "commune", "generated_at": iso(at), "lang": "vi", "overall": overall, "duration_ms": 1200,
        "areas": {"network": overall, "host": "pass", "codec": "pass", "power": "pass"},
        "checks": checks if checks is not None else [
            {"id": "network.mcu.loss", "area": "network", "status": overall, "observed": 0.0, "expected": "<= 1",
             "message": "Mất gói tới MCU 0%", "remedy": None, "clause": "5.2.1", "duration_ms": 12}],
        "statuses": {"network": {"mcu": {"loss_percent": 0.0}}},
    }


def event(type_="ups.on_battery", severity="critical", area="power", message="UPS đang chạy bằng pin") -> dict:
    return {"type": type_, "severity": severity, "area": area, "message": message, "data": {"battery_charge_percent": 90}}


def record(room_id: str, seq: int, kind: str, body: dict, *, boot_id="boot-1", at=1_750_000_000.0) -> dict:
    return {"id": f"{room_id}/{boot_id}/{seq}", "kind": kind, "at": iso(at), "body": body}


def batch(room_id: str, records: list) -> dict:
    return {"schema": "hntht.records/1", "room_id": room_id, "records": records}
