"""codec.reachable FAIL end to end: every driver and transport pointed at a port nothing listens on
(127.0.0.1, a port bound and closed by the test) goes through the probe and the checklist runner to
codec.reachable *fail* (not error: the codec is off or unplugged, not misbehaving), with the
"power, cable, IP address" remedy in readable Vietnamese, and no other row guessed."""

from __future__ import annotations

import socket
import time

import paramiko
import pytest

from agent.model import Status
from agent.vendors import openssh, pinning
from agent.vendors.base import Connection
from tests.codec.readable import assert_readable, inner_key
from tests.helpers import free_port
from tests.vendors.poly_peers import by_id, make_config, report_text, run_codec_check, CANARY

SSH_FP = "SHA256:" + "A" * 43
TLS_FP = "sha256:" + ":".join(["AB"] * 32)
needs_ssh = pytest.mark.skipif(openssh.ssh_program() is None, reason="needs the ssh client (openssh-client)")
# (id, [codec] table, expected device error(s) inside the message, marks)
CASES = [
    ("cisco ssh openssh known_hosts", {"vendor": "cisco", "transport": "ssh", "ssh_client": "openssh"},
     "codec.ssh.unreachable", [needs_ssh]),
    ("cisco ssh openssh fingerprint", {"vendor": "cisco", "transport": "ssh", "ssh_client": "openssh",
                                       "ssh_fingerprint": SSH_FP}, "codec.ssh.unreachable", [needs_ssh]),
    ("cisco ssh paramiko", {"vendor": "cisco", "transport": "ssh", "ssh_client": "paramiko",
                            "ssh_fingerprint": SSH_FP}, "codec.err.cannot_connect", []),
    ("cisco https", {"vendor": "cisco", "transport": "https", "tls": {"fingerprint": TLS_FP}},
     "codec.err.cannot_connect", []),
    ("poly-gs telnet", {"vendor": "poly-gs", "transport": "telnet", "allow_insecure": True},
     "codec.err.cannot_connect", []),
    ("poly-gs ssh openssh fingerprint", {"vendor": "poly-gs", "transport": "ssh", "ssh_client": "openssh",
                                         "ssh_fingerprint": SSH_FP}, "codec.ssh.unreachable", [needs_ssh]),
    ("poly-rest https", {"vendor": "poly-rest", "tls": {"fingerprint": TLS_FP}}, "codec.err.cannot_connect", []),
    # SNMP over UDP: a closed port and a silent agent look the same (no answer); pysnmp's own timeout or the
    # driver's deadline, whichever comes first.
    ("snmp", {"vendor": "snmp"}, ("snmp.err.timeout", "snmp.err.deadline"), []),
]


def closed_port_config(tmp_path, codec):
    udp = codec["vendor"] == "snmp"
    port = free_port(kind=socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)  # bound, then closed
    codec = {**codec, "port": port, "timeout": "1s"}
    config = make_config(tmp_path, codec, budget=8.0, community="public" if udp else None)
    if codec.get("transport") == "ssh" and "ssh_fingerprint" not in codec:
        # Pinned in known_hosts, as `codec trust` leaves it when the codec was on.
        conn = Connection("127.0.0.1", "ssh", port, "admin", None, 1.0, tmp_path / "state")
        pinning.store_ssh_key(conn, paramiko.ECDSAKey.generate(), replace=True)
    return config


@pytest.mark.parametrize("codec,error_key", [pytest.param(c, k, id=i, marks=m) for i, c, k, m in CASES])
def test_closed_port_fails_reachable(tmp_path, codec, error_key):
    started = time.monotonic()
    report = run_codec_check(closed_port_config(tmp_path, codec))
    assert time.monotonic() - started < 6  # refused at once (SNMP: its 1 s timeout and retry), not the budget
    results = by_id(report)
    r = results["codec.reachable"]
    assert (r.status, r.message.key) == (Status.FAIL, "codec.reachable.fail"), r.to_dict("en")
    assert inner_key(r) in (error_key if isinstance(error_key, tuple) else (error_key,)), r.to_dict("en")
    vi, en = assert_readable(r)
    assert "127.0.0.1" in vi["message"]
    assert "bật nguồn" in vi["remedy"] and "[codec] host" in vi["remedy"]
    assert "powered on" in en["remedy"]
    assert set(results) == {"codec.reachable"}, sorted(results)  # nothing else guessed, no login row
    assert report.overall is Status.FAIL
    assert CANARY not in report_text(report)


@pytest.mark.parametrize("codec", [c for i, c, k, m in CASES if "https" in i], ids=["cisco", "poly-rest"])
def test_https_unreachable_message_is_plain(tmp_path, codec):
    r = by_id(run_codec_check(closed_port_config(tmp_path, codec)))["codec.reachable"]
    for lang in ("vi", "en"):
        message = r.to_dict(lang)["message"]
        assert "HTTPSConnectionPool" not in message and "Max retries" not in message, message
        assert "Connection refused" in message, message


@pytest.mark.parametrize("vendor", ["cisco", "poly-rest"])
def test_a_port_answering_something_else_than_http_is_an_error_not_unreachable(tmp_path, vendor):
    """The codec answered (a garbled status line): it is reachable, so not the power/cable remedy."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def serve() -> None:
        try:
            while True:
                conn, _ = server.accept()
                conn.recv(4096)
                conn.sendall(b"GARBAGE\x00 not http\r\n\r\n")
                conn.close()
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        codec = {"vendor": vendor, "transport": "http", "allow_insecure": True, "port": server.getsockname()[1],
                 "timeout": "1s"}
        results = by_id(run_codec_check(make_config(tmp_path, codec, budget=8.0)))
    finally:
        server.close()
    r = results["codec.reachable"]
    assert (r.status, inner_key(r)) == (Status.ERROR, "codec.err.not_http"), r.to_dict("en")
    vi, en = assert_readable(r)
    assert "not in HTTP" in en["message"] and "không theo giao thức HTTP" in vi["message"]
