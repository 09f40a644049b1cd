"""One generic test walks tests/ups/cases/<driver>/<model>/: every real recording has an expected result."""

from __future__ import annotations

import pytest

from agent.config import load_dict
from agent.ups.megatec import MegatecDriver
from agent.ups.nut import NutDriver, parse_dev, status_from_vars
from tests.helpers import FIXTURES
from tests.ups.casedata import cases, compare, normalised

NUT_CASES = cases("nut")
MEGATEC_CASES = cases("megatec")


@pytest.mark.parametrize("name,data,expected", NUT_CASES, ids=[c[0] for c in NUT_CASES])
def test_nut_dump_parsed(name, data, expected):
    """The dump file itself, through the same mapping the driver uses (no peer needed)."""
    variables = parse_dev((FIXTURES / data["fixture"]).read_text())
    compare(normalised(status_from_vars(variables, source="dev")), expected)


@pytest.mark.parametrize("name,data,expected", NUT_CASES, ids=[c[0] for c in NUT_CASES])
def test_nut_dump_served_by_upsd(nut_peer, name, data, expected):
    section = load_dict({"agent": {"room_id": "test-room"},
                         "ups": {"driver": "nut", "nut": {"port": nut_peer.port, "ups": data["ups"]}}}).ups
    driver = NutDriver(section)
    try:
        status = driver.read_blocking()
    finally:
        driver.close_blocking()
    assert status.source == f"nut:{data['ups']}@127.0.0.1:{nut_peer.port}"
    # dummy-ups adds "Dummy Manufacturer"/"Dummy UPS" when a dump has none (test-peers.md §3.3)
    compare(normalised(status), expected, ignore=data.get("peer_ignore", []))


@pytest.mark.parametrize("name,data,expected", MEGATEC_CASES, ids=[c[0] for c in MEGATEC_CASES])
def test_megatec_replies_over_a_pty(emulators, tmp_path, name, data, expected):
    emulator = emulators(data["profile"])
    emulator.set(state="normal", delay=0)
    section = load_dict({"agent": {"room_id": "test-room"},
                         "ups": {"driver": "megatec", "megatec": {"port": emulator.port, "timeout": "300ms"}}}).ups
    driver = MegatecDriver(section, lock_dir=tmp_path)
    try:
        status = driver.read_blocking()
    finally:
        driver.close_blocking()
    compare(normalised(status), expected)
