"""Hypothesis fuzz of the snmp codec driver's value readers and getters (agent/vendors/snmp.py).

Seeds are real: the Studio X50 POLYCOM-ENDPOINT-MIB walk (codecs.md §8, tests/vendors/poly_peers.py
x50_snmprec) and the Huawei UPS2000 MIB-II recording, served by snmpsim and read once through the real
driver and wire; what the wire returned (pysnmp values, the absent-object markers snmpsim sent) is
recorded per command.  Hypothesis then replays those answers mutated — values of the wrong SNMP type,
huge and negative numbers, garbage and empty strings, OIDs missing, extra and strangely indexed table
rows, rows reordered — through the same driver (only the wire is replayed).  Every poll must give a
status the checklist can use, with every null explained, or a typed DeviceError (tests/vendors/fuzz_checks.py).

Then the real peer: snmpsim serves the X50 walk rewritten with wrong types (numbers as garbage strings,
strings as Counter64 maxima, OIDs and IP addresses everywhere, every other object missing) and the real
driver reads each over UDP with the same outcome rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.type.univ import Null
from pysnmp.proto.rfc1902 import (Counter32, Counter64, Gauge32, Integer32, IpAddress, ObjectIdentifier, OctetString,
                                  Opaque, TimeTicks)
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from agent.secrets import Secret
from agent.vendors import snmp as drv
from agent.vendors.base import Connection
from agent.vendors.snmp import SnmpDriver
from tests.vendors.fuzz_checks import consume_status, poll_checked
from tests.vendors.poly_peers import HUAWEI_UPS_SNMPREC, x50_snmprec, x50_state

COMMUNITY = "public"


def _connection(port: int, community: str, state_dir: Path) -> Connection:
    return Connection("127.0.0.1", "snmp", port, "", None, 1.0, state_dir,
                      snmp_community=Secret(community, "test"), snmp_version="2c")


class _Recorder:
    def __init__(self, wire: Any, answers: dict[str, Any]) -> None:
        self.wire, self.answers = wire, answers

    def exchange(self, command: str) -> Any:
        self.answers[command] = answer = self.wire.exchange(command)
        return answer

    def close(self) -> None:
        self.wire.close()


class RecordingDriver(SnmpDriver):
    """The real driver and wire; every answer kept by command."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.answers: dict[str, Any] = {}

    def _open_wire(self) -> Any:
        return _Recorder(super()._open_wire(), self.answers)


class _Replay:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def exchange(self, command: str) -> Any:
        if command.startswith("GET "):
            return dict(self.answers.get(command, {}))
        return list(self.answers.get(command, []))

    def close(self) -> None:
        pass


class ReplayDriver(SnmpDriver):
    """The real driver over recorded (mutated) answers: the getters and readers, no network."""

    def __init__(self, answers: dict[str, Any], state_dir: Path) -> None:
        super().__init__(_connection(1, COMMUNITY, state_dir))
        self.replay = answers

    def _open_wire(self) -> Any:
        return _Replay(self.replay)


# -- the real peer --------------------------------------------------------------------------------
def _rewritten(recording: str, rule) -> str:
    """The .snmprec with each ``oid|tag|value`` line passed through ``rule`` (None drops it)."""
    lines = []
    for index, line in enumerate(recording.strip().splitlines()):
        oid, tag, value = line.split("|", 2)
        new = rule(index, oid, tag, value)
        if new is not None:
            lines.append(f"{oid}|{new}")
    return "\n".join(lines) + "\n"


GARBAGE_HEX = (b"\xff\x00\xfe garbage \x1b[2J" + "Phòng họp".encode("utf-8")[:7]).hex()
WRONG_TYPES = {
    "numbers-as-garbage": lambda i, oid, tag, value: f"4x|{GARBAGE_HEX}" if tag in ("2", "66", "67") else f"{tag}|{value}",
    "strings-as-huge-numbers": lambda i, oid, tag, value: "70|18446744073709551615" if tag == "4" else
    ("2|-2147483648" if tag == "2" else f"{tag}|{value}"),
    "oids-everywhere": lambda i, oid, tag, value: "6|1.3.6.1.4.1.99999.4294967295.0",
    "addresses-and-nulls": lambda i, oid, tag, value: "64|255.255.255.255" if i % 2 else "5|",
    "every-other-missing": lambda i, oid, tag, value: f"{tag}|{value}" if i % 2 else None,
    "empty-strings": lambda i, oid, tag, value: "4|" if tag == "4" else "2|0",
}


@pytest.fixture(scope="module")
def snmp_peer(tmp_path_factory):
    from tests.ups.snmp.conftest import SnmpSim

    files: dict[str, Any] = {"x50": x50_snmprec(), "huawei": HUAWEI_UPS_SNMPREC}
    files.update({name: _rewritten(x50_snmprec(), rule) for name, rule in WRONG_TYPES.items()})
    files["x50-negative-uptime"] = x50_state(**{drv.SYS_UPTIME: "2|-100"})
    sim = SnmpSim(tmp_path_factory.mktemp("codec-fuzz-snmpsim"), files).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def recorded(snmp_peer, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """What the real wire returned for each real recording, by command."""
    out = {}
    for community in ("x50", "huawei"):
        driver = RecordingDriver(_connection(snmp_peer.port, community, tmp_path_factory.mktemp(community)))
        try:
            consume_status(driver.poll())
        finally:
            driver.close()
        out[community] = driver.answers
    assert out["x50"][f"WALK {drv.MIC_TABLE}"] == [] and out["x50"][f"WALK {drv.NIC_TABLE}"]  # as recorded
    return out


@pytest.mark.parametrize("community", sorted(WRONG_TYPES))
def test_real_peer_serving_wrong_types(snmp_peer, tmp_path, community):
    driver = SnmpDriver(_connection(snmp_peer.port, community, tmp_path))
    try:
        poll_checked(driver.poll, 10.0)
    finally:
        driver.close()


# -- mutated replays --------------------------------------------------------------------------------
def _values(real: list[Any]):
    return st.one_of(
        st.sampled_from(real),
        st.integers(-2**31, 2**31 - 1).map(Integer32),
        st.integers(0, 2**32 - 1).flatmap(lambda n: st.sampled_from([Gauge32(n), Counter32(n), TimeTicks(n)])),
        st.integers(0, 2**64 - 1).map(Counter64),
        st.binary(max_size=40).map(OctetString),
        st.text(max_size=30).map(lambda t: OctetString(t.encode("utf-8", "surrogatepass"))),
        st.sampled_from(["", " ", "\x00\x00", "-1", "1e309", "nan", "2.5", "99999999999999999999999", "ok"]).map(OctetString),
        st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=12).map(lambda p: ObjectIdentifier((1, 3, *p))),
        st.binary(min_size=4, max_size=4).map(IpAddress),
        st.binary(max_size=8).map(Opaque),
        st.sampled_from([Null(""), NoSuchObject(""), NoSuchInstance(""), EndOfMibView("")]),
    )


def _index():
    return st.one_of(st.sampled_from(["1", "2", "0", "4294967295"]),
                     st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4).map(lambda p: ".".join(map(str, p))))


@st.composite
def mutated(draw, recorded_answers: dict[str, Any]) -> dict[str, Any]:
    real = [v for answer in recorded_answers.values()
            for v in (answer.values() if isinstance(answer, dict) else [v for _, v in answer])]
    values = _values(real)
    out: dict[str, Any] = {}
    for command, answer in recorded_answers.items():
        if isinstance(answer, dict):
            got = {}
            for oid, value in answer.items():
                action = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
                if action != "drop":
                    got[oid] = value if action == "keep" else draw(values)
            out[command] = got
        else:
            table = command.split()[1]
            rows = [(oid, value if draw(st.booleans()) else draw(values))
                    for oid, value in answer if draw(st.integers(0, 4))]  # most rows kept
            extra = draw(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, 5]), _index(), values), max_size=4))
            rows += [(f"{table}.{column}.{index}", value) for column, index, value in extra]
            out[command] = draw(st.permutations(rows)) if draw(st.booleans()) else rows
    return out


FUZZ = settings(max_examples=100, deadline=500, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("recording", ["x50", "huawei"])
@FUZZ
@given(data=st.data())
def test_mutated_real_answers(recorded, tmp_path, recording, data):
    answers = data.draw(mutated(recorded[recording]), label="answers")
    driver = ReplayDriver(answers, tmp_path)
    poll_checked(driver.poll, 2.0)


def test_the_replay_reads_what_the_peer_sent(recorded, tmp_path):
    """Unmutated, the replay gives the real X50 status (else the fuzz would exercise nothing)."""
    status = ReplayDriver(recorded["x50"], tmp_path).poll()
    consume_status(status)
    assert status.facts.model == "StudioX50" and status.facts.software_version == "3.10.0-362035"
    assert status.registration.sip.status == "failed" and status.network.mac == "00:E0:DB:60:77:24"


# -- what the fuzz found (minimal forms, over the real peer) --------------------------------------------
def test_a_microphone_named_with_a_bracket_keeps_a_usable_path(recorded, tmp_path):
    """A microphone-table name such as "Main]" (found by test_mutated_real_answers[x50]) was used as the
    mic's id, so its reason path read audio.mics[Main]].connected, which the report schema refuses."""
    answers = dict(recorded["x50"])
    table = f"WALK {drv.MIC_TABLE}"
    answers[table] = [(f"{drv.MIC_TABLE}.2.1", OctetString("Main]")), (f"{drv.MIC_TABLE}.2.2", OctetString("Bàn 2"))]
    status = ReplayDriver(answers, tmp_path).poll()
    consume_status(status)  # includes the report schema
    assert [mic.id for mic in status.audio.mics] == ["1", "Bàn 2"]
    assert status.reason("audio.mics[1].connected") is not None



def test_negative_uptime_is_null_with_a_reason(snmp_peer, tmp_path):
    """sysUpTime answered as Integer32 -100 (the wrong type, which the reader takes as a number).

    Was: facts.uptime_s = -1 (-100 // 100), which docs/report-schema.json forbids (minimum 0) — a report
    the collector is promised never to receive.  Found by test_mutated_real_answers[huawei].
    """
    driver = SnmpDriver(_connection(snmp_peer.port, "x50-negative-uptime", tmp_path))
    try:
        status = driver.poll()
    finally:
        driver.close()
    assert status.facts.uptime_s is None and status.reason("facts.uptime_s"), status.facts
    consume_status(status)
