"""Hypothesis fuzz of the three Cisco parsers with truncated, reordered and garbage input built from the
real captures: only ProtocolError (typed), never another exception, never a hang."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ProtocolError
from agent.sim.cisco import render_json, render_terminal
from agent.vendors.cisco_tree import decode_json_stream, flatten_json, flatten_terminal, flatten_xml
from tests.helpers import FIXTURES
from tests.vendors.fuzz_checks import within

STATUS = (FIXTURES / "cisco" / "roombar-roomos11.19-status.xml").read_text()
ROOT = ET.fromstring(STATUS)
TERMINAL = render_terminal(ROOT, "s")
JSON_TEXT = json.dumps(render_json(ROOT, "Status"))
# Derandomized (the same examples on every run: a failure reproduces) with a per-example deadline.
FUZZ = settings(max_examples=100, deadline=1000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def mutate(text: str):
    lines = text.splitlines()
    return st.one_of(
        st.integers(0, len(text)).map(lambda n: text[:n]),
        st.permutations(lines[:60]).map("\n".join),
        st.tuples(st.integers(0, len(text)), st.text(max_size=40)).map(lambda t: text[:t[0]] + t[1] + text[t[0]:]),
        st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    )


def tolerant(fn, data):
    try:
        within(2.0, fn, data)  # a parser that never returns fails here as a hang
    except ProtocolError:
        pass


@FUZZ
@given(mutate(STATUS))
def test_xml_parser(data):
    tolerant(flatten_xml, data)


@FUZZ
@given(mutate(TERMINAL))
def test_terminal_parser(data):
    tolerant(flatten_terminal, data)


@FUZZ
@given(mutate(JSON_TEXT))
def test_json_stream_parser(data):
    def parse(text):
        for obj, _ in decode_json_stream(text):
            flatten_json(obj)
    tolerant(parse, data)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=30))
def test_json_shapes(obj):
    tolerant(flatten_json, obj)


def test_real_forms_agree():
    xml_tree = flatten_xml(STATUS)
    assert flatten_terminal(TERMINAL) == xml_tree
    assert flatten_json(json.loads(JSON_TEXT)) == xml_tree


@pytest.mark.parametrize("bad", ["<Status><a></Status>", "*s Audio Volume 50", '*s Audio Volume: "50',
                                 "*x Foo: 1", "*s 1 Foo: 2", '{"Status": [1]}'])
def test_specific_garbage(bad):
    with pytest.raises(ProtocolError):
        if bad.startswith("{"):
            flatten_json(json.loads(bad))
        elif bad.startswith("<"):
            flatten_xml(bad)
        else:
            flatten_terminal(bad)
