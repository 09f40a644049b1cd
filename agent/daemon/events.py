"""Events: what changed between one poll of an area and the previous one.

Each poll gives the area's live values (a few normalised fields, :func:`live_values`) and its
check results.  :class:`EventTracker` compares them with the previous poll and returns an event
body (docs/collector-api.md §3, kind ``event``) for every change that matters: UPS to battery and
back, low battery, codec unreachable / unregistered / standby / call up / call down, MCU loss
above the threshold, and any check whose status changed.  The first poll is compared with a
healthy baseline, so a room that starts on battery reports it at once.

Live values come from the normalised status records: the codec's
:class:`agent.vendors.model.CodecStatus` (``calls``, ``registration.h323/sip.status``,
``standby.state``), else fields found by name at any depth (codec ``in_call``, ``registered``,
``standby``; power ``on_battery``, ``battery_charge_percent`` or ``charge_percent``, ``low_battery``,
as in :class:`agent.ups.model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.i18n import Text, register as register_text, render
from agent.model import CheckResult, ProbeRun, Status, to_plain

register_text({
    "event.power.on_battery": ("Mất điện lưới: bộ lưu điện (UPS) đang chạy bằng ắc quy",
                               "Mains lost: the UPS is running on battery"),
    "event.power.on_mains": ("Đã có điện lưới trở lại: UPS không còn chạy bằng ắc quy",
                             "Mains back: the UPS is no longer on battery"),
    "event.power.battery_low": ("Ắc quy UPS yếu: còn {charge}%", "UPS battery low: {charge}% left"),
    "event.power.battery_ok": ("Ắc quy UPS đã nạp lại trên ngưỡng ({charge}%)",
                               "UPS battery recharged above the threshold ({charge}%)"),
    "event.power.unreachable": ("Không đọc được bộ lưu điện (UPS): {error}", "Cannot read the UPS: {error}"),
    "event.power.reachable": ("Đọc lại được bộ lưu điện (UPS)", "The UPS answers again"),
    "event.codec.unreachable": ("Không kết nối được thiết bị đầu cuối (VCS): {error}",
                                "Cannot reach the VCS terminal: {error}"),
    "event.codec.reachable": ("Thiết bị đầu cuối (VCS) đã kết nối lại", "The VCS terminal answers again"),
    "event.codec.unregistered": ("Thiết bị đầu cuối mất đăng ký với MCU", "The terminal lost its MCU registration"),
    "event.codec.registered": ("Thiết bị đầu cuối đã đăng ký lại với MCU", "The terminal is registered to the MCU again"),
    "event.codec.standby": ("Thiết bị đầu cuối chuyển sang chế độ chờ", "The terminal went to standby"),
    "event.codec.awake": ("Thiết bị đầu cuối thoát chế độ chờ", "The terminal woke from standby"),
    "event.codec.call_up": ("Bắt đầu cuộc gọi (kết nối vào phiên họp)", "Call connected"),
    "event.codec.call_down": ("Cuộc gọi đã kết thúc", "Call disconnected"),
    "event.network.mcu_loss_high": ("Mất gói tới MCU {loss}% (ngưỡng {limit}%)",
                                    "Packet loss to the MCU {loss}% (threshold {limit}%)"),
    "event.network.mcu_loss_normal": ("Mất gói tới MCU trở lại bình thường ({loss}%)",
                                      "Packet loss to the MCU back to normal ({loss}%)"),
    "event.check.changed": ("{check}: {before} → {after}. {message}", "{check}: {before} → {after}. {message}"),
})

BAD = {Status.FAIL, Status.ERROR}


def _find(plain: Any, names: tuple[str, ...], depth: int = 3) -> Any:
    """First value under one of ``names`` in a nested dict (breadth first), or None."""
    level = [plain]
    for _ in range(depth + 1):
        nxt = []
        for node in level:
            if isinstance(node, dict):
                for name in names:
                    if name in node and not isinstance(node[name], (dict, list)):
                        return node[name]
                nxt.extend(v for v in node.values() if isinstance(v, dict))
        level = nxt
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def live_values(area: str, status: Any, config: Any) -> dict[str, Any]:
    """The heartbeat's live values of one area from its normalised status (None = unknown)."""
    if area == "network":
        live: dict[str, Any] = {"mcu_rtt_ms": None, "mcu_loss_percent": None}
        targets = getattr(status, "targets", None) or []
        mcu = next((t for t in targets if getattr(t, "name", "") == "mcu"), None)
        if mcu is None:
            mcu = next((t for t in targets if getattr(t, "name", "") != "gateway"), None)
        ping = getattr(mcu, "ping", None)
        if ping is not None:
            live["mcu_rtt_ms"] = _num(getattr(ping, "rtt_avg_ms", None))
            live["mcu_loss_percent"] = _num(getattr(ping, "loss_percent", None))
        return live
    if status is None:
        return {}
    plain = to_plain(status)
    if area == "codec":
        if hasattr(status, "registration") and hasattr(status, "standby"):
            return _codec_live(status)
        return {"in_call": _bool(_find(plain, ("in_call",))),
                "registered": _bool(_find(plain, ("registered",))),
                "standby": _bool(_find(plain, ("standby",)))}
    if area == "power":
        charge = _num(_find(plain, ("battery_charge_percent", "charge_percent", "battery_charge")))
        return {"on_battery": _bool(_find(plain, ("on_battery",))),
                "battery_charge_percent": None if charge is None else max(0.0, min(100.0, charge)),
                "low_battery": _bool(_find(plain, ("low_battery", "battery_low")))}
    return {}


def _codec_live(status: Any) -> dict[str, Any]:
    """Live values from agent.vendors.model.CodecStatus (registration per protocol, standby state)."""
    calls = getattr(status, "calls", None)
    states = [getattr(getattr(status.registration, proto, None), "status", None) for proto in ("h323", "sip")]
    states = [s for s in states if s not in (None, "inactive")]
    if "registered" in states:
        registered: bool | None = True
    elif states:
        registered = False  # registering or failed on every protocol in use
    else:
        registered = None
    standby_state = getattr(status.standby, "state", None)
    standby = None if standby_state is None else standby_state == "standby"
    return {"in_call": None if calls is None else bool(calls), "registered": registered, "standby": standby}


@dataclass
class AreaState:
    reachable: bool = True
    live: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Status] = field(default_factory=dict)
    loss_high: bool = False
    battery_low: bool = False


class EventTracker:
    def __init__(self, config: Any, lang: str = "vi") -> None:
        self.config = config
        self.lang = lang
        self.areas: dict[str, AreaState] = {}

    def _event(self, kind: str, severity: str, area: str, text: Text, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "severity": severity, "area": area,
                "message": render(text, self.lang) or kind, "data": data}

    def observe(self, area: str, run: ProbeRun, results: list[CheckResult],
                live: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.areas.setdefault(area, AreaState())
        events: list[dict[str, Any]] = []
        ev = events.append
        daemon = self.config.daemon

        # Reachability of devices (network and host have no device to lose).
        if area in ("codec", "power"):
            reachable = run.error is None
            if state.reachable and not reachable:
                error = str(run.error)[:300]
                ev(self._event(f"{area}.unreachable", "critical", area,
                               Text(f"event.{area}.unreachable", error=error),
                               {"error": error, "timed_out": run.timed_out}))
            elif reachable and not state.reachable:
                ev(self._event(f"{area}.reachable", "info", area, Text(f"event.{area}.reachable"), {}))
            state.reachable = reachable
            if not reachable:
                return events  # nothing else is known; keep the last live values as the baseline

        before = state.live
        if area == "power":
            on_battery, was = live.get("on_battery"), before.get("on_battery")
            charge = live.get("battery_charge_percent")
            if on_battery is True and was is not True:
                ev(self._event("ups.on_battery", "critical", area, Text("event.power.on_battery"),
                               {"battery_charge_percent": charge}))
            elif on_battery is False and was is True:
                ev(self._event("ups.on_mains", "info", area, Text("event.power.on_mains"),
                               {"battery_charge_percent": charge}))
            low = live.get("low_battery") is True or (
                charge is not None and charge < daemon.battery_low_percent and on_battery is True)
            shown = round(charge) if charge is not None else "?"
            if low and not state.battery_low:
                ev(self._event("ups.battery_low", "critical", area, Text("event.power.battery_low", charge=shown),
                               {"battery_charge_percent": charge, "threshold_percent": daemon.battery_low_percent}))
            elif state.battery_low and not low and live.get("low_battery") is not True:
                ev(self._event("ups.battery_ok", "info", area, Text("event.power.battery_ok", charge=shown),
                               {"battery_charge_percent": charge}))
            state.battery_low = low
        elif area == "codec":
            def flip(key: str, on: tuple[str, str, str], off: tuple[str, str, str], bad_when: bool | None) -> None:
                now, was = live.get(key), before.get(key)
                if now is None:
                    return
                if was is None:
                    # First known value: report it only if it is the bad one (baseline is healthy).
                    if bad_when is None or now != bad_when:
                        return
                elif now == was:
                    return
                kind, severity, text = on if now else off
                ev(self._event(kind, severity, area, Text(text), {key: now}))

            flip("registered", ("codec.registered", "info", "event.codec.registered"),
                 ("codec.unregistered", "critical", "event.codec.unregistered"), False)
            flip("standby", ("codec.standby", "info", "event.codec.standby"),
                 ("codec.awake", "info", "event.codec.awake"), None)
            flip("in_call", ("codec.call_up", "info", "event.codec.call_up"),
                 ("codec.call_down", "info", "event.codec.call_down"), None)
        elif area == "network":
            loss = live.get("mcu_loss_percent")
            limit = daemon.mcu_loss_event_percent
            if loss is not None:
                high = loss > limit
                if high and not state.loss_high:
                    ev(self._event("network.mcu_loss_high", "warning", area,
                                   Text("event.network.mcu_loss_high", loss=round(loss, 1), limit=limit),
                                   {"mcu_loss_percent": loss, "threshold_percent": limit,
                                    "mcu_rtt_ms": live.get("mcu_rtt_ms")}))
                elif state.loss_high and not high:
                    ev(self._event("network.mcu_loss_normal", "info", area,
                                   Text("event.network.mcu_loss_normal", loss=round(loss, 1)),
                                   {"mcu_loss_percent": loss}))
                state.loss_high = high
        state.live = {**before, **{k: v for k, v in live.items() if v is not None}}

        # Every check whose status changed (the first poll compares with "pass").
        for result in results:
            was = state.checks.get(result.id, Status.PASS)
            if result.status != was and result.status is not Status.SKIP and not (
                    was is Status.SKIP and result.status is Status.PASS):
                severity = "warning" if result.status in BAD else "info"
                ev(self._event("check.changed", severity, area, Text(
                    "event.check.changed", check=result.id, before=was.value, after=result.status.value,
                    message=render(result.message, self.lang) or ""),
                    {"check": result.id, "before": was.value, "after": result.status.value,
                     "observed": to_plain(result.observed, self.lang),
                     "expected": to_plain(result.expected, self.lang)}))
            state.checks[result.id] = result.status
        return events
