"""Hypothesis: whatever an agent sends, the normalisers return (value, None) or (None, reason) and the
status builders return an UpsStatus whose nulls have reasons; nothing raises."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysnmp.proto import rfc1902, rfc1905
from pyasn1.type import univ

from agent.i18n import Text, render
from agent.snmp import to_int, to_number, to_oid, to_text
from agent.ups.model import UpsStatus
from agent.ups.snmp import (
    APC_IDENT, APC_STATE, ATTACHED, RFC_IDENT, RFC_STATE, XPPC_IDENT, XPPC_STATE, _Values, status_apc, status_rfc1628,
    status_xppc,
)

ints32 = st.integers(-(2**31), 2**31 - 1)
uints32 = st.integers(0, 2**32 - 1)
oids = st.lists(st.integers(0, 2**31 - 1), min_size=2, max_size=12).map(lambda xs: (1, 3) + tuple(xs))
snmp_values = st.one_of(
    ints32.map(rfc1902.Integer32), ints32.map(univ.Integer), uints32.map(rfc1902.Gauge32), uints32.map(rfc1902.TimeTicks),
    uints32.map(rfc1902.Counter32), st.integers(0, 2**64 - 1).map(rfc1902.Counter64), uints32.map(rfc1902.Unsigned32),
    st.binary(max_size=64).map(rfc1902.OctetString), st.text(max_size=40).map(lambda t: rfc1902.OctetString(t.encode("utf-8"))),
    st.sampled_from(["42", " 7 ", "-1", "65535", "nan", "inf", "1e400", "2.5", "", "\x00\x00"]).map(rfc1902.OctetString),
    oids.map(rfc1902.ObjectName), st.just(univ.Null("")), st.just(rfc1905.noSuchObject), st.just(rfc1905.noSuchInstance),
    st.just(rfc1905.endOfMibView), st.just(None), st.builds(lambda: rfc1902.IpAddress("10.0.0.5")),
)


def well_formed(pair, kind):
    value, reason = pair
    assert (value is None) != (reason is None), pair
    if value is not None:
        assert isinstance(value, kind) and not isinstance(value, bool)
        if isinstance(value, float):
            assert math.isfinite(value)
    else:
        assert isinstance(reason, Text), reason  # rendered in the report's language
        assert render(reason, "vi") and render(reason, "en") and not render(reason, "en").startswith("snmp.")


@given(snmp_values)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_normalisers_never_raise(value):
    well_formed(to_int(value), int)
    well_formed(to_int(value, lo=0, hi=100), int)
    well_formed(to_number(value, scale=0.1, lo=0.0, hi=500.0), float)
    well_formed(to_text(value), str)
    well_formed(to_oid(value), str)
    number, _ = to_int(value, lo=0, hi=100)
    assert number is None or 0 <= number <= 100


def answers(*tables):
    names = {name: oid for table in tables for name, (oid, _) in table.items()}
    return st.fixed_dictionaries({}, optional={oid: snmp_values for oid in names.values()})


def check_status(status: UpsStatus):
    assert isinstance(status, UpsStatus)
    for name in ("battery_charge_percent",):
        value = getattr(status, name)
        assert value is None or 0 <= value <= 100
    assert status.load_percent is None or 0 <= status.load_percent <= 200
    assert status.runtime_s is None or status.runtime_s >= 0
    for name in ("input_voltage_v", "output_voltage_v"):
        value = getattr(status, name)
        assert value is None or 0 <= value <= 480
    for name in ("battery_charge_percent", "runtime_s", "input_voltage_v", "output_voltage_v", "load_percent", "on_battery"):
        if getattr(status, name) is None:
            assert status.unknown.get(name), name


@given(answers(RFC_IDENT, RFC_STATE, ATTACHED), st.lists(oids.map(lambda o: ".".join(map(str, o))), max_size=5) | st.none())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_rfc1628_builder(raw, alarms):
    table = {**RFC_STATE, **ATTACHED, **RFC_IDENT}
    values = _Values(table, raw, {})
    ident = {name: values.text(name) for name in RFC_IDENT}
    check_status(status_rfc1628(values, ident, alarms, source="fuzz"))


@given(answers(APC_IDENT, APC_STATE, ATTACHED))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_apc_builder(raw):
    values = _Values({**APC_STATE, **ATTACHED, **APC_IDENT}, raw, {})
    check_status(status_apc(values, {name: values.text(name) for name in APC_IDENT}, source="fuzz"))


@given(answers(XPPC_IDENT, XPPC_STATE, ATTACHED))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_xppc_builder(raw):
    values = _Values({**XPPC_STATE, **ATTACHED, **XPPC_IDENT}, raw, {})
    check_status(status_xppc(values, {name: values.text(name) for name in XPPC_IDENT}, source="fuzz"))
