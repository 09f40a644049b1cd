"""[collector] and [daemon]: defaults, cross-field rules, errors that name the key."""

from __future__ import annotations

import pytest

from agent.config import load_dict
from agent.errors import ConfigError


def load(**sections):
    return load_dict({"agent": {"room_id": "room-a"}, **sections}, file="agent.toml")


def test_defaults_match_the_issue():
    c = load()
    assert (c.daemon.codec_interval, c.daemon.power_interval, c.daemon.network_interval,
            c.daemon.host_interval, c.collector.heartbeat_interval) == (60, 30, 60, 60, 30)
    assert c.daemon.outbox_max_mb == 64 and c.daemon.outbox_max_age == 30 * 86400
    assert c.collector.batch_max_records == 500 and c.collector.batch_max_bytes == 262144
    assert c.collector.backoff_max == 300 and c.collector.url == ""


def test_url_needs_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError) as err:
        load(collector={"url": "https://collector.example"})
    assert "[collector.token_file]" in str(err.value) and "collector-token" in str(err.value)
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "collector-token").write_text("t0ken")
    (creds / "collector-token").chmod(0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    c = load(collector={"url": "https://collector.example"})
    assert c.collector.token_file.reveal() == "t0ken" and c.collector.token_file.source == "credential:collector-token"


def test_plain_http_only_on_loopback_and_inline_token_refused(tmp_path):
    token = tmp_path / "tok"
    token.write_text("x")
    token.chmod(0o600)
    with pytest.raises(ConfigError, match=r"\[collector.url\].*loopback"):
        load(collector={"url": "http://10.1.2.3", "token_file": str(token)})
    assert load(collector={"url": "http://127.0.0.1:8080", "token_file": str(token)}).collector.url
    with pytest.raises(ConfigError, match="secrets are not accepted inline"):
        load(collector={"url": "https://c.example", "token": "abc"})
    with pytest.raises(ConfigError, match="client_cert_file and client_key_file"):
        load(collector={"client_cert_file": "/etc/hntht-agent/client.pem"})


def test_daemon_keys_are_checked():
    with pytest.raises(ConfigError, match=r"\[daemon.outbox_max_mb\]"):
        load(daemon={"outbox_max_mb": 0})
    with pytest.raises(ConfigError, match="did you mean 'power_interval'"):
        load(daemon={"power_intervall": "30s"})
    assert load(daemon={"outbox_max_age": "720h"}).daemon.outbox_max_age == 30 * 86400
