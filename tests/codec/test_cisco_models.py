"""Model tolerance at driver level: the simulator serves the real captures transformed the way other models
answer (codecs.md §2.3, §2.6), over every transport, and the normalised status and checks must hold.

- ``room_kit``: Room Kit / Room Bar configuration, microphone inputs without an ``EchoControl`` node
  (the real SX20 configuration with that node stripped) → echo control null with the built-in reason,
  codec.echo_control SKIP (check by ear), never a FAIL.
- ``no_preset_list``: software that refuses ``xCommand Camera Preset List`` → the presets come from the
  status tree's ``RoomPreset`` items (the real Room Bar capture has ten); defined ones are the room's presets.
"""

from __future__ import annotations

import pytest

from agent.checks import codec as checks
from agent.model import Status
from agent.vendors.cisco import PRESET_LIST
from tests.codec.conftest import MODES, driver
from tests.codec.test_cisco_driver import EXPECT


def poll(sim, mode, tmp_path):
    drv = driver(sim, mode, tmp_path)
    try:
        return drv.poll()
    finally:
        drv.close()


def results_of(status, expect=EXPECT):
    return {r.id: r for r in checks.evaluate(status, expect, host="127.0.0.1", user="admin")}


def bad_results(results, *, but=()):
    return {i: r.to_dict("en")["message"] for i, r in results.items()
            if r.status in (Status.FAIL, Status.ERROR) and i not in but}


@pytest.mark.parametrize("mode", MODES)
def test_room_kit_without_mic_echo_control(clean, tmp_path, mode):
    clean.set_faults("room_kit")
    status = poll(clean, mode, tmp_path)
    assert [mic.id for mic in status.audio.mics] == ["1", "2"]
    assert all(mic.echo_control is None for mic in status.audio.mics)
    assert status.audio.mics_connected == 1 and status.audio.muted is False  # the rest of the audio is read
    reason = status.reason("audio.echo_control")
    assert reason.key == "codec.cisco.builtin_echo" and reason.params["model"] == "Cisco Room Bar"
    assert status.reason("audio.mics[1].echo_control").key == "codec.cisco.no_mic_echo"
    results = results_of(status)
    echo = results["codec.echo_control"]
    assert (echo.status, echo.message.key) == (Status.SKIP, "codec.echo.builtin"), echo.to_dict("en")
    vi, en = echo.to_dict("vi")["message"], echo.to_dict("en")["message"]
    assert "Cisco Room Bar" in vi and "triệt vọng" in vi
    assert "Cisco Room Bar has no per-microphone EchoControl" in en
    assert echo.remedy.key == "codec.echo.builtin.remedy"  # check it by ear (shown in the text report)
    assert bad_results(results) == {}


def test_room_kit_is_not_the_echo_off_fault(clean, tmp_path):
    """The same microphones with EchoControl present and Off still FAIL (the tolerance hides nothing)."""
    clean.set_faults("echo_off")
    echo = results_of(poll(clean, "https", tmp_path))["codec.echo_control"]
    assert (echo.status, echo.message.key) == (Status.FAIL, "codec.echo.off")


@pytest.mark.parametrize("mode", MODES)
def test_no_preset_list_falls_back_to_room_presets(clean, tmp_path, mode):
    sim = clean
    sim.set_faults("no_preset_list")
    before = len(sim.received)
    status = poll(sim, mode, tmp_path)
    assert [(p.id, p.name) for p in status.presets] == [("1", "Chủ tọa"), ("2", "Bên trái"), ("3", "Bên phải"),
                                                        ("4", "Toàn cảnh")]
    sent = [cmd.split(" | resultId=")[0] for _, cmd in sim.received[before:]]
    assert (PRESET_LIST in sent) or any("<Preset><List/>" in c for c in sent)  # asked, was refused
    results = results_of(status)
    presets = results["codec.camera_presets"]
    assert (presets.status, presets.message.key) == (Status.PASS, "codec.presets.ok"), presets.to_dict("en")
    assert bad_results(results) == {}


@pytest.mark.parametrize("mode", ["ssh-json", "https"])
def test_no_preset_list_with_a_missing_room_preset(clean, tmp_path, mode):
    clean.set_faults("no_preset_list", "preset_missing")
    status = poll(clean, mode, tmp_path)
    assert [p.name for p in status.presets] == ["Chủ tọa", "Bên trái", "Bên phải"]
    presets = results_of(status)["codec.camera_presets"]
    assert (presets.status, presets.message.key) == (Status.FAIL, "codec.presets.missing")
    assert "Toàn cảnh" in presets.to_dict("vi")["message"] and presets.to_dict("vi")["remedy"]


@pytest.mark.parametrize("mode", ["ssh-terminal", "https"])
def test_no_preset_list_on_the_verbatim_capture(clean, tmp_path, mode):
    """The real capture's RoomPresets are all undefined: an empty list, not an error."""
    clean.state = "capture"
    clean.set_faults("no_preset_list")
    status = poll(clean, mode, tmp_path)
    assert status.presets == []
    from dataclasses import replace

    none = results_of(status, replace(EXPECT, camera_presets=[]))["codec.camera_presets"]
    assert (none.status, none.message.key) == (Status.WARN, "codec.presets.none")
    missing = results_of(status)["codec.camera_presets"]
    assert (missing.status, missing.message.key) == (Status.FAIL, "codec.presets.missing")
