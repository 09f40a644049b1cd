"""Every network check id, table-driven, with its band boundaries (agent/checks/network.py).

Pure logic: the statuses are the probe's own records, built here; the real readings are
exercised against namespaces in test_netns.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from agent.checks import network as checks
from agent.config.schema import Duration
from agent.config.sections.network import NetworkSection, Target
from agent.model import Status
from agent.probes.netinfo import InterfaceStatus
from agent.probes.network import NetworkStatus, PingStats, TargetStatus, TcpResult, ping_stats

UP = InterfaceStatus("eth0", True, "up", True, 1000, "full", "52:54:00:12:34:56", "10.99.1.1", "255.255.255.0")


def ids(results):
    return [r.id for r in results]


def by_id(results):
    return {r.id: r for r in results}


def stats(avg=20.0, jitter=2.0, loss=0.0, mos=4.3, sent=10):
    received = round(sent * (1 - loss / 100))
    return PingStats(sent, received, loss, avg - 1, avg, avg + 1, jitter, jitter * 1.2, 90.0, mos, "raw")


def spec(**kw):
    return Target(name=kw.pop("name", "mcu"), host=kw.pop("host", "10.99.2.2"), **kw)


def target(ping=None, **kw):
    kw.setdefault("name", "mcu")
    kw.setdefault("host", "10.99.2.2")
    kw.setdefault("address", kw["host"])
    return TargetStatus(ping=ping, **kw)


def render_all(results):
    """Every message and remedy renders in both languages (all catalogue keys exist)."""
    for result in results:
        for lang in ("vi", "en"):
            d = result.to_dict(lang)
            assert d["message"] and "{" not in d["message"], d
            if d["remedy"]:
                assert "{" not in d["remedy"], d


# -- network.link / network.address ---------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Status.PASS),
        ({"speed_mbps": None, "duplex": None}, Status.PASS),  # virtual links report no speed
        ({"speed_mbps": 100}, Status.PASS),  # boundary: 100 Mbit/s is enough
        ({"speed_mbps": 99}, Status.WARN),
        ({"speed_mbps": 10}, Status.WARN),
        ({"duplex": "half"}, Status.WARN),
        ({"operstate": "down", "carrier": None}, Status.FAIL),  # admin down: carrier unreadable
        ({"operstate": "lowerlayerdown", "carrier": False}, Status.FAIL),  # cable pulled / far end down
        ({"operstate": "dormant"}, Status.FAIL),
        ({"operstate": "up", "carrier": False}, Status.FAIL),
        ({"operstate": "unknown", "carrier": True}, Status.PASS),  # loopback, some tunnels
        ({"operstate": "unknown", "carrier": None}, Status.PASS),
        ({"operstate": "unknown", "carrier": False}, Status.FAIL),
    ],
)
def test_link(changes, expected):
    results = checks.link_results(NetworkStatus(dataclasses.replace(UP, **changes), None, "10.99.1.254", []))
    link = by_id(results)["network.link"]
    assert link.status is expected
    assert (link.remedy is None) == (expected is Status.PASS)
    render_all(results)


def test_link_missing_interface():
    results = checks.link_results(NetworkStatus(InterfaceStatus("enp9s0", False), None, None, []))
    assert ids(results) == ["network.link"]
    assert results[0].status is Status.FAIL and results[0].observed == "missing"
    assert "enp9s0" in results[0].message.render("en")
    render_all(results)


def test_link_when_no_interface_can_be_chosen():
    results = checks.link_results(NetworkStatus(None, "no default route", None, []))
    assert ids(results) == ["network.link"] and results[0].status is Status.ERROR
    render_all(results)


@pytest.mark.parametrize(("ipv4", "expected"), [("10.99.1.1", Status.PASS), (None, Status.FAIL)])
def test_address(ipv4, expected):
    iface = dataclasses.replace(UP, ipv4=ipv4, netmask="255.255.255.0" if ipv4 else None)
    address = by_id(checks.link_results(NetworkStatus(iface, None, None, [])))["network.address"]
    assert address.status is expected and address.observed == ipv4
    render_all([address])


# -- network.route ---------------------------------------------------------------------------

@pytest.mark.parametrize(("gateway", "expected"), [("10.99.1.254", Status.PASS), (None, Status.FAIL), ("", Status.FAIL)])
def test_route(gateway, expected):
    result = checks.route_result(NetworkStatus(UP, None, gateway, []))
    assert result.id == "network.route" and result.status is expected
    render_all([result])


# -- network.T.dns and the gateway-less target ------------------------------------------------

def test_dns_resolved_then_the_rest():
    t = target(host="mcu.vnpt.vn", address="10.99.2.2", dns_ms=3.2, ping=stats())
    results = checks.target_results(t, spec(host="mcu.vnpt.vn"))
    assert ids(results)[:2] == ["network.mcu.dns", "network.mcu.reachable"]
    assert results[0].status is Status.PASS and results[0].observed == "10.99.2.2"
    render_all(results)


def test_dns_failure_is_the_only_item():
    t = target(host="mcu.vnpt.vn", address=None, dns_error="Name or service not known")
    results = checks.target_results(t, spec(host="mcu.vnpt.vn", tcp_ports=[1720]))
    assert ids(results) == ["network.mcu.dns"] and results[0].status is Status.FAIL
    assert "mcu.vnpt.vn" in results[0].message.render("en")
    render_all(results)


def test_ip_literal_has_no_dns_item():
    results = checks.target_results(target(ping=stats()), spec())
    assert "network.mcu.dns" not in ids(results)


def test_gateway_auto_without_a_default_gateway():
    t = TargetStatus(name="gateway", host="auto", dns_error="no default gateway")
    results = checks.target_results(t, spec(name="gateway", host="auto"))
    assert ids(results) == ["network.gateway.reachable"] and results[0].status is Status.ERROR
    render_all(results)


# -- network.T.reachable ------------------------------------------------------------------------

PING_ITEMS = ["network.mcu.loss", "network.mcu.rtt", "network.mcu.jitter", "network.mcu.quality"]


def test_reachable_icmp_denied_names_the_remedy():
    results = checks.target_results(target(ping_error="icmp-denied"), spec())
    reach = by_id(results)["network.mcu.reachable"]
    assert reach.status is Status.ERROR and reach.clause == "agent"
    assert "ping_group_range" in reach.remedy.render("en") and "CAP_NET_RAW" in reach.remedy.render("en")
    assert "ping_group_range" in reach.remedy.render("vi")
    assert [by_id(results)[i].status for i in PING_ITEMS] == [Status.SKIP] * 4
    render_all(results)


def test_reachable_other_ping_error():
    results = checks.target_results(target(ping_error="OSError: [Errno 101] Network is unreachable"), spec())
    assert by_id(results)["network.mcu.reachable"].status is Status.ERROR
    assert [by_id(results)[i].status for i in PING_ITEMS] == [Status.SKIP] * 4
    render_all(results)


@pytest.mark.parametrize("icmp_error", [None, "ICMP type 3 code 1"])
def test_no_reply_fails_reachable_and_loss(icmp_error):
    t = target(ping=ping_stats(10, [], "raw", icmp_error), tcp=[TcpResult(1720, "timeout", timeout_s=3.0)])
    results = checks.target_results(t, spec(tcp_ports=[1720]))
    got = by_id(results)
    assert got["network.mcu.reachable"].status is Status.FAIL
    assert got["network.mcu.loss"].status is Status.FAIL and got["network.mcu.loss"].observed == 100.0
    assert [got[i].status for i in PING_ITEMS[1:]] == [Status.SKIP] * 3
    assert got["network.mcu.tcp.1720"].status is Status.FAIL  # TCP still reported
    assert ("type 3" in got["network.mcu.reachable"].message.render("en")) == bool(icmp_error)
    render_all(results)


@pytest.mark.parametrize("name", ["gateway", "mcu", "vpn"])
def test_no_reply_remedy_is_specific_to_the_target(name):
    t = target(name=name, ping=ping_stats(5, [], "raw"))
    reach = by_id(checks.target_results(t, spec(name=name)))[f"network.{name}.reachable"]
    assert reach.remedy is not None
    if name == "mcu":
        assert "VNPT" in reach.remedy.render("en")
    render_all([reach])


def test_ping_disabled_gives_only_tcp_items():
    t = target(tcp=[TcpResult(1720, "open", 1.2, timeout_s=3.0)])
    assert ids(checks.target_results(t, spec(ping=False, tcp_ports=[1720]))) == ["network.mcu.tcp.1720"]


# -- network.T.loss / rtt / jitter / quality: band boundaries -------------------------------------

@pytest.mark.parametrize(
    ("loss", "limit", "expected"),
    [
        (0.0, 1.0, Status.PASS),
        (0.5, 1.0, Status.WARN),  # any loss within the limit warns
        (1.0, 1.0, Status.WARN),  # at the limit: still within
        (1.01, 1.0, Status.FAIL),
        (10.0, 1.0, Status.FAIL),  # one lost of 10 pings with the default limit
        (0.0, 0.0, Status.PASS),
        (0.5, 0.0, Status.FAIL),
        (25.0, 30.0, Status.WARN),
    ],
)
def test_loss_band(loss, limit, expected):
    result = by_id(checks.target_results(target(ping=stats(loss=loss, sent=200)), spec(max_loss_percent=limit)))["network.mcu.loss"]
    assert result.status is expected
    render_all([result])


@pytest.mark.parametrize(
    ("avg", "limit", "expected"),
    [(1.0, 150.0, Status.PASS), (120.0, 150.0, Status.PASS), (120.01, 150.0, Status.WARN),
     (150.0, 150.0, Status.WARN), (150.01, 150.0, Status.FAIL), (400.0, 150.0, Status.FAIL)],
)
def test_rtt_band(avg, limit, expected):
    result = by_id(checks.target_results(target(ping=stats(avg=avg)), spec(max_rtt_ms=limit)))["network.mcu.rtt"]
    assert result.status is expected
    assert result.observed == pytest.approx(avg)
    render_all([result])


@pytest.mark.parametrize(
    ("jitter", "limit", "expected"),
    [(0.0, 30.0, Status.PASS), (24.0, 30.0, Status.PASS), (24.01, 30.0, Status.WARN),
     (30.0, 30.0, Status.WARN), (30.01, 30.0, Status.FAIL), (None, 30.0, Status.SKIP)],
)
def test_jitter_band(jitter, limit, expected):
    p = stats()
    p.jitter_rfc3550_ms = jitter
    result = by_id(checks.target_results(target(ping=p), spec(max_jitter_ms=limit)))["network.mcu.jitter"]
    assert result.status is expected
    if jitter is not None:
        assert "RFC 3550" in result.message.render("en")
    render_all([result])


@pytest.mark.parametrize(
    ("mos", "minimum", "expected"),
    [(4.4, 3.6, Status.PASS), (3.6, 3.6, Status.PASS), (3.59, 3.6, Status.WARN), (1.0, 3.6, Status.WARN)],
)
def test_quality_band_never_fails(mos, minimum, expected):
    result = by_id(checks.target_results(target(ping=stats(mos=mos)), spec(min_mos=minimum)))["network.mcu.quality"]
    assert result.status is expected
    render_all([result])


# -- network.T.tcp.P ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("tcp", "expected", "text"),
    [
        (TcpResult(1720, "open", 1.5, timeout_s=3.0), Status.PASS, "H.323 port 1720 on the MCU at the central point is open"),
        (TcpResult(5060, "refused", 0.3, timeout_s=3.0), Status.FAIL, "SIP port 5060 on the MCU at the central point refused"),
        (TcpResult(5061, "timeout", timeout_s=3.0), Status.FAIL, "did not answer within 3 s"),
        (TcpResult(5061, "timeout", timeout_s=1.7), Status.FAIL, "within 1.7 s"),  # cut by the budget
        (TcpResult(5061, "timeout"), Status.FAIL, "within 3 s"),  # no record of the wait: the config's
        (TcpResult(443, "unreachable", error="No route to host"), Status.FAIL, "No route to host"),
        (TcpResult(8443, "error", error="Permission denied"), Status.FAIL, "TCP port 8443"),
    ],
)
def test_tcp(tcp, expected, text):
    result = checks.tcp_result(target(), spec(tcp_timeout=Duration(3.0)), tcp, checks.target_label("mcu"))
    assert result.id == f"network.mcu.tcp.{tcp.port}"
    assert result.status is expected and result.observed == tcp.state
    assert text in result.message.render("en")
    assert (result.remedy is None) == (expected is Status.PASS)
    render_all([result])


def test_tcp_states_have_distinct_messages():
    label = checks.target_label("mcu")
    texts = {checks.tcp_result(target(), spec(), TcpResult(1720, state, error="x"), label).message.render("vi")
             for state in ("open", "refused", "timeout", "unreachable")}
    assert len(texts) == 4


# -- the whole evaluation -------------------------------------------------------------------------

def test_evaluate_order_and_every_id():
    section = NetworkSection(target=[
        Target(name="gateway", host="auto"),
        Target(name="mcu", host="10.99.2.2", tcp_ports=[1720, 5060]),
    ])
    status = NetworkStatus(UP, None, "10.99.1.254", [
        TargetStatus("gateway", "auto", address="10.99.1.254", ping=stats()),
        TargetStatus("mcu", "10.99.2.2", address="10.99.2.2", ping=stats(),
                     tcp=[TcpResult(1720, "open", 1.0, timeout_s=3.0), TcpResult(5060, "refused", 0.2, timeout_s=3.0)]),
    ])
    results = checks.evaluate(status, section)
    assert ids(results) == [
        "network.link", "network.address", "network.route",
        "network.gateway.reachable", "network.gateway.loss", "network.gateway.rtt", "network.gateway.jitter",
        "network.gateway.quality",
        "network.mcu.reachable", "network.mcu.loss", "network.mcu.rtt", "network.mcu.jitter", "network.mcu.quality",
        "network.mcu.tcp.1720", "network.mcu.tcp.5060",
    ]
    assert all(r.area == "network" for r in results)
    assert [r.status for r in results].count(Status.FAIL) == 1
    render_all(results)
