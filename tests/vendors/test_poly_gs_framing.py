"""poly-gs Telnet framing against the real simulator on a real socket: answers, prompts, UTF-8 characters
and Telnet commands split across reads must give the same status as whole answers."""

from __future__ import annotations

import time

import pytest

from agent.errors import ProtocolError
from agent.model import to_plain
from agent.secrets import Secret
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.vendors.base import Connection
from agent.vendors.poly_gs import PolyGSDriver, _prompt_seen, _TelnetLink
from tests.vendors.poly_peers import CANARY, GS_CAPTURE

WONT_TTYPE = bytes((255, 252, 24))


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


@pytest.fixture
def reads(monkeypatch):
    """Every text the Telnet link hands up, read by read (the real recv, only recorded)."""
    seen: list[str] = []
    real = _TelnetLink.recv

    def recording(self, timeout, what, **how):
        text = real(self, timeout, what, **how)
        seen.append(text)
        return text

    monkeypatch.setattr(_TelnetLink, "recv", recording)
    return seen


def driver(sim: PolyGSSim, tmp_path) -> PolyGSDriver:
    conn = Connection("127.0.0.1", "telnet", sim.port, "admin", Secret(CANARY, "codec password"), 5.0, tmp_path,
                      allow_insecure=True)
    return PolyGSDriver(conn)


def poll(state: GSState, tmp_path) -> tuple[dict, PolyGSSim]:
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=state) as sim:
        drv = driver(sim, tmp_path)
        try:
            status = to_plain(drv.poll())
        finally:
            drv.close()
    status["raw"].pop("_poll_ms")
    return status, sim


@pytest.mark.parametrize("size", [1, 2, 5])
def test_answers_in_pieces_read_as_whole_answers(tmp_path, reads, size):
    whole, _ = poll(GSState(in_call=True), tmp_path)
    assert whole["network"]["ip"] == "172.31.254.151" and whole["calls"]  # a real poll, in a call
    reads.clear()
    pieces, _ = poll(GSState(in_call=True, chunked=True, chunk_size=size), tmp_path)
    assert pieces == whole
    assert len(reads) > 100  # the pieces did arrive as pieces (1.6 KB in 1-5 byte writes, 1 ms apart)


def drain(wire) -> None:
    time.sleep(0.1)  # the simulator writes a byte a millisecond: the greeting's last bytes are out by now
    try:
        while True:
            wire.link.recv(0.05, "leftovers")
    except ProtocolError:  # nothing more within 50 ms
        pass
    assert not wire._prompt


def test_prompt_split_across_reads_is_seen(tmp_path, reads):
    """The prompt flag (the SSH login waits on it) also when "-> " comes in two or three reads."""
    for _attempt in range(5):
        with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY,
                       state=GSState(chunked=True, chunk_size=1)) as sim:
            drv = driver(sim, tmp_path)
            try:
                drv.open()
                wire = drv._guard._exchange.__self__  # the wire behind the guard (a test may look)
                assert not wire._prompt  # the Telnet login reads without the flag
                drain(wire)  # the greeting's prompt, if the login left it unread
                reads.clear()
                wire.link.send("volume get\r\n")
                # the wire's own reader, as the SSH login uses it
                wire.read_until(lambda: True if _prompt_seen(wire) else None, "the prompt")
                assert "".join(reads).endswith("volume 39\r\r\n-> ")
                if not any("-> " in r for r in reads):  # the prompt came in pieces
                    assert wire._prompt
                    return
            finally:
                drv.close()
    pytest.fail("the simulator's prompt never arrived split in five sessions")


def test_answer_taken_before_its_prompt_does_not_shift_the_next(tmp_path, reads):
    """A read that completes an answer but not yet its prompt: the next command goes out then, and the
    late prompt is read with the next answer, which is still that command's own."""
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY,
                   state=GSState(chunked=True, chunk_size=3)) as sim:
        drv = driver(sim, tmp_path)
        try:
            drv.open()
            assert drv.send("volume get") == ["volume 39"]
            assert drv.send("ipaddress get") == ["ipaddress 172.31.254.151"]
            assert drv.send_many(["mute near get", "videocallrate get"]) == [["mute near off"],
                                                                              ["videocallrate 1024"]]
        finally:
            drv.close()
    assert sim.commands == ["volume get", "ipaddress get", "mute near get", "videocallrate get"]


def test_greeting_after_the_password_prompt(tmp_path):
    status, _ = poll(GSState(), tmp_path)  # "Password: " has no line end: the greeting's first line is its own
    assert status["facts"]["name"] == "NH-GroupSeries"


def test_utf8_room_name_split_across_reads(tmp_path, reads):
    name = "Phòng họp UBND xã Quảng La"
    for state in (GSState(name=name, chunked=True, chunk_size=1), GSState(name=name, regreet=True, chunked=True,
                                                                         chunk_size=1)):
        status, _ = poll(state, tmp_path)
        assert status["facts"]["name"] == name
        assert status["raw"]["greeting.Name"] == name
    assert any(not r.isascii() for r in reads)


@pytest.mark.parametrize("chunked", [False, True])
def test_telnet_commands_inside_answers(tmp_path, chunked):
    whole, _ = poll(GSState(in_call=True), tmp_path)
    noisy, sim = poll(GSState(in_call=True, telnet_noise=True, chunked=chunked, chunk_size=1), tmp_path)
    assert noisy == whole  # IAC NOP and IAC DO TTYPE stripped, also when split byte by byte
    assert sim.negotiation.count(WONT_TTYPE) == 1  # refused once, not once per offer (RFC 854: no loops)
    assert set(sim.negotiation) == {bytes((255, 253, 1)), bytes((255, 253, 3)), bytes((255, 252, 31)), WONT_TTYPE}
