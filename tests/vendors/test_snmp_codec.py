"""snmp codec driver against snmpsim (real X50 excerpt, real Huawei recording, hand-made states)."""

from __future__ import annotations

import time

import pytest

from agent.vendors import driver_for
from agent.vendors.base import CommandNotAllowed
from agent.vendors.snmp import ALLOWED, vendor_of
from tests.vendors.test_poly_gs import assert_message, fault
from tests.vendors.poly_peers import SNMP_STATES, by_id, make_config, report_text, run_codec_check, snmpsim_codec  # noqa: F401

COMMUNITY_CANARY = "hntht-canary-codec-community-0b9e"


def snmp_config(tmp_path, sim, community, expect=None, budget=15.0):
    codec = {"vendor": "snmp", "port": sim.port, "timeout": "1s"}
    if expect:
        codec["expect"] = expect
    return make_config(tmp_path, codec, community=community, budget=budget)


FAULTS = [
    fault("registered", "x50-registered", {"registration": "h323"}, "codec.registration", "pass", "codec.reg.ok",
          ("đã đăng ký H.323",)),
    fault("as recorded: sip failed", "studiox50-librenms", {"registration": "sip"}, "codec.registration", "fail",
          "codec.reg.fail", ("CHƯA đăng ký", "SIP failed", "yêu cầu: SIP")),
    fault("camera failed", "x50-camera-failed", {}, "codec.video_format", "fail", "codec.video.nosignal",
          ("Không có tín hiệu hình ảnh", "camera")),
    fault("mic failed", "x50-mic-failed", {}, "codec.audio", "fail", "codec.audio.nomic", ("Chỉ 0 micro", "yêu cầu 1")),
    fault("idle", "x50-registered", {}, "codec.content_rate", "skip", "codec.content.idle",
          ("không trong cuộc gọi",), "codec.content.idle.remedy"),
    fault("in a conference: no call details over SNMP", "x50-in-conference", {}, "codec.content_rate", "skip",
          "codec.by_hand", ("1 cuộc gọi đang diễn ra", "SNMP không cho chi tiết cuộc gọi", "Tự kiểm tra"),
          "codec.by_hand.content"),
    # MIB-II only (the Huawei card walk): what no MIB of this agent holds is a by-hand skip, not an error
    fault("MIB-II only: no software version object", "huawei-ups2000-mib2-only", {}, "codec.version", "skip",
          "codec.by_hand", ("không có POLYCOM-ENDPOINT-MIB", "MIB-II không có phiên bản phần mềm",
                            "SNMP Card for HUAWEI UPS2000", "Tự kiểm tra"), "codec.unknown.remedy"),
    fault("MIB-II only: no video objects", "huawei-ups2000-mib2-only", {}, "codec.video_format", "skip",
          "codec.by_hand", ("MIB-II không có camera hay định dạng hình ảnh", "Tự kiểm tra"), "codec.by_hand.video"),
    fault("MIB-II only: no call count", "huawei-ups2000-mib2-only", {}, "codec.content_rate", "skip",
          "codec.by_hand", ("MIB-II không có số cuộc gọi", "Tự kiểm tra"), "codec.by_hand.content"),
    # ipAddrTable is MIB-II, which the agent answers: no row is "not read", an error, never a by-hand skip
    fault("MIB-II only: no ipAddrTable rows", "huawei-ups2000-mib2-only", {}, "codec.ip", "error", "codec.unknown",
          ("địa chỉ IP", "lần này không đọc được", "không trả về dòng nào của ipAddrTable"), "codec.unknown.remedy"),
    # a Poly agent's own MIB object missing (activeConferences: the excerpt lacks it) stays an error
    fault("Poly without activeConferences", "studiox50-librenms", {}, "codec.content_rate", "error", "codec.unknown",
          ("lần này không đọc được", "SNMP không báo số cuộc gọi"), "codec.unknown.remedy"),
    # the address is the ipAddrTable row index: rows with only ifIndex/netmask columns (as the real X50 walk has)
    fault("ipAddrTable without an ipAdEntAddr column", "studiox50-ipaddrtable-index-only", {"ip": "192.0.2.50"},
          "codec.ip", "pass", "codec.ip.ok", ("192.0.2.50", "255.255.252.0")),
]


@pytest.mark.parametrize("community,expect,check_id,status,key,facts,remedy", FAULTS)
def test_fault_state(tmp_path, snmpsim_codec, community, expect, check_id, status, key, facts, remedy):  # noqa: F811
    report = run_codec_check(snmp_config(tmp_path, snmpsim_codec, community, expect))
    result = by_id(report)[check_id]
    assert result.status.value == status, result.message.render("en")
    assert_message(result, key, facts, remedy)


def test_wrong_community_is_unreachable_within_budget(tmp_path, snmpsim_codec):  # noqa: F811
    started = time.monotonic()
    report = run_codec_check(snmp_config(tmp_path, snmpsim_codec, COMMUNITY_CANARY, budget=4.0))
    assert time.monotonic() - started < 5.5
    # A wrong community is indistinguishable from no agent on the port (SNMP v2c answers nothing):
    # unreachable, with the port and the protocol, and a remedy that names the community beside power,
    # cable and IP (the other transports' remedy does not).
    reachable = by_id(report)["codec.reachable"]
    assert reachable.status.value == "fail", reachable.message.render("en")
    assert_message(reachable, "codec.reachable.fail", ("Không kết nối được", "không trả lời SNMP (SNMPv2c)"),
                   "codec.reachable.fail.snmp.remedy")
    vi, en = reachable.remedy.render("vi"), reachable.remedy.render("en")
    assert "community_file" in vi and "community sai" in vi and f"UDP {snmpsim_codec.port}" in vi, vi
    assert "community_file" in en and "community is wrong" in en and f"UDP {snmpsim_codec.port}" in en, en
    assert COMMUNITY_CANARY not in report_text(report)


def test_one_engine_between_polls(tmp_path, snmpsim_codec):  # noqa: F811
    driver = driver_for(snmp_config(tmp_path, snmpsim_codec, "studiox50-librenms"))
    try:
        first = driver.poll()
        engine = driver._session._engine
        second = driver.poll()
        assert driver._session._engine is engine and driver.sessions_opened == 1
        assert first.facts == second.facts
    finally:
        driver.close()


def test_vendor_of():
    assert vendor_of("1.3.6.1.4.1.2684") == "poly"
    assert vendor_of("1.3.6.1.4.1.2011.2.1") == "huawei"
    assert vendor_of("1.3.6.1.4.1.5596.150.6.4.1") == "cisco"
    assert vendor_of("1.3.6.1.2.1.33") is None and vendor_of(None) is None


@pytest.mark.parametrize("command", ["SET 1.3.6.1.2.1.1.5.0 x", "GET 1.3.6.1.4.1.9.9.1.0", "WALK 1.3.6.1",
                                     "GET 1.3.6.1.2.1.1.1.0\nSET 1.3.6.1.2.1.1.5.0", "WALK 1.3.6.1.2.1.2"])
def test_allow_list(command):
    assert not ALLOWED.permits(command)
    assert ALLOWED.permits("GET 1.3.6.1.2.1.1.1.0 1.3.6.1.4.1.13885.101.1.1.4.0")


def test_refused_before_sending(tmp_path, snmpsim_codec):  # noqa: F811
    driver = driver_for(snmp_config(tmp_path, snmpsim_codec, "studiox50-librenms"))
    try:
        with pytest.raises(CommandNotAllowed):
            driver.send("SET 1.3.6.1.2.1.1.5.0 x")
    finally:
        driver.close()
