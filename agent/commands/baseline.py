"""`hntht-agent baseline save|show|diff`: the rehearsal baseline (docs/baseline.md).

``save`` runs the checklist (through the running service when there is one: one owner per device) and
stores the settings it read, refusing when an item failed or errored unless ``--force``: a baseline
must be a known-good state.  ``show`` prints the stored baseline; ``diff`` runs the checklist and prints
what changed since, without saving anything.

Exit codes: 0 done (diff: no change), 1 diff found changes (warn), 2 save refused / diff found changes
that fail ([baseline] strict) / nothing could be read, 3 no baseline stored yet, 77 the service refused us,
78 configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agent.commands import add_config_argument, add_lang_argument
from agent.i18n import Text, register, render, sentence

# Only the areas that hold settings are read (the agent PC's own clock or disk is no room setting).
SETTING_AREAS = ["network", "codec", "power"]
EXIT_NO_BASELINE = 3

register({
    "baseline.saved": (
        "Đã lưu mốc cấu hình phiên tổng duyệt: {count} thông số ({areas}), lúc {when}, bởi {who}",
        "Saved the rehearsal baseline: {count} settings ({areas}), at {when}, by {who}",
    ),
    "baseline.file": ("Tệp: {path} (từ báo cáo kiểm tra {report})", "File: {path} (from check report {report})"),
    "baseline.forced": (
        "Lưu bắt buộc (--force) dù các hạng mục sau chưa đạt: {items}",
        "Saved with --force although these items did not pass: {items}",
    ),
    "baseline.refused": (
        "KHÔNG lưu mốc cấu hình: mốc phải là trạng thái đã kiểm tra đạt, nhưng {count} hạng mục không đạt hoặc lỗi",
        "Baseline NOT saved: a baseline must be a known-good state, but {count} items failed or errored",
    ),
    "baseline.refused.hint": (
        "Xử lý các hạng mục trên rồi chạy lại; hoặc, nếu chúng là đã biết và chấp nhận được, dùng --force.",
        "Fix the items above and run it again; or, if they are known and accepted, use --force.",
    ),
    "baseline.nothing": (
        "Không đọc được thiết bị nào (đường truyền, thiết bị đầu cuối, UPS): không có gì để lưu",
        "Nothing could be read (network, codec, UPS): nothing to save",
    ),
    "baseline.changes_since_previous": ("Thay đổi so với mốc trước ({when}):", "Changes since the previous baseline ({when}):"),
    "baseline.none": (
        "Chưa có mốc cấu hình của phiên tổng duyệt ({path}). Sau khi phiên tổng duyệt thành công, chạy "
        "`hntht-agent baseline save`.",
        "No rehearsal baseline yet ({path}). After a successful rehearsal, run `hntht-agent baseline save`.",
    ),
    "baseline.header": (
        "Mốc cấu hình phiên tổng duyệt lưu lúc {when} bởi {who} ({reason}), {count} thông số",
        "Rehearsal baseline saved at {when} by {who} ({reason}), {count} settings",
    ),
    "baseline.reason.manual": ("lưu bằng lệnh", "saved by command"),
    "baseline.reason.rehearsal": ("tự lưu sau phiên tổng duyệt đạt", "saved by the service after a passing rehearsal"),
    "baseline.history": ("Các mốc trước đó:", "Earlier baselines:"),
    "baseline.history.item": ("{when}, bởi {who}, {count} thông số", "{when}, by {who}, {count} settings"),
    "baseline.history.none": ("Không có mốc nào trước đó", "No earlier baseline"),
    "baseline.diff.header": (
        "So sánh với mốc cấu hình phiên tổng duyệt {when} (lưu bởi {who}):",
        "Compared with the rehearsal baseline of {when} (saved by {who}):",
    ),
    "baseline.diff.not_read": (
        "Không so sánh được {areas}: lần kiểm tra này không đọc được",
        "Not compared: {areas} (could not be read this time)",
    ),
    "baseline.unreadable_word": ("không đọc được", "unreadable"),
    "baseline.denied": (
        "Dịch vụ đang chạy nhưng bạn không có quyền hỏi nó: chạy lại bằng sudo hoặc thêm tài khoản vào nhóm hntht",
        "The service runs but refused us: use sudo or join group hntht",
    ),
})


def add_parser(sub: Any) -> None:
    p = sub.add_parser("baseline", help="save, show or compare the rehearsal baseline (drift since the rehearsal)",
                       description="The rehearsal baseline (Điều 5 khoản 2.2, Điều 7 khoản 5): the codec's settings "
                                   "and the room's UPS/network facts after a successful rehearsal; every later check "
                                   "reports changes as drift.* items. See docs/baseline.md.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    save = actions.add_parser("save", help="run the checklist and store its settings as the baseline",
                              description="Run the checklist (through the service when it runs) and store the "
                                          "settings it read. Refused when an item failed or errored, unless --force. "
                                          "Exit 0 saved, 2 refused, 78 config error.")
    save.add_argument("--force", action="store_true",
                      help="save even though some items failed or errored (they are recorded in the baseline)")
    show = actions.add_parser("show", help="print the stored baseline",
                              description="Print the stored baseline. Exit 0, or 3 when none is stored.")
    show.add_argument("--history", action="store_true", help="also list the earlier baselines kept")
    diff = actions.add_parser("diff", help="run the checklist and print what changed since the baseline (saves nothing)",
                              description="Run the checklist and compare it with the stored baseline, without "
                                          "saving. Exit 0 no change, 1 changes, 2 changes that fail ([baseline] "
                                          "strict) or nothing readable, 3 no baseline.")
    for action in (save, show, diff):
        add_config_argument(action)
        add_lang_argument(action)
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=run)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


class _Refused(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def fetch_report(config: Any, lang: str, *, show_progress: bool) -> dict[str, Any]:
    """The checklist of the setting areas, from the running service or read here (as `check` does)."""
    from agent.commands.check import run_checklist_for
    from agent.daemon import control

    payload = {"cmd": "check", "only": SETTING_AREAS, "lang": lang, "colour": False}
    try:
        answer = control.request(control.socket_path(config), payload, timeout=float(config.check.budget) + 15.0)
        if answer.get("ok") and isinstance(answer.get("report"), dict):
            return answer["report"]
    except control.ServiceDenied:
        print(f"hntht-agent: {render(Text('baseline.denied'), lang)}", file=sys.stderr)
        raise _Refused(77) from None
    except (control.ServiceNotRunning, OSError, ValueError):
        pass  # not running (or not answering in time): read the devices here, never hang
    report = run_checklist_for(config, SETTING_AREAS, lang, show_progress=show_progress)
    return report.to_dict(lang)


def _t(text: Any, lang: str) -> str:
    return sentence(render(text, lang)) or ""


def _areas(areas: list[str], lang: str) -> str:
    return ", ".join(render(Text(f"area.{a}"), lang) or a for a in areas) or "-"


def _setting_lines(settings: dict[str, Any], lang: str) -> list[str]:
    from agent.checks.drift import _natural, setting_name, show_value

    lines = []
    for key in sorted(settings, key=_natural):
        value = settings[key]
        shown = render(Text("baseline.unreadable_word"), lang) if value is None else render(show_value(key, value), lang)
        lines.append(f"  {_t(setting_name(key), lang)}: {shown}  [{key}]")
    return lines


def _result_lines(results: list[Any], lang: str) -> list[str]:
    lines = []
    for r in results:
        word = render(Text(f"status.{r.status.value}"), lang)
        lines.append(f" {word:<10} {_t(r.message, lang)}  [{r.id}]")
        if r.remedy is not None and r.status.value not in ("pass", "skip"):
            lines.append(f" {'':<10} → {_t(r.remedy, lang)}")
    return lines


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.i18n import pick_language

    config = config_mod.load(config_mod.resolve_path(args.config))
    for warning in config.warnings:
        print(f"hntht-agent: warning: {warning}", file=sys.stderr)
    lang = pick_language(args.lang, config.agent.language or None)
    try:
        return {"save": do_save, "show": do_show, "diff": do_diff}[args.action](config, args, lang)
    except _Refused as refused:
        return refused.code


def _store(config: Any) -> Any:
    from agent.baseline import BaselineStore

    return BaselineStore(config.state_dir, config.baseline.history)


def _load_or_none(store: Any) -> Any:
    from agent.baseline import BaselineError

    try:
        return store.load()
    except BaselineError as exc:
        print(f"hntht-agent: {exc}", file=sys.stderr)
        return None


def do_save(config: Any, args: argparse.Namespace, lang: str) -> int:
    from agent.baseline import AREAS, blocking_items, capture, current_user
    from agent.checks import drift

    report = fetch_report(config, lang, show_progress=not args.json)
    blocking = blocking_items(report)
    if blocking and not args.force:
        out = sys.stderr if args.json else sys.stdout
        print(_t(Text("baseline.refused", count=len(blocking)), lang), file=out)
        for item in blocking:
            word = render(Text(f"status.{item['status']}"), lang)
            print(f" {word:<10} {item['message']}  [{item['id']}]", file=out)
            if item.get("remedy"):
                print(f" {'':<10} → {item['remedy']}", file=out)
        print(_t(Text("baseline.refused.hint"), lang), file=out)
        if args.json:
            json.dump({"saved": False, "refused": [c["id"] for c in blocking]}, sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        return 2
    baseline = capture(report, reason="manual", saved_by=current_user(), forced=bool(blocking))
    if not any(area in baseline.areas for area in AREAS):
        print(_t(Text("baseline.nothing"), lang), file=sys.stderr)
        return 2
    store = _store(config)
    previous = _load_or_none(store)
    store.save(baseline)
    changes = []
    if previous is not None:
        changes = [r for r in drift.evaluate(previous.snapshot, baseline.snapshot, saved_at=previous.saved_at)
                   if r.id != "drift.baseline"]
    if args.json:
        json.dump({"saved": True, "path": str(store.path), "baseline": baseline.to_dict(),
                   "changes_since_previous": [r.to_dict(lang) for r in changes]},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(_t(Text("baseline.saved", count=len(baseline.settings), areas=_areas(baseline.areas, lang),
                  when=drift.format_when(baseline.saved_at), who=baseline.saved_by), lang))
    print(_t(Text("baseline.file", path=str(store.path), report=baseline.report["id"]), lang))
    if baseline.forced:
        print(_t(Text("baseline.forced", items=", ".join(baseline.not_passed)), lang))
    print()
    print("\n".join(_setting_lines(baseline.settings, lang)))
    if changes:
        print()
        print(_t(Text("baseline.changes_since_previous", when=drift.format_when(previous.saved_at)), lang))
        print("\n".join(_result_lines(changes, lang)))
    return 0


def do_show(config: Any, args: argparse.Namespace, lang: str) -> int:
    from agent.baseline import SCHEMA
    from agent.checks import drift

    store = _store(config)
    baseline = _load_or_none(store)
    if baseline is None:
        print(_t(Text("baseline.none", path=str(store.path)), lang), file=sys.stderr)
        return EXIT_NO_BASELINE
    history = store.history() if args.history else []
    if args.json:
        body: dict[str, Any] = {"schema": SCHEMA, "path": str(store.path), "current": baseline.to_dict()}
        if args.history:
            body["history"] = [b.to_dict() for b in history]
        json.dump(body, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    reason = Text(f"baseline.reason.{baseline.reason}") if baseline.reason in ("manual", "rehearsal") else baseline.reason
    print(_t(Text("baseline.header", when=drift.format_when(baseline.saved_at), who=baseline.saved_by, reason=reason,
                  count=len(baseline.settings)), lang))
    print(_t(Text("baseline.file", path=str(store.path), report=baseline.report.get("id")), lang))
    if baseline.forced:
        print(_t(Text("baseline.forced", items=", ".join(baseline.not_passed)), lang))
    print()
    print("\n".join(_setting_lines(baseline.settings, lang)))
    if args.history:
        print()
        print(_t(Text("baseline.history") if history else Text("baseline.history.none"), lang))
        for old in history:
            print("  " + _t(Text("baseline.history.item", when=drift.format_when(old.saved_at), who=old.saved_by,
                                 count=len(old.settings)), lang))
    return 0


def do_diff(config: Any, args: argparse.Namespace, lang: str) -> int:
    from agent.baseline import extract
    from agent.checks import drift
    from agent.model import Status, worst

    store = _store(config)
    baseline = _load_or_none(store)
    if baseline is None:
        print(_t(Text("baseline.none", path=str(store.path)), lang), file=sys.stderr)
        return EXIT_NO_BASELINE
    report = fetch_report(config, lang, show_progress=not args.json)
    current = extract(report.get("statuses") or {})
    results = drift.evaluate(baseline.snapshot, current, saved_at=baseline.saved_at, strict=config.baseline.strict,
                             ignore=config.baseline.ignore)
    not_read = [a for a in baseline.areas if a not in current.areas]
    changed = [r for r in results if r.id != "drift.baseline" and r.status is not Status.SKIP]
    if not current.areas:
        code = 2
    else:
        code = {Status.WARN: 1, Status.FAIL: 2}.get(worst([r.status for r in changed]), 0)
    if args.json:
        json.dump({"schema": "hntht.baseline-diff/1",
                   "baseline": {k: getattr(baseline, k) for k in ("saved_at", "saved_by", "reason", "report")},
                   "report": {k: report.get(k) for k in ("generated_at", "mode", "overall")},
                   "not_compared": not_read,
                   "changes": [{"setting": r.id[len("drift."):], "status": r.status.value, "old": r.expected,
                                "new": r.observed} for r in changed],
                   "checks": [r.to_dict(lang) for r in results]},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return code
    print(_t(Text("baseline.diff.header", when=drift.format_when(baseline.saved_at), who=baseline.saved_by), lang))
    print("\n".join(_result_lines(results, lang)))
    if not_read:
        print(_t(Text("baseline.diff.not_read", areas=_areas(not_read, lang)), lang))
    return code
