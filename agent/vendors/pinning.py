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

from agent.errors import CertificateUntrusted, DeviceAuthError, DeviceError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.i18n import register
from agent.vendors import sshlib
from agent.vendors.base import Connection, HostKeyUnknown, localized

register({
    "codec.pin.unreadable": (
        "Không đọc được tệp khóa đã ghim {path}: {error}",
        "cannot read the pinned host keys in {path}: {error}",
    ),
    "codec.pin.ssh_fp_mismatch": (
        "Khóa SSH của thiết bị đầu cuối {where} là {seen}, không phải khóa {pinned} ghi trong [codec] "
        "ssh_fingerprint; mật khẩu KHÔNG được gửi. Nếu vừa thay hoặc cài lại thiết bị đầu cuối, xem khóa mới "
        "trên màn hình của nó rồi sửa cấu hình",
        "the SSH host key of {where} is {seen}, not the {pinned} set in [codec] ssh_fingerprint; the password "
        "was not sent. If the codec was replaced or reset, confirm the new key on its screen and update the config",
    ),
    "codec.pin.ssh_unknown_nokey": (
        "Chưa tin cậy khóa SSH của thiết bị đầu cuối {where}: chạy `hntht-agent codec trust` và xác nhận dấu vân tay",
        "the SSH host key of {where} is not trusted yet: run `hntht-agent codec trust` and confirm the fingerprint",
    ),
    "codec.pin.ssh_changed": (
        "Khóa SSH của thiết bị đầu cuối {where} ĐÃ THAY ĐỔI (đã ghim {kind} {pinned}, nay là {seen}); mật khẩu "
        "KHÔNG được gửi. Nếu vừa thay hoặc cài lại thiết bị đầu cuối, xem khóa mới trên màn hình của nó rồi chạy "
        "`hntht-agent codec trust --replace`",
        "the SSH host key of {where} CHANGED (pinned {kind} {pinned}, now {seen}); the password was not sent. If "
        "the codec was replaced or reset, check the new key on its screen, then run `hntht-agent codec trust --replace`",
    ),
    "codec.pin.tls_unknown": (
        "Chưa tin cậy chứng chỉ TLS của thiết bị đầu cuối {where}: chạy `hntht-agent codec trust` (ghim dấu vân "
        "tay) hoặc đặt [codec.tls] ca_file",
        "the TLS certificate of {where} is not trusted yet: run `hntht-agent codec trust` (pins its fingerprint) "
        "or set [codec.tls] ca_file",
    ),
    "codec.pin.handshake": (
        "Thiết bị đầu cuối {where} không hoàn tất bắt tay {protocol}: {error}",
        "{where} did not complete the {protocol} handshake: {error}",
    ),
    "codec.pin.no_password_login": (
        "Thiết bị đầu cuối {host} không cho đăng nhập bằng mật khẩu (chỉ: {allowed})",
        "{host} offers no password login (only {allowed})",
    ),
    "codec.pin.no_certificate": (
        "Thiết bị đầu cuối {where} không đưa ra chứng chỉ TLS",
        "{where} presented no certificate",
    ),
})


# -- fingerprints -------------------------------------------------------------------------------
def ssh_fingerprint(key: Any) -> str:
    """OpenSSH style: SHA256:<base64 without padding> of a paramiko key's public blob."""
    return blob_fingerprint(key.asbytes())


def blob_fingerprint(blob: bytes) -> str:
    """OpenSSH style "SHA256:<base64 without padding>" of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def fingerprint_of(blob_b64: str) -> str:
    """The fingerprint of a base64 public key blob as known_hosts and ssh-keyscan write it."""
    return blob_fingerprint(base64.b64decode(blob_b64))


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
def read_known_hosts(path: Path) -> dict[str, list[tuple[str, str]]]:
    """host entry -> [(key type, base64 blob)] from an OpenSSH known_hosts file (plain host names, as
    `codec trust` writes them; hashed entries and markers are skipped).  Standard library only, so the
    service does not load paramiko just to read its pins (openssh.py)."""
    entries: dict[str, list[tuple[str, str]]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise localized(HostKeyMismatch(f"cannot read the pinned host keys in {path}: {exc.strerror or exc}"),
                        "codec.pin.unreadable", path=str(path), error=str(exc.strerror or exc)) from None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0].startswith(("#", "|", "@")):
            continue
        for name in parts[0].split(","):
            entries.setdefault(name, []).append((parts[1], parts[2]))
    return entries


def pinned_ssh_key(connection: Connection) -> tuple[str, str] | None:
    """(key type, fingerprint) pinned for this host, or None."""
    path = connection.known_hosts
    if not path.exists():
        return None
    keys = read_known_hosts(path).get(host_entry(connection.host, connection.port))
    if not keys:
        return None
    key_type, blob = keys[0]
    try:
        return key_type, fingerprint_of(blob)
    except ValueError:
        raise localized(HostKeyMismatch(f"the pinned host key of {connection.host} in {path} is damaged"),
                        "codec.pin.unreadable", path=str(path), error="base64") from None


def verify_ssh_key(connection: Connection, key: Any) -> None:
    seen = ssh_fingerprint(key)
    where = f"{connection.host}:{connection.port}"
    if connection.ssh_fingerprint:
        if connection.ssh_fingerprint.strip().rstrip("=") != seen:
            raise localized(HostKeyMismatch(
                f"the SSH host key of {where} is {seen}, not the {connection.ssh_fingerprint} set in "
                "[codec] ssh_fingerprint; the password was not sent. If the codec was replaced or reset, "
                "confirm the new key on its screen and update the config"
            ), "codec.pin.ssh_fp_mismatch", where=where, seen=seen, pinned=connection.ssh_fingerprint)
        return
    pinned = pinned_ssh_key(connection)
    if pinned is None:
        raise localized(HostKeyUnknown(
            f"the SSH host key of {where} is not trusted yet ({key.get_name()} {seen}); "
            "run `hntht-agent codec trust` and confirm the fingerprint"
        ), "codec.pin.ssh_unknown_nokey", where=where)
    key_type, fingerprint = pinned
    if fingerprint != seen:
        raise localized(HostKeyMismatch(
            f"the SSH host key of {where} CHANGED: pinned {key_type} {fingerprint}, now {key.get_name()} {seen}; "
            f"the password was not sent. If the codec was replaced or reset, check the new key on its screen, "
            f"then run `hntht-agent codec trust --replace`"
        ), "codec.pin.ssh_changed", where=where, kind=key_type, pinned=fingerprint, seen=f"{key.get_name()} {seen}")


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
        raise localized(ProtocolError(f"{host}:{port} did not complete the SSH handshake: {exc}"),
                        "codec.pin.handshake", where=f"{host}:{port}", protocol="SSH", error=str(exc)) from None
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
        raise localized(ProtocolError(f"{host}:{port} did not complete the TLS handshake: {exc}"),
                        "codec.pin.handshake", where=f"{host}:{port}", protocol="TLS", error=str(exc)) from None
    if not der:
        raise localized(ProtocolError(f"{host}:{port} presented no certificate"), "codec.pin.no_certificate",
                        where=f"{host}:{port}")
    return der


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise localized(DeviceUnreachable(f"{host}:{port} did not accept a connection within {timeout:g} s"),
                        "codec.err.no_connect", host=f"{host}:{port}", seconds=f"{timeout:g}") from None
    except OSError as exc:
        raise localized(DeviceUnreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}"),
                        "codec.err.cannot_connect", host=f"{host}:{port}", error=str(exc.strerror or exc)) from None
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
            raise localized(ProtocolError(f"{connection.host}:{connection.port} SSH handshake failed: {exc}"),
                            "codec.pin.handshake", where=f"{connection.host}:{connection.port}", protocol="SSH",
                            error=str(exc)) from None
        verify_ssh_key(connection, transport.get_remote_server_key())
        password = connection.password_text()

        def answer(_title: str, _instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
            return [password for _ in prompts]

        try:
            try:
                transport.auth_interactive(connection.username, answer)
            except paramiko.BadAuthenticationType as exc:
                if "password" not in exc.allowed_types:
                    raise localized(DeviceAuthError(
                        f"{connection.host} offers no password login (only {', '.join(exc.allowed_types)})"
                    ), "codec.pin.no_password_login", host=connection.host,
                        allowed=", ".join(exc.allowed_types)) from None
                transport.auth_password(connection.username, password)
        except paramiko.AuthenticationException:
            raise localized(DeviceAuthError(f"{connection.host} refused the login of user {connection.username!r}"),
                            "codec.err.login_refused", host=connection.host, user=repr(connection.username)) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise localized(DeviceUnreachable(f"{connection.host}: the SSH session broke during login: {exc}"),
                            "codec.err.broken", transport="SSH", error=str(exc)) from None
        if not transport.is_authenticated():
            raise localized(DeviceAuthError(f"{connection.host} refused the login of user {connection.username!r}"),
                            "codec.err.login_refused", host=connection.host, user=repr(connection.username))
        # Keepalives (codecs drop idle SSH sessions, jsxapi issue #14), and a transport thread that
        # sleeps while the kept session is idle instead of waking 10 times a second (sshlib.py).
        sshlib.quiet_when_idle(transport, 15)
        ok = True
        return transport
    finally:
        if not ok:
            transport.close()


class ParamikoShell:
    """An interactive shell on one paramiko channel, with the interface of openssh.OpenSshShell."""

    def __init__(self, connection: Connection, *, pty_cols: int | None = None, term: str = "dumb") -> None:
        self.transport = ssh_transport(connection)
        try:
            self.channel = self.transport.open_session(timeout=connection.timeout)
            self.channel.settimeout(connection.timeout)
            if pty_cols is not None:
                self.channel.get_pty(term=term, width=pty_cols)
            self.channel.invoke_shell()
        except Exception as exc:
            sshlib.close(self.transport)
            raise localized(DeviceUnreachable(f"{connection.host}: cannot open the API shell over SSH: {exc}"),
                            "codec.err.broken", transport="SSH", error=str(exc)) from None

    def settimeout(self, timeout: float | None) -> None:
        self.channel.settimeout(timeout)

    def recv(self, size: int) -> bytes:
        return self.channel.recv(size)

    def sendall(self, data: bytes) -> None:
        self.channel.sendall(data)

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001
            pass
        sshlib.close(self.transport)  # also wakes the transport thread, which sleeps on an idle socket


def ssh_client(connection: Connection) -> str:
    """"openssh" or "paramiko": what ``[codec] ssh_client`` asks for; "auto" = OpenSSH when it is
    installed and can read the password's file (openssh.py says why), paramiko otherwise."""
    if connection.ssh_client != "auto":
        return connection.ssh_client
    from agent.vendors import openssh

    return "openssh" if openssh.why_not_usable(connection) is None else "paramiko"


def ssh_shell(connection: Connection, *, pty_cols: int | None = None, term: str = "dumb") -> Any:
    """An authenticated interactive shell on the codec (host key verified before the password is sent)
    with ``settimeout`` / ``recv`` / ``sendall`` / ``close``, through the configured SSH client."""
    if ssh_client(connection) == "openssh":
        from agent.vendors.openssh import OpenSshShell

        return OpenSshShell(connection, pty_cols=pty_cols, term=term)
    return ParamikoShell(connection, pty_cols=pty_cols, term=term)


def _causes(exc: BaseException) -> Any:
    """``exc`` and every error beneath it (requests wraps urllib3, which wraps the OS or TLS error: in
    ``args``, ``reason``, ``__cause__`` and ``__context__``), each once, nearest first."""
    todo, seen = [exc], set()
    while todo:
        error = todo.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        todo += [a for a in getattr(error, "args", ()) if isinstance(a, BaseException)]
        todo += [getattr(error, "reason", None), error.__cause__, error.__context__]


def root_cause(exc: BaseException, limit: int = 160) -> str:
    """What really failed under a requests/urllib3 error, in the OS's words ("Connection refused") or the
    TLS verifier's ("certificate verify failed: Hostname mismatch, ..."), not urllib3's
    "HTTPSConnectionPool(...): Max retries exceeded" wrapper; the error's own text when nothing is found."""
    for error in _causes(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {error.verify_message or error.reason}"[:limit]
        if isinstance(error, OSError) and error.strerror and type(error).__module__ == "builtins":
            return error.strerror[:limit]
    return str(exc)[:limit]


def connection_error(exc: BaseException, connection: Connection) -> DeviceError:
    """A requests ConnectionError as the agent's error: a codec that answered something that is not HTTP
    (a garbled status line) answered, so it is a ProtocolError; anything else (refused, reset, no route)
    is DeviceUnreachable, in the OS's words (root_cause)."""
    import http.client

    where = f"{connection.host}:{connection.port}"
    for error in _causes(exc):
        if isinstance(error, http.client.HTTPException) and not isinstance(error, ConnectionError):
            # BadStatusLine and the like (RemoteDisconnected, a ConnectionError too, is a hang-up: unreachable)
            said = repr(error.args[0])[:80] if error.args else type(error).__name__
            return localized(ProtocolError(f"{where} answered, but not in HTTP: {said}"), "codec.err.not_http",
                             host=where, said=said)
    why = root_cause(exc)
    return localized(DeviceUnreachable(f"cannot connect to {where}: {why}"), "codec.err.cannot_connect",
                     host=where, error=why)


def tls_refusal(exc: BaseException, connection: Connection) -> DeviceError:
    """A TLS handshake the agent refused, as the agent's error.  The certificate not matching the pinned
    fingerprint is a HostKeyMismatch (something changed; the password was not sent); a certificate the
    configured CA does not vouch for (another CA, expired, another name) is CertificateUntrusted: nothing
    needs to have changed, so `codec trust --replace` is not the remedy."""
    where = f"{connection.host}:{connection.port}"
    if "ingerprint" in str(exc):
        return localized(HostKeyMismatch(
            f"the TLS certificate of {where} does not match the pinned fingerprint; the password was not sent. "
            "If the codec's certificate was renewed, check it and run `hntht-agent codec trust --replace`"),
            "codec.err.tls_mismatch", host=where)
    why = root_cause(exc)
    return localized(CertificateUntrusted(f"the TLS certificate of {connection.host} is not trusted ({why})"),
                     "codec.err.tls_untrusted", host=connection.host, error=why)


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
        raise localized(HostKeyUnknown(
            f"the TLS certificate of {connection.host}:{connection.port} is not trusted yet; run "
            "`hntht-agent codec trust` (pins its fingerprint) or set [codec.tls] ca_file"
        ), "codec.pin.tls_unknown", where=f"{connection.host}:{connection.port}")
    return session, base


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
