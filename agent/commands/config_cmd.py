"""`hntht-agent config validate`: load the config, report every problem, touch no device."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.commands import add_config_argument


def add_parser(sub: Any) -> None:
    p = sub.add_parser("config", help="validate the configuration file")
    p.add_argument("action", choices=["validate"])
    add_config_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod

    path = config_mod.resolve_path(args.config)
    config = config_mod.load(path)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{path}: OK (room {config.agent.room_id})")
    return 0
