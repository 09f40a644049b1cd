"""Turning TOML tables into typed section dataclasses, with errors a technician can act on.

A section is a plain dataclass.  Field types drive the conversion:

- ``str``, ``int``, ``float``, ``bool`` and ``list[...]`` of them;
- :class:`Duration` (a float of seconds written as "200ms", "30s", "5m", "1h");
- ``Literal[...]`` for a closed set of choices;
- ``SecretRef`` for ``*_file`` keys: the file's content is loaded as a :class:`~agent.secrets.Secret`,
  with a systemd credential name as fall-back (``field(metadata={"credential": "codec-password"})``);
- another dataclass (a sub-table) or ``list[dataclass]`` (an array of tables);
- ``X | None`` for optional values.

Field metadata may add ``check`` (a function returning an error text or None), ``min``/``max``,
``pattern`` and ``doc``.  Unknown keys are refused with a "did you mean" hint; an inline secret
(``password`` where ``password_file`` is expected) is refused with the way to move it into a file.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from agent.errors import ConfigError
from agent.secrets import Secret, read_credential, read_secret_file


class Duration(float):
    """Seconds, written in the config as "200ms", "30s", "5m" or "1h"."""


class SecretRef:
    """Marker type of ``*_file`` fields: the loaded value is a Secret or None."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size) == int(seconds / size):
            return f"{int(seconds / size)}{unit}"
    return f"{round(seconds * 1000)}ms"


@dataclasses.dataclass
class LoadContext:
    file: str
    base_dir: Path
    warnings: list[str]


def _type_name(tp: Any) -> str:
    if tp is Duration:
        return 'a duration such as "200ms", "30s" or "5m"'
    if tp is SecretRef:
        return "a path to a file holding the secret"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) in (list, typing.List):
        return f"a list of {_type_name(get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _fail(ctx: LoadContext, key: str, found: Any, tp: Any, extra: str = "") -> ConfigError:
    shown = "a table" if isinstance(found, dict) else repr(found)
    return ConfigError(f"found {shown}, expected {_type_name(tp)}{extra}", file=ctx.file, key=key)


def convert(value: Any, tp: Any, key: str, ctx: LoadContext, meta: typing.Mapping[str, Any]) -> Any:
    tp, _optional = _unwrap_optional(tp)
    if tp is Duration:
        if isinstance(value, str):
            try:
                return Duration(parse_duration(value))
            except ValueError:
                pass
        raise _fail(ctx, key, value, tp)
    if tp is SecretRef:
        if not isinstance(value, str) or not value:
            raise _fail(ctx, key, value, tp)
        path = Path(value)
        if not path.is_absolute():
            path = ctx.base_dir / path
        return read_secret_file(path, file=ctx.file, key=key, warnings=ctx.warnings)
    if get_origin(tp) is Literal:
        if value in get_args(tp):
            return value
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [str(a) for a in get_args(tp)], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _fail(ctx, key, value, tp, hint)
    if get_origin(tp) in (list, typing.List):
        if not isinstance(value, list):
            raise _fail(ctx, key, value, tp)
        (item_tp,) = get_args(tp)
        return [convert(v, item_tp, f"{key}[{i}]", ctx, {}) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _fail(ctx, key, value, tp)
        return load_section(tp, value, key, ctx)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail(ctx, key, value, tp)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _fail(ctx, key, value, tp)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _fail(ctx, key, value, tp)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail(ctx, key, value, tp)
    raise TypeError(f"unsupported config type {tp!r} for {key}")


def _validate(value: Any, key: str, ctx: LoadContext, meta: typing.Mapping[str, Any]) -> None:
    if value is None:
        return
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        allowed = f"from {lo} to {hi}" if lo is not None and hi is not None else (
            f"at least {lo}" if lo is not None else f"at most {hi}")
        if isinstance(value, Duration):
            allowed = allowed.replace(str(lo), format_duration(lo) if lo is not None else "").replace(
                str(hi), format_duration(hi) if hi is not None else "")
            value = format_duration(value)
        raise ConfigError(f"found {value!r}, allowed {allowed}", file=ctx.file, key=key)
    pattern = meta.get("pattern")
    if pattern and isinstance(value, str) and not re.fullmatch(pattern, value):
        raise ConfigError(
            f"found {value!r}, which does not match {meta.get('pattern_doc', pattern)}", file=ctx.file, key=key
        )
    check = meta.get("check")
    if check:
        problem = check(value)
        if problem:
            raise ConfigError(f"found {value!r}: {problem}", file=ctx.file, key=key)


def load_section(cls: type, table: dict[str, Any], prefix: str, ctx: LoadContext) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            raise _unknown_key(name, key, fields, ctx)
        f = fields[name]
        converted = convert(value, hints[name], key, ctx, f.metadata)
        _validate(converted, key, ctx, f.metadata)
        kwargs[name] = converted
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in kwargs:
            continue
        if hints[name] is SecretRef or _unwrap_optional(hints[name])[0] is SecretRef:
            credential = f.metadata.get("credential")
            kwargs[name] = (
                read_credential(credential, file=ctx.file, key=key, warnings=ctx.warnings) if credential else None
            )
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            doc = f.metadata.get("doc", "")
            raise ConfigError(
                f"is required but missing; add `{name} = ...` ({_type_name(hints[name])})"
                + (f": {doc}" if doc else ""),
                file=ctx.file,
                key=key,
            )
    try:
        section = cls(**kwargs)
    except ConfigError:
        raise
    post = getattr(section, "validate", None)
    if post is not None:
        post(prefix, ctx)
    return section


def _unknown_key(name: str, key: str, fields: dict[str, dataclasses.Field], ctx: LoadContext) -> ConfigError:
    secret_field = f"{name}_file"
    if secret_field in fields:
        credential = fields[secret_field].metadata.get("credential")
        how = (
            f"put the value alone in a file readable only by the agent (chmod 600) and set "
            f"`{secret_field} = \"/etc/hntht-agent/{name.replace('_', '-')}\"`"
        )
        if credential:
            how += f", or load it as the systemd credential {credential!r} (LoadCredential={credential}:PATH)"
        return ConfigError(
            f"secrets are not accepted inline (the value was not read); {how}", file=ctx.file, key=key
        )
    close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(sorted(fields))}"
    return ConfigError(f"unknown key{hint}", file=ctx.file, key=key)
