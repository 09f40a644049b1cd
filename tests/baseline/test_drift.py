"""drift.* checks: pure logic, table-driven over every kind of setting (agent/checks/drift.py)."""

from __future__ import annotations

import copy
import re

import pytest

from agent.checks.drift import SPECS, Snapshot, describe, evaluate
from agent.model import Status

SAVED_AT = "2026-11-29T07:05:00Z"
ID_PATTERN = re.compile(r"^[a-z_]+(\.[a-z0-9_-]+)+$")  # docs/report-schema.json, checks[].id

BASE = Snapshot(
    areas=["network", "codec", "power"],
    settings={
        "network.interface": "enp1s0", "network.ipv4": "10.8.50.20", "network.netmask": "255.255.255.0",
        "network.default_gateway": "10.8.50.1", "network.target.gateway.address": "10.8.50.1",
        "network.target.mcu.address": "10.0.0.10",
        "codec.model": "Cisco Room Bar", "codec.serial": "FOC2735HU8V", "codec.software_version": "ce11.19",
        "codec.system_name": "NH-SX20", "codec.ip": "10.8.50.218", "codec.netmask": "255.255.255.0",
        "codec.gateway": "10.8.50.1", "codec.call_rate": 2048, "codec.call_rate_max_tx": 6000,
        "codec.call_rate_max_rx": 6000, "codec.video_format": "1920x1080@30", "codec.display_mode": "Auto",
        "codec.main_source": "1", "codec.presentation_source": "2", "codec.layout": None,
        "codec.monitor.1": {"connected": True, "device": "DELL P2417H", "resolution": "1920x1080@60", "role": "First"},
        "codec.monitor.2": {"connected": True, "device": "LG 43UN", "resolution": "1920x1080@60", "role": "Second"},
        "codec.mic.1": True, "codec.echo_control.1": True, "codec.mics_total": 2, "codec.volume": 50,
        "codec.preset.1": "Chủ tọa", "codec.preset.2": "Bên trái", "codec.registration": "h323",
        "codec.h323.gatekeeper": "10.0.0.10", "codec.sip.registrar": None,
        "power.driver": "megatec", "power.protocol": "megatec-q1", "power.model": "GS-1KVAS",
        "power.manufacturer": "Vultech", "power.firmware": "1.0", "power.ups_type": "online",
        "power.attached_devices": None,
    },
)


def changed(**edits):
    snap = copy.deepcopy(BASE)
    for key, value in edits.items():
        key = key.replace("__", ".")
        if value is ...:
            snap.settings.pop(key)
        else:
            snap.settings[key] = value
    return snap


def by_id(results):
    return {r.id: r for r in results}


def test_every_spec_names_a_setting_in_both_languages():
    for spec in SPECS:
        sample = re.sub(r"\(\?P<\w+>[^)]*\)", "x", spec.pattern).replace("\\.", ".")
        found, params = describe(sample)
        assert found is spec, sample
        from agent.i18n import Text

        for lang in ("vi", "en"):
            text = Text(spec.name, **params).render(lang)
            assert text and "{" not in text and text != spec.name


# (setting, new value, words that must appear in the English message: the old and the new value)
CHANGES = [
    ("codec.call_rate", 1024, ["call bandwidth", "2048 kbps", "1024 kbps"]),
    ("codec.call_rate_max_tx", 4000, ["6000 kbps", "4000 kbps"]),
    ("codec.video_format", "1280x720@30", ["video format", "1920x1080@30", "1280x720@30"]),
    ("codec.display_mode", "Single", ["display mode", "Auto", "Single"]),
    ("codec.main_source", "2", ["main video source"]),
    ("codec.presentation_source", "3", ["presentation source"]),
    ("codec.monitor.2", {"connected": False}, ["screen 2", "LG 43UN", "not connected"]),
    ("codec.mic.1", False, ["microphone 1", "connected", "not connected"]),
    ("codec.echo_control.1", False, ["echo cancellation of microphone 1", "from on", "to off"]),
    ("codec.preset.2", "Bên phải", ["camera preset 2", "Bên trái", "Bên phải"]),
    ("codec.registration", "sip", ["registration", "H.323", "SIP"]),
    ("codec.h323.gatekeeper", "10.0.0.11", ["gatekeeper", "10.0.0.10", "10.0.0.11"]),
    ("codec.volume", 80, ["volume", "50", "80"]),
    ("codec.mics_total", 1, ["microphone inputs"]),
    ("codec.ip", "10.8.50.219", ["codec IP address", "10.8.50.218", "10.8.50.219"]),
    ("codec.software_version", "ce11.20", ["software version", "ce11.19", "ce11.20"]),
    ("codec.serial", "FOC000", ["serial"]),
    ("codec.model", "Cisco SX20", ["codec model", "Room Bar", "SX20"]),
    ("power.model", "Santak C1K", ["UPS model", "GS-1KVAS", "Santak C1K"]),
    ("power.ups_type", "offline", ["UPS type", "online", "offline"]),
    ("network.ipv4", "10.8.50.21", ["agent PC's IP address", "10.8.50.20", "10.8.50.21"]),
    ("network.default_gateway", "10.8.50.254", ["default gateway"]),
    ("network.target.mcu.address", "10.0.0.99", ["MCU at the central point", "10.0.0.10", "10.0.0.99"]),
]


@pytest.mark.parametrize("key, new, words", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_setting_is_a_warning_naming_it_with_old_and_new_values(key, new, words):
    results = evaluate(BASE, changed(**{key.replace(".", "__"): new}), saved_at=SAVED_AT)
    assert [r.id for r in results] == [f"drift.{key}"]
    result = results[0]
    assert result.status is Status.WARN
    assert ID_PATTERN.match(result.id)
    assert result.expected == BASE.settings[key] and result.observed == new
    en = result.to_dict("en")
    for word in words:
        assert word.lower() in en["message"].lower(), en["message"]
    assert "29/11/2026" in en["message"] or "/2026" in en["message"]  # when the baseline was taken
    assert en["remedy"] and "baseline save" in en["remedy"]
    vi = result.to_dict("vi")
    assert "phiên tổng duyệt" in vi["message"] and "thay đổi" in vi["message"]
    assert vi["clause"].startswith("QĐ 32/2019, Điều 7 khoản 5") or vi["clause"].endswith("khoản 2.2")


def test_clauses_settings_cite_7_5_equipment_and_network_5_2_2():
    results = by_id(evaluate(BASE, changed(codec__call_rate=1024, power__model="X", network__ipv4="1.2.3.4")))
    assert results["drift.codec.call_rate"].clause == "7.5"
    assert results["drift.power.model"].clause == "5.2.2"
    assert results["drift.network.ipv4"].clause == "5.2.2"


def test_vietnamese_message_reads_like_the_brief():
    (result,) = evaluate(BASE, changed(codec__call_rate=1024), saved_at=SAVED_AT)
    message = result.to_dict("vi")["message"]
    assert message.startswith("Băng thông kết nối đã thay đổi từ 2048 kbps (phiên tổng duyệt ")
    assert message.endswith(") thành 1024 kbps")


def test_nothing_changed_is_one_pass_line_counting_what_was_compared():
    results = evaluate(BASE, copy.deepcopy(BASE), saved_at=SAVED_AT)
    assert [r.id for r in results] == ["drift.baseline"]
    assert results[0].status is Status.PASS
    compared = sum(1 for v in BASE.settings.values() if v is not None)
    assert results[0].observed["compared"] == compared
    assert f"{compared} settings compared" in results[0].to_dict("en")["message"]


def test_no_baseline_is_a_skip_telling_to_save_one():
    (result,) = evaluate(None, BASE)
    assert result.id == "drift.baseline" and result.status is Status.SKIP
    assert "hntht-agent baseline save" in result.to_dict("en")["message"]
    assert "phiên tổng duyệt" in result.to_dict("vi")["message"]


def test_no_area_with_settings_ran_gives_nothing():
    assert evaluate(BASE, Snapshot(areas=["host"])) == []
    assert evaluate(None, Snapshot(areas=[])) == []


@pytest.mark.parametrize("strict, window, expected", [(False, False, Status.WARN), (True, False, Status.FAIL),
                                                      (False, True, Status.FAIL), (True, True, Status.FAIL)])
def test_strict_mode_and_meeting_window_make_changes_fail(strict, window, expected):
    (result,) = evaluate(BASE, changed(codec__video_format="1280x720@30"), strict=strict, meeting_window=window)
    assert result.status is expected


# -- null handling --------------------------------------------------------------------------------
def test_unreadable_now_is_not_a_change_but_says_it_could_not_compare():
    results = evaluate(BASE, changed(codec__volume=None, power__model=None), saved_at=SAVED_AT)
    assert {r.id: r.status for r in results} == {"drift.baseline": Status.PASS, "drift.codec.volume": Status.SKIP,
                                                 "drift.power.model": Status.SKIP}
    volume = by_id(results)["drift.codec.volume"].to_dict("en")
    assert "Could not compare" in volume["message"] and "50" in volume["message"]
    assert volume["remedy"] is None


def test_unreadable_at_the_rehearsal_is_not_a_change_either():
    results = by_id(evaluate(BASE, changed(codec__layout="Grid", power__attached_devices="codec, screens")))
    assert results["drift.codec.layout"].status is Status.SKIP
    assert "not readable at the rehearsal" in results["drift.codec.layout"].to_dict("en")["message"]
    assert results["drift.baseline"].status is Status.PASS


def test_null_on_both_sides_says_nothing():
    results = evaluate(BASE, changed(codec__sip__registrar=None))
    assert [r.id for r in results] == ["drift.baseline"]


# -- lists: presets, screens, microphones, targets -------------------------------------------------
def test_a_preset_gone_from_a_readable_list_is_removed():
    (result,) = evaluate(BASE, changed(codec__preset__2=...), saved_at=SAVED_AT)
    assert result.id == "drift.codec.preset.2" and result.status is Status.WARN
    assert result.expected == "Bên trái" and result.observed is None
    assert "Bên trái" in result.to_dict("en")["message"] and "gone" in result.to_dict("en")["message"]


def test_a_new_preset_is_added():
    (result,) = evaluate(BASE, changed(codec__preset__3="Bên phải"))
    assert result.id == "drift.codec.preset.3" and result.status is Status.WARN
    assert "is new" in result.to_dict("en")["message"] and "Bên phải" in result.to_dict("en")["message"]


def test_items_of_an_unreadable_list_could_not_be_compared():
    now = changed(codec__preset__1=..., codec__preset__2=...)
    now.unreadable = ["codec.preset."]
    results = by_id(evaluate(BASE, now))
    assert results["drift.codec.preset.1"].status is Status.SKIP
    assert results["drift.codec.preset.2"].status is Status.SKIP
    assert results["drift.baseline"].status is Status.PASS


def test_scalar_missing_from_a_newer_extraction_is_not_a_change():
    results = evaluate(BASE, changed(codec__system_name=...))
    assert {r.id: r.status for r in results} == {"drift.baseline": Status.PASS,
                                                 "drift.codec.system_name": Status.SKIP}


# -- areas ----------------------------------------------------------------------------------------
def test_only_areas_that_ran_are_compared_and_the_summary_names_the_others():
    now = Snapshot(areas=["network"], settings={k: v for k, v in BASE.settings.items() if k.startswith("network.")})
    results = evaluate(BASE, now)
    assert [r.id for r in results] == ["drift.baseline"]
    en = results[0].to_dict("en")["message"]
    assert "not compared" in en and "VCS terminal (codec)" in en and "Power and UPS" in en
    # a codec change is invisible when the codec did not run
    now.settings["codec.call_rate"] = 1
    assert [r.id for r in evaluate(BASE, now)] == ["drift.baseline"]


def test_an_area_missing_from_the_baseline_compares_nothing_there():
    base = Snapshot(areas=["power"], settings={k: v for k, v in BASE.settings.items() if k.startswith("power.")})
    (result,) = evaluate(base, changed(codec__call_rate=1))
    assert result.id == "drift.baseline" and result.observed["not_compared"] == ["network", "codec"]


def test_baseline_with_no_comparable_area_is_a_skip_not_a_pass():
    base = Snapshot(areas=["power"], settings={"power.model": "X"})
    now = Snapshot(areas=["codec"], settings={"codec.call_rate": 2048})
    (result,) = evaluate(base, now)
    assert result.status is Status.SKIP


# -- ignore list ----------------------------------------------------------------------------------
@pytest.mark.parametrize("patterns, left", [
    (["codec.volume"], {"drift.codec.preset.2"}),
    (["drift.codec.volume"], {"drift.codec.preset.2"}),
    (["codec.preset.*"], {"drift.codec.volume"}),
    (["codec.*"], set()),
    (["power.model"], {"drift.codec.volume", "drift.codec.preset.2"}),
])
def test_ignore_list(patterns, left):
    results = evaluate(BASE, changed(codec__volume=10, codec__preset__2=...), ignore=patterns)
    assert {r.id for r in results if r.status is not Status.PASS} == left
    if not left:
        assert [r.id for r in results] == ["drift.baseline"]
