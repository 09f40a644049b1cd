"""Trusting a codec: pinned SSH host keys and TLS certificates, and the sessions that enforce them.

- SSH: the host key must match ``[codec] ssh_fingerprint`` ("SHA256:...", as `ssh-keygen -lf`
  prints it) or the entry for ``[host]:port`` in ``<state_dir>/known_hosts`` (OpenSSH format), which
  `hntht-agent codec trust` fills.  The key is checked *before* the password is sent.
- HTTPS: the certificate must match ``[codec.tls] fingerprint`` / the entry in
  ``<state_dir>/known_certs``, or chain to ``[codec.tls] ca_file``.  Codecs use self-signed
  certificates, so pinning is the usual way; the host name is not checked when a pin is used (the
  pin is stronger than a name).

Shared by every driver that speaks SSH or HTTPS (cisco, poly-gs over SSH, poly-rest).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
from pathlib import Path
from typing import Any

from agent.errors import DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.vendors import sshlib
from agent.vendors.base import Connection, HostKeyUnknown


# -- fingerprints -------------------------------------------------------------------------------
def ssh_fingerprint(key: Any) -> str:
    """OpenSSH style: SHA256:<base64 without padding> of the public key blob."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def tls_fingerprint(der: bytes) -> str:
    """sha256:AB:CD:... of the DER certificate (what browsers and `openssl x509 -fingerprint -sha256` show)."""
    hexd = hashlib.sha256(der).hexdigest().upper()
    return "sha256:" + ":".join(hexd[i:i + 2] for i in range(0, len(hexd), 2))


def normalise_tls_fingerprint(text: str) -> str:
    hexd = text.strip().lower().removeprefix("sha256:").removeprefix("sha256=").replace(":", "").replace(" ", "")
    return hexd


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


# -- known_hosts / known_certs ------------------------------------------------------------------
def pinned_ssh_key(connection: Connection) -> tuple[str, str] | None:
    """(key type, fingerprint) pinned for this host, or None."""
    paramiko = sshlib.load()

    path = connection.known_hosts
    if not path.exists():
        return None
    keys = paramiko.HostKeys()
    try:
        keys.load(str(path))
    except (OSError, paramiko.SSHException) as exc:
        raise HostKeyMismatch(f"cannot read the pinned host keys in {path}: {exc}") from None
    entry = keys.lookup(host_entry(connection.host, connection.port))
    if not entry:
        return None
    key_type = next(iter(entry.keys()))
    return key_type, ssh_fingerprint(entry[key_type])


def verify_ssh_key(connection: Connection, key: Any) -> None:
    seen = ssh_fingerprint(key)
    where = f"{connection.host}:{connection.port}"
    if connection.ssh_fingerprint:
        if connection.ssh_fingerprint.strip().rstrip("=") != seen:
            raise HostKeyMismatch(
                f"the SSH host key of {where} is {seen}, not the {connection.ssh_fingerprint} set in "
                "[codec] ssh_fingerprint; the password was not sent. If the codec was replaced or reset, "
                "confirm the new key on its screen and update the config"
            )
        return
    pinned = pinned_ssh_key(connection)
    if pinned is None:
        raise HostKeyUnknown(
            f"the SSH host key of {where} is not trusted yet ({key.get_name()} {seen}); "
            "run `hntht-agent codec trust` and confirm the fingerprint"
        )
    key_type, fingerprint = pinned
    if fingerprint != seen:
        raise HostKeyMismatch(
            f"the SSH host key of {where} CHANGED: pinned {key_type} {fingerprint}, now {key.get_name()} {seen}; "
            f"the password was not sent. If the codec was replaced or reset, check the new key on its screen, "
            f"then run `hntht-agent codec trust --replace`"
        )


def store_ssh_key(connection: Connection, key: Any, *, replace: bool = False) -> Path:
    paramiko = sshlib.load()

    path = connection.known_hosts
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = paramiko.HostKeys()
    if path.exists():
        keys.load(str(path))
    name = host_entry(connection.host, connection.port)
    if replace and name in keys:
        del keys[name]
    keys.add(name, key.get_name(), key)
    _write_private(path, lambda tmp: keys.save(str(tmp)))
    return path


def pinned_certificate(connection: Connection) -> str | None:
    if connection.tls_fingerprint:
        return normalise_tls_fingerprint(connection.tls_fingerprint)
    path = connection.known_certs
    if not path.exists():
        return None
    name = f"{connection.host}:{connection.port}"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return normalise_tls_fingerprint(parts[1])
    return None


def store_certificate(connection: Connection, fingerprint: str, *, replace: bool = False) -> Path:
    path = connection.known_certs
    path.parent.mkdir(parents=True, exist_ok=True)
    name = f"{connection.host}:{connection.port}"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if replace:
        lines = [ln for ln in lines if not ln.startswith(name + " ")]
    lines.append(f"{name} {fingerprint}")
    _write_private(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"))
    return path


def _write_private(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# -- fetching what the device presents (for `codec trust`) -------------------------------------
def fetch_ssh_key(host: str, port: int, timeout: float) -> Any:
    paramiko = sshlib.load()

    sock = _connect(host, port, timeout)
    transport = paramiko.Transport(sock)
    from agent.vendors.legacy_ssh import allow_ssh_rsa

    allow_ssh_rsa(transport)  # Poly Group Series offers only ssh-rsa host keys (legacy_ssh.py)
    try:
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ProtocolError(f"{host}:{port} did not complete the SSH handshake: {exc}") from None
    finally:
        transport.close()


def fetch_certificate(host: str, port: int, timeout: float) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only read the certificate to show its fingerprint
    sock = _connect(host, port, timeout)
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (ssl.SSLError, OSError) as exc:
        raise ProtocolError(f"{host}:{port} did not complete the TLS handshake: {exc}") from None
    if not der:
        raise ProtocolError(f"{host}:{port} presented no certificate")
    return der


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise DeviceUnreachable(f"{host}:{port} did not accept a connection within {timeout:g} s") from None
    except OSError as exc:
        raise DeviceUnreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    return sock


# -- authenticated sessions ---------------------------------------------------------------------
def ssh_transport(connection: Connection) -> Any:
    """An authenticated paramiko Transport, host key verified before the password is sent."""
    paramiko = sshlib.load()

    sock = _connect(connection.host, connection.port, connection.timeout)
    transport = paramiko.Transport(sock)
    from agent.vendors.legacy_ssh import allow_ssh_rsa

    allow_ssh_rsa(transport)  # Poly Group Series offers only ssh-rsa host keys (legacy_ssh.py)
    ok = False
    try:
        transport.banner_timeout = connection.timeout
        transport.auth_timeout = connection.timeout
        try:
            transport.start_client(timeout=connection.timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ProtocolError(f"{connection.host}:{connection.port} SSH handshake failed: {exc}") from None
        verify_ssh_key(connection, transport.get_remote_server_key())
        password = connection.password_text()

        def answer(_title: str, _instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
            return [password for _ in prompts]

        try:
            try:
                transport.auth_interactive(connection.username, answer)
            except paramiko.BadAuthenticationType as exc:
                if "password" not in exc.allowed_types:
                    raise DeviceAuthError(
                        f"{connection.host} offers no password login (only {', '.join(exc.allowed_types)})"
                    ) from None
                transport.auth_password(connection.username, password)
        except paramiko.AuthenticationException:
            raise DeviceAuthError(
                f"{connection.host} refused the login of user {connection.username!r}"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise DeviceUnreachable(f"{connection.host}: the SSH session broke during login: {exc}") from None
        if not transport.is_authenticated():
            raise DeviceAuthError(f"{connection.host} refused the login of user {connection.username!r}")
        # Keepalives (codecs drop idle SSH sessions, jsxapi issue #14), and a transport thread that
        # sleeps while the kept session is idle instead of waking 10 times a second (sshlib.py).
        sshlib.quiet_when_idle(transport, 15)
        ok = True
        return transport
    finally:
        if not ok:
            transport.close()


def https_session(connection: Connection) -> tuple[Any, str]:
    """A requests Session that trusts only the pinned certificate or the configured CA, and the base URL."""
    import requests
    from requests.adapters import HTTPAdapter

    scheme = "http" if connection.transport == "http" else "https"
    base = f"{scheme}://{_url_host(connection.host)}:{connection.port}"
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between the agent and the codec
    if scheme == "http":
        return session, base
    pin = pinned_certificate(connection)
    if pin:

        class PinnedAdapter(HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                kwargs["assert_fingerprint"] = pin
                kwargs["cert_reqs"] = "CERT_NONE"
                kwargs["assert_hostname"] = False
                super().init_poolmanager(*args, **kwargs)

        session.mount(base + "/", PinnedAdapter(max_retries=0))
        session.verify = False
    elif connection.tls_ca_file:
        session.verify = connection.tls_ca_file
        session.mount(base + "/", HTTPAdapter(max_retries=0))
    else:
        raise HostKeyUnknown(
            f"the TLS certificate of {connection.host}:{connection.port} is not trusted yet; run "
            "`hntht-agent codec trust` (pins its fingerprint) or set [codec.tls] ca_file"
        )
    return session, base


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
