"""The report schema (docs/report-schema.json) describes the statuses the agent really emits.

Three kinds of evidence:

* the schema against the code: every status dataclass has a ``$defs`` entry (marked ``x-dataclass``)
  whose properties are exactly its fields, with JSON types that follow the annotations and enums that
  follow the code's constants, so a new field, a changed type or a new alarm code fails here first;
* real statuses: what the drivers produce from every napalm-style case folder (tests/vendors/,
  tests/ups/cases/) read from their simulators over real sockets, the simulators' fault states, and a
  real ``hntht-agent check --json`` against the demo room, validated in both languages;
* the negative side: a real report with one wrong value fails, at the right path.

The peers used here (Cisco/Poly simulators, snmpsim, the Megatec emulator over TCP) need no root.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import importlib
import json
import os
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from agent.i18n import Text
from agent.model import to_plain
from tests.helpers import REPO
from tests.vendors.poly_peers import snmpsim_codec  # noqa: F401  (fixture: snmpsim serving the codec walks)

SCHEMA = json.loads((REPO / "docs" / "report-schema.json").read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]
LANGS = ("vi", "en")
ROOTS = {
    "codec": "agent.vendors.model.CodecStatus",
    "power": "agent.ups.model.UpsStatus",
    "network": "agent.probes.network.NetworkStatus",
    "host": "agent.probes.host.HostStatus",
}
# UpsStatus fields that may be null without a reason (UpsStatus.explain_unknowns leaves them alone).
UPS_NULL_WITHOUT_REASON = {"protocol", "attached_devices"}


# -- helpers --------------------------------------------------------------------------------------

def _validator(def_name: str | None = None, *, partial: bool = False) -> Draft202012Validator:
    schema = SCHEMA if def_name is None else {"$ref": f"#/$defs/{def_name}", "$defs": DEFS}
    if partial:
        schema = _without_required(copy.deepcopy(schema))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _without_required(node: Any) -> Any:
    """The schema for partial records (the codec cases' expected.json list only what they assert)."""
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def problems(instance: Any, def_name: str | None = None, *, partial: bool = False) -> list[str]:
    out = []
    for error in _validator(def_name, partial=partial).iter_errors(instance):
        path = "/".join(str(p) for p in error.absolute_path)
        out.append(f"{path or '(root)'}: {error.message[:300]}")
    return sorted(out)


def assert_valid(instance: Any, def_name: str | None = None, what: str = "", *, partial: bool = False) -> None:
    found = problems(instance, def_name, partial=partial)
    assert not found, f"{what or def_name or 'report'} does not match the schema:\n" + "\n".join(found)


def _class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _dataclass_defs() -> dict[str, type]:
    return {name: _class(d["x-dataclass"]) for name, d in DEFS.items() if "x-dataclass" in d}


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        assert ref.startswith("#/$defs/"), ref
        return DEFS[ref.rsplit("/", 1)[1]]
    return node


def _nested_dataclasses(tp: Any) -> list[type]:
    if tp is Text:  # a dataclass, but to_plain renders it as a string in the report's language
        return []
    if dataclasses.is_dataclass(tp):
        return [tp]
    return [c for arg in typing.get_args(tp) for c in _nested_dataclasses(arg)]


def _annotation_types(tp: Any) -> set[str] | None:
    """The JSON types ``to_plain`` can produce for a field annotated ``tp`` (None: any)."""
    if tp is Any:
        return None
    if tp is type(None):
        return {"null"}
    if tp is Text:
        return {"string"}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        parts = [_annotation_types(a) for a in typing.get_args(tp)]
        return None if None in parts else set().union(*parts)
    if origin is typing.Literal:
        return {_json_type(v) for v in typing.get_args(tp)}
    if origin in (list, tuple) or tp in (list, tuple):
        return {"array"}
    if origin is dict or tp is dict or dataclasses.is_dataclass(tp):
        return {"object"}
    simple = {str: "string", Text: "string", bool: "boolean", int: "integer", float: "number",
              _dt.datetime: "string"}
    assert tp in simple, f"no JSON type known for annotation {tp!r}: extend this test"
    return {simple[tp]}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", str: "string", int: "integer", float: "number"}[type(value)]


def _schema_types(node: dict) -> set[str]:
    node = _resolve(node)
    for combinator in ("oneOf", "anyOf"):
        if combinator in node:
            return set().union(*(_schema_types(n) for n in node[combinator]))
    if "enum" in node:
        return {_json_type(v) for v in node["enum"]}
    if "const" in node:
        return {_json_type(node["const"])}
    kind = node.get("type")
    assert kind, f"schema node without a type: {node}"
    return {kind} if isinstance(kind, str) else set(kind)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
        return own.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def codec_nulls_without_reason(plain: dict) -> list[str]:
    """Dotted paths of nulls in a serialised CodecStatus with no reason at the path or a parent
    (the rule of docs/codec.md, checked on the JSON a consumer sees)."""
    reasons = plain["reasons"]

    def covered(path: str) -> bool:
        while path:
            if path in reasons:
                return True
            path = path.rpartition(".")[0]
        return False

    out: list[str] = []

    def walk(value: Any, path: str) -> None:
        if value is None:
            if not covered(path):
                out.append(path)
        elif isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                key = item.get("id") if isinstance(item, dict) else None
                walk(item, f"{path}[{key}]" if key is not None else path)

    for key, value in plain.items():
        if key not in ("reasons", "raw"):
            walk(value, key)
    return out


def ups_nulls_without_reason(plain: dict) -> list[str]:
    return sorted(k for k, v in plain.items()
                  if v is None and k not in UPS_NULL_WITHOUT_REASON and not plain["unknown"].get(k))


def check_codec(status: Any, what: str) -> None:
    for lang in LANGS:
        plain = to_plain(status, lang)
        assert_valid(plain, "CodecStatus", f"{what} ({lang})")
        assert not codec_nulls_without_reason(plain), (what, codec_nulls_without_reason(plain))
        json.dumps(plain)  # JSON-ready: nothing but plain values


def check_ups(status: Any, what: str) -> dict:
    for lang in LANGS:
        plain = to_plain(status, lang)
        assert_valid(plain, "UpsStatus", f"{what} ({lang})")
        assert not ups_nulls_without_reason(plain), (what, ups_nulls_without_reason(plain))
        json.dumps(plain)
        when = (plain["last_self_test"] or {}).get("when")
        if when is not None:  # FormatChecker skips date-time without rfc3339-validator: check it here
            assert _dt.datetime.fromisoformat(when).tzinfo is not None, when
    return to_plain(status, "en")


def check_report(report: Any, what: str) -> None:
    """A runner Report object: the whole document in both languages."""
    for lang in LANGS:
        assert_valid(report.to_dict(lang), None, f"{what} ({lang})")


# -- the schema against the code ------------------------------------------------------------------

def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)


def test_statuses_are_wired_and_open_for_future_areas():
    statuses = SCHEMA["properties"]["statuses"]
    wired = {area: node["$ref"].rsplit("/", 1)[1] for area, node in statuses["properties"].items()}
    assert {area: DEFS[name]["x-dataclass"] for area, name in wired.items()} == ROOTS
    # a future area's record is still accepted (the collector treats statuses as opaque)
    future = statuses["additionalProperties"]
    assert future["type"] == "object" and set(future) == {"type", "description"}


def test_every_status_dataclass_has_a_def():
    """Walk the annotations from the four root records: each dataclass met has its $defs entry."""
    seen: set[type] = set()
    todo = [_class(c) for c in ROOTS.values()]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for tp in typing.get_type_hints(cls).values():
            todo.extend(_nested_dataclasses(tp))
    described = set(_dataclass_defs().values())
    assert seen - described == set(), f"dataclasses in the statuses without a $defs entry: {seen - described}"
    assert described - seen == set(), f"$defs entries for dataclasses not in any status: {described - seen}"


@pytest.mark.parametrize("def_name", sorted(_dataclass_defs()))
def test_def_matches_its_dataclass(def_name):
    """Properties = fields (to_plain writes every field, so all are required); types follow annotations;
    a nested record points at its own def."""
    cls = _dataclass_defs()[def_name]
    node = DEFS[def_name]
    fields = [f.name for f in dataclasses.fields(cls)]
    assert sorted(node["properties"]) == sorted(fields), (
        f"{def_name}: schema-only {set(node['properties']) - set(fields)}, "
        f"field without schema {set(fields) - set(node['properties'])} (update docs/report-schema.json)")
    assert sorted(node["required"]) == sorted(fields)
    assert node["additionalProperties"] is False and node["type"] == "object"
    hints = typing.get_type_hints(cls)
    by_class = {c: n for n, c in _dataclass_defs().items()}
    for name in fields:
        want = _annotation_types(hints[name])
        if want is not None:
            assert _schema_types(node["properties"][name]) == want, f"{def_name}.{name}: annotation {hints[name]}"
        for nested in _nested_dataclasses(hints[name]):
            assert by_class[nested] in _refs(node["properties"][name]), f"{def_name}.{name} -> {by_class[nested]}"


def test_ups_null_reason_rule_covers_every_nullable_field():
    """The schema's if/then rules (null -> an entry in unknown) name every nullable UpsStatus field."""
    from agent.ups.model import UpsStatus

    hints = typing.get_type_hints(UpsStatus)
    nullable = {name for name, tp in hints.items() if "null" in (_annotation_types(tp) or set())}
    rules = [rule for rule in DEFS["UpsStatus"]["allOf"] if "then" in rule]
    ruled = {rule["then"]["properties"]["unknown"]["required"][0] for rule in rules}
    assert ruled == nullable - UPS_NULL_WITHOUT_REASON


def _enum(def_name: str, prop: str) -> set:
    node = _resolve(DEFS[def_name]["properties"][prop])
    if "oneOf" in node:
        node = next(_resolve(n) for n in node["oneOf"] if "enum" in _resolve(n))
    return set(node["enum"])


def test_enums_follow_the_code():
    from agent.config.sections.codec import CodecSection
    from agent.ups import model as ups
    from agent.vendors import DRIVERS, get_driver_class
    from agent.vendors import model as codec

    assert _enum("CodecRegistrationState", "status") == {codec.REGISTERED, codec.REGISTERING, codec.FAILED,
                                                        codec.INACTIVE, None}
    assert _enum("CodecStandby", "state") == {codec.AWAKE, codec.HALFWAKE, codec.STANDBY, None}
    vendors = {get_driver_class(name).vendor for name in DRIVERS if name != "auto"}
    assert _enum("CodecStatus", "vendor") == vendors
    transports = set(typing.get_args(typing.get_type_hints(CodecSection)["transport"])) - {"default"}
    assert _enum("CodecStatus", "transport") == transports
    assert _enum("UpsAlarm", "code") == set(ups.ALARM_CODES)
    assert _enum("UpsSelfTest", "result") == set(typing.get_args(ups.SelfTestResult)) | {None}
    names = {f.name for f in dataclasses.fields(ups.UpsStatus)} - {"unknown"}
    assert set(DEFS["UpsStatus"]["properties"]["unknown"]["propertyNames"]["enum"]) == names


# -- real statuses: the demo room, as a technician runs it ----------------------------------------

@pytest.fixture(scope="module")
def demo_reports():
    """`hntht-agent check --json` (a real process) against the demo room's simulators, both languages."""
    from agent.demo import COMPONENTS, DemoRoom

    room = DemoRoom().start([c for c in COMPONENTS if c != "agent.demo.collector"])
    try:
        config = room.dir / "check.toml"
        # never ask a service that may run on this machine: read this room's devices here
        config.write_text(room.config_path.read_text(encoding="utf-8")
                          + f'\n[daemon]\ncontrol_socket = "{room.dir / "no-service.sock"}"\n', encoding="utf-8")
        out = {}
        for lang in LANGS:
            proc = subprocess.run([sys.executable, "-m", "agent", "check", "--json", "--lang", lang, "-c", str(config)],
                                  capture_output=True, text=True, timeout=90, cwd=REPO,
                                  env={**os.environ, "NO_COLOR": "1"})
            assert "Traceback" not in proc.stderr, proc.stderr
            out[lang] = json.loads(proc.stdout)
        yield out
    finally:
        room.close()


@pytest.mark.parametrize("lang", LANGS)
def test_demo_check_report_matches_the_schema(demo_reports, lang):
    report = demo_reports[lang]
    assert report["lang"] == lang
    assert all(probe["ok"] for probe in report["probes"].values()), report["probes"]
    assert set(ROOTS) <= set(report["statuses"]), "every area's status is in the report"
    assert_valid(report, None, f"demo check --json --lang {lang}")
    assert not codec_nulls_without_reason(report["statuses"]["codec"])
    assert not ups_nulls_without_reason(report["statuses"]["power"])


def test_demo_statuses_follow_the_report_language(demo_reports):
    """Reasons are sentences in the report's language: the same keys, different words."""
    vi, en = (demo_reports[lang]["statuses"] for lang in LANGS)
    assert vi["codec"]["reasons"].keys() == en["codec"]["reasons"].keys()
    assert vi["codec"]["reasons"] and vi["codec"]["reasons"] != en["codec"]["reasons"]
    assert vi["power"]["unknown"].keys() == en["power"]["unknown"].keys()


# -- the negative side: one wrong value fails, at its path ----------------------------------------

WRONG = [
    # (what, path into the report, new value, path the error is reported at)
    ("volume as a string", ("statuses", "codec", "audio", "volume"), "50", "statuses/codec/audio/volume"),
    ("volume over 100", ("statuses", "codec", "audio", "volume"), 150, "statuses/codec/audio/volume"),
    ("unknown standby word", ("statuses", "codec", "standby", "state"), "sleeping", "statuses/codec/standby/state"),
    ("registration not an enum", ("statuses", "codec", "registration", "sip", "status"), "Registered",
     "statuses/codec/registration/sip/status"),
    ("reason not a string", ("statuses", "codec", "reasons", "video.layout"), {"key": "x"},
     "statuses/codec/reasons/video.layout"),
    ("presets not a list", ("statuses", "codec", "presets"), {"1": "Chủ tọa"}, "statuses/codec/presets"),
    ("raw not an object", ("statuses", "codec", "raw"), "text", "statuses/codec/raw"),
    ("charge over 100", ("statuses", "power", "battery_charge_percent"), 180.0,
     "statuses/power/battery_charge_percent"),
    ("runtime in minutes text", ("statuses", "power", "runtime_s"), "15 min", "statuses/power/runtime_s"),
    ("runtime as a fraction", ("statuses", "power", "runtime_s"), 12.5, "statuses/power/runtime_s"),
    ("on_battery as 0", ("statuses", "power", "on_battery"), 0, "statuses/power/on_battery"),
    ("unknown alarm code", ("statuses", "power", "alarms"), [{"code": "bogus", "detail": None}],
     "statuses/power/alarms/0/code"),
    ("reason for a field that does not exist", ("statuses", "power", "unknown"), {"runtime_minutes": "x"},
     "statuses/power/unknown"),
    ("TCP state not an enum", ("statuses", "network", "targets", 0, "tcp"),
     [{"port": 1720, "state": "closed", "connect_ms": None, "error": None, "timeout_s": 1.0}],
     "statuses/network/targets/0/tcp/0/state"),
    ("memory as a float", ("statuses", "host", "memory_total_bytes"), 1.5, "statuses/host/memory_total_bytes"),
]


def _set(doc: dict, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize("what,path,value,where", WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_value_fails_at_its_path(demo_reports, what, path, value, where):
    report = copy.deepcopy(demo_reports["en"])
    assert_valid(report)  # the real report passes ...
    _set(report, path, value)
    found = problems(report)
    assert found, f"{what}: accepted"  # ... the same with one wrong value does not
    assert any(p.startswith(where + ":") for p in found), found


@pytest.mark.parametrize("area,field", [("codec", "facts"), ("codec", "raw"), ("power", "unknown"),
                                        ("power", "battery_charge_estimated"), ("network", "targets"),
                                        ("host", "clock_unix")])
def test_a_missing_field_fails(demo_reports, area, field):
    report = copy.deepcopy(demo_reports["en"])
    del report["statuses"][area][field]
    assert any(f"'{field}' is a required property" in p for p in problems(report))


@pytest.mark.parametrize("area", sorted(ROOTS))
def test_a_field_without_schema_fails(demo_reports, area):
    report = copy.deepcopy(demo_reports["en"])
    report["statuses"][area]["new_field"] = 1
    assert any("new_field" in p for p in problems(report))


def test_a_future_area_is_accepted_but_must_be_an_object(demo_reports):
    report = copy.deepcopy(demo_reports["en"])
    report["statuses"]["display"] = {"anything": [1, 2]}
    assert_valid(report)
    report["statuses"]["display"] = "text"
    assert problems(report)


def test_ups_null_without_reason_is_caught(demo_reports):
    report = copy.deepcopy(demo_reports["en"])
    power = report["statuses"]["power"]
    power["load_percent"] = None
    assert ups_nulls_without_reason(power) == ["load_percent"]
    assert problems(report) == ["statuses/power/unknown: 'load_percent' is a required property"]
    power["unknown"]["load_percent"] = "not reported by this UPS over megatec-q1"
    assert_valid(report)
    codec = copy.deepcopy(demo_reports["en"]["statuses"]["codec"])
    codec["facts"]["serial"] = None
    codec["reasons"].pop("facts.serial", None)
    codec["reasons"].pop("facts", None)
    assert codec_nulls_without_reason(codec) == ["facts.serial"]


# -- real statuses: the network probe's error paths -----------------------------------------------

def test_network_statuses_with_errors(tmp_path, monkeypatch):
    """The network probe on loopback with what goes wrong in rooms: a missing interface, a name that does
    not resolve, refused and unreachable ports; then without a default route (interface and gateway
    unknown: the *_error fields say why)."""
    import asyncio
    import socket

    from agent.config import load_dict
    from agent.probes import network
    from agent.runner import build_probes, run_checklist

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    open_port = listener.getsockname()[1]
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]

    def run(interface: str, targets: list[dict]) -> Any:
        config = load_dict({"agent": {"room_id": "test-room", "state_dir": str(tmp_path)},
                            "network": {"interface": interface, "ping_count": 2, "ping_interval": "50ms",
                                        "ping_timeout": "300ms", "dns_timeout": "1s", "target": targets}})
        report = asyncio.run(run_checklist(config, build_probes(config, ["network"])))
        check_report(report, f"network {interface}")
        run = next(r for r in report.runs if r.name == "network")
        assert run.error is None, repr(run.error)
        return report.to_dict("en")["statuses"]["network"]

    try:
        status = run("hntht-nosuch0", [
            {"name": "gateway", "host": "127.0.0.1", "tcp_ports": [open_port, closed_port], "tcp_timeout": "1s"},
            {"name": "mcu", "host": "localhost", "ping": False, "tcp_ports": [open_port], "tcp_timeout": "1s"},
            {"name": "dns", "host": "no-such-host.invalid", "ping": False, "tcp_ports": [], "tcp_timeout": "1s"},
            {"name": "broadcast", "host": "255.255.255.255", "ping": False, "tcp_ports": [1720], "tcp_timeout": "1s"},
        ])
    finally:
        listener.close()
    assert status["interface"]["exists"] is False
    gateway, mcu, dns, broadcast = status["targets"]
    assert [t["state"] for t in gateway["tcp"]] == ["open", "refused"]
    assert mcu["dns_ms"] is not None and dns["address"] is None and dns["dns_error"]
    assert broadcast["tcp"][0]["state"] in ("unreachable", "error") and broadcast["tcp"][0]["error"]

    monkeypatch.setattr(network, "default_route", lambda: None)
    status = run("auto", [{"name": "gateway", "host": "auto", "tcp_ports": [], "tcp_timeout": "1s"}])
    assert status["interface"] is None and status["interface_error"]
    assert status["default_gateway"] is None and status["targets"][0]["dns_error"]


def test_ping_statistics_without_replies():
    from agent.probes.network import ping_stats

    for stats in (ping_stats(5, [], "raw", "host unreachable"), ping_stats(4, [10.0, 12.5, 11.0], "unprivileged")):
        assert_valid(to_plain(stats), "PingStats")


# -- real statuses: codec case folders and fault states -------------------------------------------

CISCO_CASES = sorted(p for p in (REPO / "tests" / "vendors" / "cisco").iterdir() if (p / "case.json").exists())
CISCO_FAULTS = ["muted", "720p", "preset_missing", "echo_off", "unregistered", "standby", "in_call", "call_dropped"]


def _cisco_poll(sim: Any, mode: str, state_dir: Path) -> Any:
    from tests.codec.conftest import driver

    drv = driver(sim, mode, state_dir)
    try:
        return drv.poll()
    finally:
        drv.close()


@pytest.mark.parametrize("case_dir", CISCO_CASES, ids=[p.name for p in CISCO_CASES])
def test_cisco_case_statuses(case_dir, tmp_path):
    """Every Cisco case read over each transport; its expected.json (the same record without `transport`
    and `raw`, which the case test strips) is valid too."""
    from tests.codec.conftest import MODES, sim_for_case

    with sim_for_case(case_dir, state="capture") as sim:
        for mode in MODES:
            status = _cisco_poll(sim, mode, tmp_path)
            check_codec(status, f"cisco/{case_dir.name} over {mode}")
    expected = json.loads((case_dir / "expected.json").read_text(encoding="utf-8"))
    expected.pop("checks", None)  # the case's expected check results, beside the status (not part of it)
    plain = to_plain(status, "en")
    assert_valid({**expected, "transport": plain["transport"], "raw": plain["raw"]}, "CodecStatus",
                 f"{case_dir.name}/expected.json")


def test_cisco_fault_state_statuses(tmp_path):
    """The simulator's fault states (a call with its rates and formats, a dropped call, standby...)."""
    from agent.sim.cisco import CiscoSim
    from tests.codec.conftest import CANARY

    with CiscoSim(password=CANARY) as sim:
        for fault in [None, *CISCO_FAULTS]:
            sim.set_faults(*([fault] if fault else []))
            status = _cisco_poll(sim, "ssh-json", tmp_path)
            check_codec(status, f"cisco fault {fault}")
            if fault == "in_call":
                assert status.calls, "the in-call state has a call to describe"
        sim.set_faults("in_call")
        check_codec(_cisco_poll(sim, "https", tmp_path), "cisco in call over https")


def _vendor_cases() -> list:
    from tests.vendors.test_poly_snmp_cases import _params

    return _params()


@pytest.fixture
def no_command_gap(monkeypatch):
    from agent.vendors.poly_gs import PolyGSDriver

    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


@pytest.mark.parametrize("driver,case,transport", _vendor_cases())
def test_vendor_case_statuses(driver, case, transport, tmp_path, snmpsim_codec, no_command_gap):  # noqa: F811
    """poly-gs, poly-rest and snmp case folders through the full probe path: the codec status and the
    whole report; the partial expected.json (only what it asserts) has the schema's types."""
    from tests.vendors.test_poly_snmp_cases import _report

    report, _ = _report(driver, case, transport, tmp_path, snmpsim_codec)
    run = next(r for r in report.runs if r.name == "codec")
    assert run.error is None, f"{driver}/{case.name}: {run.error!r}"
    check_codec(run.status, f"{driver}/{case.name}")
    check_report(report, f"{driver}/{case.name}")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert_valid(expected["status"], "CodecStatus", f"{case}/expected.json", partial=True)


def _poly_states() -> list:
    from agent.sim.poly_gs import GSState
    from agent.sim.poly_rest import RestState

    return [
        pytest.param("poly-gs", GSState(in_call=True), id="gs-in-call"),
        pytest.param("poly-gs", GSState(call_dropped=True), id="gs-call-dropped"),
        pytest.param("poly-gs", GSState(unregistered=True, muted=True, echo_off=True), id="gs-unregistered-muted"),
        pytest.param("poly-gs", GSState(video_720p=True, monitor2="off"), id="gs-720p-one-screen"),
        pytest.param("poly-gs", GSState(echocanceller_missing=True), id="gs-no-echo-command"),
        pytest.param("poly-rest", RestState(in_call=True, content=True), id="rest-in-call-content"),
        pytest.param("poly-rest", RestState(call_dropped=True), id="rest-call-dropped"),
        pytest.param("poly-rest", RestState(standby=False, muted=False, unregistered=True),
                     id="rest-awake-unregistered"),
        pytest.param("poly-rest", RestState(video_720p=True), id="rest-720p"),
    ]


@pytest.mark.parametrize("driver,state", _poly_states())
def test_poly_fault_state_statuses(driver, state, tmp_path, no_command_gap):
    from agent.sim.poly_gs import PolyGSSim
    from agent.sim.poly_rest import PolyRestSim
    from agent.vendors.pinning import tls_fingerprint
    from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, make_config, run_codec_check

    if driver == "poly-gs":
        sim = PolyGSSim(GS_CAPTURE, transport="telnet", password=CANARY, state=state)
    else:
        sim = PolyRestSim(REST_CAPTURE, password=CANARY, state=state)
    with sim:
        if driver == "poly-gs":
            codec = {"vendor": "poly-gs", "transport": "telnet", "port": sim.port, "allow_insecure": True}
        else:
            codec = {"vendor": "poly-rest", "port": sim.port,
                     "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}}
        report = run_codec_check(make_config(tmp_path, codec))
    run = next(r for r in report.runs if r.name == "codec")
    assert run.error is None, repr(run.error)
    check_codec(run.status, f"{driver} {state}")
    check_report(report, f"{driver} {state}")


# -- real statuses: UPS case folders and states ---------------------------------------------------

def _ups_cases(driver: str) -> list:
    from tests.ups.casedata import cases

    return [pytest.param(name, data, expected, id=name) for name, data, expected in cases(driver)]


def _expected_as_emitted(expected: dict, actual: dict) -> dict:
    """A case's expected.json is the record without `source` and with `unknown` as the sorted list of
    field names (tests/ups/casedata.py): put back what the driver emitted around it."""
    assert sorted(actual["unknown"]) == expected["unknown"]
    return {**expected, "source": actual["source"], "unknown": actual["unknown"]}


@pytest.mark.parametrize("name,data,expected", _ups_cases("nut"))
def test_nut_case_statuses(name, data, expected):
    """Each NUT dump through the driver's mapping (upsd itself needs root: tests/ups/test_cases.py)."""
    from agent.ups.nut import parse_dev, status_from_vars
    from tests.helpers import FIXTURES

    variables = parse_dev((FIXTURES / data["fixture"]).read_text())
    status = status_from_vars(variables, source=f"nut:{data['ups']}@127.0.0.1:3493")
    plain = check_ups(status, name)
    assert_valid(_expected_as_emitted(expected, plain), "UpsStatus", f"nut/{name}/expected.json")


@pytest.fixture(scope="module")
def megatec_tcp():
    """The Megatec emulator on 127.0.0.1 (pyserial's socket:// URL, as the demo does without socat)."""
    from agent.sim.megatec import MegatecEmulator, Server

    emulator = MegatecEmulator(profile="vultech")
    server = Server(emulator, tcp=("127.0.0.1", 0)).start()
    try:
        yield emulator, "socket://%s:%d" % server.tcp_address
    finally:
        server.stop()


def _megatec_poll(port: str, tmp_path: Path) -> Any:
    from agent.config import load_dict
    from agent.ups.megatec import MegatecDriver

    section = load_dict({"agent": {"room_id": "test-room"},
                         "ups": {"driver": "megatec", "megatec": {"port": port, "timeout": "300ms"}}}).ups
    driver = MegatecDriver(section, lock_dir=tmp_path)
    try:
        return driver.read_blocking()
    finally:
        driver.close_blocking()


@pytest.mark.parametrize("name,data,expected", _ups_cases("megatec"))
def test_megatec_case_statuses(megatec_tcp, tmp_path, name, data, expected):
    emulator, port = megatec_tcp
    emulator.control({"profile": data["profile"], "state": "normal", "delay": 0})
    plain = check_ups(_megatec_poll(port, tmp_path), name)
    assert_valid(_expected_as_emitted(expected, plain), "UpsStatus", f"megatec/{name}/expected.json")


@pytest.mark.parametrize("profile", ["vultech", "voltronic", "santak-c1k"])
@pytest.mark.parametrize("state", ["mains_loss", "low_battery", "test", "fault"])
def test_megatec_state_statuses(megatec_tcp, tmp_path, profile, state):
    """On battery, battery low, self-test running, UPS fault: flags and alarms as the schema says."""
    emulator, port = megatec_tcp
    emulator.control({"profile": profile, "state": state, "delay": 0})
    try:
        plain = check_ups(_megatec_poll(port, tmp_path), f"{profile} {state}")
    finally:
        emulator.control({"state": "normal"})
    if state in ("mains_loss", "low_battery"):
        assert plain["on_battery"] is True


@pytest.fixture(scope="module")
def ups_snmpsim(tmp_path_factory):
    """snmpsim serving every real UPS recording and the hand-made state files (on battery, low battery,
    self-test failed...) of tests/ups/snmp/data."""
    from tests.ups.snmp.conftest import DATA, SnmpSim, recordings

    files: dict[str, Any] = dict(recordings())
    files.update({p.stem: p for p in sorted(DATA.glob("*.snmprec")) if p.stem not in ("ups-slow", "not-a-ups")})
    sim = SnmpSim(tmp_path_factory.mktemp("schema-snmpsim"), files).start()
    try:
        yield sim, sorted(files)
    finally:
        sim.stop()


def _snmp_poll(port: int, community: str, tmp_path: Path) -> Any:
    import asyncio

    from agent.config import load_dict
    from agent.ups.snmp import SnmpDriver
    from tests.ups.snmp.conftest import snmp_config

    driver = SnmpDriver(load_dict(snmp_config(tmp_path, port, community)).ups)

    async def poll():
        try:
            return await driver.read()
        finally:
            await driver.aclose()

    return asyncio.run(poll())


@pytest.mark.parametrize("name,data,expected", _ups_cases("snmp"))
def test_snmp_ups_case_statuses(ups_snmpsim, tmp_path, name, data, expected):
    sim, _ = ups_snmpsim
    plain = check_ups(_snmp_poll(sim.port, data["community"], tmp_path), name)
    assert_valid(_expected_as_emitted(expected, plain), "UpsStatus", f"snmp/{name}/expected.json")


def test_snmp_ups_state_statuses(ups_snmpsim, tmp_path):
    from tests.ups.casedata import cases

    sim, communities = ups_snmpsim
    recorded = {data["community"] for _, data, _ in cases("snmp")}
    states = [c for c in communities if c not in recorded]
    assert states, "tests/ups/snmp/data has state files"
    for community in states:
        check_ups(_snmp_poll(sim.port, community, tmp_path), f"snmp state {community}")


def test_ups_probe_report_matches_the_schema(megatec_tcp, tmp_path):
    """The power probe's own additions (seconds on battery over two polls) inside a whole report."""
    import asyncio

    from agent.config import load_dict
    from agent.runner import build_probes, run_checklist

    emulator, port = megatec_tcp
    config = load_dict({"agent": {"room_id": "test-room", "state_dir": str(tmp_path)},
                        "ups": {"driver": "megatec", "megatec": {"port": port, "timeout": "300ms"}}})
    emulator.control({"profile": "vultech", "state": "mains_loss", "delay": 0})
    try:
        probes = build_probes(config, ["power"])
        for _ in range(2):
            report = asyncio.run(run_checklist(config, probes))
            check_report(report, "power on battery")
    finally:
        emulator.control({"state": "normal"})
    power = report.to_dict("en")["statuses"]["power"]
    assert power["on_battery"] is True and isinstance(power["seconds_on_battery"], int)
