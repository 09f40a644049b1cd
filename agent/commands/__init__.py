"""Sub-commands of `hntht-agent` (see agent/cli.py)."""

from __future__ import annotations

import argparse


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="config file (default: $HNTHT_AGENT_CONFIG or /etc/hntht-agent/agent.toml)")


def add_lang_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=["vi", "en"], help="language of messages (default: config, then $LANG, then vi)")
