"""Loading /etc/hntht-agent/agent.toml (or --config PATH, or $HNTHT_AGENT_CONFIG).

Every error names the file and the key, says what was found and what is allowed, and the CLI
exits with 78 (EX_CONFIG).  Warnings (a secret file readable by others, ...) are collected on
the loaded config and shown by the caller.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from agent.config.schema import LoadContext, load_section
from agent.config.sections.agent import AgentSection
from agent.config.sections.baseline import BaselineSection
from agent.config.sections.check import CheckSection
from agent.config.sections.codec import CodecSection
from agent.config.sections.collector import CollectorSection
from agent.config.sections.daemon import DaemonSection
from agent.config.sections.network import NetworkSection
from agent.config.sections.ups import UpsSection
from agent.errors import ConfigError

DEFAULT_PATH = "/etc/hntht-agent/agent.toml"
ENV_VAR = "HNTHT_AGENT_CONFIG"


@dataclass
class Config:
    agent: AgentSection
    network: NetworkSection = field(default_factory=NetworkSection)
    codec: CodecSection = field(default_factory=CodecSection)
    ups: UpsSection = field(default_factory=UpsSection)
    check: CheckSection = field(default_factory=CheckSection)
    collector: CollectorSection = field(default_factory=CollectorSection)
    daemon: DaemonSection = field(default_factory=DaemonSection)
    baseline: BaselineSection = field(default_factory=BaselineSection)
    path: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return Path(self.agent.state_dir)


# The top-level tables a config file may have; each is owned by its section module.
SECTIONS: dict[str, type] = {
    "agent": AgentSection,
    "network": NetworkSection,
    "codec": CodecSection,
    "ups": UpsSection,
    "check": CheckSection,
    "collector": CollectorSection,
    "daemon": DaemonSection,
    "baseline": BaselineSection,
}


def resolve_path(cli_path: str | None) -> str:
    return cli_path or os.environ.get(ENV_VAR) or DEFAULT_PATH


def load(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found; create it from config/agent.toml, or pass --config PATH "
            f"(or set ${ENV_VAR})",
            file=shown,
        ) from None
    except PermissionError:
        raise ConfigError("config file is not readable by this user", file=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", file=shown) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"is not UTF-8 text (bad byte at offset {exc.start})", file=shown) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=shown) from None
    return load_dict(data, file=shown, base_dir=path.parent)


def load_dict(data: dict[str, Any], *, file: str = "<config>", base_dir: Path | None = None) -> Config:
    ctx = LoadContext(file=file, base_dir=base_dir or Path.cwd(), warnings=[])
    sections: dict[str, Any] = {}
    for name, table in data.items():
        if name not in SECTIONS:
            import difflib

            close = difflib.get_close_matches(name, list(SECTIONS), n=1)
            hint = f"did you mean [{close[0]}]?" if close else f"allowed tables: {', '.join(sorted(SECTIONS))}"
            raise ConfigError(f"unknown table; {hint}", file=file, key=name)
        if not isinstance(table, dict):
            raise ConfigError(f"found {table!r}, expected a table [{name}]", file=file, key=name)
        sections[name] = load_section(SECTIONS[name], table, name, ctx)
    if "agent" not in sections:
        raise ConfigError("the [agent] table is required (at least room_id)", file=file, key="agent")
    config = Config(**sections, path=file, warnings=ctx.warnings)
    return config
