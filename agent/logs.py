"""Logging: structlog to stderr, human lines on a terminal, JSON lines otherwise (journald-friendly).

Every event passes through :func:`redact`: values under secret-looking keys become ``***``,
and every loaded secret value is scrubbed from every string, wherever it hides.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from agent.secrets import REDACTED, Secret, scrub

SECRET_KEY = re.compile(r"(pass(word|wd|phrase)?|secret|token|community|auth_?key|priv_?key|credential|cookie|authorization)",
                        re.IGNORECASE)


def _clean(value: Any) -> Any:
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and SECRET_KEY.search(k) and not k.endswith("_file") else _clean(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return value


def redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    return _clean(event)


def redact_rendered(_logger: Any, _method: str, line: Any) -> Any:
    """Last line of defence after rendering (tracebacks are rendered late)."""
    return scrub(line) if isinstance(line, str) else line


def setup(level: str = "info", *, json: bool | None = None, stream: Any = None) -> None:
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: Any = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                     else structlog.dev.ConsoleRenderer(colors=stream.isatty()))
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    if json:
        processors.append(structlog.processors.format_exc_info)
    processors += [redact, renderer, redact_rendered]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
