"""Every real SNMP recording (shared/fixtures/ups/snmp) has a data-only case, read over snmpsim.

tests/ups/cases/snmp/<recording>/input.json names the recording and its community;
expected.json is the normalised UpsStatus (see tests/ups/casedata.py). A new UPS card is a new folder.
"""

from __future__ import annotations

import asyncio

import pytest

from agent.checks import power as checks
from agent.config import load_dict
from agent.model import Status
from agent.ups.snmp import SnmpDriver
from tests.ups.casedata import cases, compare, normalised
from tests.ups.snmp.conftest import RECORDINGS, snmp_config

SNMP_CASES = cases("snmp")


def test_every_recording_has_a_case():
    recorded = {p.stem for p in RECORDINGS.glob("*.snmprec")}
    assert recorded, f"no recordings under {RECORDINGS}"
    assert recorded == {data["community"] for _, data, _ in SNMP_CASES}


@pytest.mark.parametrize("name,data,expected", SNMP_CASES, ids=[c[0] for c in SNMP_CASES])
def test_recording_served_by_snmpsim(snmpsim, tmp_path, name, data, expected):
    section = load_dict(snmp_config(tmp_path, snmpsim.port, data["community"])).ups
    driver = SnmpDriver(section)

    async def two_polls():
        try:
            first = await driver.read()
            second = await driver.read()  # kept session, identity cached: the same answer
            return first, second
        finally:
            await driver.aclose()

    first, second = asyncio.run(two_polls())
    assert first.source.startswith(f"snmp:127.0.0.1:{snmpsim.port} (")
    compare(normalised(first), expected)
    compare(normalised(second), expected)
    # Every null has a reason, and the checks turn the status into results without an error line.
    assert all(first.unknown.get(k) for k in expected["unknown"])
    results = checks.evaluate(first, section.expect)
    assert [r.id for r in results][0] == "power.ups_reachable"
    assert Status.ERROR not in {r.status for r in results}
