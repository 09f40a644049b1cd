"""Data-only cases (napalm style) for the poly-gs, poly-rest and snmp drivers.

Each ``tests/vendors/<driver>/<case>/`` holds ``case.json`` (the capture or recording it serves — a path
under shared/fixtures or a file in the folder —, the simulator state, the transports) and
``expected.json``: the WHOLE normalised status (without ``raw``, ``_poll_ms`` and the transport fields;
``reasons`` compared by key, their text kept for the reader) and every check's status.  The capture is
served by the driver's simulator on a real socket (Telnet/SSH, HTTPS/HTTP, snmpsim) and read through the
full probe path (config → probe → driver → checks), over every transport the case lists.  A new device
capture is a new folder; ``python -m tests.vendors.regen <driver>/<case>`` writes its expected.json from
a run — read it against the capture before committing it.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from agent.i18n import Text
from agent.model import to_plain
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver
from tests.helpers import SHARED
from tests.vendors.poly_peers import (  # noqa: F401  (snmpsim_codec: fixture)
    CANARY, CASE_DRIVERS, FIXTURES, capture_path, case_dirs, case_source, load_case, make_config, report_text,
    run_codec_check, snmpsim_codec,
)

# Which shared fixtures belong to which driver here (the cisco/ captures: tests/codec/test_cisco_cases.py;
# ups/: the power probes, of which the Huawei card walk is also a snmp codec case).
SHARED_CAPTURES = {"poly-gs": ("poly/*.txt",), "poly-rest": ("poly/*.json",)}
FIXTURE_DIRS = {"cisco": "tests/codec/test_cisco_cases.py", "poly": __name__, "ups": "tests/ups/"}
INSECURE = {"telnet", "http"}
TRANSPORT_FIELDS = ("transport", "insecure_transport")
# Group Series answers the capture lacks come from GSState (codecs.md §3 formats); a run with every such field
# changed shows which status values are the simulator's rather than the device's (expected.json lists them).
GS_PERTURBED = {"name": "Perturbed-Room", "model": "RealPresence Group 700", "software": "6.1.0-1", "serial": "PERTURB1",
                "ip": "10.9.9.9", "netmask": "255.255.0.0", "gateway": "10.9.0.1", "volume": 12, "call_rate": 2048,
                "uptime": "2 Days, 3 Hours, 4 Minutes", "monitor1": "dvi 1280x720p 50", "monitor2": "off",
                "echo_off": True}
REGEN = os.environ.get("HNTHT_REGEN_CASES", "")  # "all" or "driver/case,..." (tests.vendors.regen sets it)

CASES = [(driver, case) for driver in CASE_DRIVERS for case in case_dirs(driver)]


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


# -- the comparison ----------------------------------------------------------------------------------------
def normalised(status: Any) -> dict[str, Any]:
    """The status as expected.json holds it: plain (a valid CodecStatus, reasons in English for the reader),
    without raw/_poll_ms and the per-transport fields."""
    plain = to_plain(status)
    for key in ("raw", "_poll_ms") + TRANSPORT_FIELDS:
        plain.pop(key, None)
    return plain


def reason_keys(status: Any) -> dict[str, str | None]:
    """{path: catalogue key} of every reason: the key decides skip (API limit) vs error, not the wording."""
    return {path: why.key if isinstance(why, Text) else None for path, why in status.reasons.items()}


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every difference between two whole status trees; ``reasons`` by path only (their catalogue keys are
    compared apart, see :func:`reason_keys`; the wording may change)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if path == ".reasons":
            missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
            return ([f"{path}: no reason any more for {missing}"] if missing else []) + \
                ([f"{path}: new reason for {extra}"] if extra else [])
        out = [f"{path}.{k}: missing" for k in expected if k not in actual]
        out += [f"{path}.{k}: not expected ({actual[k]!r})" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            out.extend(mismatches(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"]
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in mismatches(e, a, f"{path}[{i}]")]
    same = expected == actual and type(expected) is type(actual)
    return [] if same else [f"{path}: expected {expected!r}, got {actual!r}"]


# -- one run -------------------------------------------------------------------------------------------------
def run_case(driver: str, case: Path, transport: str, tmp_path: Path, snmpsim, *,
             state: dict[str, Any] | None = None) -> Any:
    spec = load_case(case)
    if state is not None:
        spec["state"] = state
    if driver == "snmp":
        return run_codec_check(make_config(tmp_path, {"vendor": "snmp", "port": snmpsim.port}, community=case.name))
    if driver == "poly-gs":
        sim = PolyGSSim(capture_path(spec["capture"], case), transport=transport, password=CANARY,
                        state=GSState(**spec["state"])).start()
        codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port}
        if transport == "ssh":
            codec["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
    else:
        sim = PolyRestSim(capture_path(spec["capture"], case), password=CANARY, state=RestState(**spec["state"]),
                          tls=transport == "https").start()
        codec = {"vendor": "poly-rest", "transport": transport, "port": sim.port}
        if transport == "https":
            codec["tls"] = {"fingerprint": tls_fingerprint(sim.certificate_der)}
    if transport in INSECURE:
        codec["allow_insecure"] = True
    try:
        report = run_codec_check(make_config(tmp_path, codec))
        # the peer's thread notices the client's goodbye a moment after the check returns
        deadline = time.monotonic() + 3.0
        while sim.sessions_open and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.sessions_open == 0, "a session was left open"
        return report
    finally:
        sim.stop()


def observed(report: Any, transport: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str | None]]:
    run = next(r for r in report.runs if r.name == "codec")
    assert run.error is None, repr(run.error)
    from agent.vendors import model as m

    assert not [p for p in m.missing_reasons(run.status) if run.status.reason(p) is None], "a null without a reason"
    assert run.status.transport == transport
    assert run.status.insecure_transport is (transport in INSECURE)
    assert CANARY not in report_text(report)
    # the codec checks only: other probes' checks in the same run (drift.baseline) have their own tests
    return normalised(run.status), {r.id: r.status.value for r in report.results if r.id.startswith("codec.")}, \
        reason_keys(run.status)


# -- for tests/test_report_schema.py (validates every case's report against the schema) ------------------
def _params() -> list:
    """pytest params (driver, case folder, transport) for every case and each of its transports."""
    return [pytest.param(driver, case, transport, id=f"{driver}/{case.name}/{transport}")
            for driver, case in CASES for transport in load_case(case)["transports"]]


def _report(driver: str, case: Path, transport: str, tmp_path: Path, snmpsim) -> tuple[Any, None]:
    """(the report of one case over one transport, None): the simulator is already stopped."""
    return run_case(driver, case, transport, tmp_path, snmpsim), None


def wants_regen(driver: str, case: Path) -> bool:
    return REGEN == "all" or f"{driver}/{case.name}" in REGEN.split(",")


@pytest.mark.parametrize("driver,case", CASES, ids=[f"{d}/{c.name}" for d, c in CASES])
def test_case(driver, case, tmp_path, snmpsim_codec):
    spec = load_case(case)
    runs = {}
    for transport in spec["transports"]:
        (tmp_path / transport).mkdir()
        runs[transport] = observed(run_case(driver, case, transport, tmp_path / transport, snmpsim_codec), transport)
    first = spec["transports"][0]
    synthetic = None
    assert all(keys == runs[first][2] for _s, _c, keys in runs.values()), "reasons differ between transports"
    if driver == "poly-gs":
        (tmp_path / "perturbed").mkdir()
        other = observed(run_case(driver, case, first, tmp_path / "perturbed", snmpsim_codec,
                                  state={**spec["state"], **GS_PERTURBED}), first)[0]
        synthetic = sorted(changed_paths(runs[first][0], other))
    if wants_regen(driver, case):
        write_expected(case, runs, first, synthetic)
    if not (case / "expected.json").is_file():
        pytest.fail(f"{case}/expected.json is missing: run `.venv/bin/python -m tests.vendors.regen {driver}/{case.name}` "
                    "and read every value against the capture")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert set(expected) <= {"status", "reason_keys", "checks", "checks_by_transport", "from_simulator_state"}, \
        sorted(expected)
    # values the simulator made up (not in the capture) are listed, so a reader of expected.json knows them
    assert expected.get("from_simulator_state") == synthetic, (expected.get("from_simulator_state"), synthetic)
    for transport, (status, checks, keys) in runs.items():
        wrong = mismatches(expected["status"], status)
        wrong += [f".reasons.{k}: reason {expected['reason_keys'].get(k)!r} became {v!r} ({status['reasons'].get(k)!r})"
                  for k, v in sorted(keys.items()) if k in expected["reason_keys"] and expected["reason_keys"][k] != v]
        assert not wrong, f"{driver}/{case.name} over {transport}:\n" + "\n".join(wrong)
        want = {**expected["checks"], **expected.get("checks_by_transport", {}).get(transport, {})}
        assert checks == want, f"{driver}/{case.name} over {transport}: " + \
            repr({k: (want.get(k), checks.get(k)) for k in want.keys() | checks.keys() if want.get(k) != checks.get(k)})


def changed_paths(a: Any, b: Any, path: str = "") -> set[str]:
    """Leaf paths (without reasons) where two status trees differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {p for k in a.keys() | b.keys() if k != "reasons"
                for p in changed_paths(a.get(k), b.get(k), f"{path}.{k}" if path else k)}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return {p for i, (x, y) in enumerate(zip(a, b)) for p in changed_paths(x, y, f"{path}[{i}]")}
    return set() if a == b else {path}


def write_expected(case: Path, runs: dict[str, tuple[dict, dict, dict]], first: str,
                   synthetic: list[str] | None = None) -> None:
    status, checks, keys = runs[first]
    by_transport = {}
    for transport, (other_status, other_checks, _keys) in runs.items():
        assert not mismatches(status, other_status), f"{transport} reads a different status than {first}"
        diff = {k: v for k, v in other_checks.items() if checks.get(k) != v}
        if diff:
            by_transport[transport] = diff
    checks_common = dict(checks)
    for diff in by_transport.values():
        for key in diff:
            checks_common.pop(key, None)
    for transport, (_s, other_checks, _k) in runs.items():  # keys that differ anywhere are listed per transport
        differing = {k for d in by_transport.values() for k in d}
        if differing:
            by_transport[transport] = {k: other_checks[k] for k in sorted(differing)}
    out: dict[str, Any] = {"status": status, "reason_keys": keys, "checks": dict(sorted(checks_common.items()))}
    if by_transport:
        out["checks_by_transport"] = by_transport
    if synthetic is not None:
        out["from_simulator_state"] = synthetic
    (case / "expected.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# -- every capture is a case -----------------------------------------------------------------------------
def declared_sources() -> dict[str, set[str]]:
    """{driver: the sources its cases serve} (paths under shared/fixtures or the folder, ``#marker`` kept)."""
    used: dict[str, set[str]] = {d: set() for d in CASE_DRIVERS}
    for driver, case in CASES:
        spec = load_case(case)
        ref = spec["recording" if driver == "snmp" else "capture"]
        name, _, marker = ref.partition("#")
        path = (case / name) if (case / name).is_file() else FIXTURES / name
        used[driver].add(os.path.normpath(path) + (f"#{marker}" if marker else ""))
    return used


def uncovered(fixtures: Path, shared: Path, used: dict[str, set[str]]) -> list[str]:
    """Shared captures for these drivers that no case serves, and fixture folders no test claims."""
    out = [f"{d.name}/: no driver's tests claim this fixture folder" for d in sorted(fixtures.iterdir())
           if d.is_dir() and d.name not in FIXTURE_DIRS]
    claimed: set[Path] = set()
    for driver, patterns in SHARED_CAPTURES.items():
        for pattern in patterns:
            for path in sorted(fixtures.glob(pattern)):
                claimed.add(path)
                if os.path.normpath(path) not in used[driver]:
                    out.append(f"{path.relative_to(fixtures)}: a {driver} capture with no case under tests/vendors/{driver}/")
    out += [f"poly/{p.name}: no driver claims it (SHARED_CAPTURES)" for p in sorted((fixtures / "poly").iterdir())
            if p.is_file() and p not in claimed]
    # walks quoted in the protocol notes (.snmprec lines in a fenced block) are snmp cases too
    notes = os.path.normpath(shared / "protocols" / "codecs.md")
    text = Path(notes).read_text(encoding="utf-8")
    served = set()  # where the blocks the cases name start (the first fence after each marker)
    for source in used["snmp"]:
        name, _, marker = source.partition("#")
        if name == notes and marker in text:
            served.add(text.index("```", text.index(marker)))
    for match in re.finditer(r"```[a-z]*\n(.*?)```", text, re.S):
        lines = [ln for ln in match.group(1).splitlines() if ln.strip()]
        if lines and all(re.match(r"\s*[0-9.]+\|[0-9a-z:]+\|", ln) for ln in lines) and match.start() not in served:
            line = text.count("\n", 0, match.start()) + 1
            out.append(f"codecs.md line {line}: an SNMP walk ({lines[0].split('|')[0]} ...) that is not a snmp case")
    return out


def test_every_shared_capture_is_a_case():
    assert not uncovered(FIXTURES, SHARED, declared_sources())
    from tests.helpers import REPO

    assert all((REPO / where).exists() for where in FIXTURE_DIRS.values() if where != __name__)


def test_a_capture_without_a_case_fails(tmp_path):
    """The check above can fail: a copy of the fixtures with one more capture, a new vendor folder, and a
    case list without the X50 walk."""
    fixtures = tmp_path / "fixtures"
    (fixtures / "poly").mkdir(parents=True)
    for d in FIXTURE_DIRS:
        (fixtures / d).mkdir(exist_ok=True)
    for p in (FIXTURES / "poly").iterdir():
        (fixtures / "poly" / p.name).write_bytes(p.read_bytes())
    used = {d: {s.replace(str(FIXTURES), str(fixtures)) for s in v} for d, v in declared_sources().items()}
    assert uncovered(fixtures, SHARED, used) == []
    (fixtures / "poly" / "g7500-videoos4.json").write_text("{}")
    (fixtures / "poly" / "hdx-samples.xml").write_text("")
    (fixtures / "huawei").mkdir()
    used["snmp"] = {s for s in used["snmp"] if "#" not in s}
    problems = uncovered(fixtures, SHARED, used)
    assert any(p.startswith("poly/g7500-videoos4.json: a poly-rest capture") for p in problems), problems
    assert any(p.startswith("poly/hdx-samples.xml: no driver") for p in problems), problems
    assert any(p.startswith("huawei/") for p in problems), problems
    assert any("SNMP walk" in p for p in problems), problems


def test_case_json_is_checked(tmp_path):
    """A key a case declares but the runner would ignore, or a missing source, is an error, not a pass."""
    case = tmp_path / "poly-gs" / "x"
    case.mkdir(parents=True)
    (case / "case.json").write_text(json.dumps({"about": "x", "capture": "poly/groupseries-samples.txt", "banner": "b"}))
    with pytest.raises(ValueError, match="unknown keys"):
        load_case(case)
    (case / "case.json").write_text(json.dumps({"about": "x", "capture": "poly/no-such-capture.txt"}))
    with pytest.raises(FileNotFoundError):
        load_case(case)
    (case / "local.txt").write_text("### command: status\nstatus end\n")
    (case / "case.json").write_text(json.dumps({"about": "x", "capture": "local.txt"}))
    assert case_source(case, load_case(case)["capture"]) == case / "local.txt"


def test_comparison_sees_every_difference():
    expected = {"facts": {"model": "X", "serial": None}, "calls": [], "reasons": {"facts.serial": "why"}}
    assert mismatches(expected, json.loads(json.dumps(expected))) == []
    assert mismatches(expected, {**expected, "reasons": {"facts.serial": "other words"}}) == []
    assert mismatches(expected, {**expected, "reasons": {}})
    assert mismatches(expected, {**expected, "reasons": {**expected["reasons"], "calls": "x"}})
    assert mismatches(expected, {**expected, "facts": {"model": "X", "serial": None, "name": "n"}})
    assert mismatches(expected, {**expected, "facts": {"model": "X"}})
    assert mismatches(expected, {**expected, "calls": [{"id": "1"}]})
    assert mismatches({"volume": 1}, {"volume": True})
    assert mismatches({"rate": 1}, {"rate": 1.0})
