"""`hntht-agent demo`: the whole agent against a simulated room on loopback, no hardware.

With the collector installed, the demo runs the room the way a real room runs: the service
(`hntht-agent run`, a real process) owns the simulated devices and pushes to an embedded collector;
the checklist is asked of the service exactly as `hntht-agent check` does; the demo ends with the
room visible on the collector's board (kept up with --serve until Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from agent.commands import add_lang_argument

SERVICE_START_TIMEOUT = 30.0
PUSH_TIMEOUT = 20.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the checklist against a simulated room (no hardware needed)",
                       description="Start a simulated room on loopback (gateway and MCU, codec, UPS, collector), run "
                                   "the checklist against it with one item failing on purpose, print the report, "
                                   "show the room on the collector's board and clean up.")
    add_lang_argument(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--serve", action="store_true", help="keep the simulated room, the service and the board up until Ctrl-C")
    p.set_defaults(handler=run)


def say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def start_service(room: Any) -> Any:
    """`hntht-agent run` on the demo config as a real child process; returns it once it answers."""
    import subprocess

    from agent import config as config_mod
    from agent.daemon import control

    log = open(room.dir / "agent-service.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(room.config_path)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    room.on_cleanup(stop)
    path = control.socket_path(config_mod.load(room.config_path))
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (room.dir / "agent-service.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the demo service exited with {proc.returncode}:\n{tail}")
        try:
            if control.request(path, {"cmd": "ping"}, timeout=2.0).get("ok"):
                return proc
        except (control.ServiceNotRunning, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the demo service did not answer on {path} within {SERVICE_START_TIMEOUT:g} s")


def wait_for_report(room: Any) -> bool:
    """True once the collector holds this room's check report (the service pushes it in the background)."""
    import json
    import urllib.error
    import urllib.request

    url = f"{room.collector.url}/api/v1/rooms/{room.room_id}/report"
    deadline = time.monotonic() + PUSH_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as answer:
                if json.load(answer).get("report"):
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.3)
    return False


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.commands.check import emit, run_checklist_for, via_service
    from agent.demo import DemoRoom
    from agent.i18n import pick_language

    lang = pick_language(args.lang, None)
    quiet = args.json
    try:
        room = DemoRoom().start()
    except (OSError, RuntimeError) as exc:
        print(f"hntht-agent demo: không khởi động được phòng họp mô phỏng / cannot start the simulated room: {exc}",
              file=sys.stderr)
        return 1
    try:
        say("== hntht-agent demo ==", quiet)
        for note in room.notes:
            say(f"  {note}", quiet)
        say(f"  config: {room.config_path}", quiet)
        config = config_mod.load(room.config_path)
        if room.collector is None:
            emit(run_checklist_for(config, None, lang, show_progress=not args.json), lang, args.json)
            return 0
        try:
            start_service(room)
        except RuntimeError as exc:
            print(f"hntht-agent demo: {exc}", file=sys.stderr)
            return 1
        say("  dịch vụ hntht-agent đang chạy / the hntht-agent service is running", quiet)
        code = via_service(config, None, lang, args.json)
        if code is None:  # the service did not answer in time: still show the room, standalone
            emit(run_checklist_for(config, None, lang, show_progress=not args.json), lang, args.json)
        if wait_for_report(room):
            say(f"\nBảng trạng thái / readiness board: {room.collector.board_url}", quiet)
        else:
            say(f"\nthe report did not reach the collector within {PUSH_TIMEOUT:g} s; "
                f"see {room.dir / 'agent-service.log'}", quiet)
            return 1
        if args.serve:
            say("Nhấn Ctrl-C để dừng / press Ctrl-C to stop", quiet)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        room.close()
    # The demo's own failing item is expected: the demo succeeded if it produced a report.
    return 0
