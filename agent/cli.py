"""`hntht-agent` command line.  Sub-commands live in agent/commands/<name>.py, each with
``add_parser(subparsers)`` and ``run(args) -> int``; this module imports nothing heavy so that
``--help`` stays fast (pysnmp and paramiko are imported only by the probes that need them)."""

from __future__ import annotations

import argparse
import importlib
import sys

from agent import __version__

# Order = order in --help.
COMMAND_MODULES = [
    "agent.commands.check",
    "agent.commands.demo",
    "agent.commands.config_cmd",
    "agent.commands.run",
    "agent.commands.status",
    "agent.commands.codec_cmd",
    "agent.commands.baseline",
]

EX_CONFIG = 78


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hntht-agent",
        description="Agent phòng họp trực tuyến HNTHTT tỉnh Quảng Ninh / room agent of Quảng Ninh's video-conference system.",
    )
    parser.add_argument("--version", action="version", version=f"hntht-agent {__version__}")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                        help="log level (logs go to stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from agent import logs

    logs.setup(args.log_level)
    from agent.errors import ConfigError

    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"hntht-agent: config error: {exc}", file=sys.stderr)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
