"""Hypothesis fuzz of the poly-gs Telnet layer (TelnetCodec, agent/vendors/poly_gs.py).

Streams are the real Group Series device text (shared/fixtures/poly/groupseries-samples.txt, lines ended
``\\r\\r\\n`` as on the wire) with Telnet commands mixed in — option negotiation for any option, NOP/GA/DM,
sub-negotiations holding escaped 0xFF, 0xFF data doubled, commands cut off at the end — and plain
garbage bytes, split into reads at arbitrary points.  What must hold (RFC 854/855):

- the decoded text and the replies do not depend on where the stream was split;
- the text is exactly the data bytes (commands and sub-negotiations removed, IAC IAC → 0xFF);
- replies are only ``IAC DO|DONT|WONT <option>``, each answering a WILL (DO for ECHO/SGA, else DONT) or a
  DO (WONT) the peer sent, each (reply, option) at most once (no negotiation loops), never an answer
  to WONT/DONT;
- decode never raises.

Then end to end: a proxy on 127.0.0.1 between the driver and the Group Series simulator (Telnet,
serving the same capture) inserts hypothesis-chosen Telnet commands into the codec's byte stream and
splits it into separate TCP writes; the driver's status must be the one it reads without them, and its
replies on the socket must follow the rules above.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agent.model import to_plain
from agent.secrets import Secret
from agent.sim.poly_gs import GSState, PolyGSSim, load_capture
from agent.vendors.base import Connection
from agent.vendors.poly_gs import DO, DONT, IAC, SB, SE, WILL, WONT, PolyGSDriver, TelnetCodec
from tests.vendors.fuzz_checks import poll_checked, within
from tests.vendors.poly_peers import CANARY, GS_CAPTURE

NOP, DM, GA, AYT = 241, 242, 249, 246
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31
ACCEPTED = (ECHO, SGA)
CAPTURE = load_capture(GS_CAPTURE)
REAL_TEXT = [("".join(line + "\r\r\n" for line in lines)).encode("utf-8")
             for variants in CAPTURE.values() for lines in variants if lines]
assert all(IAC not in text for text in REAL_TEXT)  # UTF-8 never holds 0xFF: every 0xFF below is Telnet


# -- the RFC read of a whole stream (no chunks): data bytes and the peer's option requests ----------------
def reference(stream: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    data, requests, i, n = bytearray(), [], 0, len(stream)
    while i < n:
        if stream[i] != IAC:
            data.append(stream[i])
            i += 1
        elif i + 1 == n:
            break  # cut off after IAC
        elif stream[i + 1] == IAC:
            data.append(IAC)
            i += 2
        elif stream[i + 1] in (WILL, WONT, DO, DONT):
            if i + 2 == n:
                break
            requests.append((stream[i + 1], stream[i + 2]))
            i += 3
        elif stream[i + 1] == SB:  # skipped up to IAC SE; IAC <any> inside is a pair (IAC IAC = data 0xFF)
            j = i + 2
            while j < n and not (stream[j] == IAC and j + 1 < n and stream[j + 1] == SE):
                j += 2 if stream[j] == IAC else 1
            i = j + 2
        else:
            i += 2  # NOP, DM, GA, AYT...: a two-byte command
    return bytes(data), requests


def check_replies(replies: bytes, requests: list[tuple[int, int]]) -> None:
    """Valid RFC 854 replies, each answering a request, each (verb, option) once, every WILL/DO answered."""
    assert len(replies) % 3 == 0, replies
    triples = [tuple(replies[i:i + 3]) for i in range(0, len(replies), 3)]
    assert all(t[0] == IAC and t[1] in (DO, DONT, WONT) for t in triples), triples
    pairs = [(verb, option) for _, verb, option in triples]
    assert len(pairs) == len(set(pairs)), f"an option answered twice: {pairs}"
    asked_will = {o for verb, o in requests if verb == WILL}
    asked_do = {o for verb, o in requests if verb == DO}
    for verb, option in pairs:
        if verb == WONT:
            assert option in asked_do, (verb, option)
        else:
            assert option in asked_will and (verb == DO) == (option in ACCEPTED), (verb, option)
    answered = set(pairs)
    assert all(((DO if o in ACCEPTED else DONT), o) in answered for o in asked_will)
    assert all((WONT, o) in answered for o in asked_do)


# -- streams ---------------------------------------------------------------------------------------
OPTION = st.one_of(st.sampled_from([ECHO, SGA, TTYPE, NAWS, 0, 255]), st.integers(0, 255))
COMMAND = st.one_of(
    st.tuples(st.sampled_from([WILL, WONT, DO, DONT]), OPTION).map(lambda t: bytes((IAC, *t))),
    st.sampled_from([NOP, DM, GA, AYT]).map(lambda c: bytes((IAC, c))),
    # A sub-negotiation, its 0xFF data doubled (its option is not 255: "IAC SB IAC" would be ambiguous).
    st.tuples(st.integers(0, 254), st.binary(max_size=12)).map(
        lambda t: bytes((IAC, SB, t[0])) + t[1].replace(b"\xff", b"\xff\xff") + bytes((IAC, SE))),
)
DATA_FF = st.just(bytes((IAC, IAC)))  # a 0xFF data byte
TEXT_PIECE = st.tuples(st.sampled_from(REAL_TEXT), st.integers(0, 400), st.integers(0, 400)).map(
    lambda t: t[0][min(t[1], t[2]):max(t[1], t[2])] or t[0])
CUT_OFF = st.sampled_from([bytes((IAC,)), bytes((IAC, WILL)), bytes((IAC, DO)), bytes((IAC, SB, TTYPE, 1)),
                           bytes((IAC, SB, TTYPE, IAC))])


@st.composite
def split_points(draw, stream: bytes) -> list[bytes]:
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=24))))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:])]


def decode_in(chunks: list[bytes]) -> tuple[bytes, bytes]:
    codec, text, replies = TelnetCodec(), b"", b""
    for chunk in chunks:
        text += codec.decode(chunk)
        replies += codec.take_replies()
    return text, replies


FUZZ = settings(max_examples=200, deadline=500, derandomize=True)


@FUZZ
@given(st.data(), st.lists(st.one_of(TEXT_PIECE, COMMAND, DATA_FF, st.binary(max_size=30)), max_size=30), CUT_OFF | st.just(b""))
def test_any_stream_any_split(data, pieces, tail):
    stream = b"".join(pieces) + tail
    chunks = data.draw(split_points(stream), label="reads")
    whole_text, whole_replies = within(2.0, decode_in, [stream])
    text, replies = within(2.0, decode_in, chunks)
    assert (text, replies) == (whole_text, whole_replies), "the result depends on where the stream was split"
    expected_text, requests = reference(stream)
    assert text == expected_text
    check_replies(replies, requests)


@FUZZ
@given(st.data(), st.lists(st.tuples(TEXT_PIECE, st.lists(COMMAND | DATA_FF, max_size=3)), min_size=1, max_size=12))
def test_real_text_with_commands_decodes_to_the_text(data, pieces):
    """Device text with complete Telnet commands anywhere: exactly the text comes out, 0xFF data kept."""
    stream = b"".join(text + b"".join(cmds) for text, cmds in pieces)
    want = b"".join(text + b"".join(b"\xff" for c in cmds if c == bytes((IAC, IAC))) for text, cmds in pieces)
    text, _ = within(2.0, decode_in, data.draw(split_points(stream), label="reads"))
    assert text == want


def test_no_loop_on_refusals_and_repeats():
    """WONT/DONT are never answered; a repeated WILL/DO is answered once."""
    codec = TelnetCodec()
    stream = bytes((IAC, WONT, ECHO, IAC, DONT, TTYPE, IAC, WILL, ECHO, IAC, WILL, ECHO, IAC, DO, TTYPE, IAC, DO, TTYPE))
    assert codec.decode(stream) == b""
    assert codec.take_replies() == bytes((IAC, DO, ECHO, IAC, WONT, TTYPE))


# -- end to end: a proxy that puts Telnet commands into the simulator's stream -----------------------------
class TelnetNoiseProxy:
    """127.0.0.1 proxy to the simulator: inserts ``inserts`` bytes at stream offsets of the codec's output,
    leaves out the bytes at ``drops`` offsets and sends the rest in separate writes at ``cuts``; records
    (and drops) the client's IAC replies."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.inserts: dict[int, bytes] = {}
        self.cuts: set[int] = set()
        self.drops: set[int] = set()
        self.last: dict[str, bytes] = {"sent": b"", "replies": b""}  # the latest session's two directions
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self, inserts: dict[int, bytes], cuts: set[int], drops: set[int] | None = None) -> None:
        self.inserts, self.cuts, self.drops = inserts, cuts, drops or set()

    @property
    def sent(self) -> bytes:
        return self.last["sent"]

    @property
    def replies(self) -> bytes:
        return self.last["replies"]

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.last = record = {"sent": b"", "replies": b""}
            threading.Thread(target=self._down, args=(server, client, record), daemon=True).start()
            threading.Thread(target=self._up, args=(client, server, record), daemon=True).start()

    def _down(self, server: socket.socket, client: socket.socket, record: dict[str, bytes]) -> None:
        offset = 0
        try:
            while data := server.recv(65536):
                piece = b""
                for byte in data:
                    if offset in self.inserts or offset in self.cuts:
                        if piece:
                            client.sendall(piece)
                            record["sent"] += piece
                            time.sleep(0.0005)  # a separate read on the other side, most of the time
                        piece = self.inserts.get(offset, b"")
                    if offset not in self.drops:
                        piece += bytes((byte,))
                    offset += 1
                client.sendall(piece)
                record["sent"] += piece
        except OSError:
            pass
        finally:
            client.close()

    def _up(self, client: socket.socket, server: socket.socket, record: dict[str, bytes]) -> None:
        state = b""
        try:
            while data := client.recv(65536):
                out = bytearray()
                for byte in data:
                    if state or byte == IAC:
                        state += bytes((byte,))
                        if len(state) == 3:
                            record["replies"] += state
                            state = b""
                    else:
                        out.append(byte)
                if out:
                    server.sendall(bytes(out))
        except OSError:
            pass
        finally:
            server.close()


@pytest.fixture(scope="module")
def proxy():
    with PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=GSState(in_call=True)) as sim:
        prx = TelnetNoiseProxy(sim.port)
        yield prx
        prx.close()


def _gs_driver(proxy: TelnetNoiseProxy, tmp, timeout: float = 2.0) -> PolyGSDriver:
    return PolyGSDriver(Connection("127.0.0.1", "telnet", proxy.port, "admin", Secret(CANARY, "codec password"),
                                   timeout, tmp, allow_insecure=True))


def poll_through(proxy: TelnetNoiseProxy, tmp) -> dict:
    drv = _gs_driver(proxy, tmp)
    drv.command_gap = 0.0  # the HDX pacing is tested elsewhere; here it would only slow every example
    try:
        status = to_plain(within(10.0, drv.poll))
    finally:
        drv.close()
    status["raw"].pop("_poll_ms", None)
    return status


@pytest.fixture(scope="module")
def clean_status(proxy, tmp_path_factory):
    proxy.reset({}, set())
    status = poll_through(proxy, tmp_path_factory.mktemp("telnet-clean"))
    assert status["calls"] and status["registration"]["h323"]["status"], status  # a full in-call read
    return status


# The simulator opens with IAC WILL ECHO, IAC WILL SGA, IAC DO NAWS (9 bytes): inserts start after them, so
# they never cut one of its own commands in two (that would be garbage that changes the text).
OWN_NEGOTIATION = 9


@settings(max_examples=60, deadline=3000, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.generate])
@given(inserts=st.dictionaries(st.integers(OWN_NEGOTIATION, 2500), st.lists(COMMAND | st.just(bytes((IAC, NOP))), min_size=1,
                                                              max_size=3).map(b"".join), max_size=10),
       cuts=st.sets(st.integers(0, 2500), max_size=20))
def test_status_is_the_same_with_telnet_commands_anywhere(proxy, clean_status, tmp_path_factory, inserts, cuts):
    proxy.reset(inserts, cuts)
    status = poll_through(proxy, tmp_path_factory.getbasetemp())
    assert status == clean_status
    _, requests = reference(proxy.sent)
    check_replies(proxy.replies, requests)


def test_the_proxy_test_can_fail(proxy, clean_status, tmp_path):
    """A 0xFF data byte (IAC IAC) inside the device text changes what is read: the equality above is not vacuous."""
    proxy.reset({proxy_offset_of(proxy, b"Model: ", tmp_path): bytes((IAC, IAC))}, set())
    assert poll_through(proxy, tmp_path) != clean_status
    assert proxy.replies == bytes((IAC, DO, ECHO, IAC, DO, SGA, IAC, WONT, NAWS))  # the simulator's own three


def proxy_offset_of(proxy: TelnetNoiseProxy, needle: bytes, tmp) -> int:
    proxy.reset({}, set())
    poll_through(proxy, tmp)
    return proxy.sent.index(needle) + len(needle)


# -- garbled answers: the driver's getters over what the wire really delivers ---------------------------
REAL_LINES = [line for variants in CAPTURE.values() for lines in variants for line in lines if line]
GARBLE = st.one_of(
    st.sampled_from(REAL_LINES).map(lambda line: (line + "\r\r\n").encode("utf-8")),  # another answer's line
    st.sampled_from(REAL_LINES).map(lambda line: line.encode("utf-8")[:len(line) // 2]),  # half a line
    st.sampled_from([b"-> ", b"\r\r\n", b"error: command not found\r\r\n", b"Password: ",
                     b"cs: call[77] chan[0] dialstr[192.168.1.103] state[RINGING]\r\r\n"]),
    st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=30),
)
GS_TIMEOUT = 0.3


@settings(max_examples=60, deadline=3000, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.generate])  # no shrinking: examples that wait out timeouts
@given(inserts=st.dictionaries(st.integers(OWN_NEGOTIATION, 2500), GARBLE, max_size=6),
       drops=st.lists(st.tuples(st.integers(OWN_NEGOTIATION, 2500), st.integers(1, 40)), max_size=3),
       cuts=st.sets(st.integers(0, 2500), max_size=8))
def test_garbled_answers_give_a_status_or_a_typed_error(proxy, tmp_path_factory, inserts, drops, cuts):
    """Lines of other answers, half lines, stray prompts, notifications, garbage inserted; bytes lost."""
    proxy.reset(inserts, cuts, {offset for start, n in drops for offset in range(start, start + n)})
    drv = _gs_driver(proxy, tmp_path_factory.getbasetemp(), GS_TIMEOUT)
    drv.command_gap = 0.0
    started = time.monotonic()
    try:
        poll_checked(drv.poll, 5.0)
    finally:
        drv.close()
    assert time.monotonic() - started < 4 * GS_TIMEOUT + 1.0
