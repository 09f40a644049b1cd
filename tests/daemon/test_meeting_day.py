"""A whole meeting day in seconds: the in-process service with a controllable clock, the demo room's
simulators (Cisco codec over SSH, Megatec UPS on a pty, simulated MCU) and the faithful test collector
handing out a schedule in its heartbeat answers.

Rehearsal check and baseline save at the rehearsal time; a setting changed on the codec afterwards is a
failing drift item in the T-90 report; a call that drops during a UPS mains loss and comes back is one
session with a total loss caused by power; the session records reach the collector; the codec left
awake at night raises codec.overnight_awake, and standby codec.overnight_off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest

from agent import config as config_mod
from agent.daemon import scheduler
from agent.daemon.notify import Notifier
from agent.daemon.schedule import Clock, rfc3339
from agent.demo import DemoRoom
from agent.demo.tomlw import dumps
from tests.daemon.conftest import ROOM, TOKEN

H = 3600.0


class SteeredClock(Clock):
    """Wall time shifted to wherever the test puts it; it keeps flowing in real time from there."""

    def __init__(self, start: float) -> None:
        self.offset = start - time.time()

    def now(self) -> float:
        return time.time() + self.offset

    def set(self, moment: float) -> None:
        self.offset = moment - time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.1))  # wake often: the test moves time under our feet


def next_local_8am(after: float) -> float:
    """08:00 in Quảng Ninh (01:00 UTC) at least two days after ``after``."""
    day = dt.datetime.fromtimestamp(after, dt.timezone.utc).date() + dt.timedelta(days=2)
    return dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture()
def room(tmp_path, pki, peer):
    with DemoRoom(room_id=ROOM) as demo:
        token_file = demo.dir / "collector-token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        cfg = demo.config
        # The demo's one deliberate failure (a missing preset) would block the rehearsal baseline.
        cfg["codec"]["expect"]["camera_presets"] = ["Chủ tọa", "Bên trái", "Bên phải", "Toàn cảnh"]
        cfg["agent"]["language"] = "en"
        cfg["check"] = {"budget": "10s"}
        cfg["collector"] = {"url": peer.url, "ca_file": str(pki["ca"]), "token_file": str(token_file),
                            "heartbeat_interval": "1s", "timeout": "3s", "connect_timeout": "2s",
                            "backoff_base": "100ms", "backoff_max": "1s"}
        cfg["daemon"] = {"codec_interval": "3s", "power_interval": "20s", "network_interval": "20s",
                         "host_interval": "20s", "fast_interval": "1s", "splay": "0s",
                         "control_socket": str(demo.dir / "control.sock"), "stop_flush_timeout": "3s"}
        demo.config_path.write_text(dumps(cfg), encoding="utf-8")
        yield demo


async def until(predicate, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_meeting_day(room, peer):
    config = config_mod.load(room.config_path)
    start = next_local_8am(time.time())
    rehearsal, end = start - 17 * H, start + 3 * H  # 15:00 the day before, 08:00-11:00
    peer.schedule = {"generated_at": rfc3339(time.time()), "meetings": [
        {"id": "m-bao-so-3", "title": "Phòng chống bão số 3", "start": rfc3339(start), "end": rfc3339(end),
         "rehearsal_at": rfc3339(rehearsal), "chair_room_id": "qn-ubnd-tinh", "role": "satellite",
         "emergency": False}]}
    clock = SteeredClock(rehearsal - 600)
    service = scheduler.Service(config, notifier=Notifier(None), clock=clock)
    codec, ups = room.sims["codec"], room.sims["ups"]
    seen: dict[str, Any] = {}

    def reports(trigger):
        return [b for b in peer.bodies_of("check_report") if b.get("trigger") == trigger]

    def events(kind):
        return [b for b in peer.bodies_of("event") if b["type"] == kind]

    def go(moment):
        clock.set(moment)
        service.meetings_changed()

    async def scenario():
        # The schedule arrives with a heartbeat answer and is kept in the state directory.
        await until(lambda: service.desk.meetings(), 15, "the schedule")
        state = config.state_dir / "schedule.json"
        await until(state.exists, 5, "schedule.json")  # written in a thread right after
        assert json.loads(state.read_text())["schedule"]["meetings"][0]["id"] == "m-bao-so-3"
        assert not reports("rehearsal") and service.fast is False

        # Rehearsal time: the checklist runs by itself, the baseline is saved.
        go(rehearsal + 1)
        (report,) = await until(lambda: reports("rehearsal"), 25, "the rehearsal report")
        assert report["meeting_id"] == "m-bao-so-3" and report["overall"] != "error"
        (ev,) = await until(lambda: events("meeting.checklist"), 10, "meeting.checklist")
        assert ev["data"]["which"] == "rehearsal" and ev["data"]["baseline_saved"] is True, ev
        baseline = json.loads((config.state_dir / "baseline.json").read_text())["current"]
        assert baseline["reason"] == "rehearsal" and baseline["saved_by"] == "service"
        assert baseline["settings"]["codec.echo_control.1"] is True

        # Someone switches echo cancellation off after the rehearsal (Điều 7 khoản 5).
        codec.set_faults("echo_off")
        go(start - 90 * 60 + 1)
        (t90,) = await until(lambda: reports("t90"), 25, "the T-90 report")
        drift = {c["id"]: c for c in t90["checks"] if c["area"] == "drift"}
        assert drift["drift.codec.echo_control.1"]["status"] == "fail"  # inside the meeting window: fail
        assert drift["drift.codec.echo_control.1"]["expected"] is True and t90["meeting_id"] == "m-bao-so-3"
        assert service.fast is True
        await until(lambda: len(events("meeting.checklist")) == 2, 10, "the t90 meeting.checklist event")

        # The call comes up 80 min before the start.
        go(start - 80 * 60)
        codec.set_faults("echo_off", "in_call")
        first = await until(lambda: peer.bodies_of("session"), 20, "the session start record")
        assert first[0]["final"] is False and first[0]["meeting_id"] == "m-bao-so-3"
        session_id = first[0]["session_id"]
        assert session_id.startswith(f"{ROOM}/{service.boot_id}/")

        # Mains lost, and the call drops with it; both come back within a few seconds.
        ups.control({"state": "mains_loss"})
        await until(lambda: service.slots["power"].live.get("on_battery") is True, 15, "UPS on battery")
        codec.set_faults("echo_off", "call_dropped")
        await until(lambda: service.slots["codec"].live.get("in_call") is False, 15, "the call to drop")
        await asyncio.sleep(1.5)
        codec.set_faults("echo_off", "in_call")
        ups.control({"state": "normal"})

        def loss_recorded():
            for body in peer.bodies_of("session"):
                if body["session_id"] == session_id and body["signal_losses"]:
                    return body
            return None

        body = await until(loss_recorded, 20, "the session update with the signal loss")
        (loss,) = body["signal_losses"]
        assert loss["kind"] == "total" and loss["cause"] == "power", loss
        assert loss["recovery_s"] is not None and 1.0 <= loss["duration_s"] <= 20.0

        # The meeting ends; the call is hung up and the grace runs out: the final record.
        codec.set_faults("echo_off")
        await until(lambda: service.slots["codec"].live.get("in_call") is False, 15, "the hang-up")
        go(end + 400)
        final = await until(lambda: [b for b in peer.bodies_of("session") if b["final"]], 15, "the final record")
        assert final[0]["session_id"] == session_id and final[0]["end"] is not None
        assert [l["cause"] for l in final[0]["signal_losses"]] == ["power"]
        assert final[0]["quality"]["samples"] >= 3 and final[0]["remote"] == "10.0.0.10"
        assert service.fast is False

        # 23:00 local, nobody switched the codec off: after overnight_grace (15 min), the warning.
        night = start + 15 * H
        go(night)
        await asyncio.sleep(4)  # a codec poll at night, within the grace
        assert not events("codec.overnight_awake")
        go(night + 16 * 60)
        (awake,) = await until(lambda: events("codec.overnight_awake"), 15, "codec.overnight_awake")
        assert awake["severity"] == "warning" and awake["data"]["local_time"] == "23:16"
        codec.set_faults("standby")
        await until(lambda: events("codec.overnight_off"), 15, "codec.overnight_off")
        seen["status"] = service.snapshot()

    original_run = service.run

    async def guarded():
        try:
            await scenario()
        finally:
            service.stopping.set()  # a failed step must not leave the service running

    async def run_with_scenario():
        task = asyncio.create_task(guarded())
        code = await original_run()
        await task
        return code

    service.run = run_with_scenario
    assert scheduler.run_service(service) == 0

    # Every record the service pushed passed the collector's schema (nothing quarantined).
    assert service.outbox is not None
    status = seen["status"]
    assert status["outbox"]["quarantined"] == 0, status["quarantined_recent"]
    assert status["meetings"]["upcoming"] == [] or status["meetings"]["upcoming"][0]["id"] == "m-bao-so-3"
    kinds = peer.kinds()
    assert "session" in kinds and "check_report" in kinds
    # UPS events came with the mains loss too (the operators see them at once).
    assert [e["type"] for e in peer.bodies_of("event") if e["type"].startswith("ups.on_")] == \
        ["ups.on_battery", "ups.on_mains"]
