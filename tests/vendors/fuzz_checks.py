"""What every codec fuzz test asserts about one poll's outcome, whatever the device sent.

A poll either returns a :class:`~agent.vendors.model.CodecStatus` that the rest of the agent can use —
every normalised value has its declared type (no device string where an int belongs), every null has a
reason, the status serialises to JSON in both languages and validates against docs/report-schema.json
(what the collector is promised), and the checklist evaluates it into results that render in
Vietnamese and English and validate too — or it raises a typed :class:`~agent.errors.DeviceError` whose
message renders in both languages.  Anything else (a library's own exception, a TypeError from a
getter, a traceback while rendering) is a crash.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import threading
import types
import typing
from typing import Any

from agent.checks import codec as checks
from agent.config.sections.codec import CodecExpect
from agent.errors import DeviceError, shown
from agent.i18n import Text, known, render
from agent.model import to_plain
from agent.vendors import model as m
from tests.helpers import REPO

LANGS = ("vi", "en")
# An expectation that makes every check look at its values (ip, gatekeeper, presets, version, content rate).
EXPECT = CodecExpect(ip="172.31.254.10", video_format="1080p", min_call_rate_kbps=1024, min_content_rate_kbps=256,
                     monitors=2, microphones=1, echo_control=True, camera_presets=["Chủ tọa"], registration="any",
                     gatekeeper="172.31.254.64", registrar="172.31.254.64", version="3.")

_DEFS = json.loads((REPO / "docs" / "report-schema.json").read_text(encoding="utf-8"))["$defs"]
_SCHEMAS: dict[str, Any] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def schema_problems(instance: Any, def_name: str) -> list[str]:
    from jsonschema import Draft202012Validator

    if def_name not in _SCHEMAS:
        _SCHEMAS[def_name] = Draft202012Validator({"$ref": f"#/$defs/{def_name}", "$defs": _DEFS})
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
            for e in _SCHEMAS[def_name].iter_errors(instance)]


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(m))
    return _HINTS[cls]


def _accepts(hint: Any, value: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def type_errors(record: Any, path: str = "") -> list[str]:
    """Every field of a normalised record (recursively) whose value is not of its declared type."""
    out: list[str] = []
    if isinstance(record, list):
        for item in record:
            out.extend(type_errors(item, f"{path}[{getattr(item, 'id', '?')}]"))
        return out
    if not dataclasses.is_dataclass(record):
        return out
    hints = _hints(type(record))
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        where = f"{path}.{f.name}" if path else f.name
        if not _accepts(hints[f.name], value):
            out.append(f"{where} = {value!r} is not {hints[f.name]}")
        elif isinstance(value, list) or dataclasses.is_dataclass(value):
            out.extend(type_errors(value, where))
    return out


AFTER_A_HANG = 0.2  # seconds: the limit once an example has hung (plenty for a parser; a poll is ~50 ms)
_HUNG: set[tuple[str, str]] = set()  # (class, function) that hung in this run


class _Hung(BaseException):
    """Raised inside a hung example's worker thread to end it."""


def within(seconds: float, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread; an AssertionError naming a hang if it has not returned
    after ``seconds``.  Hypothesis' deadline only measures an example once it returns, so without this a
    parser or driver that never returns would be caught by the suite's global timeout, not reported here."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except _Hung:
            pass
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="fuzz-example", daemon=True)
    worker.start()
    what = (type(getattr(fn, "__self__", None)).__name__, getattr(fn, "__qualname__", repr(fn)))
    if what in _HUNG:  # Hypothesis is shrinking a hang of this function: a candidate that hangs again costs little
        seconds = min(seconds, AFTER_A_HANG)
    worker.join(seconds)
    if worker.is_alive():
        _HUNG.add(what)
        # Stop the worker (at its next Python bytecode) so hung examples do not pile up spinning while
        # Hypothesis shrinks the failure.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(_Hung))
        raise AssertionError(f"{getattr(fn, '__qualname__', fn)} did not return within {seconds:g} s: it hangs")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def poll_checked(poll: Any, seconds: float) -> None:
    """One poll under the hang watchdog: a typed error or a status, each through its own checks."""
    try:
        status = within(seconds, poll)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - consume_error fails on anything untyped
        consume_error(exc)
    else:
        consume_status(status)


def consume_status(status: m.CodecStatus) -> None:
    """Use the status as the agent does: types, reasons, JSON in both languages, the checklist."""
    assert isinstance(status, m.CodecStatus), type(status)
    wrong = type_errors(status)
    assert not wrong, f"values of the wrong type in the normalised status: {wrong}"
    for path in m.missing_reasons(status):
        assert status.reason(path) is not None, f"{path} is null without a reason"
    for lang in LANGS:
        plain = to_plain(status, lang)
        json.dumps(plain, ensure_ascii=False)
        assert not schema_problems(plain, "CodecStatus"), schema_problems(plain, "CodecStatus")
        for reason in status.reasons.values():
            _assert_known(reason)
            assert render(reason, lang), reason
    results = checks.evaluate(status, EXPECT, host="127.0.0.1", user="admin")
    assert {r.id for r in results} == set(checks.CHECK_IDS)
    for result in results:
        for lang in LANGS:
            plain = result.to_dict(lang)
            json.dumps(plain, ensure_ascii=False)
            assert not schema_problems(plain, "check"), schema_problems(plain, "check")


def consume_error(exc: BaseException) -> None:
    """A failed poll: the error must be the project's typed device error, and say something in both languages."""
    if not isinstance(exc, DeviceError):
        raise AssertionError(f"untyped error out of the driver: {type(exc).__module__}.{type(exc).__name__}: {exc}") \
            from exc
    text = getattr(exc, "text", None)
    _assert_known(text)
    for lang in LANGS:
        rendered = render(text, lang) if isinstance(text, Text) else str(shown(exc))
        assert rendered and rendered.strip(), (type(exc).__name__, lang)


def _assert_known(text: Any) -> None:
    """A Text and the Texts inside it have catalogue entries (else the technician reads a bare key)."""
    if isinstance(text, Text):
        assert known(text.key), f"no catalogue entry for {text.key!r}"
        for param in text.params.values():
            _assert_known(param)
