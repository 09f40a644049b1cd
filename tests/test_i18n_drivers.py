"""Driver reasons and device errors reach the technician in the report's language.

Two guards: the demo room's whole report, rendered in Vietnamese, carries none of the English
sentences the drivers used to paste into messages (and the English report no Vietnamese); and each
converted driver module gives its reasons as catalogue keys registered in both languages, never as
bare English strings.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

from agent import i18n
from tests.helpers import REPO
from tests.test_cli import cli

# Phrases of the English reasons and errors the drivers gave before (all now catalogue entries).
ENGLISH = (
    "does not", "did not", "not reported", "no answer", "no reply", "keeps no", "carry no", "has no",
    "unknown", "refuses", "refused", "not a number", "not read", "the ups", "the codec", "the device",
    "the agent", "within", "could not", "no signal", "is not",
)
# Letters only Vietnamese uses (an English report must contain none of them).
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


@pytest.fixture(scope="module")
def demo_reports():
    reports = {}
    for lang in ("vi", "en"):
        proc = cli("demo", "--json", "--lang", lang, timeout=120)
        assert proc.returncode == 0, proc.stderr
        reports[lang] = json.loads(proc.stdout)
    return reports


def _values(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _values(v)]
    if isinstance(value, list):
        return [s for v in value for s in _values(v)]
    return []


def _texts(report: dict) -> list[tuple[str, str]]:
    """Every text a technician reads: messages, remedies, and the reasons in the statuses.

    Values the room itself holds (preset names configured in Vietnamese, device names) are cut out:
    they are quoted, not translated.
    """
    out = []
    for check in report["checks"]:
        quoted = sorted(_values(check["observed"]) + _values(check["expected"]), key=len, reverse=True)
        for field in ("message", "remedy"):
            if check[field]:
                text = check[field]
                for value in quoted:
                    if len(value) > 2:
                        text = text.replace(value, "")
                out.append((f"{check['id']}.{field}", text))
    statuses = report["statuses"]
    for name, reason in (statuses.get("power", {}).get("unknown") or {}).items():
        out.append((f"power.unknown.{name}", reason))
    for path, reason in (statuses.get("codec", {}).get("reasons") or {}).items():
        out.append((f"codec.reasons.{path}", reason))
    return out


def test_demo_report_in_vietnamese_has_no_english_driver_sentences(demo_reports):
    report = demo_reports["vi"]
    assert report["lang"] == "vi"
    texts = _texts(report)
    assert any(where.startswith("power.unknown.") for where, _ in texts)  # the Q1 unit's unknowns are there
    found = [(where, text) for where, text in texts for phrase in ENGLISH if phrase in text.lower()]
    assert not found, found


def test_demo_report_in_english_has_no_vietnamese(demo_reports):
    report = demo_reports["en"]
    texts = _texts(report)
    found = [(where, text) for where, text in texts if VIETNAMESE.search(text)]
    assert not found, found
    unknown = report["statuses"]["power"]["unknown"]
    assert unknown["runtime_s"] == "Megatec Q1 does not report runtime, and the UPS does not answer Q6"


def test_json_keeps_reasons_as_strings(demo_reports):
    for report in demo_reports.values():
        for _, text in _texts(report):
            assert isinstance(text, str) and text and not text.startswith(("ups.", "codec.", "snmp.", "power."))


# -- per module: reasons are catalogue keys, registered in both languages -----------------------------
MODULES = [
    "agent.snmp",
    "agent.probes.ups",
    "agent.ups.base",
    "agent.ups.errors",
    "agent.ups.megatec",
    "agent.ups.model",
    "agent.ups.nut",
    "agent.ups.qx",
    "agent.ups.serialline",
    "agent.ups.snmp",
    "agent.vendors.auto",
    "agent.vendors.base",
    "agent.vendors.cisco",
    "agent.vendors.cisco_tree",
    "agent.vendors.openssh",
    "agent.vendors.pinning",
    "agent.vendors.poly_gs",
    "agent.vendors.poly_gs_text",
    "agent.vendors.poly_rest",
    "agent.vendors.snmp",
]
# Calls whose reason argument is shown to the technician: (function name, index of the reason argument).
REASON_CALLS = {"mark_unknown": 1, "not_exposed": 1, "explain_unknowns": 0, "NotExposed": 0}


def _tree(module: str) -> ast.Module:
    path = REPO / Path(*module.split(".")).with_suffix(".py")
    return ast.parse(path.read_text(), filename=str(path))


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _literal_keys(tree: ast.Module) -> set[str]:
    """Keys the module uses (``Text("k")``, ``localized(e, "k")``) or registers (``register({"k": ...})``)."""
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name, args = _name(node), node.args
            if name == "register" and args and isinstance(args[0], ast.Dict):
                keys.update(k.value for k in args[0].keys if isinstance(k, ast.Constant))
            index = {"Text": 0, "localized": 1}.get(name or "")
            if index is not None and len(args) > index and isinstance(args[index], ast.Constant) \
                    and isinstance(args[index].value, str):
                keys.add(args[index].value)
    return keys


@pytest.mark.parametrize("module", MODULES)
def test_every_reason_key_exists_in_both_languages(module):
    importlib.import_module(module)
    keys = _literal_keys(_tree(module))
    assert keys, f"{module} uses no catalogue key"
    for key in keys:
        assert i18n.known(key), f"{module}: {key!r} is not registered"
        entry = i18n._CATALOGUE[key]
        assert entry["vi"].strip() and entry["en"].strip(), key
        if entry["vi"] != entry["en"]:  # pure "{a}: {b}" joins are the same in both languages
            assert VIETNAMESE.search(entry["vi"]), f"{key}: the Vietnamese text looks untranslated"


@pytest.mark.parametrize("module", MODULES)
def test_no_bare_english_reason(module):
    bare = []
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call) and _name(node) in REASON_CALLS:
            index = REASON_CALLS[_name(node)]
            if len(node.args) > index:
                arg = node.args[index]
                if isinstance(arg, ast.JoinedStr) or (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value):
                    bare.append(f"line {node.lineno}: {ast.unparse(arg)[:80]}")
    assert not bare, f"{module} gives English reasons instead of catalogue Texts: {bare}"


@pytest.mark.parametrize("module", MODULES)
def test_no_parameter_named_key(module):
    """``Text(key, **params)``: a parameter called ``key`` collides with the message key (a TypeError raised
    while the driver reports a device error, which would hide it behind an internal error)."""
    clashes = [f"line {node.lineno}" for node in ast.walk(_tree(module))
               if isinstance(node, ast.Call) and _name(node) in ("Text", "localized")
               and any(kw.arg == "key" for kw in node.keywords)]
    assert not clashes, f"{module}: {clashes}"
