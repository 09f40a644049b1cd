"""vendor = "auto": identified once over the configured transport, remembered in the state dir."""

from __future__ import annotations

import json

import pytest

from agent.sim.poly_gs import PolyGSSim
from agent.sim.poly_rest import PolyRestSim
from agent.vendors import driver_for
from agent.vendors.pinning import ssh_fingerprint, tls_fingerprint
from agent.vendors.poly_gs import PolyGSDriver
from tests.vendors.poly_peers import CANARY, GS_CAPTURE, REST_CAPTURE, by_id, make_config, run_codec_check, snmpsim_codec  # noqa: F401


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(PolyGSDriver, "command_gap", 0.0)


def identity(config):
    return json.loads((config.state_dir / "codec-identity.json").read_text())


def test_auto_ssh_group_series(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="ssh", password=CANARY) as sim:
        config = make_config(tmp_path, {"vendor": "auto", "transport": "ssh", "port": sim.port,
                                        "ssh_fingerprint": ssh_fingerprint(sim.host_key)})
        report = run_codec_check(config)
        assert by_id(report)["codec.registration"].status.value == "pass"
        assert identity(config)["vendor"] == "poly-gs" and sim.sessions_opened == 1
        driver = driver_for(config)  # a later run: straight to the remembered driver
        assert driver.identity["vendor"] == "poly-gs"
        driver.poll()
        driver.close()
        assert sim.sessions_opened == 2


def test_auto_https_videoos(tmp_path):
    with PolyRestSim(REST_CAPTURE, password=CANARY) as sim:
        config = make_config(tmp_path, {"vendor": "auto", "transport": "https", "port": sim.port,
                                        "tls": {"fingerprint": tls_fingerprint(sim.certificate_der)}})
        report = run_codec_check(config)
        assert by_id(report)["codec.version"].status.value == "pass"
        assert identity(config)["vendor"] == "poly-rest"
        assert sim.sessions_open == 0


def test_auto_snmp(tmp_path, snmpsim_codec):  # noqa: F811
    config = make_config(tmp_path, {"vendor": "auto", "transport": "snmp", "port": snmpsim_codec.port},
                         community="studiox50-librenms")
    run_codec_check(config)
    found = identity(config)
    assert found["vendor"] == "snmp" and "1.3.6.1.4.1.2684" in found["evidence"]


def test_auto_wrong_password_is_a_login_failure_not_another_vendor(tmp_path):
    with PolyGSSim(GS_CAPTURE, transport="telnet", password="other") as sim:
        config = make_config(tmp_path, {"vendor": "auto", "transport": "telnet", "port": sim.port,
                                        "allow_insecure": True})
        report = run_codec_check(config)
    assert by_id(report)["codec.login"].status.value == "fail"
    assert not (config.state_dir / "codec-identity.json").exists()
