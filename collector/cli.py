"""`hntht-collector`: serve the collector and manage rooms, tokens and viewers.

    hntht-collector serve [--host 127.0.0.1] [--port 8443] [--workers 2] [--tls-cert F --tls-key F]
    hntht-collector migrate
    hntht-collector prune      (apply the retention settings now; the server also does it hourly)
    hntht-collector room add ROOM_ID --name NAME --level LEVEL [--district D]   (prints the token once)
    hntht-collector room rotate ROOM_ID | room disable ROOM_ID | room enable ROOM_ID | room list
    hntht-collector viewer add USERNAME [--password-file F]   (else read from stdin / prompt)
    hntht-collector viewer disable USERNAME
    hntht-collector viewer role USERNAME viewer|technician|operator
    hntht-collector meeting import FILE.csv | meeting list [--json] | meeting delete ID
    hntht-collector report quarterly --quarter 2026Q4 --out FILE [--format xlsx|csv] [--district D]
    hntht-collector report half --half 2026H2 --out FILE | report yearly --year 2026 --out FILE
    hntht-collector report logbook --room ID --from 2026-10-01 --to 2026-12-31 --out FILE

The database comes from --db, $HNTHT_COLLECTOR_DB, --db-file / $HNTHT_COLLECTOR_DB_FILE, or the
systemd credential `collector-db-url`; default sqlite:////var/lib/hntht-collector/collector.db.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import time

from . import __version__, security
from .config import Settings, read_db_url_file
from .errors import CollectorError
from .storage import open_storage

LEVELS = ("province", "district", "commune", "other")
ROOM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _settings(args) -> Settings:
    db = args.db
    if db is None and getattr(args, "db_file", None):
        db = read_db_url_file(args.db_file)
    return Settings.from_env(db=db)


def _storage(args):
    st = open_storage(_settings(args).db)
    st.migrate()
    return st


def cmd_serve(args) -> int:
    import uvicorn

    settings = _settings(args)
    if args.sweep_interval is not None:
        settings.sweep_interval_s = args.sweep_interval
    # Migrate once before the workers start, so they never race on DDL.
    st = open_storage(settings.db)
    st.migrate()
    st.close()
    os.environ.update(settings.to_env())
    ssl = {}
    if args.tls_cert:
        ssl = dict(ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
        if args.tls_client_ca:
            import ssl as _ssl
            ssl.update(ssl_ca_certs=args.tls_client_ca,
                       ssl_cert_reqs=_ssl.CERT_REQUIRED if args.require_client_cert else _ssl.CERT_OPTIONAL)
    uvicorn.run("collector.app:create_app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=args.access_log,
                proxy_headers=args.proxy_headers, forwarded_allow_ips=args.forwarded_allow_ips,
                server_header=False, timeout_keep_alive=30,
                # uvicorn's httptools protocol, each response written in one piece (collector/httpproto.py)
                http="collector.httpproto:OneWriteHttpToolsProtocol", **ssl)
    return 0


def cmd_migrate(args) -> int:
    st = open_storage(_settings(args).db)
    applied = st.migrate()
    print(f"schema version {st.schema_version()} (applied now: {applied or 'none'})")
    st.close()
    return 0


def cmd_prune(args) -> int:
    settings = _settings(args)
    st = open_storage(settings.db)
    try:
        st.migrate()
        removed = st.prune(time.time(), settings.retention_records_days, settings.retention_events_days,
                           settings.login_window_s)
    finally:
        st.close()
    keep = lambda days: "kept forever" if days <= 0 else f"older than {days:g} days"  # noqa: E731
    print(f"removed {removed['records']} record(s) ({keep(settings.retention_records_days)}), "
          f"{removed['events']} event(s) ({keep(settings.retention_events_days)}), "
          f"{removed['sessions']} expired session(s), {removed['login_failures']} old failed-login counter(s)")
    return 0


def _check_room_id(room_id: str) -> None:
    if not ROOM_ID_RE.match(room_id):
        raise CollectorError(f"room id {room_id!r}: use 1-64 characters A-Z a-z 0-9 . _ - (no '/')")


def cmd_room(args) -> int:
    st = _storage(args)
    now = time.time()
    try:
        if args.room_cmd == "add":
            _check_room_id(args.room_id)
            tok = security.new_token()
            st.add_room(args.room_id, args.name, args.level, args.district or "", tok.token_id, tok.salt, tok.hash, now)
            _print_token(args, tok.token, f"room {args.room_id} added")
        elif args.room_cmd == "rotate":
            tok = security.new_token()
            st.rotate_token(args.room_id, tok.token_id, tok.salt, tok.hash, now)
            _print_token(args, tok.token, f"room {args.room_id}: new token (the old one no longer works)")
        elif args.room_cmd in ("disable", "enable"):
            st.set_room_enabled(args.room_id, args.room_cmd == "enable")
            print(f"room {args.room_id} {args.room_cmd}d")
        elif args.room_cmd == "set":
            st.update_room(args.room_id, name=args.name, level=args.level, district=args.district)
            print(f"room {args.room_id} updated")
        elif args.room_cmd == "list":
            rooms = st.list_rooms_admin()
            if args.json:
                print(json.dumps(rooms, ensure_ascii=False, indent=1))
            else:
                for r in rooms:
                    print(f"{r['room_id']}\t{r['level']}\t{r['district']}\t{'enabled' if r['enabled'] else 'DISABLED'}\t{r['name']}")
    finally:
        st.close()
    return 0


def _print_token(args, token: str, what: str) -> None:
    if args.token_file:
        fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        print(f"{what}; token written to {args.token_file} (mode 0600)")
    else:
        print(f"{what}; token (shown once, store it as the agent's collector-token credential):", file=sys.stderr)
        print(token)


def cmd_viewer(args) -> int:
    st = _storage(args)
    try:
        if args.viewer_cmd == "add":
            if args.password_file:
                with open(args.password_file) as f:
                    password = f.read().rstrip("\n")
            elif sys.stdin.isatty():
                password = getpass.getpass("password: ")
                if password != getpass.getpass("again: "):
                    raise CollectorError("passwords differ")
            else:
                password = sys.stdin.readline().rstrip("\n")
            if len(password) < 10:
                raise CollectorError("password too short: use at least 10 characters")
            st.add_viewer(args.username, security.hash_password(password), time.time(), role=args.role)
            print(f"viewer {args.username} saved" + (f" (role {args.role})" if args.role else ""))
        elif args.viewer_cmd == "role":
            st.set_viewer_role(args.username, args.role)
            print(f"viewer {args.username}: role {args.role}")
        elif args.viewer_cmd == "disable":
            st.set_viewer_enabled(args.username, False)
            print(f"viewer {args.username} disabled (sessions ended)")
    finally:
        st.close()
    return 0


def cmd_meeting(args) -> int:
    from . import meetings as M

    st = _storage(args)
    try:
        if args.meeting_cmd == "import":
            with open(args.file, "rb") as f:
                data = f.read()
            items, errors = M.parse_csv(data)
            known = {r["room_id"] for r in st.list_rooms_admin()}
            for m in items:
                missing = [r for r in m["room_ids"] if r not in known]
                if missing:
                    errors.append(M.ImportError_(m["_line"], "diem_cau_tham_du", "không có điểm cầu " + ", ".join(missing),
                                                 "no room " + ", ".join(missing)))
            if errors:
                for e in sorted(errors, key=lambda e: e.line):
                    print(f"{args.file}: {e.text(args.lang)}", file=sys.stderr)
                raise CollectorError(f"{len(errors)} error(s); nothing imported")
            st.upsert_meetings([{k: v for k, v in m.items() if k != "_line"} for m in items], "cli", time.time())
            print(f"{len(items)} meeting(s) imported")
        elif args.meeting_cmd == "list":
            items = st.meetings_between(time.time() - 86400 * args.days_back, time.time() + 86400 * 365)
            if args.json:
                print(json.dumps([M.to_api(m) for m in items], ensure_ascii=False, indent=1))
            else:
                from .forms import vn
                for m in items:
                    print(f"{m['meeting_id']}\t{vn(m['start_at'])}–{vn(m['end_at'], '%H:%M')}\t{m['chair_room_id']}\t"
                          f"{len(m['room_ids'])} rooms\t{m['title']}")
        elif args.meeting_cmd == "delete":
            if not st.delete_meeting(args.meeting_id):
                raise CollectorError(f"no meeting {args.meeting_id!r}")
            print(f"meeting {args.meeting_id} deleted")
    finally:
        st.close()
    return 0


def cmd_report(args) -> int:
    from . import forms
    from .workflow import report_unit

    settings = _settings(args)
    st = _storage(args)
    try:
        fmt = args.format or ("csv" if args.out.lower().endswith(".csv") else "xlsx")
        try:
            if args.report_cmd == "logbook":
                period = forms.period_range(args.date_from, args.date_to)
                data = forms.logbook_report(st, args.room, period, generated_at=time.time(), fmt=fmt)
            else:
                period = {"quarterly": lambda: forms.period_quarter(args.quarter),
                          "half": lambda: forms.period_half(args.half),
                          "yearly": lambda: forms.period_year(args.year)}[args.report_cmd]()
                data = forms.quality_report(st, period, unit=report_unit(settings, st, args.district),
                                            generated_at=time.time(), fmt=fmt, district=args.district)
        except ValueError as exc:
            raise CollectorError(str(exc)) from None
        with open(args.out, "wb") as f:
            f.write(data)
        print(f"{args.out}: {period.first:%d/%m/%Y}–{period.last:%d/%m/%Y}, {len(data)} bytes ({fmt})")
    finally:
        st.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hntht-collector", description="HNTHTT central collector and readiness board")
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--db", help="database URL: sqlite:////path/collector.db or postgresql://... (prefer --db-file for passwords)")
    p.add_argument("--db-file", help="file holding the database URL (secret)")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run the HTTP server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8443)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--tls-cert"); s.add_argument("--tls-key")
    s.add_argument("--tls-client-ca", help="CA bundle for optional client certificates")
    s.add_argument("--require-client-cert", action="store_true")
    s.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from --forwarded-allow-ips")
    s.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    s.add_argument("--sweep-interval", type=float, help="seconds between liveness sweeps (default 5)")
    s.add_argument("--log-level", default="info")
    s.add_argument("--access-log", action="store_true", help="log every request (paths only; tokens are in headers and never logged)")
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("migrate", help="create or upgrade the database schema")
    m.set_defaults(func=cmd_migrate)

    pr = sub.add_parser("prune", help="delete records and events older than the retention settings "
                        "(HNTHT_COLLECTOR_RETENTION_RECORDS_DAYS / _EVENTS_DAYS; 0 keeps forever)")
    pr.set_defaults(func=cmd_prune)

    r = sub.add_parser("room", help="manage rooms and their tokens")
    rs = r.add_subparsers(dest="room_cmd", required=True)
    ra = rs.add_parser("add", help="register a room and print its token once")
    ra.add_argument("room_id")
    ra.add_argument("--name", required=True)
    ra.add_argument("--level", required=True, choices=LEVELS)
    ra.add_argument("--district", default="")
    ra.add_argument("--token-file", help="write the token to this file (0600) instead of stdout")
    rr = rs.add_parser("rotate", help="issue a new token; the old one stops working")
    rr.add_argument("room_id"); rr.add_argument("--token-file")
    for name in ("disable", "enable"):
        x = rs.add_parser(name); x.add_argument("room_id")
    rset = rs.add_parser("set", help="change name, level or district")
    rset.add_argument("room_id"); rset.add_argument("--name"); rset.add_argument("--level", choices=LEVELS)
    rset.add_argument("--district")
    rl = rs.add_parser("list"); rl.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_room)

    v = sub.add_parser("viewer", help="manage board logins (operators)")
    vs = v.add_subparsers(dest="viewer_cmd", required=True)
    va = vs.add_parser("add", help="create a viewer or reset its password")
    va.add_argument("username"); va.add_argument("--password-file")
    va.add_argument("--role", choices=("viewer", "technician", "operator"),
                    help="viewer reads; technician also enters room contacts and meeting notes; operator also "
                         "manages meetings (new viewers default to viewer)")
    vd = vs.add_parser("disable"); vd.add_argument("username")
    vr = vs.add_parser("role", help="change a viewer's role")
    vr.add_argument("username"); vr.add_argument("role", choices=("viewer", "technician", "operator"))
    v.set_defaults(func=cmd_viewer)

    mt = sub.add_parser("meeting", help="the meeting schedule")
    ms = mt.add_subparsers(dest="meeting_cmd", required=True)
    mi = ms.add_parser("import", help="import meetings from a CSV file (all or nothing)")
    mi.add_argument("file"); mi.add_argument("--lang", choices=("vi", "en"), default="vi")
    ml = ms.add_parser("list"); ml.add_argument("--json", action="store_true")
    ml.add_argument("--days-back", type=float, default=7)
    mdl = ms.add_parser("delete"); mdl.add_argument("meeting_id")
    mt.set_defaults(func=cmd_meeting)

    rp = sub.add_parser("report", help="the regulation's forms (Phụ lục II quality, Phụ lục I log book)")
    rps = rp.add_subparsers(dest="report_cmd", required=True)
    for name, opt, hint in (("quarterly", "--quarter", "2026Q4"), ("half", "--half", "2026H2"),
                            ("yearly", "--year", "2026")):
        x = rps.add_parser(name, help=f"Phụ lục II for one {name.rstrip('ly')} ({opt} {hint})")
        x.add_argument(opt, required=True, dest=opt.lstrip("-"))
        x.add_argument("--district", help="only this district's rooms and communes (its roll-up, Điều 13.8)")
    lb = rps.add_parser("logbook", help="Phụ lục I of one room")
    lb.add_argument("--room", required=True)
    lb.add_argument("--from", required=True, dest="date_from", help="YYYY-MM-DD (Vietnam date)")
    lb.add_argument("--to", required=True, dest="date_to", help="YYYY-MM-DD, inclusive")
    for x in rps.choices.values():
        x.add_argument("--out", required=True, help="output file (.xlsx or .csv)")
        x.add_argument("--format", choices=("xlsx", "csv"), help="default: from the --out extension")
        if not any(a.dest == "district" for a in x._actions):
            x.set_defaults(district=None)
    rp.set_defaults(func=cmd_report)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CollectorError as exc:
        print(f"hntht-collector: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
