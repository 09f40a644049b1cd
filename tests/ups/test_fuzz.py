"""Hypothesis: whatever bytes a UPS or upsd sends, the parsers raise only typed errors."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from agent.errors import ProtocolError
from agent.ups import qx
from agent.ups.nut import NutError, parse_reply_line, split_line, status_from_vars, NutNoDataYet
from agent.ups.qx import UpsProtocolError

REAL = [b"(238.8 000.0 219.9 020 49.9 2.25 43.0 00000001\r", b"#230.0 000 024.0 50.0\r",
        b"#NOT_A_LIVE_UPS  TESTING    TESTING   \r",
        b"(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100000000001\r"]


def mutated():
    """Real replies with bytes flipped, cut or inserted, plus arbitrary bytes."""
    return st.one_of(
        st.binary(max_size=120),
        st.tuples(st.sampled_from(REAL), st.integers(0, 80), st.binary(max_size=4)).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]):]),
        st.text(alphabet="0123456789.() #@-NAK\r", max_size=90).map(str.encode),
    )


PARSERS = [qx.parse_q1, qx.parse_f, qx.parse_i, qx.parse_qgs, qx.parse_q6, qx.parse_qbv, qx.parse_qmod,
           qx.parse_qpi, qx.parse_qri, qx.parse_qmd, qx.parse_label]


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_qx_parsers_raise_only_typed_errors(data):
    for parse in PARSERS:
        try:
            parse(data)
        except UpsProtocolError as exc:
            assert isinstance(exc, ProtocolError) and exc.remedy is not None
    qx.is_refusal(data, "F")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_nut_line_parser_raises_only_typed_errors(line):
    try:
        split_line(line)
        parse_reply_line(line)
    except NutError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["ups.status", "battery.charge", "battery.voltage", "battery.runtime",
                                        "ups.load", "input.voltage", "ups.test.result", "ups.alarm",
                                        "battery.voltage.nominal", "driver.name", "ups.test.date", "battery.packs"]),
                       st.text(max_size=20)))
def test_nut_mapping_never_crashes(variables):
    try:
        status = status_from_vars(variables, source="fuzz")
    except NutNoDataYet:
        return
    assert status.battery_charge_percent is None or 0 <= status.battery_charge_percent <= 100 or \
        variables.get("battery.charge") is not None
