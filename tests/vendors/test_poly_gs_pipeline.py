"""poly-gs sends each read once the device's prompt says it finished the one before, and parses that
answer while the device works on the next; against the simulator on a real Telnet socket."""

from __future__ import annotations

import time

import pytest

from agent.model import to_plain
from agent.secrets import Secret
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.vendors.base import CommandNotAllowed, Connection
from agent.vendors.poly_gs import CALL_READS, IDLE_READS, PolyGSDriver, _TelnetLink
from agent.vendors.poly_gs_text import AnswerStream
from tests.vendors.poly_peers import CANARY, GS_CAPTURE


@pytest.fixture
def events(monkeypatch):
    """("send", command, t) / ("read", text, t) / ("parse", text, t), in the order they happened."""
    seen: list[tuple[str, str, float]] = []
    send, recv, feed = _TelnetLink.send, _TelnetLink.recv, AnswerStream.feed

    def sending(self, text):
        seen.append(("send", text.strip(), time.monotonic()))
        return send(self, text)

    def reading(self, timeout, what, **how):
        text = recv(self, timeout, what, **how)
        if text:  # "": nothing came during a pause between commands
            seen.append(("read", text, time.monotonic()))
        return text

    def parsing(self, text):
        seen.append(("parse", text, time.monotonic()))
        return feed(self, text)

    monkeypatch.setattr(_TelnetLink, "send", sending)
    monkeypatch.setattr(_TelnetLink, "recv", reading)
    monkeypatch.setattr(AnswerStream, "feed", parsing)
    return seen


def driver(sim: PolyGSSim, tmp_path, gap: float) -> PolyGSDriver:
    conn = Connection("127.0.0.1", "telnet", sim.port, "admin", Secret(CANARY, "codec password"), 5.0, tmp_path,
                      allow_insecure=True)
    drv = PolyGSDriver(conn)
    drv.command_gap = gap
    return drv


def poll(tmp_path, state: GSState, gap: float = 0.0) -> tuple[dict, list[str]]:
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=state) as sim:
        drv = driver(sim, tmp_path, gap)
        try:
            drv.open()
            status = to_plain(drv.poll())
        finally:
            drv.close()
    status["raw"].pop("_poll_ms")
    return status, sim.commands


def test_next_command_goes_out_before_the_answer_is_parsed(tmp_path, events):
    poll(tmp_path, GSState(in_call=True))
    sends = [i for i, event in enumerate(events) if event[0] == "send"]
    assert [events[i][1] for i in sends] == ["callinfo all", *IDLE_READS, *CALL_READS]
    ahead = 0
    for before, after in zip(sends[1:], sends[2:]):  # the batch after callinfo: each send but the first
        prompt = max(i for i in range(before, after) if events[i][0] == "read" and events[i][1].endswith("-> "))
        kinds = [event[0] for event in events[prompt:prompt + 3]]
        if kinds == ["read", "send", "parse"] and events[prompt + 2][1] == events[prompt][1]:
            ahead += 1  # the read that ended with the prompt was parsed after the next command went out
    assert ahead == len(IDLE_READS + CALL_READS) - 1


def test_overlapped_poll_reads_what_a_paced_poll_reads(tmp_path, events):
    overlapped, sent = poll(tmp_path, GSState(in_call=True))
    paced, paced_sent = poll(tmp_path, GSState(in_call=True), gap=0.01)
    assert overlapped == paced and sent == paced_sent


def test_commands_keep_the_gap_after_each_answer(tmp_path, events):
    """The HDX IRM's pause between commands counts from the device's answer (its prompt)."""
    gap = 0.04
    _status, commands = poll(tmp_path, GSState(), gap=gap)
    assert commands == ["callinfo all", *IDLE_READS]
    last_prompt = None
    checked = 0
    for kind, text, at in events:
        if kind == "read" and text.endswith("-> "):
            last_prompt = at
        elif kind == "send" and text in commands and text != "callinfo all":
            assert at - last_prompt >= gap, f"{text!r} went out {at - last_prompt:.3f} s after the prompt"
            checked += 1
    assert checked == len(IDLE_READS)


def test_a_batch_is_checked_whole_before_anything_is_sent(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        drv = driver(sim, tmp_path, 0.0)
        try:
            drv.open()
            with pytest.raises(CommandNotAllowed):
                drv.send_many(["volume get", "preset near go 1"])
            assert drv.send_many(["volume get"]) == [["volume 39"]]
        finally:
            drv.close()
    assert sim.commands == ["volume get"]


def test_a_refusal_in_a_batch_does_not_lose_the_other_answers(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=GSState(echocanceller_missing=True)) as sim:
        drv = driver(sim, tmp_path, 0.0)
        try:
            drv.open()
            volume, echo, rate = drv.send_many(["volume get", "echocanceller get", "videocallrate get"])
        finally:
            drv.close()
    assert volume == ["volume 39"] and rate == ["videocallrate 1024"]
    assert echo.line.startswith("error:")


def test_a_malformed_answer_parsed_on_arrival_fails_the_poll_with_its_own_error(tmp_path):
    """Answers are parsed as they arrive; a malformed one still fails the poll with its typed error where
    its value is needed (here callinfo, before anything else may be sent)."""
    from agent.errors import ProtocolError

    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=GSState(in_call=True)) as sim:
        real = sim.answer
        odd = ["callinfo begin", "callinfo:three:MCU:172.31.254.64:1024:connected:notmuted:outgoing:videocall",
               "callinfo end"]
        sim.answer = lambda command: odd if command == "callinfo all" else real(command)
        drv = driver(sim, tmp_path, 0.0)
        try:
            with pytest.raises(ProtocolError) as caught:
                drv.poll()
        finally:
            drv.close()
    assert caught.value.text.key == "codec.gs.bad_callinfo"
    assert "malformed callinfo line" in str(caught.value)
    assert sim.commands == ["callinfo all"]


def test_a_call_ringing_during_the_pause_between_commands_stops_the_poll(tmp_path):
    """With the IRM's pause between commands, the driver reads while it waits: a call that starts
    ringing in the pause (its notification comes unprompted, after an answer) is seen before the next
    command would go out, and nothing more is sent."""
    state = GSState(ring_at=3, ring_after=0.05)
    status, commands = poll(tmp_path, state, gap=0.2)
    assert commands == ["callinfo all", "status", "gatekeeperip get"]
    assert status["raw"]["deferred"] == "call 35 is ringing"
    assert status["registration"]["h323"]["configured_server"] == "172.31.254.64"  # read before it rang


@pytest.mark.parametrize("client", ["paramiko", "openssh"])
def test_the_pause_reads_over_ssh_too(tmp_path, client):
    from agent.vendors import pinning

    password = tmp_path / "codec-password"
    password.write_text(CANARY + "\n")
    password.chmod(0o600)
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY,
                   state=GSState(ring_at=2, ring_after=0.05)) as sim:
        conn = Connection("127.0.0.1", "ssh", sim.port, "admin", Secret(CANARY, str(password)), 5.0, tmp_path,
                          ssh_client=client)
        pinning.store_ssh_key(conn, sim.host_key)
        drv = PolyGSDriver(conn)
        drv.command_gap = 0.2
        try:
            status = drv.poll()
        finally:
            drv.close()
    assert sim.commands == ["callinfo all", "status"]
    assert status.raw["deferred"] == "call 35 is ringing"


def test_a_session_closed_during_the_pause_is_a_broken_session_in_both_languages(tmp_path):
    import socket

    from agent.errors import DeviceUnreachable
    from agent.i18n import render

    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        real_say = sim._say

        def say_then_hang_up(io, text):
            real_say(io, text)
            if text.startswith("gatekeeperip "):  # the codec drops the session after this answer
                io.conn.shutdown(socket.SHUT_RDWR)

        sim._say = say_then_hang_up
        drv = driver(sim, tmp_path, 0.2)
        try:
            with pytest.raises(DeviceUnreachable) as caught:
                drv.poll()
        finally:
            drv.close()
    assert sim.commands == ["callinfo all", "status", "gatekeeperip get"]
    assert render(caught.value.text, "en") == ("the codec closed the Telnet session while answering the last "
                                               "command (in the pause before the next)")
    assert "trong khoảng nghỉ trước lệnh sau" in render(caught.value.text, "vi")


def test_one_garbled_value_fails_its_own_check_only(tmp_path):
    """'mute near maybe': the audio check cannot say, every other value of the poll is still read."""
    from tests.vendors.poly_peers import by_id, make_config, run_codec_check

    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY) as sim:
        real = sim.answer
        sim.answer = lambda command: ["mute near maybe"] if command == "mute near get" else real(command)
        config = make_config(tmp_path, {"vendor": "poly-gs", "transport": "telnet", "port": sim.port,
                                        "allow_insecure": True}, budget=10.0)
        results = by_id(run_codec_check(config))
    audio = results["codec.audio"]
    assert audio.status.value == "error" and "'maybe'" in audio.message.render("en")
    assert "'maybe'" in audio.message.render("vi")
    assert results["codec.reachable"].status.value == "pass"
    assert results["codec.ip"].status.value == "pass" and results["codec.registration"].status.value == "pass"
