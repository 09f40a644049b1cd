"""`hntht-agent codec trust`: pin the codec's SSH host key or TLS certificate after a human confirms it.

The technician compares the printed fingerprint with the one the codec shows (Cisco: Settings >
Issues and diagnostics / the web interface's certificate page; or VNPT's configuration sheet).  The
key goes to <state_dir>/known_hosts (SSH, OpenSSH format) or <state_dir>/known_certs (TLS) only
after "y" (or `--yes` in scripts).  A key that differs from the pinned one is refused unless
`--replace` is given: a changed key means a replaced codec, a reset, or an impostor.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.commands import add_config_argument


def add_parser(sub: Any) -> None:
    p = sub.add_parser("codec", help="codec tools: pin the codec's SSH host key / TLS certificate",
                       description="`codec trust` connects to the codec, prints its SSH host key or TLS certificate "
                                   "fingerprint and, once you confirm it, pins it in the state directory.")
    p.add_argument("action", choices=["trust"])
    add_config_argument(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    p.add_argument("--replace", action="store_true",
                   help="replace a pinned key that changed (only after checking the new one on the codec)")
    p.set_defaults(handler=run)


def _confirm(prompt: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print("hntht-agent: not a terminal; re-run with --yes to confirm non-interactively", file=sys.stderr)
        return False
    try:
        return input(prompt).strip().lower() in ("y", "yes", "c", "có", "co")
    except EOFError:
        return False


def run(args: argparse.Namespace) -> int:
    from agent import config as config_mod
    from agent.errors import AgentError, ConfigError, HostKeyMismatch
    from agent.vendors import connection_from_config
    from agent.vendors import pinning

    config = config_mod.load(config_mod.resolve_path(args.config))
    if config.codec.vendor == "none":
        raise ConfigError('no codec configured (vendor = "none")', file=config.path, key="codec.vendor")
    conn = connection_from_config(config)
    where = f"{conn.host}:{conn.port}"
    try:
        if conn.transport == "ssh":
            key = pinning.fetch_ssh_key(conn.host, conn.port, conn.timeout)
            seen = pinning.ssh_fingerprint(key)
            shown = f"{key.get_name()} {seen}"
            pinned = pinning.pinned_ssh_key(conn)
            old = pinned[1] if pinned else None
            current = seen
            store = lambda: pinning.store_ssh_key(conn, key, replace=args.replace)  # noqa: E731
        elif conn.transport == "https":
            seen = pinning.tls_fingerprint(pinning.fetch_certificate(conn.host, conn.port, conn.timeout))
            shown = f"TLS certificate {seen}"
            old = pinning.pinned_certificate(conn)
            current = pinning.normalise_tls_fingerprint(seen)
            store = lambda: pinning.store_certificate(conn, seen, replace=args.replace)  # noqa: E731
        else:
            print(f"hntht-agent: {conn.transport} has no key to pin (it is not encrypted)", file=sys.stderr)
            return 2
    except AgentError as exc:
        print(f"hntht-agent: {exc}", file=sys.stderr)
        return 1

    print(f"Thiết bị đầu cuối / codec {where}:")
    print(f"  {shown}")
    if old is not None and old == current:
        print("Đã tin cậy từ trước / already trusted.")
        return 0
    if old is not None:
        error = HostKeyMismatch(
            f"the key of {where} CHANGED: pinned {old}, now {seen}. If the codec was replaced or reset, check the "
            "new fingerprint on its screen and re-run with --replace"
        )
        if not args.replace:
            print(f"hntht-agent: REFUSED: {error}", file=sys.stderr)
            return 1
        print("CẢNH BÁO / WARNING: khóa đã thay đổi / the key changed (pinned: " + str(old) + ")")
    if not _confirm("Mã này có trùng với mã hiển thị trên thiết bị không? / Does it match the codec's? [y/N] ",
                    args.yes):
        print("Chưa lưu / not stored.")
        return 1
    path = store()
    print(f"Đã lưu / stored in {path}")
    return 0
