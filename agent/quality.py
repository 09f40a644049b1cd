"""Link quality arithmetic: RFC 3550 jitter and a simplified E-model (R factor, MOS).

Pure functions, documented in docs/network.md.  The E-model here is the simplified form
monitoring tools use (NetBeez; twilio-video.js has the same shape), an *estimate* of call
quality for voice, shown next to the raw RTT, jitter and loss, never instead of them.
"""

from __future__ import annotations

from statistics import fmean


def rfc3550_jitter(rtts_ms: list[float]) -> float | None:
    """Interarrival jitter J of RFC 3550 §6.4.1, over echo round-trip times in arrival order.

    For an echo probe the transit time of packet i is its RTT, so
    D(i-1, i) = rtt_i - rtt_(i-1) and J += (|D| - J) / 16, starting from J = 0.
    The 1/16 gain makes J a slow, smoothed estimator: over a 10-packet run it reads lower than
    the mean absolute difference, which is reported beside it.
    """
    if len(rtts_ms) < 2:
        return None
    jitter = 0.0
    for previous, current in zip(rtts_ms, rtts_ms[1:]):
        jitter += (abs(current - previous) - jitter) / 16.0
    return jitter


def mean_delta_jitter(rtts_ms: list[float]) -> float | None:
    """Mean absolute difference of consecutive RTTs (what icmplib and ping tools call jitter)."""
    if len(rtts_ms) < 2:
        return None
    return fmean(abs(b - a) for a, b in zip(rtts_ms, rtts_ms[1:]))


# Constants of the simplified E-model (NetBeez form of ITU-T G.107 for monitoring).
R0 = 93.2  # base R with default impairments
LATENCY_KNEE_MS = 160.0  # effective latency above which delay impairment grows 4x faster
LOSS_PENALTY = 2.5  # R points per percent of packet loss


def r_factor(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """R in [0, 100]: effective latency = RTT + 2 x jitter + 10 ms (codec delay)."""
    effective = rtt_ms + 2.0 * jitter_ms + 10.0
    if effective < LATENCY_KNEE_MS:
        r = R0 - effective / 40.0
    else:
        r = R0 - (effective - 120.0) / 10.0
    r -= LOSS_PENALTY * loss_percent
    return max(0.0, min(100.0, r))


def mos(r: float) -> float:
    """ITU-T G.107 mapping of R to MOS (1.0 to 4.5).

    The cubic dips below 1 for 0 < R < 6.5 (0.99 at R = 5): clamped, so MOS stays in its
    documented range and never rises when R falls (twilio-video.js floors R at 6.52 for this).
    """
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, 1.0 + 0.035 * r + 0.000007 * r * (r - 60.0) * (100.0 - r))
