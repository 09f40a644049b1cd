"""Hypothesis fuzz of the poly-gs text parsers and the poly-rest getters: whatever the device sends
(truncated, reordered, garbage), only typed errors (AgentError) come out, and what the getters return
has the normalised types.

The poly-rest getters here read a canned answer map (pure logic, no decoding); the same driver through
its real HTTP decoding is fuzzed in test_poly_rest_wire_fuzz.py, the Telnet layer in test_telnet_fuzz.py,
the snmp driver in test_snmp_codec_fuzz.py.  Examples are derandomized and each has a deadline, so a
hang is reported as a hang at once rather than by the suite's global timeout."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import AgentError
from agent.i18n import render
from agent.sim.poly_gs import load_capture
from agent.vendors import model as m
from agent.vendors import poly_gs_text as t
from agent.vendors.base import NotExposed
from agent.vendors.poly_rest import PolyRestDriver
from tests.vendors.fuzz_checks import LANGS, consume_error, type_errors, within
from tests.vendors.poly_peers import GS_CAPTURE, REST_CAPTURE

CAPTURE = load_capture(GS_CAPTURE)
REAL_LINES = [line for variants in CAPTURE.values() for lines in variants for line in lines]
COMMANDS = ["status", "callinfo all", "netstats", "advnetstats", "uptime get", "volume get", "mute near get",
            "gatekeeperip get", "systemsetting get sipregistrarserver", "configdisplay monitor1 get", "whoami"]
EOLS = st.sampled_from(["\r\r\n", "\r\n", "\n", "\r"])
FUZZ = settings(max_examples=200, deadline=500, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _lines(draw_lines):
    return st.lists(st.one_of(st.sampled_from(REAL_LINES), st.text(max_size=60)), max_size=25)


@FUZZ
@given(lines=_lines(None), eol=EOLS, cut=st.integers(0, 4000), chunk=st.integers(1, 64), command=st.sampled_from(COMMANDS))
def test_answer_stream_truncated_reordered_garbage(lines, eol, cut, chunk, command):
    within(2.0, _feed_and_parse, eol.join(lines)[:cut], chunk, command)


def _feed_and_parse(text, chunk, command):
    stream = t.AnswerStream()
    stream.expect(command)
    try:
        for i in range(0, len(text), chunk):
            stream.feed(text[i:i + chunk])
        got = stream.take(command)
        if got is None:
            return
        if command == "callinfo all":
            t.parse_callinfo(got)
        elif command in ("netstats", "advnetstats"):
            stats = t.parse_stats(got)
            t.stats_int(stats, "txrate"), t.stats_float(stats, "%pktloss"), t.video_format(stats.get("tvf"))
        elif command == "uptime get":
            t.parse_uptime(got[0])
        elif command == "status":
            t.parse_status(got)
        elif command == "configdisplay monitor1 get":
            t.parse_display(t.get_value(got, "configdisplay monitor1"))
    except AgentError:
        pass


@FUZZ
@given(st.lists(st.sampled_from(REAL_LINES), max_size=12), st.randoms())
def test_real_lines_shuffled(lines, rnd):
    rnd.shuffle(lines)
    for parser in (t.parse_callinfo, t.parse_stats, t.parse_status, t.parse_greeting):
        try:
            within(2.0, parser, lines)
        except AgentError:
            pass


REST = {k: v for k, v in json.loads(REST_CAPTURE.read_text()).items() if not k.startswith("_")}
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
                       lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                       max_leaves=12)


class _Fake(PolyRestDriver):
    """The REST getters over a canned answer map (pure parsing: no wire)."""

    def __init__(self, answers):
        self._data, self._missing, self._reasons = answers, {}, {}

    def _get(self, command):
        return self._data.get(command)


def _mutated(draw_value):
    """A real answer with one value replaced (right keys, wrong types/values), in an object or a list's object."""
    return st.builds(_replace, st.sampled_from([k for k, v in REST.items() if v.strip()[:2] in ("{\"", "[{", "[ ")]),
                     JSONISH, st.integers(0, 20))


def _replace(key, value, index):
    obj = json.loads(REST[key])
    target = obj[0] if isinstance(obj, list) else obj
    names = sorted(target)
    target[names[index % len(names)]] = value
    return {key: obj}


@FUZZ
@given(_mutated(None))
def test_rest_getters_mutated_real_answers(answers):
    test_rest_getters_only_typed_errors.hypothesis.inner_test(answers)


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(REST) + ["GET /rest/conferences/0/mediastats"]),
                       st.one_of(JSONISH, st.sampled_from([json.loads(v) if v.strip()[:1] in "[{" else v for v in REST.values()])),
                       max_size=12))
def test_rest_getters_only_typed_errors(answers):
    fake = _Fake(answers)
    for getter, kind in GETTERS.items():
        try:
            part = within(2.0, getattr(fake, getter))
        except NotExposed as exc:  # the whole part is null: it must say why
            assert exc.reason, getter
            continue
        except Exception as exc:  # noqa: BLE001 - consume_error fails on anything untyped
            consume_error(exc)
            continue
        assert isinstance(part, kind), (getter, part)
        if kind is list:
            assert all(isinstance(call, m.Call) for call in part), part
        assert not type_errors(part, getter[4:]), type_errors(part, getter[4:])
    for path, reason in fake._reasons.items():
        for lang in LANGS:
            assert render(reason, lang), path


GETTERS = {"get_facts": m.Facts, "get_network": m.NetworkInfo, "get_standby": m.StandbyInfo,
           "get_registration": m.Registration, "get_calls": list, "get_audio": m.Audio}
