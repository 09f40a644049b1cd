"""`hntht-agent demo`: the whole checklist against a simulated room on loopback, no hardware."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.commands import add_lang_argument


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the checklist against a simulated room (no hardware needed)",
                       description="Start a simulated room on loopback, run the checklist against it with one "
                                   "item failing on purpose, print the report and clean up.")
    add_lang_argument(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.commands.check import emit, run_checklist_for
    from agent.demo import DemoRoom
    from agent.i18n import pick_language

    lang = pick_language(args.lang, None)
    with DemoRoom() as room:
        if not args.json:
            print("== hntht-agent demo ==", file=sys.stderr)
            for note in room.notes:
                print(f"  {note}", file=sys.stderr)
            print(f"  config: {room.config_path}", file=sys.stderr)
        config = config_mod.load(room.config_path)
        report = run_checklist_for(config, None, lang, show_progress=not args.json)
        emit(report, lang, args.json)
    # The demo's own failing item is expected: the demo succeeded if it produced a report.
    return 0
