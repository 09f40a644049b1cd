"""Call sessions and signal loss, and the overnight watch: pure state machines over the polls.

:class:`SessionTracker` is fed every poll of the codec, the network and the UPS with the time it was
taken (``feed(now, codec=..., network=..., ups=...)``) and answers with the ``session`` record bodies
to push (docs/collector-api.md §7.3).  It keeps no clock and does no I/O, so a table of polls drives
it through a whole meeting in a test.

- A session starts when the codec shows a connected call, and ends when the call has been gone for
  longer than ``reconnect_grace``; a call back to the same remote within that time is the same
  session with a ``total`` signal loss.  While the codec cannot be read the call state is unknown:
  if it comes back in the same call with its uptime intact nothing happened; if it rebooted or the
  call is gone, the call dropped when it stopped answering.
- Inside a call: no incoming media (``rx_rate_kbps == 0``) is a ``media`` loss, packet loss above
  ``signal_loss_percent`` (the call's figure, else the ping to the MCU) a ``quality`` loss, once the
  condition has lasted ``signal_loss_after``.
- The probable cause of a loss is what the agent saw around it (from ``CAUSE_WINDOW`` before its
  start to its end), in this order: ``power`` (UPS on battery), ``codec_reboot`` (the codec's uptime
  went back), ``link`` (MCU unreachable or its packet loss above the threshold), ``unregistered``
  (registration to the MCU lost), else ``unknown``.

:class:`OvernightWatch` raises ``codec.overnight_awake`` for a codec left awake inside the overnight
window (Điều 7 khoản 4) and ``codec.overnight_off`` once it sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from agent.daemon.schedule import Meeting, meeting_for, rfc3339
from agent.i18n import Text, register as register_text, render

SCHEMA = "hntht.session/1"
CAUSE_WINDOW = 60.0  # evidence up to this long before a loss still explains it
EVIDENCE_KEEP = 6 * 3600.0
REBOOT_SLACK = 30.0  # uptime may lag the wall clock by this much without being a reboot
NETWORK_FRESH = 180.0  # a network poll older than this says nothing about the call's quality
CAUSES = ("power", "codec_reboot", "link", "unregistered")  # priority order; else "unknown"

register_text({
    "event.codec.overnight_awake": (
        "Thiết bị đầu cuối (VCS) vẫn bật lúc {time}, ngoài giờ sử dụng ({start}–{end}) và không có phiên họp: "
        "tắt thiết bị hoặc chuyển sang chế độ chờ, không để thiết bị hoạt động qua đêm",
        "The VCS terminal is still awake at {time}, outside working hours ({start}–{end}) and with no meeting: "
        "switch it off or to standby; equipment must not run overnight"),
    "event.codec.overnight_off": ("Thiết bị đầu cuối (VCS) đã tắt / chuyển sang chế độ chờ lúc {time}",
                                  "The VCS terminal is off / in standby at {time}"),
})


# -- what the tracker reads from each poll -----------------------------------------------------------
@dataclass
class CodecView:
    reachable: bool
    call: Any = None  # the connected agent.vendors.model.Call, or None
    standby: str | None = None  # "awake" | "halfwake" | "standby" | None (unknown)
    registered: bool | None = None
    uptime_s: float | None = None

    @property
    def awake(self) -> bool | None:
        if not self.reachable:
            return False  # switched off, or at least not answering
        if self.standby is None:
            return None
        return self.standby != "standby"


def codec_view(status: Any, error: Any = None) -> CodecView:
    """From a CodecStatus (agent/vendors/model.py), or the error of a failed poll."""
    if error is not None or status is None:
        return CodecView(reachable=False)
    calls = getattr(status, "calls", None) or []
    call = next((c for c in calls if (getattr(c, "status", None) or "connected") == "connected"), None)
    registration = getattr(status, "registration", None)
    states = [getattr(getattr(registration, p, None), "status", None) for p in ("h323", "sip")]
    states = [s for s in states if s not in (None, "inactive")]
    registered = True if "registered" in states else (False if states else None)
    standby = getattr(getattr(status, "standby", None), "state", None)
    uptime = getattr(getattr(status, "facts", None), "uptime_s", None)
    return CodecView(reachable=True, call=call, standby=standby, registered=registered,
                     uptime_s=float(uptime) if isinstance(uptime, (int, float)) else None)


@dataclass
class NetView:
    at: float
    loss_percent: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    mcu_down: bool = False  # every call port refused / timed out
    has_tcp: bool = False


def network_view(status: Any, at: float) -> NetView:
    targets = getattr(status, "targets", None) or []
    mcu = next((t for t in targets if getattr(t, "name", "") == "mcu"), None)
    if mcu is None:
        mcu = next((t for t in targets if getattr(t, "name", "") != "gateway"), None)
    view = NetView(at=at)
    if mcu is None:
        return view
    ping = getattr(mcu, "ping", None)
    if ping is not None:
        view.loss_percent = getattr(ping, "loss_percent", None)
        view.rtt_ms = getattr(ping, "rtt_avg_ms", None)
        view.jitter_ms = getattr(ping, "jitter_rfc3550_ms", None)
    tcp = getattr(mcu, "tcp", None) or []
    view.has_tcp = bool(tcp)
    view.mcu_down = bool(tcp) and all(getattr(t, "state", "") != "open" for t in tcp)
    return view


# -- records -----------------------------------------------------------------------------------------
@dataclass
class Loss:
    start: float
    kind: str  # total | media | quality
    end: float | None = None
    cause: str = "unknown"
    recovered: bool = False

    def body(self) -> dict[str, Any]:
        duration = None if self.end is None else round(self.end - self.start, 1)
        return {"start": rfc3339(self.start), "end": rfc3339(self.end), "duration_s": duration,
                "kind": self.kind, "cause": self.cause, "recovery_s": duration if self.recovered else None}


@dataclass
class Session:
    n: int
    session_id: str
    start: float
    meeting_id: str | None
    remote: str | None = None
    protocol: str | None = None
    direction: str | None = None
    tx_rate_kbps: int | None = None
    rx_rate_kbps: int | None = None
    video_format: str | None = None
    end: float | None = None
    losses: list[Loss] = field(default_factory=list)
    samples: int = 0
    sums: dict[str, list[float]] = field(default_factory=lambda: {"rtt": [0.0, 0], "jitter": [0.0, 0],
                                                                    "loss": [0.0, 0]})
    loss_max: float | None = None
    # the call is gone (or unseen) since ...
    dropped_at: float | None = None
    blind_since: float | None = None

    def sample(self, rtt: float | None, jitter: float | None, loss: float | None) -> None:
        self.samples += 1
        for key, value in (("rtt", rtt), ("jitter", jitter), ("loss", loss)):
            if value is not None:
                self.sums[key][0] += float(value)
                self.sums[key][1] += 1
        if loss is not None:
            self.loss_max = loss if self.loss_max is None else max(self.loss_max, loss)

    def _avg(self, key: str) -> float | None:
        total, count = self.sums[key]
        return round(total / count, 2) if count else None

    def body(self, final: bool) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "session_id": self.session_id, "meeting_id": self.meeting_id,
            "start": rfc3339(self.start), "end": rfc3339(self.end), "final": final,
            "remote": self.remote, "protocol": self.protocol, "direction": self.direction,
            "tx_rate_kbps": self.tx_rate_kbps, "rx_rate_kbps": self.rx_rate_kbps, "video_format": self.video_format,
            "signal_losses": [loss.body() for loss in self.losses],
            "quality": {"samples": self.samples, "rtt_ms_avg": self._avg("rtt"), "jitter_ms_avg": self._avg("jitter"),
                        "loss_percent_avg": self._avg("loss"),
                        "loss_percent_max": None if self.loss_max is None else round(self.loss_max, 2)},
        }


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class SessionTracker:
    def __init__(self, room_id: str, boot_id: str, *, reconnect_grace: float = 300.0,
                 loss_percent: float = 10.0, loss_after: float = 10.0) -> None:
        self.room_id = room_id
        self.boot_id = boot_id
        self.reconnect_grace = reconnect_grace
        self.loss_percent = loss_percent
        self.loss_after = loss_after
        self.session: Session | None = None
        self.count = 0
        self.net: NetView | None = None
        self.evidence: dict[str, list[list[float | None]]] = {c: [] for c in CAUSES}
        self._uptime: tuple[float, float] | None = None  # (poll time, codec uptime) of the last reading
        self._bad: dict[str, float | None] = {"media": None, "quality": None}  # condition seen since
        self._open: dict[str, Loss | None] = {"media": None, "quality": None}

    def configure(self, *, reconnect_grace: float, loss_percent: float, loss_after: float) -> None:
        self.reconnect_grace, self.loss_percent, self.loss_after = reconnect_grace, loss_percent, loss_after

    # -- evidence of causes ------------------------------------------------------------------------
    def _mark(self, cause: str, on: bool | None, now: float) -> None:
        intervals = self.evidence[cause]
        is_open = bool(intervals) and intervals[-1][1] is None
        if on and not is_open:
            intervals.append([now, None])
        elif on is False and is_open:
            intervals[-1][1] = now
        while intervals and intervals[0][1] is not None and intervals[0][1] < now - EVIDENCE_KEEP:
            intervals.pop(0)

    def cause(self, start: float, end: float, before: float = CAUSE_WINDOW) -> str:
        """The first cause (priority order) with evidence between ``before`` s ahead of ``start`` and ``end``."""
        for cause in CAUSES:
            for s, e in self.evidence[cause]:
                if s <= end and (e is None or e >= start - before):
                    return cause
        return "unknown"

    # -- feeding -----------------------------------------------------------------------------------
    def feed(self, now: float, *, codec: CodecView | None = None, network: Any = None, ups: Any = None,
             meetings: Iterable[Meeting] = ()) -> list[dict[str, Any]]:
        """One poll (any of codec / network / ups, as normalised statuses or views). Returns session bodies."""
        out: list[dict[str, Any]] = []
        meetings = list(meetings)
        if ups is not None:
            on_battery = getattr(ups, "on_battery", None)
            self._mark("power", on_battery if isinstance(on_battery, bool) else None, now)
        if network is not None:
            self.net = network if isinstance(network, NetView) else network_view(network, now)
            loss = self.net.loss_percent
            if loss is not None or self.net.has_tcp:  # else the MCU is not measured: no opinion
                self._mark("link", self.net.mcu_down or (loss is not None and loss > self.loss_percent), now)
        if codec is not None:
            out += self._codec(now, codec, meetings)
        out += self.tick(now)
        return out

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Timers: a call gone (or unseen) for longer than reconnect_grace ends its session."""
        s = self.session
        if s is None:
            return []
        gone = s.dropped_at if s.dropped_at is not None else s.blind_since
        if gone is not None and now - gone > self.reconnect_grace:
            return self._end(gone)
        return []

    def _codec(self, now: float, view: CodecView, meetings: list[Meeting]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        s = self.session
        if not view.reachable:
            if s is not None and s.dropped_at is None and s.blind_since is None:
                s.blind_since = now
            return out
        self._mark("unregistered", None if view.registered is None else not view.registered, now)
        rebooted = False
        if view.uptime_s is not None:
            if self._uptime is not None:
                then, uptime = self._uptime
                if view.uptime_s + REBOOT_SLACK < uptime + (now - then):
                    rebooted = True
                    booted = now - view.uptime_s
                    self.evidence["codec_reboot"].append([booted, booted])
            self._uptime = (now, view.uptime_s)
        call = view.call
        if s is not None and s.blind_since is not None:
            blind, s.blind_since = s.blind_since, None
            if rebooted or call is None or not self._same(s, call):
                s.dropped_at = blind  # the call went down while we could not see it
                self._close_conditions(s, blind)
        if call is None:
            if s is not None and s.dropped_at is None:
                s.dropped_at = now
                self._close_conditions(s, now)
            return out + self.tick(now)
        if s is not None and s.dropped_at is not None:
            if now - s.dropped_at <= self.reconnect_grace and self._same(s, call):
                loss = Loss(start=s.dropped_at, kind="total", end=now, recovered=True)
                loss.cause = self.cause(loss.start, now)
                s.losses.append(loss)
                s.dropped_at = None
                self._update(s, call)
                out.append(s.body(False))
            else:
                out += self._end(s.dropped_at)
                s = None
        if s is None:
            s = self._start(now, call, meetings)
            out.append(s.body(False))
        else:
            self._update(s, call)
        out += self._conditions(now, s, call)
        return out

    @staticmethod
    def _same(s: Session, call: Any) -> bool:
        remote = getattr(call, "remote", None)
        return s.remote is None or remote is None or remote == s.remote

    def _start(self, now: float, call: Any, meetings: list[Meeting]) -> Session:
        self.count += 1
        meeting = meeting_for(meetings, now)
        s = Session(n=self.count, session_id=f"{self.room_id}/{self.boot_id}/{self.count}", start=now,
                    meeting_id=meeting.id if meeting else None)
        self.session = s
        self._bad = {"media": None, "quality": None}
        self._open = {"media": None, "quality": None}
        self._update(s, call)
        return s

    def _update(self, s: Session, call: Any) -> None:
        for name in ("remote", "protocol", "direction", "tx_rate_kbps", "rx_rate_kbps"):
            value = getattr(call, name, None)
            if name.endswith("_kbps"):
                value = _int(value)
            if value is not None:
                setattr(s, name, value)
        video = getattr(call, "tx_video_format", None)
        if video:
            s.video_format = video

    def _conditions(self, now: float, s: Session, call: Any) -> list[dict[str, Any]]:
        """A sample for the quality figures, and media / quality losses that start or end."""
        net = self.net if self.net is not None and now - self.net.at <= NETWORK_FRESH else None
        call_loss, call_jitter = getattr(call, "loss_percent", None), getattr(call, "jitter_ms", None)
        loss = call_loss if call_loss is not None else (net.loss_percent if net else None)
        jitter = call_jitter if call_jitter is not None else (net.jitter_ms if net else None)
        s.sample(net.rtt_ms if net else None, jitter, loss)
        rx = _int(getattr(call, "rx_rate_kbps", None))
        losses = [v for v in (call_loss, net.loss_percent if net else None) if v is not None]
        states = {"media": rx == 0, "quality": bool(losses) and max(losses) > self.loss_percent}
        changed = False
        for kind, bad in states.items():
            if bad:
                since = self._bad[kind] = self._bad[kind] if self._bad[kind] is not None else now
                if self._open[kind] is None and now - since >= self.loss_after:
                    self._open[kind] = Loss(start=since, kind=kind)
            else:
                opened = self._open[kind]
                if opened is not None:
                    opened.end, opened.recovered = now, True
                    opened.cause = self.cause(opened.start, now)
                    s.losses.append(opened)
                    changed = True
                self._bad[kind], self._open[kind] = None, None
        return [s.body(False)] if changed else []

    def _close_conditions(self, s: Session, at: float) -> None:
        """The call went down: media / quality losses in progress end there (the total loss takes over)."""
        for kind, opened in self._open.items():
            if opened is not None:
                opened.end = max(at, opened.start)
                opened.cause = self.cause(opened.start, at)
                s.losses.append(opened)
        self._bad = {"media": None, "quality": None}
        self._open = {"media": None, "quality": None}

    def _end(self, at: float) -> list[dict[str, Any]]:
        s = self.session
        assert s is not None
        s.end = at
        # Only a condition still present when the call went (or appearing after): a call hung up a
        # minute after the mains came back is a call hung up.
        cause = self.cause(at, at + self.reconnect_grace, before=0.0)
        if cause != "unknown":
            # Gone and not back, with a reason seen around it: a failure that ended the session,
            # not a call hung up at the end of the meeting.
            s.losses.append(Loss(start=at, kind="total", cause=cause))
        s.losses.sort(key=lambda loss: loss.start)
        self.session = None
        return [s.body(True)]

    def snapshot(self) -> dict[str, Any] | None:
        """The open session as it would be pushed now (for `status`)."""
        return None if self.session is None else self.session.body(False)


# -- overnight ---------------------------------------------------------------------------------------
class OvernightWatch:
    """``codec.overnight_awake`` / ``codec.overnight_off`` (Điều 7 khoản 4: never overnight)."""

    def __init__(self, *, start: str, end: str, grace: float, lang: str = "vi") -> None:
        self.start, self.end, self.grace, self.lang = start, end, grace, lang
        self.awake_since: float | None = None
        self.alerted = False

    def _event(self, kind: str, severity: str, text: Text, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "severity": severity, "area": "codec", "message": render(text, self.lang) or kind,
                "data": data}

    def feed(self, now: float, view: CodecView, *, local_time: str, in_window: bool,
             excused: bool) -> list[dict[str, Any]]:
        """``in_window``: inside the overnight window; ``excused``: a scheduled meeting explains the codec
        being on (a call of the meeting, or its window from start − 90 min to end + 30 min)."""
        awake = view.awake
        if awake is None:
            return []
        out = []
        if awake and in_window and not excused:
            if self.awake_since is None:
                self.awake_since = now
            if not self.alerted and now - self.awake_since >= self.grace:
                self.alerted = True
                out.append(self._event("codec.overnight_awake", "warning", Text(
                    "event.codec.overnight_awake", time=local_time, start=self.start, end=self.end),
                    {"local_time": local_time, "window": f"{self.start}-{self.end}", "standby": view.standby,
                     "in_call": view.call is not None, "awake_since": rfc3339(self.awake_since)}))
            return out
        if not awake and self.alerted:
            out.append(self._event("codec.overnight_off", "info", Text("event.codec.overnight_off", time=local_time),
                                   {"local_time": local_time,
                                    "awake_s": None if self.awake_since is None else round(now - self.awake_since)}))
            self.alerted = False
        if not awake or not in_window:
            self.alerted = self.alerted and awake and in_window
        self.awake_since = None
        return out

    @property
    def active(self) -> bool:
        return self.alerted
