"""Data-only UPS test cases: tests/ups/cases/<driver>/<model>/{input.json, expected.json}.

input.json names the real recording (a NUT-DDL dump under shared/fixtures, or an emulator profile
serving the shared Megatec reply strings); expected.json is the normalised UpsStatus (without
`source`; `unknown` as the sorted list of fields left null). A new UPS model is a new folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.model import to_plain

CASES = Path(__file__).parent / "cases"


def cases(driver: str) -> list[tuple[str, dict, dict]]:
    out = []
    for folder in sorted((CASES / driver).iterdir()):
        if (folder / "input.json").exists():
            out.append((folder.name, json.loads((folder / "input.json").read_text()),
                        json.loads((folder / "expected.json").read_text())))
    return out


def normalised(status: Any) -> dict:
    plain = to_plain(status)
    plain.pop("source")
    plain["unknown"] = sorted(plain["unknown"])
    return plain


def compare(actual: dict, expected: dict, ignore: list[str] = ()) -> None:
    diffs = {k: (actual.get(k), v) for k, v in expected.items() if k not in ignore and actual.get(k) != v}
    assert not diffs, f"(actual, expected) differ: {diffs}"
