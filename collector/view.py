"""Turn stored room state into what operators see: liveness, readiness and problems."""

from __future__ import annotations

from typing import Optional

from .storage import OFFLINE_AFTER_INTERVALS, STALE_AFTER_INTERVALS
from .timeutil import format_rfc3339, parse_rfc3339

AREAS = ("network", "host", "codec", "power")
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "other": 3}
OUTBOX_BACKLOG_ALARM_S = 3600


def liveness(room: dict, now: float) -> tuple[str, Optional[float]]:
    """Liveness computed from timestamps with the same rule as the sweep (so a page never lags it)."""
    last = room["last_heartbeat_at"]
    if last is None:
        return "never", room.get("liveness_since")
    interval = room["interval_s"] or 30
    offline_at = last + interval * OFFLINE_AFTER_INTERVALS
    stale_at = last + interval * STALE_AFTER_INTERVALS
    if now >= offline_at:
        return "offline", room["liveness_since"] if room["liveness"] == "offline" else offline_at
    if now >= stale_at:
        return "stale", room["liveness_since"] if room["liveness"] == "stale" else stale_at
    return "online", room["liveness_since"] if room["liveness"] == "online" else last


def summarize(room: dict, now: float) -> dict:
    live_state, since = liveness(room, now)
    hb = room.get("heartbeat") or {}
    live = hb.get("live") or {}
    codec, power = live.get("codec") or {}, live.get("power") or {}
    outbox, clock = hb.get("outbox") or {}, hb.get("clock") or {}
    overall = room["overall"] if hb else "unknown"
    problems: list[dict] = []

    def add(code, since_=None):
        problems.append({"code": code, "since": since_})

    if not room["enabled"]:
        add("disabled")
    if live_state in ("offline", "stale", "never"):
        add(live_state, since)
    if hb:
        if overall in ("fail", "error"):
            add("overall_" + overall, room.get("overall_since"))
        if power.get("on_battery") is True:
            add("on_battery")
        if codec.get("registered") is False:
            add("codec_unregistered")
        if (outbox.get("quarantined") or 0) > 0:
            add("outbox_quarantined")
        if (outbox.get("dropped") or 0) > 0:
            add("outbox_dropped")
        oldest = outbox.get("oldest_at")
        if oldest:
            try:
                if (room["sent_at"] or now) - parse_rfc3339(oldest) > OUTBOX_BACKLOG_ALARM_S:
                    add("outbox_backlog")
            except ValueError:
                pass
        if clock.get("ntp_synchronized") is False:
            add("clock_unsynced")
    if live_state != "online":
        readiness = "unknown"
    elif overall in ("pass", "warn") and room["enabled"]:
        readiness = "ready"
    else:
        readiness = "not_ready"
    last = room["last_heartbeat_at"]
    return {
        "room_id": room["room_id"], "name": room["name"], "level": room["level"], "district": room["district"],
        "enabled": room["enabled"], "liveness": live_state, "liveness_since": format_rfc3339(since),
        "readiness": readiness, "last_heartbeat_at": format_rfc3339(last),
        "heartbeat_age_s": round(now - last, 1) if last is not None else None,
        "overall": overall,
        "areas": {a: (hb.get("areas") or {}).get(a, "unknown") for a in AREAS} if hb else {a: "unknown" for a in AREAS},
        "live": {"codec": {k: codec.get(k) for k in ("in_call", "registered", "standby")},
                 "power": {k: power.get(k) for k in ("on_battery", "battery_charge_percent")},
                 "network": {k: (live.get("network") or {}).get(k) for k in ("mcu_rtt_ms", "mcu_loss_percent")}},
        "problems": [{"code": p["code"], "since": format_rfc3339(p["since"])} for p in problems],
        "failing_checks": [{"id": c["id"], "status": c["status"], "message": c["message"],
                            "since": format_rfc3339(c["since"])} for c in room["checks"]],
        "report_generated_at": format_rfc3339(room.get("report_generated_at")),
        "agent_version": room.get("agent_version"),
    }


def has_problem(summary: dict) -> bool:
    return bool(summary["problems"]) or summary["readiness"] != "ready" or any(
        c["status"] in ("fail", "error") for c in summary["failing_checks"])


def filter_rooms(summaries: list[dict], level: Optional[str], district: Optional[str], only_problems: bool) -> list[dict]:
    out = []
    for s in summaries:
        if level and s["level"] != level:
            continue
        if district and s["district"] != district:
            continue
        if only_problems and not has_problem(s):
            continue
        out.append(s)
    out.sort(key=lambda s: (LEVEL_ORDER.get(s["level"], 9), s["level"], s["district"], s["name"], s["room_id"]))
    return out
