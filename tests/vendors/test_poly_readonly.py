"""Read-only, proved from the peer's side: after full polls in every fault state, everything the Group
Series simulator (Telnet and SSH) and the VideoOS REST simulator received is on the driver's allow-list.

The driver-side tests (test_poly_gs / test_poly_rest ``test_allow_list_refuses_before_sending``) show that
a forbidden command is refused before it is sent; these show the other half, as
tests/codec/test_cisco_driver.py does for Cisco: what actually reached the device, in the states where a
driver takes its less usual paths (a call being set up or ringing mid-poll, a call that drops, refusals,
garbage, a session that expires, the Group Series 6.x REST login), held no other command.

What the peers log: PolyGSSim.commands is every line typed at the API prompt (the Telnet login's
username and password lines are answers to the login prompts, not commands, and are not in it).
PolyRestSim.requests is ``"METHOD path"`` with the query string and body dropped, so for REST the proof
is over method and path; the full request text (a ``?x=1``, a second line) is the driver-side guard's
test.  The REST session's login and logout are outside the read allow-list by design; they are the
named exceptions in :data:`REST_SESSION_REQUESTS`, and only those.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from agent.errors import DeviceError
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors import driver_for
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import ALLOWED as GS_ALLOWED, PolyGSDriver
from agent.vendors.poly_rest import ALLOWED as REST_ALLOWED
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, make_config

POLLS = 2  # the second poll runs on the kept session (GS) or a new login (REST)

# The REST requests that are not reads and still reach the codec: the session's own begin and end.
REST_SESSION_REQUESTS = {
    "POST /rest/current/session": "VideoOS login",
    "DELETE /rest/current/session": "VideoOS logout",
    "POST /rest/session": "Group Series 6.x login and logout ({'action': 'Login'|'Logout'})",
}
REST_LOGINS = ("POST /rest/current/session", "POST /rest/session")
REST_LOGOUTS = ("DELETE /rest/current/session", "POST /rest/session")


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def full_polls(config) -> list[list[str]]:
    """POLLS polls through one driver, then its close; what its guard sent in each poll.  A poll the
    fault state makes fail is still a poll (the driver stops where the fault stopped it)."""
    driver = driver_for(config)
    sent = []
    try:
        for _ in range(POLLS):
            try:
                driver.poll()
            except DeviceError:
                pass
            sent.append(driver.sent)
    finally:
        driver.close()
    return sent


def wait_until_closed(sim, seconds: float = 3.0) -> None:
    """The peer notes a command when its thread reads it: wait until every session it served ended."""
    deadline = time.monotonic() + seconds
    while sim.sessions_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.sessions_open == 0, "the driver left a session open"


def off_the_list(commands: list[str]) -> list[str]:
    return [c for c in commands if not GS_ALLOWED.permits(c)]


# -- Poly Group Series -----------------------------------------------------------------------------
GS_STATES = {
    "healthy": GSState(),
    "muted": GSState(muted=True),
    "muted as captured": GSState(mute_from_capture=True),
    "echo off": GSState(echo_off=True),
    "echocanceller missing": GSState(echocanceller_missing=True),
    "unregistered": GSState(unregistered=True),
    "in a call": GSState(in_call=True),
    "720p in a call": GSState(video_720p=True),
    "call being set up": GSState(call_setup=True),
    "call ringing mid-poll": GSState(ring_at=4),
    "call dropped": GSState(call_dropped=True),
    "single output": GSState(monitor2="off"),
    "greeting mid-session": GSState(regreet=True),
    "answers in pieces": GSState(chunked=True),
    "telnet commands inside answers": GSState(telnet_noise=True),
    "slow answers": GSState(delay=0.02),
    "garbage": GSState(garbage=True),
}


def gs_codec(sim, transport: str) -> dict:
    codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port, "timeout": "1s"}
    if transport == "telnet":
        codec["allow_insecure"] = True
    else:
        codec["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
    return codec


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
@pytest.mark.parametrize("state", GS_STATES.values(), ids=GS_STATES.keys())
def test_group_series_peer_received_only_allowed_commands(tmp_path, state, transport):
    with PolyGSSim(GS_CAPTURE, transport=transport, password=CANARY, state=replace(state)) as sim:
        sent = full_polls(make_config(tmp_path, gs_codec(sim, transport)))
        wait_until_closed(sim)
        received = list(sim.commands)
    assert received and received[0] == "callinfo all", received  # something was read: the proof proves something
    assert off_the_list(received) == [], received
    if state.garbage:
        return  # the session broke mid-answer; the driver's record of it went with it
    # Nothing reached the codec but through the guard: the peer's log is the guard's record of what it
    # sent on the one session kept across the polls.
    assert sim.sessions_opened == 1
    assert received == sent[-1], (received, sent)


@pytest.mark.parametrize("transport", ["telnet", "ssh"])
def test_group_series_refused_login_sends_no_command(tmp_path, transport):
    with PolyGSSim(GS_CAPTURE, transport=transport, password="not-the-canary") as sim:
        full_polls(make_config(tmp_path, gs_codec(sim, transport)))
        wait_until_closed(sim)
        assert sim.commands == [] and sim.logins_failed >= 1


def test_the_group_series_proof_sees_a_command_that_bypasses_the_guard(tmp_path):
    """The proof can fail: a command written to the wire behind the guard's back shows up at the peer
    and off the list (what the tests above would report if the driver ever did it)."""
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        driver = driver_for(make_config(tmp_path, gs_codec(sim, "telnet")))
        try:
            driver.poll()
            wire = driver._guard._exchange.__self__  # the only reference, inside the guard
            wire.link.send("hangup all\r\n")
            driver.poll()
        finally:
            driver.close()
        wait_until_closed(sim)
        assert off_the_list(sim.commands) == ["hangup all"]


# -- Poly VideoOS REST ------------------------------------------------------------------------------
REST_STATES = {
    "as captured (muted, asleep)": RestState(),
    "awake, unmuted": RestState(muted=False, standby=False),
    "unregistered": RestState(unregistered=True),
    "in a call": RestState(in_call=True),
    "sharing content": RestState(in_call=True, content=True),
    "720p in a call": RestState(video_720p=True),
    "call being set up": RestState(call_setup=True),
    "call dropped": RestState(call_dropped=True),
    "slow answers": RestState(delay=0.02),
    "garbage": RestState(garbage=True),
    "one route fails": RestState(fail_route="GET /rest/audio"),
    "session expires mid-poll": RestState(expire_at_request=5),
    "reads forbidden": RestState(forbid_reads=True),
    "Group Series 6.x REST": RestState(group_series_6=True),
}


def rest_requests(tmp_path, state: RestState, password: str = CANARY, transport: str = "https") -> list[str]:
    with PolyRestSim(REST_CAPTURE, password=password, state=replace(state), tls=transport == "https") as sim:
        codec = {"vendor": "poly-rest", "port": sim.port, "transport": transport}
        if transport == "https":
            codec["tls"] = {"fingerprint": tls_fingerprint(sim.certificate_der)}
        else:
            codec["allow_insecure"] = True
        full_polls(make_config(tmp_path, codec))
        assert sim.sessions_open == 0, "a poll left a REST session open"
        return list(sim.requests)


def off_the_rest_list(requests: list[str]) -> list[str]:
    return [r for r in requests if not REST_ALLOWED.permits(r) and r not in REST_SESSION_REQUESTS]


REST_CASES = [pytest.param(state, "https", id=name) for name, state in REST_STATES.items()] + [
    pytest.param(RestState(in_call=True, content=True), "http", id="plain HTTP, sharing content"),
    pytest.param(RestState(group_series_6=True), "http", id="plain HTTP, Group Series 6.x"),
]


@pytest.mark.parametrize("state,transport", REST_CASES)
def test_rest_peer_received_only_reads_and_the_session_requests(tmp_path, state, transport):
    requests = rest_requests(tmp_path, state, transport=transport)
    assert any(REST_ALLOWED.permits(r) for r in requests), requests  # something was read
    assert off_the_rest_list(requests) == [], requests
    # The exceptions are where a session begins and ends, no more: each poll opens with a login and
    # closes with a logout.
    assert requests[0] in REST_LOGINS and requests[-1] in REST_LOGOUTS, requests
    assert sum(r in REST_LOGOUTS for r in requests) >= POLLS, requests


def test_rest_refused_login_reads_nothing(tmp_path):
    requests = rest_requests(tmp_path, RestState(), password="not-the-canary")
    assert requests and all(r in REST_LOGINS for r in requests), requests


def test_the_rest_proof_sees_a_request_that_bypasses_the_guard(tmp_path):
    """The proof can fail: a write sent on the driver's HTTP session behind the guard's back is seen."""
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        driver = driver_for(make_config(tmp_path, {"vendor": "poly-rest", "port": sim.port,
                                                   "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}))
        with driver:
            driver.send("GET /rest/system")
            wire = driver._guard._exchange.__self__
            wire.session.post(wire.base + "/rest/conferences", json={"address": "1234"}, timeout=5)
        requests = list(sim.requests)
    assert off_the_rest_list(requests) == ["POST /rest/conferences"], requests
