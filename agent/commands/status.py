"""`hntht-agent status`: what the service knows now (or last knew, when it is not running)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from agent.commands import add_config_argument, add_lang_argument
from agent.i18n import Text, register as register_text, render

register_text({
    "status.title": ("Trạng thái dịch vụ hntht-agent", "hntht-agent service status"),
    "status.running": ("Dịch vụ đang chạy (pid {pid}, chạy được {uptime})", "Service running (pid {pid}, up {uptime})"),
    "status.not_running": ("Dịch vụ KHÔNG chạy; thông tin dưới đây là lần ghi cuối ({at})",
                           "Service NOT running; below is what it last wrote ({at})"),
    "status.never": ("Dịch vụ KHÔNG chạy và chưa từng ghi trạng thái", "Service NOT running and never wrote a status"),
    "status.denied": ("Không có quyền hỏi dịch vụ: chạy bằng sudo hoặc thêm tài khoản vào nhóm hntht",
                      "Not allowed to ask the service: use sudo or join the hntht group"),
    "status.probes": ("Thăm dò", "Probes"),
    "status.outbox": ("Hàng đợi gửi: {depth} bản ghi chờ (cũ nhất {oldest}), bỏ {dropped}, cách ly {quarantined}",
                      "Outbox: {depth} waiting (oldest {oldest}), dropped {dropped}, quarantined {quarantined}"),
    "status.push": ("Gửi thành công lần cuối: {last}; máy chủ trả lời lần cuối: {answer}",
                    "Last successful push: {last}; collector's last answer: {answer}"),
    "status.alarms": ("CẢNH BÁO", "ALARMS"),
    "status.never_pushed": ("chưa lần nào", "never"),
})


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="show the service's probes, outbox and last push",
                       description="Ask the running service for its state; when it is not running, show the "
                                   "last state it wrote and the outbox on disk. Exit 0 running, 3 not running.")
    add_config_argument(p)
    add_lang_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON (schema hntht.agent-status/1)")
    p.set_defaults(handler=run)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def offline_status(config: Any) -> dict[str, Any] | None:
    """The service's last status.json, refreshed with what the outbox file says now."""
    path = config.state_dir / "status.json"
    try:
        snap = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        snap = None
    db = config.state_dir / "outbox.sqlite"
    if db.exists():
        try:
            from agent.daemon.outbox import Outbox

            outbox = Outbox(db, room_id=config.agent.room_id, boot_id="status", readonly=True)
            stats = outbox.stats()
            outbox._db.close()
            snap = snap or {"schema": "hntht.agent-status/1", "room_id": config.agent.room_id}
            snap["outbox"] = {**(snap.get("outbox") or {}), "depth": stats.depth, "oldest_at": stats.oldest_at,
                              "dropped": stats.dropped, "quarantined": stats.quarantined}
        except Exception:  # noqa: BLE001 - a status command must not crash on a busy or odd file
            pass
    return snap


def format_status(snap: dict[str, Any], lang: str, running: bool) -> str:
    t = lambda key, **kw: render(Text(key, **kw), lang)  # noqa: E731
    lines = [f"{t('status.title')}: {snap.get('room_id', '?')}"]
    if running:
        lines.append(t("status.running", pid=snap.get("pid"), uptime=_age(snap.get("uptime_s"))))
    else:
        lines.append(t("status.not_running", at=snap.get("written_at", "?")))
    lines.append(f"{t('status.probes')}:")
    for name, probe in (snap.get("probes") or {}).items():
        if probe.get("enabled") is False:
            lines.append(f"  {name:8} {probe.get('status', 'skip'):7} (not configured)")
            continue
        extra = []
        if probe.get("skipped"):
            extra.append(f"skipped {probe['skipped']}")
        if probe.get("timeouts"):
            extra.append(f"timeouts {probe['timeouts']}")
        if probe.get("hung"):
            extra.append("HUNG")
        if probe.get("error"):
            extra.append(str(probe["error"])[:80])
        age = _age(probe.get("age_s")) if running else (probe.get("last_at") or "-")
        lines.append(f"  {name:8} {probe.get('status', '?'):7} last {age:>6}  every {probe.get('interval_s', 0):g}s"
                     + (f"  [{'; '.join(extra)}]" if extra else ""))
    outbox = snap.get("outbox") or {}
    lines.append(t("status.outbox", depth=outbox.get("depth", "?"), oldest=outbox.get("oldest_at") or "-",
                   dropped=outbox.get("dropped", 0), quarantined=outbox.get("quarantined", 0)))
    push = snap.get("push") or {}
    answer = push.get("last_answer") or {}
    shown = "-" if not answer else f"{answer.get('endpoint')} {answer.get('status') or answer.get('code')} " \
                                   f"{answer.get('outcome')} ({answer.get('at')})"
    lines.append(t("status.push", last=push.get("last_push_at") or t("status.never_pushed"), answer=shown))
    if snap.get("alarms"):
        lines.append(f"{t('status.alarms')}:")
        lines.extend(f"  - {a}" for a in snap["alarms"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.daemon import control
    from agent.i18n import pick_language

    config = config_mod.load(config_mod.resolve_path(args.config))
    lang = pick_language(args.lang, config.agent.language or None)
    running = True
    try:
        answer = control.request(control.socket_path(config), {"cmd": "status"}, timeout=10.0)
        snap = answer["status"]
    except control.ServiceDenied:
        print(render(Text("status.denied"), lang), file=sys.stderr)
        return 77
    except (control.ServiceNotRunning, OSError, ValueError, KeyError):
        running = False
        snap = offline_status(config)
    if snap is None:
        if args.json:
            json.dump({"schema": "hntht.agent-status/1", "running": False}, sys.stdout)
            sys.stdout.write("\n")
        else:
            print(render(Text("status.never"), lang))
        return 3
    snap["running"] = running
    if not running:
        snap["read_at"] = time.time()
    if args.json:
        json.dump(snap, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_status(snap, lang, running))
    return 0 if running else 3
