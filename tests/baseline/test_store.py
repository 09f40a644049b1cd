"""The baseline file: atomic writes, bounded history, corrupt files, the service's auto-save (pure logic)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from agent import baseline as bl
from agent.baseline import Baseline, BaselineError, BaselineStore, capture, drift_for_statuses, save_after_rehearsal
from agent.config import load_dict
from agent.model import Status

STATUSES = {
    "codec": {"vendor": "cisco", "facts": {"model": "Cisco Room Bar", "serial": "S1", "software_version": "ce11"},
              "network": {"ip": "10.8.50.218"}, "call_rate": {"default_kbps": 2048},
              "video": {"monitors_configured": "Auto", "main_source_format": "1920x1080@30",
                        "monitors": [{"id": "1", "connected": True, "device": "LG", "resolution": "1920x1080@60",
                                      "role": "First"}]},
              "audio": {"mics": [{"id": "1", "connected": True, "echo_control": True}], "volume": 50},
              "presets": [{"id": "1", "name": "Chủ tọa"}],
              "registration": {"h323": {"status": "registered", "configured_server": "10.0.0.10"},
                               "sip": {"status": "inactive"}},
              "reasons": {}},
    "power": {"driver": "megatec", "protocol": "megatec-q1", "model": None, "ups_type": "online"},
}


def report(statuses=STATUSES, checks=(), generated_at="2026-11-29T07:00:00Z"):
    return {"room_id": "test-room", "generated_at": generated_at, "overall": "pass", "mode": "standalone",
            "checks": list(checks), "statuses": statuses}


def config(tmp_path, **baseline):
    return load_dict({"agent": {"room_id": "test-room", "state_dir": str(tmp_path / "state")}, "baseline": baseline})


def make(n=0):
    b = capture(report(generated_at=f"2026-11-29T07:{n:02d}:00Z"), reason="manual", saved_by="tester")
    b.settings["codec.call_rate"] = 2048 + n
    return b


def test_save_then_load_round_trip_with_metadata(tmp_path):
    store = BaselineStore(tmp_path)
    saved = store.save(make())
    loaded = store.load()
    assert loaded == saved
    assert loaded.report["id"] == "test-room@2026-11-29T07:00:00Z" and loaded.saved_by == "tester"
    assert loaded.agent_version and loaded.saved_at.endswith("Z")
    data = json.loads((tmp_path / "baseline.json").read_text())
    assert data["schema"] == "hntht.baseline/1" and data["history"] == []
    assert stat.S_IMODE((tmp_path / "baseline.json").stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_extracted_settings_from_statuses():
    snap = bl.extract(STATUSES)
    assert snap.areas == ["codec", "power"]
    s = snap.settings
    assert s["codec.call_rate"] == 2048 and s["codec.preset.1"] == "Chủ tọa" and s["codec.echo_control.1"] is True
    assert s["codec.registration"] == "h323" and s["codec.h323.gatekeeper"] == "10.0.0.10"
    assert s["codec.monitor.1"]["device"] == "LG" and s["power.model"] is None
    # values that change by themselves are not settings
    assert not any(k.startswith(("codec.uptime", "codec.calls", "power.load", "power.battery")) for k in s)


def test_unreadable_lists_are_marked_so_their_items_are_not_removed():
    statuses = json.loads(json.dumps(STATUSES))
    statuses["codec"]["presets"] = None
    statuses["codec"]["audio"]["mics"] = []
    statuses["codec"]["reasons"] = {"audio.mics": "the device has no per-microphone status"}
    snap = bl.extract(statuses)
    assert set(snap.unreadable) == {"codec.preset.", "codec.mic.", "codec.echo_control."}
    assert not any(k.startswith("codec.preset.") for k in snap.settings)


def test_history_is_bounded_newest_first(tmp_path):
    store = BaselineStore(tmp_path, history=3)
    for n in range(6):
        store.save(make(n))
    assert store.load().settings["codec.call_rate"] == 2053
    assert [b.settings["codec.call_rate"] for b in store.history()] == [2052, 2051, 2050]
    assert BaselineStore(tmp_path, history=0).save(make(9)) and BaselineStore(tmp_path).history() == []


@pytest.mark.parametrize("where", ["replace", "fsync"])
def test_a_crash_mid_write_keeps_the_previous_baseline_whole(tmp_path, monkeypatch, where):
    store = BaselineStore(tmp_path)
    store.save(make(1))
    before = (tmp_path / "baseline.json").read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bl.os, where, boom)
    with pytest.raises(BaselineError, match="No space left on device"):
        store.save(make(2))
    monkeypatch.undo()
    assert (tmp_path / "baseline.json").read_bytes() == before
    assert store.load().settings["codec.call_rate"] == 2049
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [], "no temporary file left behind"


def test_corrupt_file_is_an_error_result_then_moved_aside_on_save(tmp_path):
    cfg = config(tmp_path)
    cfg.state_dir.mkdir()
    (cfg.state_dir / "baseline.json").write_text('{"schema": "hntht.baseline/1", "current": {"room')
    (result,) = drift_for_statuses(cfg, STATUSES)
    assert result.id == "drift.baseline" and result.status is Status.ERROR
    assert "not valid JSON" in result.to_dict("en")["message"] and "baseline save" in result.to_dict("en")["remedy"]
    BaselineStore(cfg.state_dir).save(make())
    assert BaselineStore(cfg.state_dir).load() is not None
    assert any(p.name.startswith("baseline.json.corrupt-") for p in cfg.state_dir.iterdir())


def test_a_baseline_of_another_room_is_not_compared(tmp_path):
    cfg = config(tmp_path)
    other = make()
    other.room_id = "another-room"
    BaselineStore(cfg.state_dir).save(other)
    (result,) = drift_for_statuses(cfg, STATUSES)
    assert result.status is Status.ERROR and "another-room" in result.to_dict("en")["message"]


def test_drift_from_config_honours_enabled_strict_and_ignore(tmp_path):
    cfg = config(tmp_path)
    assert [r.status for r in drift_for_statuses(cfg, STATUSES)] == [Status.SKIP]  # no baseline yet
    BaselineStore(cfg.state_dir).save(capture(report(), reason="manual", saved_by="t"))
    changed = json.loads(json.dumps(STATUSES))
    changed["codec"]["call_rate"]["default_kbps"] = 1024
    changed["codec"]["audio"]["volume"] = 20
    assert {r.id: r.status for r in drift_for_statuses(cfg, changed)} == {
        "drift.codec.call_rate": Status.WARN, "drift.codec.volume": Status.WARN}
    assert {r.id: r.status for r in drift_for_statuses(config(tmp_path, strict=True, ignore=["codec.volume"]),
                                                       changed)} == {"drift.codec.call_rate": Status.FAIL}
    assert drift_for_statuses(config(tmp_path, enabled=False), changed) == []
    assert {r.status for r in drift_for_statuses(cfg, changed, meeting_window=True)} == {Status.FAIL}


def test_bad_ignore_pattern_is_a_config_error(tmp_path):
    from agent.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[baseline.ignore\].*setting name"):
        config(tmp_path, ignore=["Codec Volume"])


def test_auto_save_after_rehearsal(tmp_path):
    cfg = config(tmp_path)
    failing = report(checks=[{"id": "codec.camera_presets", "area": "codec", "status": "fail"}])
    assert save_after_rehearsal(cfg, failing) is None
    assert BaselineStore(cfg.state_dir).load() is None
    drift_only = report(checks=[{"id": "drift.codec.call_rate", "area": "drift", "status": "fail"}])
    saved = save_after_rehearsal(cfg, drift_only)
    host_only = report(checks=[{"id": "host.clock", "area": "host", "status": "fail"}])
    assert save_after_rehearsal(cfg, host_only) is not None  # the PC's clock is no room setting
    assert saved is not None and saved.reason == "rehearsal" and saved.saved_by == "service"
    assert BaselineStore(cfg.state_dir).load() == saved
    assert save_after_rehearsal(config(tmp_path, auto_save_after_rehearsal=False), report()) is None


def test_auto_save_never_raises(tmp_path, monkeypatch):
    cfg = config(tmp_path)
    monkeypatch.setattr(bl.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
    assert save_after_rehearsal(cfg, report()) is None


def test_from_dict_rejects_garbage():
    with pytest.raises(ValueError):
        Baseline.from_dict({"room_id": "x"})
    with pytest.raises(ValueError):
        Baseline.from_dict([1, 2])
