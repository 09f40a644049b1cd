"""Peers and config helpers for the poly-gs, poly-rest, snmp and auto driver tests.

Captures are read from the shared fixtures (tests.helpers.FIXTURES); the Studio X50 SNMP walk is the
verbatim excerpt of the LibreNMS recording quoted in shared/protocols/codecs.md §8 (the .snmprec itself
is GPL and not in the fixtures), turned into an .snmprec at run time, never copied into the repo.

The napalm-style cases (``tests/vendors/<driver>/<case>/case.json``) name their capture or recording
themselves (:func:`load_case`, :func:`case_source`); nothing here lists them, so a new capture is a new
folder.  A source is a path relative to ``shared/fixtures/`` (read in place: the licences in
SOURCES.md allow reading, the GPL recordings must not be copied into tests/), a file inside the case
folder, or ``<path>#<marker>``: the first fenced block after the line holding ``<marker>`` in that file
(how codecs.md quotes the X50 walk).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_dict
from tests.helpers import FIXTURES, SHARED

GS_CAPTURE = FIXTURES / "poly" / "groupseries-samples.txt"
REST_CAPTURE = FIXTURES / "poly" / "studiox30-videoos3.12-rest.json"
REST_WIREMOCK = FIXTURES / "poly" / "studiox30-videoos3.12-wiremock.json"
HUAWEI_UPS_SNMPREC = FIXTURES / "ups" / "snmp" / "huaweiups_ups2000.snmprec"
CASES = Path(__file__).parent
CANARY = "hntht-canary-codec-pw-4f7a1e"


def x50_snmprec() -> str:
    """The POLYCOM-ENDPOINT-MIB excerpt of the real Studio X50 walk (codecs.md §8) as .snmprec text."""
    text = (SHARED / "protocols" / "codecs.md").read_text(encoding="utf-8")
    section = text[text.index("**Poly/Polycom current endpoint MIB**"):]
    block = section[section.index("```") + 3:]
    block = block[:block.index("```")]
    records = [re.split(r"\s{2,}", line.strip())[0] for line in block.strip().splitlines()]
    assert all(re.fullmatch(r"[0-9.]+\|[0-9]+\|.*", r) for r in records), records
    records.sort(key=lambda r: [int(x) for x in r.split("|")[0].split(".")])
    return "\n".join(records) + "\n"


def capture_path(name: str, case_dir: Path | None = None) -> Path:
    """A capture file: inside ``case_dir``, else relative to shared/fixtures (a bare poly/ name still works)."""
    if case_dir is not None and (case_dir / name).is_file():
        return case_dir / name
    for base in (FIXTURES, FIXTURES / "poly"):
        if (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"capture {name!r} is neither in {case_dir} nor under {FIXTURES}")


# -- napalm-style cases ---------------------------------------------------------------------------------
CASE_DRIVERS = ("poly-gs", "poly-rest", "snmp")
# the keys a case.json may hold (an unknown key is an error: nothing a case declares is silently ignored)
CASE_KEYS = {
    "poly-gs": {"about", "capture", "state", "transports"},
    "poly-rest": {"about", "capture", "state", "transports"},
    "snmp": {"about", "recording", "state"},
}
DEFAULT_TRANSPORTS = {"poly-gs": ["telnet", "ssh"], "poly-rest": ["https", "http"], "snmp": ["snmp"]}


def case_dirs(driver: str) -> list[Path]:
    return sorted(p for p in (CASES / driver).iterdir() if (p / "case.json").is_file())


def load_case(case_dir: Path) -> dict[str, Any]:
    """case.json, checked: known keys only, a source that exists, an 'about' saying where the data is from."""
    driver = case_dir.parent.name
    spec = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    unknown = set(spec) - CASE_KEYS[driver]
    if unknown:
        raise ValueError(f"{case_dir}/case.json: unknown keys {sorted(unknown)} (allowed: {sorted(CASE_KEYS[driver])})")
    if not spec.get("about"):
        raise ValueError(f"{case_dir}/case.json: 'about' must say which device and capture this is")
    key = "recording" if driver == "snmp" else "capture"
    if not isinstance(spec.get(key), str):
        raise ValueError(f"{case_dir}/case.json: {key!r} (a path under shared/fixtures, or a file in the folder) is required")
    spec.setdefault("state", {})
    spec.setdefault("transports", DEFAULT_TRANSPORTS[driver])
    case_source(case_dir, spec[key])  # exists
    return spec


def case_source(case_dir: Path, ref: str) -> Path | str:
    """The file a case names, or (``path#marker``) the text of the fenced block after ``marker``."""
    name, _, marker = ref.partition("#")
    path = case_dir / name if (case_dir / name).is_file() else (FIXTURES / name).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{case_dir.name}: {name!r} is neither in the case folder nor under {FIXTURES}")
    if not marker:
        return path
    text = path.read_text(encoding="utf-8")
    if marker not in text:
        raise ValueError(f"{case_dir.name}: {marker!r} is not in {path}")
    section = text[text.index(marker):]
    block = section[section.index("```") + 3:]
    return block[block.index("\n") + 1:block.index("```")]


def snmprec_lines(text: str) -> list[str]:
    """An .snmprec, or a quoted walk with comments after two spaces (codecs.md), as sorted OID|tag|value lines."""
    records = [re.split(r"\s{2,}", line.strip())[0] for line in text.strip().splitlines() if line.strip()]
    bad = [r for r in records if not re.fullmatch(r"[0-9.]+\|[0-9a-z:]+\|.*", r)]
    if bad:
        raise ValueError(f"not snmprec lines: {bad[:3]}")
    records.sort(key=lambda r: [int(x) for x in r.split("|")[0].split(".")])
    return records


def case_snmprec(case_dir: Path, spec: dict[str, Any] | None = None) -> str:
    """The recording a snmp case names, with its ``state`` ({oid: "tag|value"}) applied."""
    spec = spec or load_case(case_dir)
    source = case_source(case_dir, spec["recording"])
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    changes = dict(spec.get("state") or {})
    lines = []
    for line in snmprec_lines(text):
        oid = line.split("|", 1)[0]
        lines.append(f"{oid}|{changes.pop(oid)}" if oid in changes else line)
    lines += [f"{oid}|{value}" for oid, value in changes.items()]
    return "\n".join(snmprec_lines("\n".join(lines))) + "\n"


def make_config(tmp_path: Path, codec: dict[str, Any], *, budget: float = 15.0, password: str = CANARY,
                community: str | None = None) -> Any:
    pw = tmp_path / "codec-password"
    pw.write_text(password + "\n")
    pw.chmod(0o600)
    table = {"host": "127.0.0.1", "username": "admin", "password_file": str(pw), "timeout": "2s"}
    if community is not None:
        cf = tmp_path / "codec-community"
        cf.write_text(community + "\n")
        cf.chmod(0o600)
        table["snmp"] = {"community_file": str(cf)}
    table.update(codec)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return load_dict({"agent": {"room_id": "room-test", "state_dir": str(state)}, "check": {"budget": f"{budget}s"},
                      "codec": table}, file="test.toml")


def run_codec_check(config: Any) -> Any:
    from agent.runner import build_probes, run_checklist

    return asyncio.run(run_checklist(config, build_probes(config, ["codec"])))


def by_id(report: Any) -> dict[str, Any]:
    return {r.id: r for r in report.results}


def report_text(report: Any) -> str:
    from agent.model import to_plain

    return "".join(json.dumps(report.to_dict(lang), ensure_ascii=False, default=str) for lang in ("vi", "en")) + \
        json.dumps([to_plain(run.status) for run in report.runs if run.status is not None], default=str) + \
        "".join(repr(run.error) for run in report.runs)


def subset_mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` differs from the (partial) ``expected`` tree."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out.extend(subset_mismatches(value, actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and expected and isinstance(expected[0], dict):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in subset_mismatches(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def x50_state(**changes: str) -> str:
    """The X50 excerpt with some values changed (hand-made state changes only): {oid: "tag|value"}."""
    lines = []
    for line in x50_snmprec().splitlines():
        oid = line.split("|", 1)[0]
        lines.append(f"{oid}|{changes.pop(oid)}" if oid in changes else line)
    lines += [f"{oid}|{value}" for oid, value in changes.items()]
    lines.sort(key=lambda r: [int(x) for x in r.split("|")[0].split(".")])
    return "\n".join(lines) + "\n"


PLCM = "1.3.6.1.4.1.13885.101.1"
SNMP_STATES = {
    "x50-registered": {f"{PLCM}.2.7.2.0": "2|2", f"{PLCM}.2.8.3.1.2.1": "2|2", f"{PLCM}.5.1.0": "2|0",
                       "1.3.6.1.2.1.1.3.0": "67|4200000"},
    "x50-camera-failed": {f"{PLCM}.3.6.1.0": "2|3"},
    "x50-mic-failed": {f"{PLCM}.3.5.1.0": "2|3"},
    "x50-in-conference": {f"{PLCM}.5.1.0": "2|1"},
    "x50-slow": {"1.3.6.1.2.1.1.1.0": "4:delay|value=Videoconferencing Device,wait=4000"},
}


@pytest.fixture(scope="session")
def snmpsim_codec(tmp_path_factory):
    """One snmpsim (the power engineer's SnmpSim helper) serving the codec recordings and states."""
    from tests.ups.snmp.conftest import SnmpSim

    files: dict[str, Any] = {case.name: case_snmprec(case) for case in case_dirs("snmp")}
    files.setdefault("studiox50-librenms", x50_snmprec())  # community names other tests use
    files.setdefault("huawei-ups2000-mib2-only", HUAWEI_UPS_SNMPREC)
    files.update({name: x50_state(**changes) for name, changes in SNMP_STATES.items() if name != "x50-slow"})
    sim = SnmpSim(tmp_path_factory.mktemp("codec-snmpsim"), files).start()
    yield sim
    sim.stop()
