"""napalm style: every folder in tests/vendors/cisco/<case>/ is served by the simulator over a real socket,
read over each transport, and must normalise to its expected.json (a new capture is a data-only test).

A case is data only: case.json names the shared captures (status, configuration, valuespace, banner,
echo_response) and the presets; each reaches the simulator (checked on the wire for the banner and the
``echo off`` reply), and a missing or unknown key is refused.  Every shared Cisco capture must be served by
some case."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from agent.checks import codec as checks
from agent.config.sections.codec import CodecExpect
from agent.model import to_plain
from tests.codec.conftest import CANARY, CASE_CAPTURES, CASES, MODES, case_captures, driver, sim_for_case
from tests.helpers import FIXTURES

CASE_DIRS = sorted(p for p in CASES.iterdir() if (p / "case.json").exists())


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_normalises_to_expected(case_dir, tmp_path):
    expected = json.loads((case_dir / "expected.json").read_text(encoding="utf-8"))
    want_checks = expected.pop("checks", None)  # {check id: status} with the default [codec.expect]
    with sim_for_case(case_dir, state="capture") as sim:
        for mode in MODES:
            drv = driver(sim, mode, tmp_path)
            try:
                polled = drv.poll()
            finally:
                drv.close()
            status = to_plain(polled)
            assert status.pop("transport") == ("https" if mode == "https" else "ssh")
            raw = status.pop("raw")
            assert raw["Status.SystemUnit.ProductId"], mode
            assert status == expected, mode
            if want_checks is not None:
                got = {r.id: r.status.value
                       for r in checks.evaluate(polled, CodecExpect(), host="127.0.0.1", user=sim.username)}
                assert got == want_checks, (mode, {k: (want_checks.get(k), got.get(k))
                                                   for k in got.keys() | want_checks.keys()
                                                   if want_checks.get(k) != got.get(k)})


def unused_captures(case_dirs: list[Path], fixtures: Path = FIXTURES) -> set[str]:
    """Shared Cisco captures no case serves: judged by the bytes each case's simulator was built with."""
    served: set[bytes] = set()
    for case_dir in case_dirs:
        sim = sim_for_case(case_dir)  # not started: only what it was given
        try:
            served |= {getattr(sim, attr) for attr in CASE_CAPTURES.values()}
        finally:
            sim._tmp.cleanup()
    return {f"cisco/{p.name}" for p in (fixtures / "cisco").iterdir() if p.read_bytes() not in served}


def test_every_shared_cisco_capture_is_used_by_a_case():
    assert unused_captures(CASE_DIRS) == set()


def test_a_capture_without_a_case_is_found(tmp_path):
    """The test above can fail: a new capture in the shared fixtures, served by no case."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "cisco", fixtures / "cisco")
    new = fixtures / "cisco" / "roomkit-ce9.15-status.xml"
    new.write_bytes((FIXTURES / "cisco" / "roombar-roomos11.19-status.xml").read_bytes().replace(b"Room Bar", b"Room Kit"))
    assert unused_captures(CASE_DIRS, fixtures) == {"cisco/roomkit-ce9.15-status.xml"}


def _case_copy(tmp_path: Path, **changes) -> Path:
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    case = json.loads((CASE_DIRS[0] / "case.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            case.pop(key)
        else:
            case[key] = value
    (case_dir / "case.json").write_text(json.dumps(case), encoding="utf-8")
    return case_dir


@pytest.mark.parametrize("key", sorted(CASE_CAPTURES))
def test_a_case_missing_a_capture_key_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match=f"missing keys \\['{key}'\\]"):
        sim_for_case(_case_copy(tmp_path, **{key: None}))


def test_an_unknown_case_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown keys \\['echo_reponse'\\]"):
        sim_for_case(_case_copy(tmp_path, echo_reponse="cisco/jsxapi-echo_response.txt"))


def test_case_files_reference_existing_captures():
    for case_dir in CASE_DIRS:
        for path in case_captures(case_dir).values():
            assert (FIXTURES / path).is_file(), (case_dir.name, path)


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_banner_and_echo_reply_reach_the_wire(case_dir):
    banner_and_echo_on_the_wire(case_dir)


def test_a_case_banner_other_than_the_default_reaches_the_wire(tmp_path):
    """The real banner with another system name: the simulator must serve it, not its default file."""
    banner = tmp_path / "welcome.txt"
    banner.write_bytes((FIXTURES / "cisco" / "jsxapi-welcome.txt").read_bytes().replace(b"mmyrseth-sx20", b"ubnd-quang-ninh"))
    banner_and_echo_on_the_wire(_case_copy(tmp_path, banner=str(banner)))


def banner_and_echo_on_the_wire(case_dir: Path) -> None:
    """What a client reads after login is the case's banner, then the case's `echo off` reply, byte for byte."""
    import paramiko

    files = {key: (FIXTURES / path).read_bytes() for key, path in case_captures(case_dir).items()}
    with sim_for_case(case_dir) as sim:
        sock = socket.create_connection(("127.0.0.1", sim.ssh_port), timeout=5)
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=5)
            transport.auth_interactive(sim.username, lambda title, text, prompts: [CANARY for _ in prompts])
            channel = transport.open_session(timeout=5)
            channel.get_pty()
            channel.invoke_shell()
            channel.settimeout(5)
            assert _read(channel, len(files["banner"])) == files["banner"]
            channel.sendall(b"echo off\n")
            echoed = b"echo off\r\n"  # the shell echoes the command line until echo is off
            assert _read(channel, len(echoed) + len(files["echo_response"])) == echoed + files["echo_response"]
        finally:
            transport.close()
    assert sim.valuespace.types and sim.valuespace_xml == files["valuespace"]


def _read(channel, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
