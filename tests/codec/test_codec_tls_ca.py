"""HTTPS trust through `[codec.tls] ca_file` (agent/vendors/pinning.py https_session): the Cisco and
Poly REST simulators serve a certificate signed by a throwaway CA (tests/daemon/collector_peer.make_pki,
SAN codec.example and 127.0.0.1); the check passes with that CA and nothing pinned, and is refused — before the password
is sent — with another CA, or with the right CA for another name."""

from __future__ import annotations

import ssl

import pytest

from agent.model import Status
from agent.sim.cisco import CiscoSim
from agent.sim.poly_rest import PolyRestSim
from tests.codec.readable import assert_readable, inner_key
from tests.daemon.collector_peer import make_pki
from tests.vendors.poly_peers import REST_CAPTURE, by_id, make_config, report_text, run_codec_check

PASSWORD = "canary-ca-Pw-2b71d0"


def _der(pem_path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


class CaSignedCiscoSim(CiscoSim):
    """The Cisco simulator serving a CA-signed certificate instead of its own self-signed one."""

    def __init__(self, pki, **kw) -> None:
        self._pki = pki
        super().__init__(**kw)

    def _make_cert(self):
        return str(self._pki["server_cert"]), str(self._pki["server_key"]), _der(self._pki["server_cert"])


class CaSignedPolyRestSim(PolyRestSim):
    """The Poly REST simulator serving a CA-signed certificate."""

    def __init__(self, capture, pki, **kw) -> None:
        self._pki = pki
        super().__init__(capture, **kw)

    def change_certificate(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._pki["server_cert"], self._pki["server_key"])
        self.certificate_der = _der(self._pki["server_cert"])
        self.cert_path = self._pki["server_cert"]
        self._server.context = context


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("codec-pki"), hostnames=("codec.example",))  # + IP 127.0.0.1


@pytest.fixture(scope="module", params=["cisco", "poly-rest"])
def peer(request, pki):
    if request.param == "cisco":
        sim = CaSignedCiscoSim(pki, password=PASSWORD).start()
        port, received = sim.https_port, lambda: list(sim.received)
    else:
        sim = CaSignedPolyRestSim(REST_CAPTURE, pki, password=PASSWORD).start()
        port, received = sim.port, lambda: list(sim.requests)
    # The peer really serves the CA-signed certificate (the hook above took effect).
    assert ssl.get_server_certificate(("127.0.0.1", port)).strip() == pki["server_cert"].read_text().strip()
    yield request.param, port, received
    sim.stop()


def run(tmp_path, peer, ca_file, host="127.0.0.1"):
    vendor, port, _ = peer
    config = make_config(tmp_path, {"vendor": vendor, "transport": "https", "port": port, "host": host,
                                    "tls": {"ca_file": str(ca_file)}}, password=PASSWORD)
    report = run_codec_check(config)
    assert PASSWORD not in report_text(report)
    assert not (tmp_path / "state" / "known_certs").exists()  # trusted through the CA, nothing pinned
    return by_id(report)


def test_certificate_from_the_configured_ca_is_trusted(tmp_path, pki, peer):
    results = run(tmp_path, peer, pki["ca"])
    assert results["codec.reachable"].status is Status.PASS, results["codec.reachable"].to_dict("en")
    login = results["codec.login"]
    assert (login.status, login.message.key) == (Status.PASS, "codec.login.ok")


def _refused(results, peer, before):
    reachable, login = results["codec.reachable"], results["codec.login"]
    assert (reachable.status, reachable.message.key) == (Status.PASS, "codec.reachable.answered")
    assert (login.status, login.message.key, inner_key(login)) == \
        (Status.FAIL, "codec.login.ca", "codec.err.tls_untrusted")
    vi, en = assert_readable(login)
    assert "không được tin cậy" in vi["message"] and "is not trusted" in en["message"]
    assert set(results) == {"codec.reachable", "codec.login"}
    assert peer[2]() == before  # the TLS handshake failed: no request, no password, reached the codec
    return vi, en


def test_certificate_from_another_ca_is_refused(tmp_path, pki, peer):
    before = peer[2]()
    _refused(run(tmp_path, peer, pki["other_ca"]), peer, before)


def test_certificate_of_the_right_ca_for_another_name_is_refused(tmp_path, pki, peer):
    """With a CA (unlike a pinned fingerprint) the name is checked: the CA's certificate for 127.0.0.1 and
    codec.example does not vouch for "localhost", though that is the same codec on the same socket."""
    before = peer[2]()
    _refused(run(tmp_path, peer, pki["ca"], host="localhost"), peer, before)


@pytest.mark.parametrize("case", ["other CA", "other name"])
def test_refusal_by_the_ca_says_why_without_claiming_a_change(tmp_path, pki, peer, case):
    ca, host = (pki["other_ca"], "127.0.0.1") if case == "other CA" else (pki["ca"], "localhost")
    login = run(tmp_path, peer, ca, host=host)["codec.login"]
    en, vi = login.to_dict("en")["message"], login.to_dict("vi")["message"]
    assert "CHANGED" not in en and "ĐÃ THAY ĐỔI" not in vi
    assert "HTTPSConnectionPool" not in en + vi and "Max retries" not in en + vi
    assert ("certificate verify failed" if case == "other CA" else "localhost") in en
    assert "codec trust --replace" not in login.to_dict("en")["remedy"]
