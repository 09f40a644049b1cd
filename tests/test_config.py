"""Config loading: every error path names the file and the key, says what was found and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent import config as config_mod
from agent.config.schema import LoadContext, SecretRef, format_duration, load_section, parse_duration
from agent.errors import ConfigError
from tests.helpers import REPO

@dataclass
class Section:
    password_file: SecretRef | None = field(default=None, metadata={"credential": "codec-password"})


@dataclass
class TokenSection:
    token_file: SecretRef | None = None


MINIMAL = '[agent]\nroom_id = "xa-dong-trieu"\n'


def write(tmp_path: Path, text: str, name: str = "agent.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    assert str(path) in str(info.value), "every config error names the file"
    return info.value


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = config_mod.load(write(tmp_path, MINIMAL))
    assert config.agent.room_id == "xa-dong-trieu"
    assert config.network.interface == "auto"
    assert config.network.ping_count == 10
    assert config.network.ping_interval == pytest.approx(0.2)
    assert [t.name for t in config.network.target] == ["gateway"]
    assert config.check.budget == 15.0
    assert config.codec.vendor == "none"
    assert config.ups.driver == "none"


def test_example_config_in_repo_is_valid():
    config = config_mod.load(REPO / "config" / "agent.toml")
    assert config.agent.room_id == "hb-ubnd-hoitruong"
    assert {t.name for t in config.network.target} >= {"gateway", "mcu"}


@pytest.mark.parametrize(
    "text, key, fragments",
    [
        ('[agent]\nroom_id = "A"\n', "agent.room_id", ["found 'A'", "a-z, 0-9"]),
        ('[agent]\nroom_id = "abc"\nlevl = "district"\n', "agent.levl", ["unknown key", "did you mean 'level'"]),
        ('[agent]\nroom_id = "abc"\nlevel = "distrct"\n', "agent.level", ["found 'distrct'", "'district'", "did you mean"]),
        ('[agent]\nroom_id = "abc"\n[network]\nping_interval = "2 sec"\n', "network.ping_interval",
         ["found '2 sec'", '"200ms"']),
        ('[agent]\nroom_id = "abc"\n[network]\nping_interval = 200\n', "network.ping_interval", ["found 200", "duration"]),
        ('[agent]\nroom_id = "abc"\n[network]\nping_count = 0\n', "network.ping_count", ["found 0", "from 1 to 100"]),
        ('[agent]\nroom_id = "abc"\n[network]\nping_count = "ten"\n', "network.ping_count", ["whole number"]),
        ('[agent]\nroom_id = "abc"\n[network]\nping_interval = "5ms"\n', "network.ping_interval", ["allowed from 10ms"]),
        ('[agent]\nroom_id = "abc"\n[[network.target]]\nname = "mcu"\nhost = "x"\ntcp_ports = [99999]\n',
         "network.target[0].tcp_ports", ["between 1 and 65535"]),
        ('[agent]\nroom_id = "abc"\n[[network.target]]\nname = "mcu"\n', "network.target[0].host", ["required but missing"]),
        ('[agent]\nroom_id = "abc"\n[[network.target]]\nname = "m"\nhost = "a"\n[[network.target]]\nname = "m"\nhost = "b"\n',
         "network.target", ["used twice"]),
        ('[agent]\nroom_id = "abc"\n[network]\nping_count = 100\nping_interval = "1s"\n', "network.ping_count", ["20 s"]),
        ('[agent]\nroom_id = "abc"\n[netwrk]\n', "netwrk", ["did you mean [network]"]),
        ('[agent]\nroom_id = "abc"\nnetwork = 5\n', "agent.network", ["unknown key"]),
        ('[network]\nping_count = 5\n', "agent", ["[agent] table is required"]),
        ('[agent]\n', "agent.room_id", ["required but missing"]),
        ('[agent]\nroom_id = "abc"\n[check]\nbudget = "10m"\n', "check.budget", ["allowed from 1s to 2m"]),
    ],
)
def test_errors_name_key_found_and_allowed(tmp_path, text, key, fragments):
    error = load_error(tmp_path, text)
    assert f"[{key}]" in str(error)
    for fragment in fragments:
        assert fragment in str(error)


def test_invalid_toml_says_where(tmp_path):
    error = load_error(tmp_path, '[agent]\nroom_id = "abc\n')
    assert "not valid TOML" in str(error) and "line 2" in str(error)


def test_not_utf8(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_bytes(b'[agent]\nroom_id = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        config_mod.load(path)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError) as info:
        config_mod.load(tmp_path / "nope.toml")
    assert "not found" in str(info.value) and "--config" in str(info.value)


def test_inline_secret_refused_without_echoing_it(tmp_path, monkeypatch):
    # A small section of the test's own, so that the test does not depend on other sections' keys.
    ctx = LoadContext(file="/etc/hntht-agent/agent.toml", base_dir=tmp_path, warnings=[])
    with pytest.raises(ConfigError) as info:
        load_section(Section, {"password": "canary-XYZZY-inline"}, "codec", ctx)
    text = str(info.value)
    assert "canary-XYZZY-inline" not in text
    assert "[codec.password]" in text and "password_file" in text and "LoadCredential=codec-password" in text


def test_secret_file_loaded_and_never_shown(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("canary-file-secret\n")
    secret.chmod(0o644)
    ctx = LoadContext(file="agent.toml", base_dir=tmp_path, warnings=[])
    section = load_section(Section, {"password_file": "pw"}, "codec", ctx)
    assert section.password_file.reveal() == "canary-file-secret"
    assert "canary" not in repr(section) and "canary" not in str(section.password_file)
    assert ctx.warnings and "chmod 600" in ctx.warnings[0], "group/other-readable secret files are warned about"

    secret.chmod(0o600)
    ctx.warnings.clear()
    load_section(Section, {"password_file": str(secret)}, "codec", ctx)
    assert ctx.warnings == []


def test_secret_file_missing_or_empty(tmp_path):
    ctx = LoadContext(file="agent.toml", base_dir=tmp_path, warnings=[])
    with pytest.raises(ConfigError, match=r"\[collector.token_file\].*does not exist"):
        load_section(TokenSection, {"token_file": "missing"}, "collector", ctx)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_section(TokenSection, {"token_file": "empty"}, "collector", ctx)


def test_systemd_credential_fallback(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "codec-password").write_text("from-credential")
    (creds / "codec-password").chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    ctx = LoadContext(file="agent.toml", base_dir=tmp_path, warnings=[])
    section = load_section(Section, {}, "codec", ctx)
    assert section.password_file.reveal() == "from-credential"
    assert section.password_file.source == "credential:codec-password"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert load_section(Section, {}, "codec", ctx).password_file is None


@pytest.mark.parametrize("text, seconds", [("200ms", 0.2), ("30s", 30), ("5m", 300), ("1h", 3600), ("1.5s", 1.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5", "5 parsecs", "-1s", "1s2"])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("seconds, text", [(0.2, "200ms"), (30, "30s"), (300, "5m"), (3600, "1h"), (90, "90s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_cli_exits_78_on_config_error(tmp_path):
    path = write(tmp_path, '[agent]\nroom_id = "abc"\nlevl = "x"\n')
    proc = subprocess.run([sys.executable, "-m", "agent", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 78
    assert str(path) in proc.stderr and "[agent.levl]" in proc.stderr and "did you mean 'level'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL)
    monkeypatch.setenv("HNTHT_AGENT_CONFIG", str(path))
    assert config_mod.resolve_path(None) == str(path)
    assert config_mod.resolve_path("/x.toml") == "/x.toml"
    monkeypatch.delenv("HNTHT_AGENT_CONFIG")
    assert config_mod.resolve_path(None) == "/etc/hntht-agent/agent.toml"
