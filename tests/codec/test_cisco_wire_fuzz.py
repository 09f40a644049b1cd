"""Hypothesis fuzz of the Cisco XMLAPI driver through its real HTTP client and XML decoding.

The plan server (tests/vendors/plan_server.py) answers the real driver over plain HTTP on 127.0.0.1 as
a codec would: the session begin/end, ``/status.xml`` (the real Room Bar capture, or the simulator's
in-call rendering of it), ``/configuration.xml`` (the real SX20 capture) and the preset list (as the
simulator renders it).  Hypothesis changes some answers — XML with an element's text replaced by garbage,
an element removed or doubled, the body truncated, garbage bytes inserted, another route's body, invalid
UTF-8, plain garbage — in every framing (cut short, stalled, chunked, bad chunk, gzip over plain bytes,
over the 8 MB cap...).  Every poll must give a status the checklist can use or a typed DeviceError
(tests/vendors/fuzz_checks.py), within the deadline, and end the XMLAPI session it began.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agent.secrets import Secret
from agent.sim.cisco import CiscoSim
from agent.vendors.base import Connection
from agent.vendors.cisco import MAX_ANSWER, CiscoDriver
from tests.helpers import FIXTURES
from tests.vendors.fuzz_checks import consume_status, poll_checked, within
from tests.vendors.plan_server import FRAMINGS, PlanServer

BEGIN, END = "POST /xmlapi/session/begin", "POST /xmlapi/session/end"
STATUS, CONFIG, PRESETS = "GET /status.xml", "GET /configuration.xml", "POST /putxml"
TIMEOUT = 0.3


def _sim_bodies() -> dict[str, dict[str, bytes]]:
    """{"idle"|"in_call": {route: body}}: the real captures as served, and the simulator's in-call status."""
    out = {}
    for name, faults in (("idle", ()), ("in_call", ("in_call",))):
        sim = CiscoSim(faults=faults)
        render = lambda root: b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")  # noqa: E731
        out[name] = {STATUS: render(sim.status_tree()), CONFIG: render(sim.config_tree()),
                     PRESETS: render(sim.presets_tree())}
    out["idle"][STATUS] = (FIXTURES / "cisco" / "roombar-roomos11.19-status.xml").read_bytes()  # verbatim
    out["idle"][CONFIG] = (FIXTURES / "cisco" / "sx20-ce9.1.4-configuration.xml").read_bytes()
    return out


BODIES = _sim_bodies()
SEEDS = sorted({body for bodies in BODIES.values() for body in bodies.values()})


class CiscoPlanServer(PlanServer):
    def __init__(self) -> None:
        super().__init__(self._default, self._cookie, MAX_ANSWER)
        self.content_type = lambda route: "text/xml"
        self.in_call = False

    def reset(self, plan: dict[str, tuple], in_call: bool) -> None:  # type: ignore[override]
        super().reset(plan)
        self.in_call = in_call

    def _default(self, route: str) -> tuple:
        if route in (BEGIN, END):
            return 204, "length", b"", 0
        body = BODIES["in_call" if self.in_call else "idle"].get(route)
        return (200, "length", body, 0) if body is not None else (404, "length", b"", 0)

    @staticmethod
    def _cookie(route: str, status: int) -> str | None:
        return "SessionId=fuzz0session; Path=/; HttpOnly" if route == BEGIN and status in (200, 204) else None


@pytest.fixture(scope="module")
def server():
    srv = CiscoPlanServer()
    yield srv
    srv.close()


def _driver(port: int, state_dir: Path) -> CiscoDriver:
    return CiscoDriver(Connection(host="127.0.0.1", transport="http", port=port, username="admin",
                                  password=Secret("codec-pass", "test"), timeout=TIMEOUT, state_dir=state_dir,
                                  allow_insecure=True))


# -- bodies ------------------------------------------------------------------------------------------
def _xml_mutated(seed: bytes, index: int, action: str, text: str) -> bytes:
    """The real XML with one element's text replaced, or the element removed or doubled."""
    if not seed:
        return seed  # the session begin/end answers have no body
    root = ET.fromstring(seed)
    parents = [(parent, child) for parent in root.iter() for child in parent]
    if not parents:
        return seed
    parent, child = parents[index % len(parents)]
    if action == "text":
        child.text = text
    elif action == "remove":
        parent.remove(child)
    else:
        parent.insert(list(parent).index(child), ET.fromstring(ET.tostring(child)))
    return ET.tostring(root, encoding="utf-8")


def _bodies(seed: bytes):
    return st.one_of(
        st.just(seed),
        st.tuples(st.integers(0, 10**6), st.sampled_from(["text", "text", "remove", "double"]),
                  st.one_of(st.text(max_size=20), st.sampled_from(["", "-1", "99999999999999999999", "NaN", "1e309",
                                                                  "1920x", "On", "Error", "Phòng họp 1"])))
        .map(lambda t: _xml_mutated(seed, *t)),
        st.integers(0, len(seed)).map(lambda n: seed[:n]),
        st.tuples(st.integers(0, len(seed)), st.binary(min_size=1, max_size=16)).map(lambda t: seed[:t[0]] + t[1] + seed[t[0]:]),
        st.integers(0, max(0, len(seed) - 1)).map(lambda n: seed[:n] + b"\xff\xc3" + seed[n + 1:]),
        st.sampled_from(SEEDS),
        st.binary(max_size=120),
    )


def _answer(route: str, in_call: bool):
    seed = BODIES["in_call" if in_call else "idle"].get(route, b"")
    return st.tuples(st.sampled_from([200] * 8 + [204, 302, 401, 403, 404, 500]), st.sampled_from(FRAMINGS),
                     _bodies(seed), st.integers(0, 40))


@st.composite
def plans(draw):
    in_call = draw(st.booleans())
    routes = draw(st.lists(st.sampled_from([STATUS, STATUS, CONFIG, CONFIG, PRESETS, BEGIN, END]), unique=True,
                           min_size=1, max_size=3))
    return in_call, {route: draw(_answer(route, in_call)) for route in routes}


def poll_once(server: CiscoPlanServer, tmp: Path, plan: dict[str, tuple], in_call: bool) -> None:
    server.reset(plan, in_call)
    started = time.monotonic()
    driver = _driver(server.port, tmp)
    try:
        poll_checked(driver.poll, 5.0)
    finally:
        driver.close()
    elapsed = time.monotonic() - started
    assert elapsed < 8 * TIMEOUT + 0.5, f"the poll took {elapsed:.2f} s"
    if BEGIN not in plan and BEGIN in server.requests:  # a session was begun: it is ended again
        assert END in server.requests[server.requests.index(BEGIN) + 1:], server.requests


FUZZ = settings(max_examples=100, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
                phases=[Phase.explicit, Phase.generate])  # no shrinking: examples that wait out timeouts


@FUZZ
@given(plans())
def test_cisco_poll_over_fuzzed_http(server, tmp_path_factory, plan):
    in_call, answers = plan
    poll_once(server, tmp_path_factory.getbasetemp(), answers, in_call)


@pytest.mark.parametrize("in_call", [False, True], ids=["idle", "in-call"])
def test_the_unmutated_plan_is_a_full_status(server, tmp_path, in_call):
    """The plan server answers as a Room Bar the driver reads completely (else the fuzz proves nothing)."""
    server.reset({}, in_call)
    driver = _driver(server.port, tmp_path)
    try:
        status = driver.poll()
    finally:
        driver.close()
    consume_status(status)
    assert status.facts.software_version and status.audio.mics
    assert bool(status.calls) is in_call
    assert server.requests[0] == BEGIN and server.requests[-1] == END
