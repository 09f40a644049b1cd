"""An HTTP/1.1 server on 127.0.0.1 that answers each request from a test's plan, in any framing.

Used by the HTTP driver fuzz tests (poly-rest, Cisco XMLAPI): ``plan`` maps ``"METHOD /path"`` to an
answer ``(status, framing, body, extra)``; a route not in the plan gets ``default(route)`` (the peer's
real answer).  Framings: ``length`` (correct Content-Length, keep-alive), ``chunked`` (chunks of
``extra`` bytes), ``close`` (close-delimited), ``short`` (Content-Length ``extra + 1`` beyond the body,
then close: a codec dropping the connection mid-answer), ``badchunk`` (a chunk size that is not hex),
``gzip`` (``Content-Encoding: gzip`` over plain bytes), ``gzip-ok`` (real gzip), ``huge`` (the body
repeated past ``huge_size``), ``status-garbage`` (the body as the status line), ``reset`` (closed
unanswered), ``stall`` (the headers and part of the body, then nothing until the client gives up).
"""

from __future__ import annotations

import gzip
import socket
import threading
from typing import Callable

Answer = tuple  # (status: int, framing: str, body: bytes, extra: int)
FRAMINGS = ["length"] * 8 + ["chunked", "chunked", "close", "short", "badchunk", "gzip", "gzip-ok", "status-garbage",
                             "reset", "stall", "huge"]


class PlanServer:
    """HTTP/1.1 on 127.0.0.1: each request answered from ``plan`` (route -> answer), else as recorded."""

    CLOSING = {"close", "short", "badchunk", "status-garbage", "reset", "stall"}

    def __init__(self, default: Callable[[str], Answer], cookie: Callable[[str, int], str | None],
                 huge_size: int) -> None:
        self.default, self.cookie, self.huge_size = default, cookie, huge_size
        self.content_type: Callable[[str], str] = lambda route: "application/json"
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.plan: dict[str, Answer] = {}
        self.requests: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, name="plan-http-server", daemon=True).start()

    def reset(self, plan: dict[str, Answer]) -> None:
        self.plan, self.requests = plan, []

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(3)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = next((int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                               if k.strip().lower() == "content-length"), 0)
                while len(buffer) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[length:]
                route = f"{method} {path.split('?')[0]}"
                self.requests.append(route)
                answer = self.plan.get(route) or self.default(route)
                if not self._answer(conn, route, *answer):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, route: str, status: int, framing: str, body: bytes, extra: int) -> bool:
        """Write one answer; False when the connection ends with it."""
        if framing == "reset":
            return False
        if framing == "status-garbage":
            conn.sendall(body[:80].replace(b"\n", b" ") + b"\r\n\r\n")
            return False
        headers = [f"HTTP/1.1 {status} Fuzz", f"Content-Type: {self.content_type(route)}"]
        cookie = self.cookie(route, status)
        if cookie:
            headers.append(f"Set-Cookie: {cookie}")
        if framing == "huge":
            body = (body or b" ") * (self.huge_size // max(1, len(body or b" ")) + 1)
        if framing == "gzip-ok":
            body = gzip.compress(body)
        if framing in ("gzip", "gzip-ok"):
            headers.append("Content-Encoding: gzip")
        if framing in ("chunked", "badchunk"):
            headers.append("Transfer-Encoding: chunked")
            size = max(1, extra)
            if framing == "chunked":
                payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                                   for i in range(0, len(body), size)) + b"0\r\n\r\n"
            else:
                payload = b"zz\r\n" + body
        elif framing == "close":
            headers.append("Connection: close")
            payload = body
        else:
            longer = extra + 1 if framing in ("short", "stall") else 0
            headers.append(f"Content-Length: {len(body) + longer}")
            payload = body
        conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
        if framing == "stall":  # the rest never comes: wait until the client gives up and closes
            conn.settimeout(2)
            try:
                while data := conn.recv(65536):
                    # A client that took the answer as complete (a 204 has no body) sends its next request
                    # here: recorded, never answered.
                    self.requests.extend(" ".join(line.split(" ")[:2]) for line in data.decode("latin-1").split("\r\n")
                                         if line.endswith(" HTTP/1.1"))
            except OSError:
                pass
        return framing not in self.CLOSING
