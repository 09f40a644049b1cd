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


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    doc = openapi_document()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _path(error) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def problems(name: str, instance: Any, prefix: str = "", limit: int = 20) -> list[dict]:
    """Every schema violation as {"path", "message"}, most specific first; [] when valid."""
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
