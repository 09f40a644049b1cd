"""The system's OpenSSH client (`ssh`) as the codec's SSH transport.

Why a child process rather than paramiko in the service: paramiko and the ``cryptography`` extension
it needs add about 14 MB to the service's resident memory for one kept codec session (docs/service.md,
"Footprint"); the ``ssh`` child of one kept session costs about 6 MB RSS and 1-2 MB PSS, and it is the
SSH client the operators' own tools use (Ansible's default connection is OpenSSH too).  paramiko
stays available (`[codec] ssh_client = "paramiko"`), and `auto` falls back to it when ``ssh`` is not
installed.

How the security rules of pinning.py are kept:

- **Host key before password.**  ``StrictHostKeyChecking=yes`` against a known_hosts file of ours only
  (``-F /dev/null``: no user or system ssh_config; ``GlobalKnownHostsFile=/dev/null``).  With a pinned
  fingerprint (``[codec] ssh_fingerprint``) the keys the codec offers are first read with
  ``ssh-keyscan`` (no login), the one matching the pin is written to a private known_hosts file for
  this session, and ssh then accepts only that key.  Otherwise ``<state_dir>/known_hosts`` (what
  ``codec trust`` wrote) is used as it is.  ssh verifies the key before it authenticates, so a
  changed key never gets the password.
- **The password never leaves its file.**  ssh asks for it through ``SSH_ASKPASS`` (forced, no
  terminal needed): ``hntht-agent-askpass`` reads the secret's own file (``password_file`` or the
  systemd credential) whose *path* is in the child's environment.  The value is never in an argument,
  an environment variable or a pipe of ours.  (ssh closes every inherited descriptor at start, so a
  pipe could not reach the askpass program anyway.)
- **Legacy devices.**  ``ssh-rsa`` host key signatures and the SHA-1 key exchanges are *appended*
  (``+``) to OpenSSH's defaults, as legacy_ssh.py does for paramiko: a modern server still negotiates
  modern algorithms; a Group Series that offers only ``ssh-rsa`` still connects; the key stays pinned.
- **Read-only.**  The drivers' allow-lists are enforced before a byte reaches this module; no agent
  forwarding, no X11, no port forwarding, no escape character, no ControlMaster, no local command.

The object behaves like the paramiko channel the drivers used (``settimeout``, ``recv``, ``sendall``,
``close``), raising ``socket.timeout`` when a read's deadline passes and typed agent errors when ssh
itself fails (host key, login, connection), classified from its messages.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path
from typing import Any

from agent.errors import DeviceAuthError, DeviceUnreachable, HostKeyMismatch, ProtocolError
from agent.i18n import Text, register
from agent.vendors.base import Connection, HostKeyUnknown, localized
from agent.vendors.pinning import fingerprint_of, host_entry, pinned_ssh_key  # also registers codec.pin.*

ASKPASS_PROGRAM = "hntht-agent-askpass"
ASKPASS_FILE_ENV = "HNTHT_ASKPASS_FILE"
KEEPALIVE = 15  # seconds: codecs drop idle SSH sessions (the same interval paramiko's sessions use)
MAX_STDERR = 16 * 1024

# Appended to OpenSSH's own (modern) preferences, never replacing them: see legacy_ssh.py.
LEGACY = (
    "HostKeyAlgorithms=+ssh-rsa",
    "KexAlgorithms=+diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1",
    "Ciphers=+aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc",
)

register({
    "codec.ssh.client_missing": (
        "Không tìm thấy chương trình ssh (gói openssh-client) trên máy: cài gói này hoặc đặt [codec] "
        "ssh_client = \"paramiko\"",
        "the ssh program (package openssh-client) is not installed: install it or set [codec] "
        "ssh_client = \"paramiko\"",
    ),
    "codec.ssh.secret_not_file": (
        "Mật khẩu thiết bị đầu cuối không nằm trong tệp nên ssh không đọc được: dùng password_file hoặc "
        "credential, hoặc đặt [codec] ssh_client = \"paramiko\"",
        "the codec password is not in a file, so ssh cannot read it: use password_file or a credential, "
        "or set [codec] ssh_client = \"paramiko\"",
    ),
    "codec.ssh.no_user": (
        "Tài khoản chạy agent (uid {uid}) không có trong danh sách người dùng nên ssh không chạy được: cài gói "
        "libnss-systemd hoặc đặt [codec] ssh_client = \"paramiko\"",
        "the agent's account (uid {uid}) has no user entry, so ssh cannot run: install libnss-systemd or set "
        "[codec] ssh_client = \"paramiko\"",
    ),
    "codec.ssh.start_failed": (
        "Không chạy được chương trình ssh: {error}",
        "cannot start the ssh program: {error}",
    ),
    "codec.ssh.refused_login": (
        "Thiết bị đầu cuối {host} từ chối đăng nhập của tài khoản {user}: kiểm tra tên đăng nhập và tệp mật khẩu",
        "{host} refused the login of user {user}: check the user name and the password file",
    ),
    "codec.ssh.unreachable": (
        "Không kết nối SSH được tới thiết bị đầu cuối {host}:{port}: {error}",
        "cannot open an SSH connection to {host}:{port}: {error}",
    ),
    "codec.ssh.handshake": (
        "Thiết bị đầu cuối {host}:{port} không hoàn tất bắt tay SSH: {error}",
        "{host}:{port} did not complete the SSH handshake: {error}",
    ),
    "codec.ssh.no_key_within": (
        "không gửi khóa định danh SSH nào trong {seconds} giây",
        "no SSH host key within {seconds} s",
    ),
})


# -- what is installed ------------------------------------------------------------------------------
def ssh_program() -> str | None:
    return shutil.which("ssh")


def askpass_program() -> str | None:
    """``hntht-agent-askpass`` beside the running interpreter (the agent's venv), else on PATH."""
    beside = Path(sys.executable).parent / ASKPASS_PROGRAM
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(ASKPASS_PROGRAM)


def secret_path(connection: Connection) -> Path | None:
    """The file holding the codec password (its ``password_file`` or systemd credential), or None."""
    secret = connection.password
    if secret is None:
        return None
    source = secret.source
    if source.startswith("credential:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        return Path(directory) / source.removeprefix("credential:") if directory else None
    path = Path(source)
    return path if path.is_absolute() and path.is_file() else None


def why_not_usable(connection: Connection) -> Any:
    """None when this connection can use the OpenSSH client, else the reason (a Text-carrying error)."""
    if ssh_program() is None or (connection.ssh_fingerprint and shutil.which("ssh-keyscan") is None):
        return localized(ProtocolError("the ssh program (openssh-client) is not installed"), "codec.ssh.client_missing")
    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        # ssh refuses to run for a uid without a passwd entry; a DynamicUser= service has one only
        # through nss-systemd (Debian: libnss-systemd, docs/install.md).
        return localized(ProtocolError(f"uid {os.getuid()} has no passwd entry, which ssh requires "
                                       "(install libnss-systemd)"),
                         "codec.ssh.no_user", uid=os.getuid())
    if askpass_program() is None:
        return localized(ProtocolError(f"{ASKPASS_PROGRAM} is not installed beside the agent"),
                         "codec.ssh.start_failed", error=f"{ASKPASS_PROGRAM} not found")
    if connection.password is not None and secret_path(connection) is None:
        return localized(ProtocolError("the codec password is not in a file the ssh client can read"),
                         "codec.ssh.secret_not_file")
    return None


# -- host keys ----------------------------------------------------------------------------------
def keyscan(host: str, port: int, timeout: float) -> list[tuple[str, str]]:
    """(key type, base64 blob) of every host key the server offers, read without logging in."""
    timeout_s = max(1, int(timeout + 0.999))
    try:
        done = subprocess.run(
            ["ssh-keyscan", "-T", str(timeout_s), "-p", str(port), "-t", "rsa,ecdsa,ed25519", "--", host],
            capture_output=True, timeout=timeout_s * 3 + 1, env=_child_env(), stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise localized(ProtocolError(f"{host}:{port} did not present its SSH host keys within {timeout:g} s"),
                        "codec.ssh.handshake", host=host, port=port, error=f"> {timeout:g} s") from None
    except OSError as exc:
        raise localized(ProtocolError(f"cannot run ssh-keyscan: {exc.strerror or exc}"),
                        "codec.ssh.start_failed", error=str(exc.strerror or exc)) from None
    keys = []
    for line in done.stdout.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            keys.append((parts[1], parts[2]))
    if not keys:
        stderr = done.stderr.decode("utf-8", "replace")
        error = _last_line(stderr) or f"no SSH host key within {timeout_s} s"
        if not any(s in stderr for s in _UNREACHABLE):
            # ssh-keyscan says nothing of a refused connection (OpenSSH 9.2): one TCP connect tells a codec
            # that is off or unplugged from one that answered but does not speak SSH.
            error = _tcp_verdict(host, port, timeout) or error
        if any(s in error for s in _UNREACHABLE) or any(s in stderr for s in _UNREACHABLE):
            raise localized(DeviceUnreachable(f"{host}:{port} presented no SSH host key: {error}"),
                            "codec.ssh.unreachable", host=host, port=port, error=error)
        # It took the connection but never completed a handshake: reachable, not speaking SSH.
        said: Text | str = _last_line(stderr) or Text("codec.ssh.no_key_within", seconds=timeout_s)
        raise localized(ProtocolError(f"{host}:{port} did not complete the SSH handshake: {error}"),
                        "codec.ssh.handshake", host=host, port=port, error=said)
    return keys


def _tcp_verdict(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to host:port fails, in ssh's words ("Connection refused", ...), or None."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.timeout:
        return "Connection timed out"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A small, predictable environment: no SSH_AUTH_SOCK, DISPLAY or proxy settings of the caller."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    if "CREDENTIALS_DIRECTORY" in os.environ:
        env["CREDENTIALS_DIRECTORY"] = os.environ["CREDENTIALS_DIRECTORY"]
    env.update(extra or {})
    return env


# -- the session ------------------------------------------------------------------------------------
class OpenSshShell:
    """One interactive shell on the codec through an ``ssh`` child process.

    ``pty_cols``: ask for a terminal on the codec (Poly's API shell expects one) of that width; the
    local side is then a pseudo-terminal in raw mode, which is where ssh reads the size from.
    """

    def __init__(self, connection: Connection, *, pty_cols: int | None = None, term: str = "dumb") -> None:
        problem = why_not_usable(connection)
        if problem is not None:
            raise problem
        self.connection = connection
        self.timeout: float | None = connection.timeout
        self.stderr = b""
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._closed = False
        where = host_entry(connection.host, connection.port)
        if connection.ssh_fingerprint:
            known_hosts = self._pinned_by_fingerprint(where)
        else:
            known_hosts = connection.known_hosts
            pinned = pinned_ssh_key(connection)
            if pinned is None:
                raise localized(
                    HostKeyUnknown(f"the SSH host key of {connection.host}:{connection.port} is not trusted yet; "
                                   "run `hntht-agent codec trust` and confirm the fingerprint"),
                    "codec.pin.ssh_unknown_nokey", where=f"{connection.host}:{connection.port}")
            self.pinned = pinned
        self.known_hosts = known_hosts
        args = self._arguments(known_hosts, tty=pty_cols is not None)
        askpass = askpass_program()
        assert askpass is not None  # why_not_usable checked it
        path = secret_path(connection)
        env = _child_env({"SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "TERM": term,
                          ASKPASS_FILE_ENV: str(path) if path else ""})
        slave = master = None
        try:
            if pty_cols is not None:
                master, slave = os.openpty()
                tty.setraw(slave)
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, pty_cols, 0, 0))
                self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env,
                                             close_fds=True, start_new_session=True)
                self._in = self._out = master
            else:
                self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, env=env, close_fds=True,
                                             start_new_session=True, bufsize=0)
                self._in = self.proc.stdin.fileno()  # type: ignore[union-attr]
                self._out = self.proc.stdout.fileno()  # type: ignore[union-attr]
        except OSError as exc:
            self._cleanup_files()
            if master is not None:
                os.close(master)
            raise localized(ProtocolError(f"cannot start ssh: {exc.strerror or exc}"),
                            "codec.ssh.start_failed", error=str(exc.strerror or exc)) from None
        finally:
            if slave is not None:
                os.close(slave)  # the child holds it; our copy would hide the end of the session
        self._err = self.proc.stderr.fileno()  # type: ignore[union-attr]
        for fd in {self._in, self._out, self._err}:
            os.set_blocking(fd, False)

    # -- arguments ----------------------------------------------------------------------------------
    def _arguments(self, known_hosts: Path, *, tty: bool) -> list[str]:
        c = self.connection
        options = [
            "BatchMode=no", "NumberOfPasswordPrompts=1",
            "PreferredAuthentications=keyboard-interactive,password", "PubkeyAuthentication=no",
            "GSSAPIAuthentication=no", "HostbasedAuthentication=no", "IdentityAgent=none",
            "StrictHostKeyChecking=yes", f"UserKnownHostsFile={known_hosts}", "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no", "CheckHostIP=no", "HashKnownHosts=no", "VerifyHostKeyDNS=no",
            f"ConnectTimeout={max(1, int(c.timeout + 0.999))}",
            f"ServerAliveInterval={KEEPALIVE}", "ServerAliveCountMax=3", "TCPKeepAlive=yes",
            "ForwardAgent=no", "ForwardX11=no", "ClearAllForwardings=yes", "PermitLocalCommand=no",
            "ControlMaster=no", "ControlPath=none", "EscapeChar=none", "LogLevel=ERROR",
            f"RequestTTY={'force' if tty else 'no'}", *LEGACY,
        ]
        args = [ssh_program() or "ssh", "-F", "/dev/null"]
        for option in options:
            args += ["-o", option]
        args += ["-p", str(c.port), "-l", c.username or "admin", "--", c.host]
        return args

    def _pinned_by_fingerprint(self, where: str) -> Path:
        c = self.connection
        want = c.ssh_fingerprint.strip().rstrip("=")
        offered = keyscan(c.host, c.port, c.timeout)
        match = [(kind, blob) for kind, blob in offered if fingerprint_of(blob) == want]
        if not match:
            seen = ", ".join(f"{kind} {fingerprint_of(blob)}" for kind, blob in offered)
            raise localized(
                HostKeyMismatch(f"the SSH host key of {c.host}:{c.port} is {seen}, not the {c.ssh_fingerprint} set in "
                                "[codec] ssh_fingerprint; the password was not sent. If the codec was replaced or "
                                "reset, confirm the new key on its screen and update the config"),
                "codec.pin.ssh_fp_mismatch", where=f"{c.host}:{c.port}", seen=seen, pinned=c.ssh_fingerprint)
        self.pinned = (match[0][0], want)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="hntht-ssh-")
        path = Path(self._tmpdir.name) / "known_hosts"
        path.write_text(f"{where} {match[0][0]} {match[0][1]}\n", encoding="ascii")
        return path

    # -- the channel interface the drivers use --------------------------------------------------------
    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; b"" when the session ended normally; socket.timeout after the deadline;
        a typed error when ssh itself failed (host key, login, connection)."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            try:
                data = os.read(self._out, size)
            except BlockingIOError:
                data = None
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: a pseudo-terminal whose other side is gone = end
                    raise
                data = b""
            if data:
                return data
            if data == b"":
                self._raise_if_failed()
                return b""
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise socket.timeout("timed out")
            readable, _, _ = select.select([self._out, self._err], [], [], left)
            if self._err in readable:
                self._read_stderr()

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + (self.timeout or self.connection.timeout)
        while view:
            try:
                written = os.write(self._in, view)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                if exc.errno == errno.EIO:
                    raise BrokenPipeError(errno.EPIPE, "the ssh session ended") from None
                raise
            view = view[written:]
            if view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("timed out")
                select.select([], [self._in], [], left)

    def close(self) -> None:
        """End the session: end of input (the codec's shell exits), then ssh is given a moment to close
        the connection cleanly, then terminated.  Never blocks more than about a second."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._in == self._out:
                os.close(self._in)  # pseudo-terminal: closing the master hangs up the session
            else:
                self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self._cleanup_files()

    def _signal(self, sig: int) -> None:
        try:
            self.proc.send_signal(sig)
        except OSError:
            pass

    def _cleanup_files(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    # -- failures ---------------------------------------------------------------------------------------
    def _read_stderr(self) -> None:
        while True:
            try:
                chunk = os.read(self._err, 4096)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self.stderr = (self.stderr + chunk)[-MAX_STDERR:]

    def _raise_if_failed(self) -> None:
        """At the end of output: if ssh failed before the session started, raise what it said."""
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return
        self._read_stderr()
        if self.proc.returncode != 255:  # 255 = ssh's own error; anything else is the remote shell ending
            return
        error = classify(self.stderr.decode("utf-8", "replace"), self.connection, getattr(self, "pinned", None))
        if error is not None:
            raise error


_UNREACHABLE = ("Connection refused", "No route to host", "Network is unreachable", "Could not resolve",
                "Name or service not known", "Connection timed out", "connect to host")
_FP = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def classify(stderr: str, c: Connection, pinned: tuple[str, str] | None) -> BaseException | None:
    """A typed, localised error for what ssh wrote before it gave up (None: nothing recognised)."""
    where = f"{c.host}:{c.port}"
    text = stderr.replace("\r", "")
    if "HOST IDENTIFICATION HAS CHANGED" in text or "has changed and you have requested strict checking" in text:
        seen = _FP.search(text)
        now = seen.group(0) if seen else "?"
        kind, fingerprint = pinned or ("?", "?")
        return localized(
            HostKeyMismatch(f"the SSH host key of {where} CHANGED: pinned {kind} {fingerprint}, now {now}; the password "
                            "was not sent. If the codec was replaced or reset, check the new key on its screen, then "
                            "run `hntht-agent codec trust --replace`"),
            "codec.pin.ssh_changed", where=where, kind=kind, pinned=fingerprint, key_type="", seen=now)
    if "Host key verification failed" in text or "host key is known for" in text:
        return localized(
            HostKeyUnknown(f"the SSH host key of {where} is not trusted yet; run `hntht-agent codec trust` "
                           "and confirm the fingerprint"),
            "codec.pin.ssh_unknown_nokey", where=where)
    if "No user exists for uid" in text:
        return localized(ProtocolError(f"ssh: {_last_line(text)}"), "codec.ssh.no_user", uid=os.getuid())
    if "Permission denied" in text or "Too many authentication failures" in text:
        return localized(DeviceAuthError(f"{c.host} refused the login of user {c.username!r}"),
                         "codec.ssh.refused_login", host=c.host, user=repr(c.username))
    line = _last_line(text)
    # Connected, then the SSH conversation failed: reachable, but not a working SSH server.
    if any(s in text for s in ("Unable to negotiate", "no matching", "kex_exchange_identification",
                               "banner exchange", "Connection closed by", "Connection reset", "closed by remote host")):
        return localized(ProtocolError(f"{where} SSH handshake failed: {line}"),
                         "codec.ssh.handshake", host=c.host, port=c.port, error=line)
    if any(s in text for s in _UNREACHABLE):
        return localized(DeviceUnreachable(f"cannot open an SSH connection to {where}: {line}"),
                         "codec.ssh.unreachable", host=c.host, port=c.port, error=line)
    if line:
        return localized(DeviceUnreachable(f"ssh to {where} failed: {line}"),
                         "codec.ssh.unreachable", host=c.host, port=c.port, error=line)
    return None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[-1][:200] if lines else ""
