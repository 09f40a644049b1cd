"""`hntht-agent check`: the pre-rehearsal checklist of Decision 32/2019, once, printed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.commands import add_config_argument, add_lang_argument

AREAS = ["network", "host", "codec", "power"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="run the pre-rehearsal checklist now and print it",
                       description="Run the pre-rehearsal checklist (Điều 5 khoản 2.1) once. Exit 0 all pass, "
                                   "1 warnings only, 2 any fail or error, 78 config error.")
    add_config_argument(p)
    add_lang_argument(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema hntht.report/1)")
    p.add_argument("--only", metavar="AREAS", type=parse_areas, help=f"comma-separated subset of {','.join(AREAS)}")
    p.set_defaults(handler=run)


def parse_areas(text: str) -> list[str]:
    areas = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in areas if a not in AREAS]
    if unknown or not areas:
        raise argparse.ArgumentTypeError(f"unknown area {', '.join(unknown) or text!r}; choose from {', '.join(AREAS)}")
    return areas


def run_checklist_for(config: Any, only: list[str] | None, lang: str, *, show_progress: bool) -> Any:
    import asyncio

    from agent.render import Progress
    from agent.runner import build_probes, run_checklist

    probes = build_probes(config, only)
    progress = Progress(sys.stderr, lang) if show_progress else None
    if progress:
        with progress:
            return asyncio.run(run_checklist(config, probes, progress=progress))
    return asyncio.run(run_checklist(config, probes))


def emit(report: Any, lang: str, as_json: bool) -> int:
    import json

    from agent.render import print_report

    if as_json:
        json.dump(report.to_dict(lang), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(report, lang)
    return report.exit_code()


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.i18n import pick_language

    config = config_mod.load(config_mod.resolve_path(args.config))
    for warning in config.warnings:
        print(f"hntht-agent: warning: {warning}", file=sys.stderr)
    lang = pick_language(args.lang, config.agent.language or None)
    # One owner for the devices: while the service runs, it runs the checklist for us.
    code = via_service(config, args.only, lang, args.json)
    if code is not None:
        return code
    report = run_checklist_for(config, args.only, lang, show_progress=not args.json)
    return emit(report, lang, args.json)


def via_service(config: Any, only: list[str] | None, lang: str, as_json: bool) -> int | None:
    """Ask the running service (report.mode = "service"); None when it does not run."""
    import json

    from agent.daemon import control
    from agent.render import use_colour

    payload = {"cmd": "check", "only": only, "lang": lang, "colour": use_colour(sys.stdout)}
    try:
        answer = control.request(control.socket_path(config), payload, timeout=float(config.check.budget) + 15.0)
    except control.ServiceDenied:
        print("hntht-agent: dịch vụ đang chạy nhưng bạn không có quyền hỏi nó: chạy lại bằng sudo hoặc thêm tài "
              "khoản vào nhóm hntht / the service runs but refused us: use sudo or join group hntht", file=sys.stderr)
        return 77
    except (control.ServiceNotRunning, OSError, ValueError):
        return None  # not running (or not answering in time): run standalone, never hang
    if not answer.get("ok"):
        return None
    if as_json:
        json.dump(answer["report"], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(answer["text"] + "\n")
    return int(answer.get("exit_code", 2))
