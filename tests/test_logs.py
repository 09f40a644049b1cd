"""Logging redacts secrets by key name and by value, in every form they can take."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from agent import logs, secrets
from agent.secrets import Secret


@pytest.fixture(autouse=True)
def only_this_tests_secrets(monkeypatch):
    # Secrets loaded by other tests in the same process (some are one letter long) would be
    # scrubbed too and make the assertions about what stays visible meaningless.
    monkeypatch.setattr(secrets, "_known_values", set())


class Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_json_lines_redact_by_key_and_value():
    stream = Stream()
    logs.setup("debug", json=True, stream=stream)
    canary = "canary-LOG-5f1e2d"
    secret = Secret(canary, "/etc/hntht-agent/token")
    log = structlog.get_logger("test")
    log.info("login", password=canary, user="admin")
    log.info("request", headers={"Authorization": f"Bearer {canary}"}, token_file="/etc/x")
    log.info(f"message with {canary} inside", secret=secret)
    try:
        raise RuntimeError(f"device said {canary}")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert canary not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["password"] == "***" and lines[0]["user"] == "admin"
    assert lines[1]["headers"]["Authorization"] == "***"
    assert lines[1]["token_file"] == "/etc/x", "paths to secret files are not secrets"
    assert "***" in lines[2]["event"]
    assert "RuntimeError" in lines[3]["exception"]


def test_console_renderer_redacts_too():
    stream = Stream()
    logs.setup("info", json=False, stream=stream)
    canary = "canary-CONSOLE-77aa"
    Secret(canary, "test")
    structlog.get_logger("t").warning("oops", detail=f"x{canary}y")
    assert canary not in stream.getvalue() and "***" in stream.getvalue()
