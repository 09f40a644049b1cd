"""vendor = "auto": identified once from what the codec shows before any login, remembered in the state dir.

Every test runs against the real simulators (agent/sim/) on real sockets: the Cisco peer over SSH
and HTTPS, the Group Series peer over SSH and Telnet, the VideoOS REST peer, and snmpsim.  Sessions
are counted on the simulator side.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

import pytest

from agent.sim.cisco import CiscoSim
from agent.sim.poly_gs import PolyGSSim
from agent.sim.poly_rest import PolyRestSim
from agent.vendors import auto, driver_for
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, by_id, make_config, run_codec_check, snmpsim_codec  # noqa: F401


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def identity(config):
    return json.loads((config.state_dir / "codec-identity.json").read_text())


def subdir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


def identity_file(config):
    return config.state_dir / "codec-identity.json"


# -- one peer per (vendor, transport), and how it counts the sessions opened on it ----------------------
class Peer:
    def __init__(self, sim: Any, codec: dict[str, Any], sessions: Any, logins_tried: Any, vendor: str) -> None:
        self.sim, self.codec, self.vendor = sim, codec, vendor
        self.sessions = sessions  # sessions the codec opened for the agent (logged-in)
        self.logins_tried = logins_tried  # login attempts the codec saw (refused or not)


@contextmanager
def peer(kind: str, password: str = CANARY) -> Iterator[Peer]:
    if kind.endswith("-paramiko"):  # the same peer, the session through paramiko instead of OpenSSH
        with peer(kind[:-len("-paramiko")], password) as p:
            p.codec["ssh_client"] = "paramiko"
            yield p
        return
    if kind.startswith("cisco"):
        with CiscoSim(password=password) as sim:
            def https_logins(s=sim):
                return sum(1 for t, c in s.received
                           if t == "https" and c.startswith(("POST /xmlapi/session/begin", "POST /rest/")))
            if kind == "cisco-ssh":
                yield Peer(sim, {"transport": "ssh", "port": sim.ssh_port, "username": sim.username,
                                 "ssh_fingerprint": ssh_fingerprint(sim.host_key)},
                           lambda s=sim: s.ssh_logins, None, "cisco")
            else:
                yield Peer(sim, {"transport": "https", "port": sim.https_port, "username": sim.username,
                                 "tls": {"fingerprint": tls_fingerprint(sim.cert_der)}},
                           lambda s=sim: s.http_sessions_begun, https_logins, "cisco")
    elif kind == "gs-ssh":
        with PolyGSSim(GS_CAPTURE, transport="ssh", password=password) as sim:
            yield Peer(sim, {"transport": "ssh", "port": sim.port, "ssh_fingerprint": ssh_fingerprint(sim.host_key)},
                       lambda s=sim: s.sessions_opened, lambda s=sim: s.sessions_opened + s.logins_failed, "poly-gs")
    elif kind == "gs-telnet":
        with PolyGSSim(GS_CAPTURE, transport="telnet", password=password) as sim:
            # (the Telnet peer counts every Password: round it asks, so no login count here: one candidate)
            yield Peer(sim, {"transport": "telnet", "port": sim.port, "allow_insecure": True},
                       lambda s=sim: s.sessions_opened, None, "poly-gs")
    elif kind == "rest-https":
        with PolyRestSim(REST_CAPTURE, password=password) as sim:
            def rest_logins(s=sim):
                return sum(1 for r in s.requests if r in ("POST /rest/current/session", "POST /rest/session",
                                                          "POST /xmlapi/session/begin"))
            yield Peer(sim, {"transport": "https", "port": sim.port,
                             "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}},
                       lambda s=sim: s.sessions_opened, rest_logins, "poly-rest")
    else:  # pragma: no cover
        raise ValueError(kind)


KINDS = ["cisco-ssh", "cisco-ssh-paramiko", "cisco-https", "gs-ssh", "gs-ssh-paramiko", "gs-telnet", "rest-https"]


@pytest.mark.parametrize("kind", KINDS)
def test_auto_identifies_records_and_opens_one_session(tmp_path, kind):
    with peer(kind) as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        report = run_codec_check(config)
        results = by_id(report)
        assert results["codec.login"].status.value in ("pass", "warn"), results["codec.login"].message.render("en")
        assert results["codec.reachable"].status.value == "pass"
        found = identity(config)
        assert found["vendor"] == p.vendor
        # Identified before any login (Telnet has one candidate), and what was seen is on record.
        assert found["identified_by"] == ("only candidate" if kind == "gs-telnet" else "before login")
        assert status_of(report).transport == p.codec["transport"]
        assert p.sessions() == 1, f"{kind}: {p.sessions()} sessions opened for one poll"
        status = next(run.status for run in report.runs if run.status is not None)
        assert status.raw["_identified_as"] == p.vendor
        assert status.raw["_identity_evidence"] == found["evidence"]
        if p.logins_tried is not None:
            assert p.logins_tried() == 1, "the password went to one login only"
        assert_read_only(kind, p)


def assert_read_only(kind: str, p: Peer) -> None:
    """What the peer received: auto's two unauthenticated GETs, then only the chosen driver's reads."""
    from agent.vendors import get_driver_class

    allowed = get_driver_class(p.vendor).ALLOWED
    if kind.startswith("cisco"):
        received = [c for _, c in p.sim.received]
        if "https" in kind:
            assert received[:3] == ["GET /status.xml", "GET /rest/system", "POST /xmlapi/session/begin"]
            assert set(received[3:]) <= {"GET /status.xml", "GET /configuration.xml", "POST /xmlapi/session/end",
                                         "POST /putxml <Command><Camera><Preset><List/></Preset></Camera></Command>"}
        else:
            assert received and all(allowed.permits(c.split(" | ")[0]) for c in received), received
    elif kind.startswith("gs"):
        assert p.sim.commands and all(allowed.permits(c) or c in ("exit", "bye") for c in p.sim.commands), p.sim.commands
    else:
        assert p.sim.requests[:3] == ["GET /status.xml", "GET /rest/system", "POST /rest/current/session"]
        rest = [r for r in p.sim.requests[3:] if r not in ("POST /rest/current/session", "DELETE /rest/current/session")]
        assert rest and all(allowed.permits(r) for r in rest), rest


def test_auto_ssh_evidence_is_read_before_the_login(tmp_path):
    """The SSH evidence: identification line, host key algorithm, login methods; no password sent."""
    with peer("cisco-ssh") as cisco, peer("gs-ssh") as gs:
        for p, methods in ((cisco, ["keyboard-interactive"]), (gs, ["password"])):
            config = make_config(subdir(tmp_path, p.vendor), {"vendor": "auto", **p.codec})
            evidence = auto.ssh_evidence(driver_for(config).connection)
            assert evidence.vendor == p.vendor
            assert evidence.seen["server_version"].startswith("SSH-2.0-")
            assert evidence.seen["auth_methods"] == methods
        assert gs.sim.sessions_opened == 0 and gs.sim.logins_failed == 0
        assert cisco.sim.ssh_logins == 0


def test_auto_evidence_recorded_in_the_identity_file(tmp_path):
    with peer("gs-ssh") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        run_codec_check(config)
        seen = identity(config)["seen"]
        assert seen["host_key_algorithm"] == "ssh-rsa" and seen["auth_methods"] == ["password"]
        assert "ssh-rsa" in identity(config)["evidence"]
    with peer("rest-https") as p:
        config = make_config(subdir(tmp_path, "rest"), {"vendor": "auto", **p.codec})
        run_codec_check(config)
        seen = identity(config)["seen"]
        assert seen["/rest/system"]["status"] == 403 and seen["/rest/system"]["json"] is True
        assert seen["/status.xml"].get("www-authenticate") is None
        # the unauthenticated reads are the only requests before the one login
        assert p.sim.requests[:3] == ["GET /status.xml", "GET /rest/system", "POST /rest/current/session"]


def test_auto_remembers_and_goes_straight_to_the_driver(tmp_path):
    with peer("cisco-https") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        run_codec_check(config)
        probes = [c for _, c in p.sim.received if c == "GET /rest/system"]
        assert len(probes) == 1
        driver = driver_for(config)  # a later run: no identification, straight to the remembered driver
        assert driver.identity["vendor"] == "cisco"
        driver.poll()
        driver.close()
        assert p.sim.http_sessions_begun == 2
        assert [c for _, c in p.sim.received if c == "GET /rest/system"] == probes  # no second identification


@pytest.mark.parametrize("kind", KINDS)
def test_auto_wrong_password_on_an_identified_codec_is_a_login_failure(tmp_path, kind):
    with peer(kind, password="not-the-configured-one") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        report = run_codec_check(config)
        login = by_id(report)["codec.login"]
        assert login.status.value == "fail", login.message.render("en")
        assert "từ chối đăng nhập" in login.message.render("vi"), login.message.render("vi")
        assert "refused the login" in login.message.render("en"), login.message.render("en")
        assert "password_file" in login.remedy.render("vi") and "password_file" in login.remedy.render("en")
        assert not identity_file(config).exists()
        assert p.sessions() == 0
        if p.logins_tried is not None:
            assert p.logins_tried() == 1, "one login tried: the identified vendor's, not every candidate's"


def test_auto_unidentified_refusal_tries_the_next_vendor(tmp_path, monkeypatch):
    """No evidence before login (the probe saw nothing telling): VideoOS's login refused by the Cisco
    means "not this vendor", and the Cisco session opens."""
    monkeypatch.setattr(auto, "http_evidence", lambda connection: auto.Evidence(seen={"note": "nothing"}))
    with peer("cisco-https") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        report = run_codec_check(config)
        assert by_id(report)["codec.login"].status.value == "pass"
        found = identity(config)
        assert found["vendor"] == "cisco" and found["identified_by"] == "login"
        assert "poly-rest" in found["evidence"]  # the refusal that led on is on record
        assert p.sim.http_sessions_begun == 1


@pytest.mark.parametrize("kind", ["cisco-ssh", "cisco-https"])
def test_auto_unidentified_cisco_is_tried_first_from_the_weaker_sign(tmp_path, monkeypatch, kind):
    """A Cisco whose login methods say nothing decisive (say it also offers password login): not
    identified, but its non-ssh-rsa host key (or its Basic challenge) puts the Cisco driver first, so
    still one session and no greeting timeout from the Group Series driver."""
    verdicts = {"ssh": auto._ssh_verdict, "https": auto._http_verdict}
    monkeypatch.setattr(auto, "_ssh_verdict", lambda seen: verdicts["ssh"](
        {**seen, "auth_methods": ["keyboard-interactive", "password"]}))
    monkeypatch.setattr(auto, "_http_verdict", lambda seen: (None, []))
    with peer(kind) as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        assert by_id(run_codec_check(config))["codec.login"].status.value == "pass"
        found = identity(config)
        assert found["vendor"] == "cisco" and found["identified_by"] == "login"
        assert "cisco tried first" in found["evidence"]
        assert p.sessions() == 1


def test_auto_unidentified_and_refused_everywhere_is_a_login_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(auto, "http_evidence", lambda connection: auto.Evidence())
    with peer("cisco-https", password="not-the-configured-one") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        report = run_codec_check(config)
        login = by_id(report)["codec.login"]
        assert login.status.value == "fail"
        vi, en = login.message.render("vi"), login.message.render("en")
        assert "chưa nhận ra loại thiết bị đầu cuối qua https" in vi and "poly-rest:" in vi and "cisco:" in vi, vi
        assert "was not identified and refused the login" in en, en
        assert not identity_file(config).exists()


def test_auto_changed_ssh_key_stops_before_any_password(tmp_path):
    with peer("gs-ssh") as p:
        config = make_config(tmp_path, {"vendor": "auto", **p.codec})
        p.sim.change_host_key()
        report = run_codec_check(config)
        login = by_id(report)["codec.login"]
        assert login.status.value == "fail" and "ĐÃ THAY ĐỔI" in login.message.render("vi")
        assert p.sim.sessions_opened == 0 and p.sim.logins_failed == 0
        assert not identity_file(config).exists()


def status_of(report):
    return next(run.status for run in report.runs if run.status is not None)


def test_auto_unpinned_ssh_key_sends_no_password(tmp_path):
    with peer("cisco-ssh") as p:
        codec = {k: v for k, v in p.codec.items() if k != "ssh_fingerprint"}
        config = make_config(tmp_path, {"vendor": "auto", **codec})
        login = by_id(run_codec_check(config))["codec.login"]
        assert login.status.value == "error" and "codec trust" in login.message.render("vi")
        assert p.sim.ssh_logins == 0 and not identity_file(config).exists()


@pytest.mark.parametrize("transport", ["ssh", "https"])
def test_auto_closed_port_is_unreachable(tmp_path, transport):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and now refuses connections
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    codec = {"transport": transport, "port": port, "ssh_fingerprint": "SHA256:" + "A" * 43,
             "tls": {"fingerprint": "AB:" * 31 + "AB"}}
    if transport == "https":
        del codec["ssh_fingerprint"]
    else:
        del codec["tls"]
    config = make_config(tmp_path, {"vendor": "auto", **codec})
    result = by_id(run_codec_check(config))["codec.reachable"]
    assert result.status.value == "fail"
    assert "không kết nối được" in result.message.render("vi") or "không nhận kết nối" in result.message.render("vi")


def test_http_verdict_documented_fingerprints():
    """codecs.md §0.3's answers (a codec that serves them without login) and a contradiction."""
    cisco = {"/status.xml": {"status": 200, "product": "Cisco Codec", "json": False},
             "/rest/system": {"status": 404, "json": False}}
    videoos = {"/status.xml": {"status": 404, "json": True}, "/rest/system": {"status": 200, "model": "StudioX30", "json": True}}
    both = {"/status.xml": {"status": 200, "product": "Cisco Codec", "json": False},
            "/rest/system": {"status": 200, "model": "StudioX30", "json": True}}
    # VideoOS's own JSON outweighs a Basic challenge its web server might put on an unknown path
    basic_and_json = {"/status.xml": {"status": 401, "www-authenticate": "Basic realm=x", "json": False},
                      "/rest/system": {"status": 200, "model": "StudioX30", "json": True}}
    assert auto._http_verdict(basic_and_json)[0] == "poly-rest"
    assert auto._http_verdict(cisco)[0] == "cisco"
    assert auto._http_verdict(videoos)[0] == "poly-rest"
    assert auto._http_verdict(both)[0] is None
    assert auto._http_verdict({})[0] is None
    assert auto._ssh_verdict({"auth_methods": ["keyboard-interactive"], "host_key_algorithm": "ssh-rsa"})[0] is None
    assert auto._ssh_verdict({"auth_methods": ["keyboard-interactive", "password"],
                              "host_key_algorithm": "ssh-ed25519"})[0] is None
    assert auto._ssh_lean({"host_key_algorithm": "ssh-ed25519"}) == "cisco"
    assert auto._ssh_lean({"host_key_algorithm": "ssh-rsa"}) == "poly-gs"
    assert auto._http_lean(basic_and_json) is None
    assert auto._http_lean({"/status.xml": {"status": 401, "www-authenticate": "Basic realm=x"}}) == "cisco"


def test_auto_snmp(tmp_path, snmpsim_codec):  # noqa: F811
    config = make_config(tmp_path, {"vendor": "auto", "transport": "snmp", "port": snmpsim_codec.port},
                         community="studiox50-librenms")
    report = run_codec_check(config)
    found = identity(config)
    assert found["vendor"] == "snmp" and "1.3.6.1.4.1.2684" in found["evidence"]
    assert found["identified_by"] == "before login" and found["seen"]["sysObjectID"] == "1.3.6.1.4.1.2684"
    status = next(run.status for run in report.runs if run.status is not None)
    assert status.raw["_identified_as"] == "snmp"
