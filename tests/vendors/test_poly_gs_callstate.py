"""poly-gs and the IRM's rule "no command while a call is being established": what counts as a call being
set up (the documented callstate lines, codecs.md §3.2) and what the driver does when `callinfo all` is
refused (the call slots' states from `getcallstate` decide before anything more is sent)."""

from __future__ import annotations

import pytest

from agent.model import to_plain
from agent.secrets import Secret
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.vendors.base import Connection
from agent.vendors.poly_gs import IDLE_READS, PolyGSDriver, _setup_event, _slots_setting_up
from tests.vendors.poly_peers import CANARY, GS_CAPTURE

# The callstate register sequence and the notify callstatus line as codecs.md quotes them.
ALLOCATED = "cs: call[34] chan[0] dialstr[192.168.1.103] state[ALLOCATED]"
RINGING = "cs: call[34] chan[0] dialstr[192.168.1.103] state[RINGING]"
COMPLETE = "cs: call[34] chan[0] dialstr[192.168.1.103] state[COMPLETE]"
CALLSTATUS = "notification:callstatus:outgoing:34:Polycom Group Series Demo:192.168.1.101:{}:384:0:videocall"
INFO = "info: AUDIO call not enabled"


@pytest.mark.parametrize("events,expected", [
    ([ALLOCATED, RINGING], ("34", "ringing")),
    ([ALLOCATED, RINGING, COMPLETE], None),
    ([ALLOCATED, RINGING, COMPLETE, "active: call[34] speed [384]"], None),
    ([RINGING, "cleared: call[34]"], None),
    ([RINGING, "ended: call[34]"], None),
    ([RINGING, "cs: call[34] inactive"], None),  # the call that rang is over (a missed call)
    ([RINGING, "cs: call[1] inactive"], ("34", "ringing")),  # another slot idle: call 34 still rings
    ([RINGING.replace("34", "35"), "active: call[34] speed [384]"], ("35", "ringing")),
    ([CALLSTATUS.format("connected")], None),
    ([CALLSTATUS.format("ringing")], ("34", "ringing")),
    ([CALLSTATUS.format("disconnected")], None),
    (["cs: call[0] inactive", "cs: call[1] inactive"], None),
    ([], None),
])
def test_a_call_is_judged_by_its_own_newest_state_line(events, expected):
    assert _setup_event(events) == expected


def test_getcallstate_slots_in_a_set_up_state():
    assert _slots_setting_up([RINGING, "cs: call[1] inactive"]) == [("34", "ringing")]
    assert _slots_setting_up(["cs: call[0] inactive", "cs: call[1] inactive"]) == []
    assert _slots_setting_up([COMPLETE]) == []


def poll(tmp_path, state: GSState) -> tuple[dict, list[str]]:
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=state) as sim:
        conn = Connection("127.0.0.1", "telnet", sim.port, "admin", Secret(CANARY, "codec password"), 5.0, tmp_path,
                          allow_insecure=True)
        drv = PolyGSDriver(conn)
        drv.command_gap = 0.0
        try:
            status = to_plain(drv.poll())
        finally:
            drv.close()
    return status, sim.commands


def test_refused_callinfo_with_a_call_ringing_sends_nothing_more(tmp_path):
    status, commands = poll(tmp_path, GSState(call_setup=True, refusals={"callinfo all": INFO}))
    assert commands == ["callinfo all", "getcallstate"]
    assert status["raw"]["deferred"] == "call 34 is ringing"
    assert status["calls"] is None


def test_refused_callinfo_with_idle_slots_reads_on_but_does_not_guess_the_calls(tmp_path):
    status, commands = poll(tmp_path, GSState(refusals={"callinfo all": INFO}))
    assert commands == ["callinfo all", "getcallstate", *IDLE_READS]
    assert status["calls"] is None and status["raw"]["refused.callinfo all"] == INFO
    assert status["network"]["ip"] == "172.31.254.151"


def test_refused_callinfo_and_getcallstate_reads_on(tmp_path):
    status, commands = poll(tmp_path, GSState(refusals={"callinfo all": INFO, "getcallstate": INFO}))
    assert commands == ["callinfo all", "getcallstate", *IDLE_READS]
    assert status["calls"] is None and status["raw"]["refused.getcallstate"] == INFO
