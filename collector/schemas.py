"""Request validation straight from the published OpenAPI document (collector/openapi.json, a copy of
docs/collector-openapi.json; a test keeps them identical), so the protocol doc and the server cannot
drift apart."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator


@lru_cache(maxsize=1)
def openapi_bytes() -> bytes:
    return resources.files("collector").joinpath("openapi.json").read_bytes()


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return json.loads(openapi_bytes())


def _inline(node, components: dict):
    """Replace local $refs by the schemas they name (ours are not recursive): resolving references
    on every request is what makes jsonschema slow on the ingest path."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = _inline(components[ref.rsplit("/", 1)[1]], components)
            rest = {k: _inline(v, components) for k, v in node.items() if k != "$ref"}
            return {**target, **rest} if rest else target
        return {k: _inline(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, components) for v in node]
    return node


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    components = openapi_document()["components"]["schemas"]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_inline(components[name], components)}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@lru_cache(maxsize=None)
def fast_check(name: str):
    """A compiled validity check (fastjsonschema) for the hot path; jsonschema stays the authority and
    explains any failure precisely."""
    import fastjsonschema

    schema = dict(validator(name).schema)
    schema.pop("$schema", None)
    return fastjsonschema.compile(schema, formats={"date-time": lambda v: True})


def _path(error) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def problems(name: str, instance: Any, prefix: str = "", limit: int = 20) -> list[dict]:
    """Every schema violation as {"path", "message"}, most specific first; [] when valid."""
    try:
        fast_check(name)(instance)
        return []
    except Exception:
        pass  # invalid (or the fast path could not decide): let jsonschema give the exact reasons
    v = validator(name)
    errors = []
    for err in v.iter_errors(instance):
        # A failing anyOf/oneOf says little by itself: report its most relevant sub-error.
        leaf = err
        while leaf.context:
            leaf = min(leaf.context, key=lambda e: (-len(e.absolute_path), len(e.message)))
        errors.append(leaf)
        if len(errors) >= limit:
            break
    out = []
    for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path = _path(e)
        if prefix:
            path = prefix if path == "(root)" else (f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}")
        message = e.message
        if len(message) > 300:
            message = message[:300] + "…"
        out.append({"path": path, "message": message})
    return out


def describe(problems_list: list[dict]) -> str:
    return "; ".join(f"{p['path']}: {p['message']}" for p in problems_list)
