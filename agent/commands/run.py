"""`hntht-agent run`: the service (systemd Type=notify; see docs/service.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.commands import add_config_argument

EX_SOFTWARE = 70
EX_CANTCREAT = 73


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run as the service: poll, push to the collector, answer `check`/`status`",
                       description="Run the agent service in the foreground (what systemd starts). SIGTERM stops "
                                   "it after pushing what it can; SIGHUP reloads the configuration.")
    add_config_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import structlog

    from agent import config as config_mod
    from agent import logs
    from agent.daemon import memory
    from agent.daemon.outbox import OutboxError
    from agent.daemon.scheduler import Service, run_service

    memory.limit_arenas()  # before any thread starts (agent/daemon/memory.py)
    # The service logs JSON lines (journald keeps them) at info unless --log-level says otherwise.
    level = args.log_level if args.log_level != "warning" else "info"
    logs.setup(level, json=True)
    log = structlog.get_logger("agent.run")
    config = config_mod.load(config_mod.resolve_path(args.config))  # ConfigError -> exit 78 in cli.py
    for warning in config.warnings:
        log.warning("config_warning", warning=warning)
    service = Service(config)
    try:
        return run_service(service)
    except OutboxError as exc:
        log.error("outbox_unusable", error=str(exc), hint="check the state directory (StateDirectory=)")
        return EX_CANTCREAT
    except RuntimeError as exc:
        if "already listens" in str(exc):
            print(f"hntht-agent: {exc}", file=sys.stderr)
            return EX_SOFTWARE
        raise
