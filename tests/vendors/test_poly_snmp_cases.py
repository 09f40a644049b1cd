"""Data-only cases (napalm style) for the poly-gs, poly-rest and snmp drivers.

Each ``tests/vendors/<driver>/<case>/`` holds ``case.json`` (which real capture, which simulator state)
and ``expected.json`` (a partial CodecStatus and the check statuses).  The capture is served by the
driver's simulator on a real socket (Telnet/SSH, HTTPS, snmpsim) and read through the full probe path
(config → probe → driver → checks).  A new device model is a new folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.model import to_plain
from agent.sim.poly_gs import GSState, PolyGSSim
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver
from tests.vendors.poly_peers import (
    CANARY, CASES, FIXTURES, capture_path, make_config, report_text, run_codec_check, snmpsim_codec, subset_mismatches,
)

DRIVERS = ("poly-gs", "poly-rest", "snmp")


def cases(driver: str) -> list[Path]:
    return sorted(p for p in (CASES / driver).iterdir() if (p / "case.json").exists())


def _params():
    out = []
    for driver in DRIVERS:
        for case in cases(driver):
            spec = json.loads((case / "case.json").read_text())
            for transport in spec.get("transports", ["default"]):
                out.append(pytest.param(driver, case, transport, id=f"{driver}/{case.name}/{transport}"))
    return out


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def test_every_shared_capture_is_a_case():
    used = set()
    for driver in DRIVERS:
        for case in cases(driver):
            spec = json.loads((case / "case.json").read_text())
            used.add(spec.get("capture") or spec.get("recording"))
    for capture in sorted((FIXTURES / "poly").iterdir()):
        assert capture.name in used, f"{capture.name} has no case under tests/vendors/"
    assert "codecs.md#x50" in used


def _report(driver: str, case: Path, transport: str, tmp_path: Path, snmpsim_codec):
    spec = json.loads((case / "case.json").read_text())
    if driver == "poly-gs":
        state = GSState(**spec["state"])
        sim = PolyGSSim(capture_path(spec["capture"]), transport=transport, password=CANARY, state=state).start()
        codec = {"vendor": "poly-gs", "transport": transport, "port": sim.port}
        if transport == "telnet":
            codec["allow_insecure"] = True
        else:
            codec["ssh_fingerprint"] = ssh_fingerprint(sim.host_key)
    elif driver == "poly-rest":
        sim = PolyRestSim(capture_path(spec["capture"]), password=CANARY, state=RestState(**spec["state"])).start()
        codec = {"vendor": "poly-rest", "port": sim.port, "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}
    else:
        sim = None
        community = case.name
        codec = {"vendor": "snmp", "port": snmpsim_codec.port}
        return run_codec_check(make_config(tmp_path, codec, community=community)), sim
    try:
        return run_codec_check(make_config(tmp_path, codec)), sim
    finally:
        sim.stop()


@pytest.mark.parametrize("driver,case,transport", _params())
def test_case(driver, case, transport, tmp_path, snmpsim_codec):
    expected = json.loads((case / "expected.json").read_text())
    report, _ = _report(driver, case, transport, tmp_path, snmpsim_codec)
    run = next(r for r in report.runs if r.name == "codec")
    assert run.error is None, f"{driver}/{case.name}: {run.error!r}"
    plain = to_plain(run.status)
    mismatches = subset_mismatches(expected["status"], plain)
    assert not mismatches, "\n".join(mismatches)
    statuses = {r.id: r.status.value for r in report.results}
    wrong = {k: (v, statuses.get(k)) for k, v in expected["checks"].items() if statuses.get(k) != v}
    assert not wrong, wrong
    # every null has a reason; the canary password appears nowhere
    from agent.vendors import model as m

    assert not [p for p in m.missing_reasons(run.status) if run.status.reason(p) is None]
    assert CANARY not in report_text(report)
