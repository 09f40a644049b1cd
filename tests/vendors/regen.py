"""Write expected.json of napalm-style poly-gs / poly-rest / snmp cases from a run against the simulators.

    .venv/bin/python -m tests.vendors.regen poly-gs/idle-avispl snmp/studiox50-librenms
    .venv/bin/python -m tests.vendors.regen all

It runs the same test (tests/vendors/test_poly_snmp_cases.py::test_case) with HNTHT_REGEN_CASES set, so the
file is written from exactly what the test compares.  A regenerated expected.json is a claim about the
device: read every value against the capture (shared/fixtures, SOURCES.md) before committing it, and look
at `git diff` — a value that changed without a driver change is a regression, not a new truth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.vendors.poly_peers import CASE_DRIVERS, case_dirs

TEST = Path(__file__).with_name("test_poly_snmp_cases.py")


def main(argv: list[str]) -> int:
    known = {f"{driver}/{case.name}" for driver in CASE_DRIVERS for case in case_dirs(driver)}
    if not argv or argv == ["-h"] or argv == ["--help"]:
        print(__doc__.strip() + "\n\ncases: " + " ".join(sorted(known)))
        return 0 if argv else 2
    wanted = sorted(known) if argv == ["all"] else argv
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"unknown case(s) {unknown}; known: {sorted(known)}", file=sys.stderr)
        return 2
    os.environ["HNTHT_REGEN_CASES"] = ",".join(wanted)
    ids = " or ".join(f"[{name}]" for name in wanted)
    return pytest.main(["-q", "-p", "no:cacheprovider", f"{TEST}::test_case", "-k", ids])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
