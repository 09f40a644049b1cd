"""The local control socket: `hntht-agent check` and `status` ask the running service.

A serial port has one reader and codecs allow few API sessions, so while the service runs it
is the only owner of the devices; `check` asks it to run the checklist instead of opening the
devices a second time.  Protocol: one JSON object per line each way over a UNIX stream socket
in the runtime directory (mode 0660, group ``[daemon] control_group``); the server also checks
the peer's credentials (SO_PEERCRED): root, the service's own user, or a member of that group.
"""

from __future__ import annotations

import asyncio
import errno
import grp
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any, Awaitable, Callable

import structlog

log = structlog.get_logger("agent.control")

DEFAULT_RUNTIME_DIR = "/run/hntht-agent"
MAX_REQUEST = 64 * 1024
MAX_RESPONSE = 16 * 1024 * 1024


class ServiceNotRunning(Exception):
    """Nobody listens on the control socket: run standalone."""


class ServiceDenied(Exception):
    """The service runs but refuses us (permissions)."""


def socket_path(config: Any) -> Path:
    configured = config.daemon.control_socket
    if configured:
        return Path(configured)
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime or DEFAULT_RUNTIME_DIR) / "control.sock"


def _peer(sock: socket.socket) -> tuple[int, int, int]:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)  # pid, uid, gid


def _group_gid(name: str) -> int | None:
    if not name:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def peer_allowed(pid: int, uid: int, gid: int, group: str) -> bool:
    if uid in (0, os.geteuid()):
        return True
    allowed = _group_gid(group)
    if allowed is None:
        return False
    if gid == allowed:
        return True
    try:  # supplementary groups of the peer process
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Groups:"):
                return str(allowed) in line.split()[1:]
    except OSError:
        # ProtectProc=invisible hides other users' processes from the service.  The peer got
        # through connect(), and the kernel allows that only with write access to the socket
        # file (mode 0660, group `allowed`), supplementary groups included: that is the check.
        return True
    return False


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    def __init__(self, path: Path, group: str, handler: Handler) -> None:
        self.path = path
        self.group = group
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if self.path.exists() or self.path.is_symlink():
            if _listening(self.path):
                raise RuntimeError(f"another hntht-agent service already listens on {self.path}; "
                                   "one service owns the room's devices")
            self.path.unlink()  # stale socket of a killed service
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o117)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        finally:
            os.umask(old)
        gid = _group_gid(self.group)
        if gid is not None:
            try:
                os.chown(self.path, -1, gid)
            except OSError as exc:
                log.warning("control_socket_group", group=self.group, error=exc.strerror,
                            hint="add the group to SupplementaryGroups= so members can use `check`")
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass
        try:
            self.path.unlink()
        except OSError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            pid, uid, gid = _peer(sock)
            if not peer_allowed(pid, uid, gid, self.group):
                log.warning("control_denied", uid=uid, gid=gid)
                await _reply(writer, {"ok": False, "error": "denied",
                                      "message": f"only root and members of group {self.group!r} may ask the service"})
                return
            try:
                line = await asyncio.wait_for(reader.readline(), 5.0)
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("not an object")
            except (asyncio.TimeoutError, ValueError, asyncio.LimitOverrunError) as exc:
                await _reply(writer, {"ok": False, "error": "bad_request", "message": str(exc)[:200]})
                return
            try:
                answer = await self.handler(request)
            except Exception as exc:  # noqa: BLE001 - one bad request must not hurt the service
                log.error("control_request_failed", cmd=request.get("cmd"), error=f"{type(exc).__name__}: {exc}",
                          exc_info=True)
                answer = {"ok": False, "error": "internal", "message": f"{type(exc).__name__}: {exc}"[:300]}
            await _reply(writer, answer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def _reply(writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
    writer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
    await writer.drain()


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
            return True
        except OSError as exc:
            return exc.errno in (errno.EACCES, errno.EPERM)


def request(path: Path, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One request to the service (blocking). Raises ServiceNotRunning or ServiceDenied."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            raise ServiceNotRunning(str(path)) from None
        except PermissionError:
            raise ServiceDenied(str(path)) from None
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
                raise ServiceNotRunning(str(path)) from None
            raise
        sock.sendall(json.dumps(payload).encode("utf-8") + b"\n")
        chunks, size = [], 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n") or size > MAX_RESPONSE:
                break
    answer = json.loads(b"".join(chunks) or b"{}")
    if answer.get("error") == "denied":
        raise ServiceDenied(answer.get("message", ""))
    return answer
