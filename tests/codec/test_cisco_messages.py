"""Cisco fault states that are not device states (slow answer, never answers, garbage, auth failure,
changed host key), end to end through the codec probe and the checklist runner, in every Cisco mode:
the check status, the message key, the device error inside it, and a readable Vietnamese remedy.

Unlike tests/codec/test_cisco_driver.py (driver exceptions, or checks.login_failed called by the test),
nothing here maps an error by hand: the probe's own ``failed()`` turns what the driver raised into results.
"""

from __future__ import annotations

import time

import pytest

from agent.model import Status
from tests.codec.conftest import CANARY, MODES, connection
from tests.codec.readable import assert_readable, inner_key
from tests.vendors.poly_peers import by_id, make_config, report_text, run_codec_check



def cisco_config(tmp_path, sim, mode, *, timeout: str = "3s", budget: float = 12.0):
    """The room's config for this mode, with the codec's key/certificate pinned as `codec trust` leaves it."""
    state = tmp_path / "state"
    connection(sim, mode, state)  # pins into <state>/known_hosts or known_certs
    transport = "https" if mode == "https" else "ssh"
    codec = {"vendor": "cisco", "transport": transport, "username": sim.username, "timeout": timeout,
             "port": sim.https_port if transport == "https" else sim.ssh_port}
    if transport == "ssh":
        codec["ssh_client"] = "paramiko" if mode.startswith("paramiko") else "openssh"
    return make_config(tmp_path, codec, budget=budget, password=CANARY)


def set_faults(sim, mode, *faults):
    # The terminal modes: a codec whose software refuses `xPreferences OutputMode JSON`.
    sim.set_faults(*faults, *(["no_json"] if mode.endswith("-terminal") else []))


def check(sim, config):
    report = run_codec_check(config)
    assert CANARY not in report_text(report)
    return by_id(report), report


def no_status_results(results):
    """A failed read gives only the reachable/login rows, never a guessed value for the other checks."""
    assert set(results) <= {"codec.reachable", "codec.login"}, sorted(results)


@pytest.mark.parametrize("mode", MODES)
def test_slow_answer_within_the_timeout_reads_everything(clean, tmp_path, mode):
    config = cisco_config(tmp_path, clean, mode, timeout="3s")
    clean.slow_seconds = 0.25
    set_faults(clean, mode, "slow")
    started = time.monotonic()
    results, _ = check(clean, config)
    assert time.monotonic() - started >= 0.25  # the fault was in effect
    reachable = results["codec.reachable"]
    assert (reachable.status, reachable.message.key) == (Status.PASS, "codec.reachable.ok")
    assert "Cisco Room Bar" in reachable.to_dict("vi")["message"]
    bad = {i: r.to_dict("en")["message"] for i, r in results.items() if r.status in (Status.FAIL, Status.ERROR)}
    assert not bad


@pytest.mark.parametrize("fault", ["slow", "never_answers"])
@pytest.mark.parametrize("mode", MODES)
def test_no_answer_within_the_timeout_is_an_error_saying_so(clean, tmp_path, mode, fault):
    config = cisco_config(tmp_path, clean, mode, timeout="1s")
    clean.slow_seconds = 2.5  # "slow": later than the 1 s timeout
    set_faults(clean, mode, fault)
    started = time.monotonic()
    results, _ = check(clean, config)
    assert time.monotonic() - started < 1 + 4  # the driver's timeout, not the 12 s budget
    r = results["codec.reachable"]
    assert (r.status, r.message.key, inner_key(r)) == (Status.ERROR, "codec.reachable.error", "codec.err.timeout")
    vi, en = assert_readable(r)
    assert "'xStatus'" in en["message"] and "trong 1 giây" in vi["message"]
    no_status_results(results)


@pytest.mark.parametrize("mode", MODES)
def test_garbage_is_an_error_naming_what_was_wrong(clean, tmp_path, mode):
    config = cisco_config(tmp_path, clean, mode, timeout="2s")
    set_faults(clean, mode, "garbage")
    results, _ = check(clean, config)
    r = results["codec.reachable"]
    assert (r.status, r.message.key) == (Status.ERROR, "codec.reachable.error")
    # The parser's own complaint (codec.tree.*), not a time-out: the codec did answer.
    assert (inner_key(r) or "").startswith("codec.tree."), (inner_key(r), r.to_dict("en")["message"])
    assert_readable(r)
    no_status_results(results)


@pytest.mark.parametrize("mode", MODES)
def test_auth_failure_through_the_probe(clean, tmp_path, mode):
    config = cisco_config(tmp_path, clean, mode)
    set_faults(clean, mode, "auth_failure")
    results, report = check(clean, config)
    reachable, login = results["codec.reachable"], results["codec.login"]
    assert (reachable.status, reachable.message.key) == (Status.PASS, "codec.reachable.answered")
    assert (login.status, login.message.key) == (Status.FAIL, "codec.login.fail")
    expected_inner = "codec.ssh.refused_login" if mode.startswith("ssh-") else "codec.err.login_refused"
    assert inner_key(login) == expected_inner
    vi, en = assert_readable(login)
    assert "'admin'" in vi["message"] and "từ chối đăng nhập" in vi["message"]
    assert "password_file" in vi["remedy"] and "ADMIN" in vi["remedy"]
    no_status_results(results)
    assert report.overall is Status.FAIL


@pytest.mark.parametrize("mode", MODES)
def test_changed_host_key_through_the_probe(clean, tmp_path, mode):
    config = cisco_config(tmp_path, clean, mode)  # pins what the codec shows now
    set_faults(clean, mode, "changed_host_key")  # a new SSH host key and a new TLS certificate
    logins, received = clean.ssh_logins, len(clean.received)
    results, _ = check(clean, config)
    reachable, login = results["codec.reachable"], results["codec.login"]
    assert (reachable.status, reachable.message.key) == (Status.PASS, "codec.reachable.answered")
    assert (login.status, login.message.key) == (Status.FAIL, "codec.login.hostkey")
    assert inner_key(login) == ("codec.err.tls_mismatch" if mode == "https" else "codec.pin.ssh_changed")
    vi, en = assert_readable(login)
    # The remedy a technician follows (asserted word for word where it matters): confirm, then replace.
    assert "ĐÃ THAY ĐỔI" in vi["message"] and "CHANGED" in en["message"]
    assert "Xác nhận với VNPT" in vi["remedy"] and "`hntht-agent codec trust --replace`" in vi["remedy"]
    assert "so khớp mã nhận dạng trên màn hình thiết bị" in vi["remedy"]
    assert "Confirm with VNPT" in en["remedy"] and "`hntht-agent codec trust --replace`" in en["remedy"]
    no_status_results(results)
    # Refused before the password: no login on SSH, no request at all over HTTPS.
    assert clean.ssh_logins == logins
    if mode == "https":
        assert clean.received[received:] == []



@pytest.mark.parametrize("buffer,refused", [
    ("", False), ("O", False), ("OK", False), ("OK\n", False), ("\nOK\nERR", False), ('OK\n{"Status": {', False),
    ("OK\nEROR\n", True), ("x", True), ("\x1b[0m", True), ('** end\n{"a": 1}', True), ("OKAY", True),
])
def test_text_before_json_is_refused_as_soon_as_it_cannot_be_ok_or_error(buffer, refused):
    """What JSON mode may carry between objects is "OK"/"ERROR" lines; anything else is garbage at once."""
    from agent.errors import ProtocolError
    from agent.vendors.cisco import _refuse_text_before_json

    if refused:
        with pytest.raises(ProtocolError) as caught:
            _refuse_text_before_json(buffer)
        assert caught.value.text.key == "codec.tree.text_outside_json"
    else:
        _refuse_text_before_json(buffer)
