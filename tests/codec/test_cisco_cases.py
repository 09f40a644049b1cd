"""napalm style: every folder in tests/vendors/cisco/<case>/ is served by the simulator over a real socket,
read over each transport, and must normalise to its expected.json (a new capture is a data-only test)."""

from __future__ import annotations

import json

import pytest

from agent.model import to_plain
from tests.codec.conftest import CASES, MODES, driver, sim_for_case
from tests.helpers import FIXTURES

CASE_DIRS = sorted(p for p in CASES.iterdir() if (p / "case.json").exists())


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_normalises_to_expected(case_dir, tmp_path):
    expected = json.loads((case_dir / "expected.json").read_text(encoding="utf-8"))
    with sim_for_case(case_dir, state="capture") as sim:
        for mode in MODES:
            drv = driver(sim, mode, tmp_path)
            try:
                status = to_plain(drv.poll())
            finally:
                drv.close()
            assert status.pop("transport") == ("https" if mode == "https" else "ssh")
            raw = status.pop("raw")
            assert raw["Status.SystemUnit.ProductId"], mode
            assert status == expected, mode


def test_every_shared_cisco_capture_is_used_by_a_case():
    used = set()
    for case_dir in CASE_DIRS:
        case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        used |= {v for k, v in case.items() if isinstance(v, str) and v.startswith("cisco/")}
    shared = {f"cisco/{p.name}" for p in (FIXTURES / "cisco").iterdir()}
    assert shared <= used, shared - used


def test_case_files_reference_existing_captures():
    for case_dir in CASE_DIRS:
        case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        for key in ("status", "configuration"):
            assert (FIXTURES / case[key]).is_file()
