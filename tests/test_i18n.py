"""The message catalogue: both languages for every entry, the same placeholders in each."""

from __future__ import annotations

import importlib
import pkgutil
import string

import pytest

import agent.checks
import agent.probes
from agent import i18n
from agent.i18n import Text, pick_language, render


def _import_all():
    for package in (agent.checks, agent.probes):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_entry_has_both_languages_with_the_same_placeholders():
    _import_all()
    assert len(i18n._CATALOGUE) > 50
    for key, entry in i18n._CATALOGUE.items():
        assert entry["vi"].strip() and entry["en"].strip(), key
        assert _fields(entry["vi"]) == _fields(entry["en"]), key


def test_vietnamese_uses_glossary_terms():
    _import_all()
    vi = " ".join(e["vi"] for e in i18n._CATALOGUE.values())
    for term in ("thiết bị cổng kết nối", "điểm cầu trung tâm", "đường truyền", "mạng truyền số liệu chuyên dùng"):
        assert term in vi


def test_render_params_and_decimal_comma():
    i18n.register({"test.x": ("Trễ {ms} ms tới {target}", "Delay {ms} ms to {target}")})
    nested = Text("net.target.mcu")
    assert render(Text("test.x", ms=12.5, target=nested), "vi") == "Trễ 12,5 ms tới MCU ở điểm cầu trung tâm"
    assert render(Text("test.x", ms=12.5, target=nested), "en") == "Delay 12.5 ms to the MCU at the central point"
    assert render(Text("test.x", ms=3.0, target="a"), "en") == "Delay 3 ms to a"


def test_missing_key_still_renders_something():
    assert render(Text("no.such.key", a=1), "vi").startswith("no.such.key")


def test_conflicting_registration_refused():
    i18n.register({"test.same": ("a", "b")})
    i18n.register({"test.same": ("a", "b")})
    with pytest.raises(ValueError):
        i18n.register({"test.same": ("c", "d")})


@pytest.mark.parametrize(
    "cli, configured, env, expected",
    [
        ("en", "vi", {"LANG": "vi_VN.UTF-8"}, "en"),
        (None, "en", {"LANG": "vi_VN.UTF-8"}, "en"),
        (None, None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, None, {"LANG": "C.UTF-8"}, "vi"),
        (None, None, {}, "vi"),
        (None, None, {"LC_ALL": "en_GB.UTF-8", "LANG": "vi_VN"}, "en"),
    ],
)
def test_language_choice(cli, configured, env, expected):
    assert pick_language(cli, configured, env) == expected
