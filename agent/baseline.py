"""The rehearsal baseline: the room's settings as they were after a successful rehearsal.

Điều 5 khoản 2.1 asks rooms to "keep the state of the system as it is after successful tuning", and
khoản 2.2 that equipment is "not changed since the rehearsal" when the technicians come back 1 h 30 min
before the meeting.  So after a rehearsal whose checklist passed, ``hntht-agent baseline save`` (or the
service, by itself: :func:`save_after_rehearsal`) stores a flat map of the settings that matter, taken
from the normalised statuses of that very checklist; every later checklist compares against it
(:func:`drift_results`, checks in agent/checks/drift.py).

What is a setting: what someone has to *do* something to change (a configured call rate, a preset, the
UPS model).  What changes by itself (uptime, load, live rates, call state, RTT, charge) is not.

The file ``<state_dir>/baseline.json`` (schema ``hntht.baseline/1``, docs/baseline.md) holds the current
baseline and the previous ones (``[baseline] history``), written atomically (temporary file, fsync,
rename, fsync of the directory) under an exclusive lock, so a crash or a concurrent save by the service
never leaves a half-written or lost baseline.  It holds no secret: statuses carry none, and every string
is scrubbed of loaded secret values all the same.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import structlog

from agent import __version__
from agent.checks import drift
from agent.checks.drift import AREAS, Snapshot
from agent.errors import AgentError
from agent.i18n import Text
from agent.model import CheckResult, Status, to_plain

log = structlog.get_logger("agent.baseline")

SCHEMA = "hntht.baseline/1"
FILE_NAME = "baseline.json"
LOCK_NAME = "baseline.lock"
FILE_MODE = 0o640


class BaselineError(AgentError):
    """The baseline file cannot be read or written (the message names the file and why)."""


# -- extraction: normalised statuses (plain JSON form) -> flat settings ------------------------------
def _slug(value: Any) -> str:
    """A device's item id as a piece of a check id (``^[a-z0-9_-]+$``)."""
    return re.sub(r"[^a-z0-9_-]+", "_", str(value).lower()).strip("_") or "_"


def _get(record: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(record, dict):
            return None
        record = record.get(name)
    return record


def _codec(c: dict[str, Any], out: dict[str, Any], unreadable: list[str]) -> None:
    reasons = c.get("reasons") or {}
    facts = c.get("facts") or {}
    out["codec.model"] = facts.get("model")
    out["codec.serial"] = facts.get("serial")
    out["codec.software_version"] = facts.get("software_version")
    out["codec.system_name"] = facts.get("name")
    out["codec.ip"] = _get(c, "network", "ip")
    out["codec.netmask"] = _get(c, "network", "netmask")
    out["codec.gateway"] = _get(c, "network", "gateway")
    out["codec.call_rate"] = _get(c, "call_rate", "default_kbps")
    out["codec.call_rate_max_tx"] = _get(c, "call_rate", "max_tx_kbps")
    out["codec.call_rate_max_rx"] = _get(c, "call_rate", "max_rx_kbps")
    video = c.get("video") or {}
    out["codec.video_format"] = video.get("main_source_format")
    out["codec.display_mode"] = video.get("monitors_configured")
    out["codec.main_source"] = video.get("main_source")
    out["codec.presentation_source"] = video.get("presentation_source")
    out["codec.layout"] = video.get("layout")
    monitors = video.get("monitors")
    if not monitors and video.get("monitors_configured") is None:
        unreadable.append("codec.monitor.")
    else:
        for mon in monitors or []:
            # An unplugged screen has no name or resolution: it is "not connected", one value.
            value = ({"connected": False} if mon.get("connected") is False else
                     {"connected": mon.get("connected"), "device": mon.get("device"),
                      "resolution": mon.get("resolution"), "role": mon.get("role")})
            out[f"codec.monitor.{_slug(mon.get('id'))}"] = value
    audio = c.get("audio") or {}
    mics = audio.get("mics")
    if not mics and any(k.startswith(("audio.mics", "audio.echo_control")) for k in reasons):
        unreadable += ["codec.mic.", "codec.echo_control."]
    else:
        for mic in mics or []:
            out[f"codec.mic.{_slug(mic.get('id'))}"] = mic.get("connected")
            out[f"codec.echo_control.{_slug(mic.get('id'))}"] = mic.get("echo_control")
    out["codec.mics_total"] = audio.get("mics_total")
    out["codec.volume"] = audio.get("volume")
    presets = c.get("presets")
    if presets is None:
        unreadable.append("codec.preset.")
    else:
        for preset in presets:
            out[f"codec.preset.{_slug(preset.get('id'))}"] = preset.get("name")
    h323, sip = _get(c, "registration", "h323") or {}, _get(c, "registration", "sip") or {}
    states = {"h323": h323.get("status"), "sip": sip.get("status")}
    if any(state is None for state in states.values()):
        out["codec.registration"] = None
    else:  # which protocols are enabled, whatever their momentary state (registering, failed...)
        out["codec.registration"] = "+".join(p for p, s in states.items() if s != "inactive") or "none"
    # The configured address is the setting; the reported one stands in where the device gives no other.
    out["codec.h323.gatekeeper"] = h323.get("configured_server") or h323.get("server")
    out["codec.sip.registrar"] = sip.get("configured_server") or sip.get("server")


def _power(p: dict[str, Any], out: dict[str, Any], unreadable: list[str]) -> None:
    for name in ("driver", "protocol", "model", "manufacturer", "firmware", "ups_type", "attached_devices"):
        out[f"power.{name}"] = p.get(name)


def _network(n: dict[str, Any], out: dict[str, Any], unreadable: list[str]) -> None:
    iface = n.get("interface") or {}
    out["network.interface"] = iface.get("name")
    out["network.ipv4"] = iface.get("ipv4")
    out["network.netmask"] = iface.get("netmask")
    out["network.default_gateway"] = n.get("default_gateway")
    targets = n.get("targets")
    if targets is None:
        unreadable.append("network.target.")
    for target in targets or []:
        out[f"network.target.{_slug(target.get('name'))}.address"] = target.get("address")


def extract(statuses: dict[str, Any]) -> Snapshot:
    """The settings that matter from a report's ``statuses`` (area -> plain normalised record)."""
    from agent.secrets import scrub

    out: dict[str, Any] = {}
    unreadable: list[str] = []
    areas = []
    for area, fn in (("network", _network), ("codec", _codec), ("power", _power)):
        record = statuses.get(area)
        if not isinstance(record, dict):
            continue  # the area did not run, or could not be read: nothing to compare
        areas.append(area)
        fn(record, out, unreadable)
    # Statuses hold no secret; scrub anyway, so a device echoing a password into a name cannot leak it.
    settings = {k: scrub(v) if isinstance(v, str) else v for k, v in out.items()}
    return Snapshot(areas=areas, settings=settings, unreadable=unreadable)


def snapshot_from_runs(runs: list[Any]) -> Snapshot:
    return extract({run.name: to_plain(run.status) for run in runs
                    if run.status is not None and run.error is None})


# -- the stored record -------------------------------------------------------------------------------
@dataclass
class Baseline:
    room_id: str
    saved_at: str  # UTC, RFC 3339
    saved_by: str  # the account that ran `baseline save`, or "service"
    reason: str  # "manual" | "rehearsal"
    agent_version: str
    report: dict[str, Any]  # id, generated_at, overall, mode of the checklist it was taken from
    areas: list[str]
    settings: dict[str, Any]
    unreadable: list[str] = field(default_factory=list)
    forced: bool = False  # saved with --force although items failed
    not_passed: list[str] = field(default_factory=list)  # the fail/error items a forced save accepted

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot(areas=list(self.areas), settings=dict(self.settings), unreadable=list(self.unreadable))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "Baseline":
        if not isinstance(data, dict):
            raise ValueError("a baseline is not a JSON object")
        try:
            baseline = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise ValueError(f"missing field ({exc})") from None
        if not isinstance(baseline.settings, dict) or not isinstance(baseline.areas, list):
            raise ValueError("settings must be an object and areas a list")
        return baseline


def now_rfc3339() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def current_user() -> str:
    """Who runs the command: the sudo caller when there is one (the person, not "root")."""
    import pwd

    sudo = os.environ.get("SUDO_USER")
    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        me = f"uid {os.geteuid()}"
    return f"{sudo} (sudo)" if sudo and sudo != me else me


def blocking_items(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The fail/error items that keep a checklist from being a known-good state (drift aside)."""
    return [c for c in report.get("checks", [])
            if c.get("status") in ("fail", "error") and c.get("area") != "drift"]


def capture(report: dict[str, Any], *, reason: str, saved_by: str, forced: bool = False) -> Baseline:
    """A baseline from a checklist report (``Report.to_dict``, standalone or from the service)."""
    snap = extract(report.get("statuses") or {})
    return Baseline(
        room_id=report.get("room_id", ""),
        saved_at=now_rfc3339(),
        saved_by=saved_by,
        reason=reason,
        agent_version=__version__,
        report={"id": f"{report.get('room_id')}@{report.get('generated_at')}",
                "generated_at": report.get("generated_at"), "overall": report.get("overall"),
                "mode": report.get("mode")},
        areas=snap.areas,
        settings=snap.settings,
        unreadable=snap.unreadable,
        forced=forced,
        not_passed=[c["id"] for c in blocking_items(report)] if forced else [],
    )


# -- the file ----------------------------------------------------------------------------------------
class BaselineStore:
    """``<state_dir>/baseline.json``: ``{"schema", "current", "history": [newest first]}``."""

    def __init__(self, state_dir: Path | str, history: int = 10) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / FILE_NAME
        self.keep = max(0, history)

    def _read(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BaselineError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BaselineError(f"{self.path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise BaselineError(f"{self.path} is not a {SCHEMA} file")
        return data

    def load(self) -> Baseline | None:
        """The current baseline, None when none was ever saved."""
        data = self._read()
        if data is None:
            return None
        try:
            return Baseline.from_dict(data.get("current"))
        except ValueError as exc:
            raise BaselineError(f"{self.path}: {exc}") from None

    def history(self) -> list[Baseline]:
        data = self._read() or {}
        out = []
        for item in data.get("history") or []:
            with contextlib.suppress(ValueError):
                out.append(Baseline.from_dict(item))
        return out

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (the CLI and the service's auto-save may meet)."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            _own_like_dir(str(self.dir / LOCK_NAME), self.dir)  # the service must be able to lock it too
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, baseline: Baseline) -> Baseline:
        """Make ``baseline`` the current one; the previous one goes to the history (bounded)."""
        try:
            with self._locked():
                try:
                    data = self._read() or {}
                except BaselineError as exc:
                    # Keep the broken file for support, start a fresh one rather than refuse forever.
                    aside = self.path.with_name(f"{FILE_NAME}.corrupt-{_dt.datetime.now():%Y%m%d%H%M%S}")
                    os.replace(self.path, aside)
                    log.warning("baseline_corrupt_moved_aside", path=str(aside), error=str(exc))
                    data = {}
                history = ([data["current"]] if isinstance(data.get("current"), dict) else []) + list(
                    data.get("history") or [])
                body = {"schema": SCHEMA, "current": baseline.to_dict(), "history": history[: self.keep]}
                self._write_atomic(json.dumps(body, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
        except OSError as exc:
            raise BaselineError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        log.info("baseline_saved", path=str(self.path), reason=baseline.reason, settings=len(baseline.settings),
                 forced=baseline.forced)
        return baseline

    def _write_atomic(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{FILE_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            _own_like_dir(tmp, self.dir)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)


def _own_like_dir(path: str, directory: Path) -> None:
    """Run as root (sudo) into the service's state directory: leave the file to the service's user,
    so that its own auto-save can replace it later."""
    if os.geteuid() != 0:
        return
    st = directory.stat()
    if st.st_uid != 0 or st.st_gid != 0:
        with contextlib.suppress(OSError):
            os.chown(path, st.st_uid, st.st_gid)


# -- comparing ---------------------------------------------------------------------------------------
def drift_for_statuses(config: Any, statuses: dict[str, Any], *, meeting_window: bool = False) -> list[CheckResult]:
    """drift.* results of a checklist's statuses against the stored baseline (never raises)."""
    section = getattr(config, "baseline", None)
    if section is None or not section.enabled:
        return []
    try:
        current = extract(statuses)
        if not any(area in current.areas for area in AREAS):
            return []
        stored = BaselineStore(config.state_dir, section.history).load()
        if stored is not None and stored.room_id and stored.room_id != config.agent.room_id:
            return [CheckResult("drift.baseline", Status.ERROR,
                                Text("drift.baseline.other_room", room=stored.room_id, expected=config.agent.room_id),
                                remedy=Text("drift.baseline.none.remedy"), clause="5.2.2")]
        return drift.evaluate(stored.snapshot if stored else None, current,
                              saved_at=stored.saved_at if stored else "", strict=section.strict,
                              meeting_window=meeting_window, ignore=section.ignore)
    except BaselineError as exc:
        return [CheckResult("drift.baseline", Status.ERROR, Text("drift.baseline.unreadable", error=str(exc)),
                            remedy=Text("drift.baseline.unreadable.remedy"), clause="5.2.2")]
    except Exception as exc:  # noqa: BLE001 - a bug here must not cost the technician the checklist
        from agent.probes import error_result

        log.warning("drift_crashed", error=f"{type(exc).__name__}: {exc}", exc_info=True)
        return [error_result("drift.baseline", exc, what="baseline", clause="5.2.2")]


def drift_results(config: Any, runs: list[Any], *, meeting_window: bool = False) -> list[CheckResult]:
    """The runner's post-processing step: drift of the areas that actually ran (``ProbeRun`` list).

    ``meeting_window=True`` (the service, before an official meeting) makes every change a ``fail``.
    """
    section = getattr(config, "baseline", None)
    if section is None or not section.enabled:
        return []
    try:
        statuses = {run.name: to_plain(run.status) for run in runs if run.status is not None and run.error is None}
    except Exception as exc:  # noqa: BLE001
        log.warning("drift_statuses_failed", error=f"{type(exc).__name__}: {exc}")
        return []
    return drift_for_statuses(config, statuses, meeting_window=meeting_window)


def save_after_rehearsal(config: Any, report: Any, *, saved_by: str = "service") -> Baseline | None:
    """For the service: store a baseline at the end of a successful rehearsal check.

    ``report`` is a :class:`~agent.model.Report` or its ``to_dict`` form.  Saves only when
    ``[baseline] enabled`` and ``auto_save_after_rehearsal`` are on and no item of the network, codec or
    power areas failed or errored (drift and the agent PC's own host items aside); returns the saved baseline, or None.  Blocking file I/O with fsync: call it through
    ``asyncio.to_thread``.  Never raises: a failure is logged and None returned.
    """
    section = getattr(config, "baseline", None)
    if section is None or not section.enabled or not section.auto_save_after_rehearsal:
        return None
    body = report.to_dict("en") if hasattr(report, "to_dict") else report
    # Only the areas that hold settings decide, as for `baseline save`: the agent PC's own clock or
    # disk says nothing about whether the room's equipment was tuned right.
    blocking = [c for c in blocking_items(body) if c.get("area") in AREAS]
    if blocking:
        log.info("baseline_not_saved", reason="the rehearsal check has fail/error items",
                 items=[c["id"] for c in blocking][:20])
        return None
    baseline = capture(body, reason="rehearsal", saved_by=saved_by)
    if not any(area in baseline.areas for area in AREAS):
        return None
    try:
        return BaselineStore(config.state_dir, section.history).save(baseline)
    except BaselineError as exc:
        log.warning("baseline_save_failed", error=str(exc))
        return None
