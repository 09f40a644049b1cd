"""The collector serving HTTPS itself (uvicorn's ssl options via `serve --tls-*`), with client
certificates required: a real collector process, real TLS handshakes, certificates made for the test."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import ssl

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import payloads as P
from .conftest import make_room
from .procs import start_collector


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, issuer_name: x509.Name, issuer_key, key, *, ca=False, server=False, client=False):
    now = _dt.datetime.now(_dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path, cert=None, key=None):
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    path.write_bytes(data)
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    """A CA, the collector's server certificate, a room's client certificate, and a stranger's."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("hntht test CA", _name("hntht test CA"), ca_key, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert("collector", ca.subject, ca_key, srv_key, server=True)
    cli_key = ec.generate_private_key(ec.SECP256R1())
    cli = _cert("qn-a", ca.subject, ca_key, cli_key, client=True)
    other_ca_key = ec.generate_private_key(ec.SECP256R1())
    other_ca = _cert("someone else", _name("someone else"), other_ca_key, other_ca_key, ca=True)
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _cert("qn-a", other_ca.subject, other_ca_key, stranger_key, client=True)
    return {
        "ca": _write(tmp_path / "ca.pem", ca),
        "server_cert": _write(tmp_path / "server.pem", srv), "server_key": _write(tmp_path / "server.key", key=srv_key),
        "client": (_write(tmp_path / "client.pem", cli), _write(tmp_path / "client.key", key=cli_key)),
        "stranger": (_write(tmp_path / "stranger.pem", stranger), _write(tmp_path / "stranger.key", key=stranger_key)),
    }


def test_https_with_required_client_certificate(pki, db_url, storage, tmp_path):
    token = make_room(storage, "qn-a")
    proc = start_collector(db_url, tmp_path, extra_args=["--tls-cert", pki["server_cert"], "--tls-key", pki["server_key"],
                                                         "--tls-client-ca", pki["ca"], "--require-client-cert"],
                           scheme="https", health_kwargs={"verify": pki["ca"], "cert": pki["client"]})
    try:
        r = requests.post(proc.url + "/api/v1/heartbeat", json=P.heartbeat("qn-a"), timeout=10,
                          headers={"Authorization": f"Bearer {token}"}, verify=pki["ca"], cert=pki["client"])
        assert r.status_code == 200 and r.json()["accepted"] is True
        assert storage.room("qn-a")["liveness"] == "online"
        # No client certificate, or one from another CA: the handshake fails before any HTTP.
        for cert in (None, pki["stranger"]):
            with pytest.raises(requests.exceptions.ConnectionError):  # SSLError, or a reset in TLS 1.3
                requests.get(proc.url + "/healthz", timeout=10, verify=pki["ca"], cert=cert)
        # Plain HTTP on the TLS port gets nothing useful either.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(proc.url.replace("https://", "http://") + "/healthz", timeout=10)
        # The server presents the certificate for 127.0.0.1 signed by our CA: verification passes.
        ctx = ssl.create_default_context(cafile=pki["ca"])
        ctx.load_cert_chain(*pki["client"])
        host, port = proc.url.split("//")[1].split(":")
        import socket
        with socket.create_connection((host, int(port)), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        log = proc.stop()
    assert token not in log
