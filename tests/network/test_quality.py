"""agent/quality.py and the pure helpers of the network probe: jitter, R factor, MOS, ping planning."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icmplib.models import Host

from agent.probes.netinfo import default_route
from agent.probes.network import fit_ping, ping_stats
from agent.quality import mean_delta_jitter, mos, r_factor, rfc3550_jitter

ROUTES = Path(__file__).parent / "data" / "proc_net_route"


# -- RFC 3550 §6.4.1 jitter ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("rtts", "expected"),
    [
        ([], None),
        ([12.0], None),  # one sample has no difference
        ([10.0, 10.0, 10.0, 10.0], 0.0),
        ([0.0, 16.0], 1.0),  # J = 0 + (16 - 0) / 16
        ([0.0, 16.0, 0.0], 1.0 + (16.0 - 1.0) / 16),  # 1.9375
        ([0.0, 32.0, 32.0], 2.0 - 2.0 / 16),  # a step then steady: J decays by 1/16 per packet
        ([5.0, 3.0], 2.0 / 16),  # |D| is an absolute difference
    ],
)
def test_rfc3550_jitter_known_sequences(rtts, expected):
    assert rfc3550_jitter(rtts) == (None if expected is None else pytest.approx(expected))


def test_rfc3550_jitter_converges_to_a_steady_alternation():
    # RTTs alternating 0, 10, 0, 10...: every |D| is 10, so after k differences
    # J = 10 (1 - (15/16)^k), the RFC's exponential average of |D|.
    for k in (1, 5, 16, 100):
        rtts = [10.0 * (i % 2) for i in range(k + 1)]
        assert rfc3550_jitter(rtts) == pytest.approx(10.0 * (1 - (15 / 16) ** k))


def test_rfc3550_matches_the_integer_reference_of_rfc_1889_a8():
    # RFC 1889 A.8 keeps 16 x J in an integer: jitter += d - ((jitter + 8) >> 4), in timestamp units.
    transits = [1000, 1040, 990, 1100, 1100, 1050, 1200, 980, 1010, 1000, 1300, 1290]
    scaled = 0
    for previous, current in zip(transits, transits[1:]):
        scaled += abs(current - previous) - ((scaled + 8) >> 4)
    assert rfc3550_jitter([float(t) for t in transits]) == pytest.approx(scaled / 16, abs=1.0)


@pytest.mark.parametrize(
    "rtts",
    [[1.0, 3.0, 2.0], [40.1, 27.9, 54.2, 38.6, 39.0], [0.05, 0.06, 0.04, 0.05], [10.0] * 6],
)
def test_mean_delta_jitter_is_icmplibs_definition(rtts):
    # icmplib's Host.jitter is the reference for the "mean |dRTT|" figure shown beside RFC 3550.
    assert mean_delta_jitter(rtts) == pytest.approx(Host("x", len(rtts), rtts).jitter, abs=1e-3)


def test_mean_delta_jitter_needs_two_samples():
    assert mean_delta_jitter([]) is None and mean_delta_jitter([3.0]) is None


# -- E-model: R factor and MOS ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("r", "expected"),
    # ITU-T G.107 Annex B, R -> MOS: the published table values.
    [(90, 4.34), (80, 4.02), (70, 3.60), (60, 3.10), (50, 2.58)],
)
def test_mos_at_g107_points(r, expected):
    assert mos(r) == pytest.approx(expected, abs=0.006)


@pytest.mark.parametrize(("r", "expected"), [(-5.0, 1.0), (0.0, 1.0), (100.0, 4.5), (120.0, 4.5)])
def test_mos_bounds(r, expected):
    assert mos(r) == expected


@pytest.mark.parametrize("r", [0.5, 2.0, 5.0, 6.0])
def test_mos_never_below_one_where_the_g107_cubic_dips(r):
    # 1 + 0.035 R + 7e-6 R (R - 60)(100 - R) is 0.99 at R = 5: MOS is clamped to its 1.0 floor.
    assert mos(r) == 1.0


@pytest.mark.parametrize(
    ("rtt", "jitter", "loss", "expected"),
    [
        (0.0, 0.0, 0.0, 93.2 - 10.0 / 40),  # codec delay only: 92.95
        (40.0, 10.0, 0.0, 93.2 - 70.0 / 40),  # Le = 40 + 20 + 10 = 70 -> 91.45
        (40.0, 10.0, 2.0, 93.2 - 70.0 / 40 - 5.0),  # 2.5 points per % of loss
        (150.0, 0.0, 0.0, 89.2),  # Le = 160: both branches give 89.2 (the knee is continuous)
        (300.0, 20.0, 0.0, 93.2 - (350.0 - 120.0) / 10),  # Le = 350 -> 70.2
        (2000.0, 0.0, 0.0, 0.0),  # clamped at 0
        (10.0, 0.0, 100.0, 0.0),  # total loss
    ],
)
def test_r_factor_known_points(rtt, jitter, loss, expected):
    assert r_factor(rtt, jitter, loss) == pytest.approx(expected)


def test_r_factor_is_continuous_at_the_latency_knee():
    below, above = r_factor(149.999, 0.0, 0.0), r_factor(150.0, 0.0, 0.0)
    assert below == pytest.approx(above, abs=1e-3)


@given(
    rtt=st.floats(0, 3000), jitter=st.floats(0, 500), loss=st.floats(0, 100),
    d_rtt=st.floats(0, 500), d_jitter=st.floats(0, 100), d_loss=st.floats(0, 50),
)
def test_r_and_mos_never_improve_when_the_link_gets_worse(rtt, jitter, loss, d_rtt, d_jitter, d_loss):
    r1 = r_factor(rtt, jitter, loss)
    r2 = r_factor(rtt + d_rtt, jitter + d_jitter, min(100.0, loss + d_loss))
    assert 0.0 <= r2 <= r1 <= 100.0
    assert 1.0 <= mos(r2) <= mos(r1) + 1e-12 <= 4.5 + 1e-12


# -- ping statistics and planning ------------------------------------------------------------

def test_ping_stats_from_a_run():
    stats = ping_stats(10, [40.0, 30.0, 50.0, 40.0, 40.0, 45.0, 35.0, 40.0], "raw")
    assert (stats.sent, stats.received, stats.loss_percent) == (10, 8, 20.0)
    assert (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms) == (30.0, 40.0, 50.0)
    assert stats.jitter_mean_delta_ms == pytest.approx((10 + 20 + 10 + 0 + 5 + 10 + 5) / 7)
    assert stats.jitter_rfc3550_ms == pytest.approx(rfc3550_jitter([40.0, 30.0, 50.0, 40.0, 40.0, 45.0, 35.0, 40.0]))
    assert stats.r_factor == pytest.approx(r_factor(40.0, stats.jitter_rfc3550_ms, 20.0))
    assert stats.mos == pytest.approx(mos(stats.r_factor))
    assert stats.method == "raw"


def test_ping_stats_without_replies():
    stats = ping_stats(5, [], "unprivileged", "ICMP type 3 code 1")
    assert (stats.received, stats.loss_percent, stats.rtt_avg_ms, stats.mos) == (0, 100.0, None, None)
    assert stats.icmp_error == "ICMP type 3 code 1"
    assert ping_stats(0, [], "raw").loss_percent == 100.0


def test_ping_stats_single_reply_has_no_jitter():
    stats = ping_stats(1, [12.5], "raw")
    assert stats.jitter_rfc3550_ms is None and stats.jitter_mean_delta_ms is None
    assert stats.r_factor == pytest.approx(r_factor(12.5, 0.0, 0.0))


@pytest.mark.parametrize(
    ("count", "interval", "timeout", "available", "expected"),
    [
        (10, 0.2, 1.0, 100.0, (10, 1.0)),  # fits: unchanged
        (10, 0.2, 1.0, 2.8, (10, 1.0)),  # exactly fits: 9 x 0.2 + 1.0
        (10, 0.2, 1.0, 2.79, (9, 1.0)),  # one request fewer, full reply wait kept
        (10, 0.2, 1.0, 2.5, (8, 1.0)),
        (10, 0.2, 1.0, 1.0, (1, 1.0)),
        (10, 0.2, 1.0, 0.4, (1, 0.4)),  # not even one full wait: one request, shorter wait
        (10, 0.2, 1.0, 0.0, (0, 0.0)),  # nothing left
        (10, 0.2, 1.0, -1.0, (0, 0.0)),
    ],
)
def test_fit_ping_into_what_is_left(count, interval, timeout, available, expected):
    got = fit_ping(count, interval, timeout, available)
    assert got[0] == expected[0] and got[1] == pytest.approx(expected[1])
    if got[0]:
        assert (got[0] - 1) * interval + got[1] <= max(available, 0) + 1e-9


# -- default route from the kernel table (real captures) --------------------------------------

@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        ("two_defaults.txt", ("d1", "192.0.2.1")),  # the lower metric (100) wins over 200
        ("device_only.txt", ("d1", "")),  # no gateway on a point-to-point default
        ("none.txt", None),
        ("missing.txt", None),  # unreadable table: no route, no traceback
    ],
)
def test_default_route_from_real_captures(capture, expected):
    assert default_route(ROUTES / capture) == expected
