"""poly-rest sessions against the REST simulator on a real socket: re-login when the device expires the
session (HTTP 403), the Group Series 6.x login/logout fallback, and plain HTTP (only with allow_insecure,
and then codec.login warns in both languages)."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from agent.sim.poly_rest import PolyRestSim, RestState
from agent.vendors import connection_from_config, get_driver_class
from agent.vendors.pinning import tls_fingerprint
from tests.vendors.poly_peers import CANARY, REST_CAPTURE, by_id, make_config, report_text, run_codec_check

LOGINS = ("POST /rest/current/session", "POST /rest/session")


def rest_codec(sim: PolyRestSim, **extra) -> dict:
    codec = {"vendor": "poly-rest", "port": sim.port}
    if sim.tls:
        codec["tls"] = {"fingerprint": tls_fingerprint(sim.certificate_der)}
    else:
        codec["transport"] = "http"
    codec.update(extra)
    return codec


def statuses(report) -> dict[str, str]:
    return {r.id: r.status.value for r in report.results}


def baseline(tmp_path) -> dict[str, str]:
    (tmp_path / "baseline").mkdir()
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        return statuses(run_codec_check(make_config(tmp_path / "baseline", rest_codec(sim))))


# -- 403: the device expired the session ------------------------------------------------------------
@pytest.mark.parametrize("at", [2, 5, 9], ids=["first-read", "mid-poll", "last-read"])
def test_expired_session_is_renewed_once(tmp_path, at):
    """The device drops the session when its at-th request arrives (1 = the login): that read gets 403, the
    driver logs in once more, repeats the read, finishes the poll and logs the new session out."""
    expected = baseline(tmp_path)
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(expire_at_request=at)) as sim:
        report = run_codec_check(make_config(tmp_path, rest_codec(sim)))
        requests = list(sim.requests)
        assert sim.sessions_expired == 1
        assert sim.sessions_opened == 2, requests  # exactly one new login
        assert sim.sessions_open == 0, "a session was left open on the codec"
        assert sim.logouts == 1, requests  # the renewed session; the expired one is already gone
    refused = requests[at - 1]
    assert refused not in LOGINS
    # the stale session logged out (harmless when the device already dropped it), a new login, the read again
    assert requests[at:at + 3] == ["DELETE /rest/current/session", "POST /rest/current/session", refused], requests
    assert sum(r in LOGINS for r in requests) == 2
    assert statuses(report) == expected  # the renewal is invisible in the result
    assert by_id(report)["codec.login"].status.value == "pass"
    assert CANARY not in report_text(report)


def test_reads_refused_with_a_live_session_fail_the_login_check_after_one_retry(tmp_path):
    """403 that a new login does not cure (an account without API rights): one new login only, then a
    codec.login FAIL naming the refusal, and both sessions logged out (none left to lock VideoOS up)."""
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(forbid_reads=True)) as sim:
        report = run_codec_check(make_config(tmp_path, rest_codec(sim)))
        requests = list(sim.requests)
        assert sim.sessions_opened == 2, requests
        assert sim.sessions_open == 0, f"a session was left open on the codec: {requests}"
    login = by_id(report)["codec.login"]
    assert login.status.value == "fail"
    assert "HTTP 403" in login.message.render("en") and "HTTP 403" in login.message.render("vi")
    assert "từ chối" in login.message.render("vi")
    assert CANARY not in report_text(report)


# -- Group Series 6.x: /rest/session with an action ------------------------------------------------
def test_group_series_6_login_and_logout_fallback(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=RestState(group_series_6=True)) as sim:
        report = run_codec_check(make_config(tmp_path, rest_codec(sim, expect={"registration": "h323",
                                                                               "gatekeeper": "172.31.254.64"})))
        requests = list(sim.requests)
        assert sim.sessions_opened == 1
        assert sim.sessions_open == 0, f"the Group Series 6.x session was left open: {requests}"
        assert sim.logouts == 1
    assert requests[:2] == ["POST /rest/current/session", "POST /rest/session"]  # 404, then the 6.x login
    assert requests[-2:] == ["DELETE /rest/current/session", "POST /rest/session"]  # 404, then the 6.x logout
    result = by_id(report)
    assert result["codec.login"].status.value == "pass"
    assert result["codec.registration"].status.value == "pass"  # 6.x status lines say "state", not "stateList"
    assert CANARY not in report_text(report)


def test_group_series_6_sessions_do_not_pile_up_over_polls(tmp_path):
    """Ten polls in a row against a 6.x codec that locks up at 3 open sessions: each poll logs out."""
    state = RestState(group_series_6=True, max_sessions=3)
    with PolyRestSim(REST_CAPTURE, password=CANARY, state=state) as sim:
        config = make_config(tmp_path, rest_codec(sim), budget=5.0)  # a lock-up fails in seconds, not minutes
        for _ in range(10):
            assert by_id(run_codec_check(config))["codec.version"].status.value == "pass"
        assert sim.sessions_opened == 10 and sim.sessions_open == 0


# -- plain HTTP ----------------------------------------------------------------------------------------
def test_http_is_refused_without_allow_insecure(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, tls=False) as sim:
        with pytest.raises(ConfigError) as info:
            make_config(tmp_path, rest_codec(sim))
        assert info.value.key == "codec.transport" and "allow_insecure" in str(info.value)
        assert sim.requests == []  # the password never left


def test_http_wire_refuses_without_allow_insecure_even_if_config_is_bypassed(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, tls=False) as sim:
        config = make_config(tmp_path, rest_codec(sim, allow_insecure=True))
        conn = connection_from_config(config)
        conn.allow_insecure = False
        with pytest.raises(ConfigError) as info:
            get_driver_class("poly-rest")(conn).poll()
        assert info.value.key == "codec.transport"
        assert sim.requests == []


def test_http_with_allow_insecure_reads_and_warns_in_both_languages(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY, tls=False) as sim:
        report = run_codec_check(make_config(tmp_path, rest_codec(sim, allow_insecure=True)))
        assert sim.sessions_opened == 1 and sim.sessions_open == 0
        assert "GET /rest/system" in sim.requests
    run = next(r for r in report.runs if r.name == "codec")
    assert run.error is None and run.status.transport == "http" and run.status.insecure_transport is True
    assert run.status.facts.model == "StudioX30"
    login = by_id(report)["codec.login"]
    assert login.status.value == "warn"
    vi, en = login.message.render("vi"), login.message.render("en")
    assert "HTTP" in vi and "KHÔNG mã hóa" in vi
    assert "unencrypted HTTP" in en
    assert "HTTPS" in login.remedy.render("vi") and "HTTPS" in login.remedy.render("en")
    assert "Điều 7" in login.remedy.render("vi") and "Article 7" in login.remedy.render("en")
    assert CANARY not in report_text(report)


def test_http_session_cookie_flagged_secure_is_still_sent(tmp_path):
    """A codec that marks its session cookie Secure over plain HTTP: the client would never send it back
    (every read 403, codec.login a false FAIL, two sessions left open — so it was before the fix)."""
    with PolyRestSim(REST_CAPTURE, password=CANARY, tls=False, cookie_secure=True) as sim:
        report = run_codec_check(make_config(tmp_path, rest_codec(sim, allow_insecure=True)))
        assert sim.sessions_opened == 1 and sim.sessions_open == 0, sim.requests
    assert by_id(report)["codec.login"].status.value == "warn"
    assert by_id(report)["codec.version"].status.value == "pass"
