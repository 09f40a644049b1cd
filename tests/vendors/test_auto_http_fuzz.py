"""Hypothesis fuzz of `auto` identification over HTTP (agent/vendors/auto.py http_evidence) and the poll
that follows, through the real HTTP client.

The plan server (tests/vendors/plan_server.py) answers as a Cisco Room Bar (the real status.xml capture
on ``GET /status.xml``, XMLAPI session begin/end, the SX20 configuration) or as a Studio X30 (the real
VideoOS REST answers), each route possibly mutated — truncated, garbage inserted, another route's body,
invalid UTF-8, plain garbage — in any framing (cut short, stalled, chunked, bad chunk, gzip over plain
bytes...).  Identification reads the unauthenticated answers itself (``response.raw.read``, below
requests), then the chosen driver polls.  Every outcome must be a usable status or a typed
DeviceError (tests/vendors/fuzz_checks.py), never a hang; unmutated, each peer is identified as itself.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agent.secrets import Secret
from agent.sim.poly_rest import load_routes
from agent.vendors.auto import AutoDriver, http_evidence
from agent.vendors.base import Connection
from tests.helpers import FIXTURES
from tests.vendors.fuzz_checks import consume_error, consume_status, within
from tests.vendors.plan_server import FRAMINGS, PlanServer
from tests.vendors.poly_peers import REST_CAPTURE

TIMEOUT = 0.3
STATUS_XML = (FIXTURES / "cisco" / "roombar-roomos11.19-status.xml").read_bytes()
CONFIG_XML = (FIXTURES / "cisco" / "sx20-ce9.1.4-configuration.xml").read_bytes()
PRESETS_XML = b'<?xml version="1.0"?>\n<Command><CameraPresetListResult status="OK"/></Command>'
CISCO = {"GET /status.xml": STATUS_XML, "GET /configuration.xml": CONFIG_XML, "POST /putxml": PRESETS_XML,
         "POST /xmlapi/session/begin": b"", "POST /xmlapi/session/end": b""}
POLY = {route: body.encode() for route, body in load_routes(REST_CAPTURE).items()}
POLY.update({"POST /rest/current/session": json.dumps({"success": True, "session": {"sessionId": "PSfuzz"}}).encode(),
             "DELETE /rest/current/session": b'{"success":true}'})
PEERS = {"cisco": CISCO, "poly": POLY}
SEEDS = sorted({*CISCO.values(), *POLY.values()} - {b""})
PROBED = ["GET /status.xml", "GET /rest/system"]


class AutoPlanServer(PlanServer):
    """Answers as the Cisco or the Poly peer where the plan says nothing."""

    def __init__(self) -> None:
        super().__init__(self._default, self._cookie, 1 << 20)
        self.peer = "cisco"
        self.content_type = lambda route: "application/json" if "/rest/" in route else "text/xml"

    def reset(self, plan: dict[str, tuple], peer: str) -> None:  # type: ignore[override]
        super().reset(plan)
        self.peer = peer

    def _default(self, route: str) -> tuple:
        body = PEERS[self.peer].get(route)
        if body is None:
            return 404, "length", b"", 0
        return (204 if route.startswith("POST /xmlapi/session") else 200), "length", body, 0

    def _cookie(self, route: str, status: int) -> str | None:
        if route == "POST /xmlapi/session/begin" and self.peer == "cisco" and status in (200, 204):
            return "SessionId=fuzz0; Path=/; HttpOnly"
        if route == "POST /rest/current/session" and self.peer == "poly" and status == 200:
            return "session_id=PSfuzz; Path=/; HttpOnly"
        return None


@pytest.fixture(scope="module")
def server():
    srv = AutoPlanServer()
    yield srv
    srv.close()


def _connection(port: int, state_dir: Path) -> Connection:
    return Connection(host="127.0.0.1", transport="http", port=port, username="admin",
                      password=Secret("codec-pass", "test"), timeout=TIMEOUT, state_dir=state_dir, allow_insecure=True)


def _bodies(seed: bytes):
    return st.one_of(
        st.just(seed),
        st.integers(0, len(seed)).map(lambda n: seed[:n]),
        st.tuples(st.integers(0, len(seed)), st.binary(min_size=1, max_size=16)).map(lambda t: seed[:t[0]] + t[1] + seed[t[0]:]),
        st.integers(0, max(0, len(seed) - 1)).map(lambda n: seed[:n] + b"\xff\xc3" + seed[n + 1:]),
        st.sampled_from(SEEDS),
        st.binary(max_size=120),
    )


@st.composite
def plans(draw):
    peer = draw(st.sampled_from(sorted(PEERS)))
    routes = draw(st.lists(st.sampled_from(PROBED * 3 + sorted(PEERS[peer])), unique=True, min_size=1, max_size=3))
    plan = {route: draw(st.tuples(st.sampled_from([200] * 6 + [204, 401, 403, 404, 500]), st.sampled_from(FRAMINGS),
                                  _bodies(PEERS[peer].get(route, b"")), st.integers(0, 40)))
            for route in routes}
    return peer, plan


def _outcome(fn) -> object:
    try:
        result = within(5.0, fn)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - consume_error fails on anything untyped
        consume_error(exc)
        return exc
    return result


FUZZ = settings(max_examples=100, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
                phases=[Phase.explicit, Phase.generate])  # no shrinking: examples that wait out timeouts


@FUZZ
@given(plans())
def test_identification_and_poll_over_fuzzed_http(server, tmp_path_factory, plan):
    peer, answers = plan
    server.reset(answers, peer)
    driver = AutoDriver(_connection(server.port, tmp_path_factory.mktemp("auto")))
    started = time.monotonic()
    try:
        status = _outcome(driver.poll)
    finally:
        driver.close()
    if not isinstance(status, BaseException):
        consume_status(status)
    assert time.monotonic() - started < 12 * TIMEOUT + 1.0


@pytest.mark.parametrize("peer,vendor", [("cisco", "cisco"), ("poly", "poly-rest")])
def test_the_unmutated_peers_are_identified(server, tmp_path, peer, vendor):
    server.reset({}, peer)
    assert http_evidence(_connection(server.port, tmp_path)).vendor == vendor
    driver = AutoDriver(_connection(server.port, tmp_path))
    try:
        status = driver.poll()
    finally:
        driver.close()
    consume_status(status)
    assert status.raw["_identified_as"] == vendor and status.raw["_identified_by"] == "before login"


# -- what the fuzz found (minimal forms) ----------------------------------------------------------------
# _probe_get reads the unauthenticated answer itself (response.raw.read, below requests), so urllib3's own
# exceptions reached the caller untranslated, as they did in poly_rest.py before d94ba7c.
@pytest.mark.parametrize("framing,extra", [("short", 10), ("stall", 10), ("gzip", 0), ("badchunk", 0)],
                         ids=["cut short", "stalls mid-body", "gzip over plain bytes", "bad chunk size"])
def test_probe_answer_broken_mid_body_is_a_typed_error(server, tmp_path, framing, extra):
    """GET /status.xml answered 200 and then broken off.

    Was: urllib3.exceptions.ProtocolError (IncompleteRead) / ReadTimeoutError / DecodeError out of
    auto.http_evidence.
    """
    server.reset({"GET /status.xml": (200, framing, STATUS_XML[:100], extra)}, "cisco")
    _outcome(lambda: http_evidence(_connection(server.port, tmp_path)))
