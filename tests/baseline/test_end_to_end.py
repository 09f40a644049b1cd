"""End to end with the real simulators: the demo room (Cisco codec simulator serving real captures over SSH,
Megatec emulator on a pty pair), `hntht-agent baseline save|show|diff` and `check` as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from agent.demo import COMPONENTS, DemoRoom
from tests.helpers import REPO

SCHEMA = json.loads((REPO / "docs" / "report-schema.json").read_text())


class Room:
    def __init__(self) -> None:
        # The devices only: no collector (its component also sets [daemon], which this test writes itself).
        self.room = DemoRoom().start([c for c in COMPONENTS if c != "agent.demo.collector"])
        self.dir = self.room.dir
        # Never ask a service that may run on this machine: this room's devices are read here.
        self.base_toml = self.room.config_path.read_text(encoding="utf-8") + (
            f'\n[daemon]\ncontrol_socket = "{self.dir / "no-service.sock"}"\n')
        self.config = self.write("agent.toml")
        self.password = (self.dir / "codec-password").read_text().strip()
        self.outputs: list[str] = []

    def write(self, name: str, extra: str = "") -> str:
        path = self.dir / name
        path.write_text(self.base_toml + extra, encoding="utf-8")
        return str(path)

    def cli(self, *args: str, config: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "agent", *args, "-c", config or self.config],
                              capture_output=True, text=True, timeout=60, cwd=REPO,
                              env={**os.environ, "NO_COLOR": "1"})
        self.outputs += [proc.stdout, proc.stderr]
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def check(self, *extra: str, config: str | None = None) -> tuple[dict, dict, int]:
        proc = self.cli("check", "--json", "--lang", "en", *extra, config=config)
        report = json.loads(proc.stdout)
        jsonschema.validate(report, SCHEMA)
        return report, {c["id"]: c for c in report["checks"] if c["area"] == "drift"}, proc.returncode


@pytest.fixture(scope="module")
def room():
    r = Room()
    try:
        yield r
    finally:
        r.room.close()


@pytest.fixture(scope="module")
def saved(room):
    """The demo has one deliberate failing item (the missing preset "Thu nhỏ"): save is refused, --force saves."""
    _, drift, _ = room.check()
    assert list(drift) == ["drift.baseline"] and drift["drift.baseline"]["status"] == "skip"
    assert "baseline save" in drift["drift.baseline"]["message"]
    refused = room.cli("baseline", "save", "--lang", "en")
    assert refused.returncode == 2
    assert "NOT saved" in refused.stdout and "codec.camera_presets" in refused.stdout and "--force" in refused.stdout
    assert not (room.dir / "state" / "baseline.json").exists()
    proc = room.cli("baseline", "save", "--force", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "Saved the rehearsal baseline" in proc.stdout and "--force" in proc.stdout
    assert "The call bandwidth: 6000 kbps  [codec.call_rate]" in proc.stdout
    return json.loads((room.dir / "state" / "baseline.json").read_text(encoding="utf-8"))


def test_forced_save_captures_the_settings_and_no_secret(room, saved):
    current = saved["current"]
    assert saved["schema"] == "hntht.baseline/1"
    assert current["forced"] is True and "codec.camera_presets" in current["not_passed"]
    assert set(current["areas"]) == {"network", "codec", "power"}
    s = current["settings"]
    assert s["codec.video_format"] == "1920x1080@30" and s["codec.call_rate"] == 6000
    assert s["codec.echo_control.1"] is True and s["codec.preset.4"] == "Toàn cảnh"
    assert s["codec.registration"] == "h323" and s["codec.display_mode"] == "Auto"
    assert s["power.driver"] == "megatec" and s["network.target.mcu.address"].startswith("127.")
    raw = (room.dir / "state" / "baseline.json").read_text(encoding="utf-8")
    assert room.password not in raw, "the codec password must never reach the baseline"
    assert "password" not in raw.lower()
    show = room.cli("baseline", "show", "--json")
    assert show.returncode == 0 and json.loads(show.stdout)["current"] == current


def test_codec_changes_since_the_rehearsal_are_drift_in_check_and_diff(room, saved):
    codec = room.room.sims["codec"]
    ups = room.room.sims["ups"]
    codec.set_faults("720p", "preset_missing", "echo_off")
    ups.control({"profile": "nut-test"})  # a UPS answering the identity query it refused at the rehearsal
    try:
        report, drift, code = room.check()
        changed = {i: c for i, c in drift.items() if c["status"] != "skip"}
        assert set(changed) == {"drift.codec.video_format", "drift.codec.preset.4", "drift.codec.echo_control.1"}
        video = changed["drift.codec.video_format"]
        assert video["status"] == "warn" and video["expected"] == "1920x1080@30" and video["observed"] == "1280x720@30"
        assert "video format" in video["message"] and "1920x1080@30" in video["message"] and "1280x720@30" in video["message"]
        assert video["clause"] == "Decision 32/2019, Art. 7(5)" and "baseline save" in video["remedy"]
        preset = changed["drift.codec.preset.4"]
        assert preset["expected"] == "Toàn cảnh" and preset["observed"] is None and "gone" in preset["message"]
        echo = changed["drift.codec.echo_control.1"]
        assert (echo["expected"], echo["observed"]) == (True, False)
        assert "Echo cancellation of microphone 1 changed from on" in echo["message"] and echo["message"].endswith("to off")
        # unreadable at the rehearsal: not a change, said as "could not compare"
        assert drift["drift.power.model"]["status"] == "skip" and "Could not compare" in drift["drift.power.model"]["message"]
        assert report["areas"]["drift"] == "warn"
        # drift comes after the probes' results
        areas = [c["area"] for c in report["checks"]]
        assert areas[-len(drift):] == ["drift"] * len(drift) and areas.count("drift") == len(drift)

        diff = room.cli("baseline", "diff", "--json", "--lang", "en")
        assert diff.returncode == 1
        body = json.loads(diff.stdout)
        assert {c["setting"]: (c["old"], c["new"]) for c in body["changes"]} == {
            "codec.video_format": ("1920x1080@30", "1280x720@30"), "codec.preset.4": ("Toàn cảnh", None),
            "codec.echo_control.1": (True, False)}
        text = room.cli("baseline", "diff", "--lang", "vi")
        assert text.returncode == 1 and "[drift.codec.video_format]" in text.stdout
        assert "Định dạng hình ảnh của nguồn hình ảnh chính đã thay đổi từ 1920x1080@30" in text.stdout

        strict = room.write("strict.toml", "\n[baseline]\nstrict = true\nignore = [\"codec.preset.*\"]\n")
        _, drift, code = room.check(config=strict)
        assert {i: c["status"] for i, c in drift.items() if c["status"] != "skip"} == {
            "drift.codec.video_format": "fail", "drift.codec.echo_control.1": "fail"}
        assert code == 2

        _, drift, _ = room.check("--only", "power")
        assert not any(i.startswith("drift.codec.") for i in drift), "drift only for the areas that ran"
    finally:
        codec.set_faults()
        ups.control({"profile": "vultech"})


def test_back_as_at_the_rehearsal_is_a_single_pass(room, saved):
    _, drift, _ = room.check("--lang", "vi")
    assert [c["status"] for c in drift.values()] == ["pass"]
    assert "Không có thay đổi so với phiên tổng duyệt" in drift["drift.baseline"]["message"]
    diff = room.cli("baseline", "diff", "--lang", "en")
    assert diff.returncode == 0 and "No change since the rehearsal" in diff.stdout


def test_no_output_ever_carries_the_codec_password(room, saved):
    assert room.outputs and not any(room.password in out for out in room.outputs)


def test_show_and_diff_without_a_baseline_exit_3(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nroom_id = "test-room"\nstate_dir = "{tmp_path}"\n')
    for action in ("show", "diff"):
        proc = subprocess.run([sys.executable, "-m", "agent", "baseline", action, "-c", str(config), "--lang", "en"],
                              capture_output=True, text=True, timeout=60, cwd=REPO)
        assert proc.returncode == 3 and "hntht-agent baseline save" in proc.stderr
