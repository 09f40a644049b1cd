"""collector/httpproto.py: a connection's writes in one event-loop pass leave as one socket write, in
order, and nothing written before a close is lost. Then the real server over a raw keep-alive socket."""

from __future__ import annotations

import asyncio
import json
import socket

import httptools

from collector.httpproto import _JoinedWrites

from . import payloads as P
from .conftest import make_room
from .procs import start_collector


class _Transport:
    def __init__(self):
        self.writes, self.closed = [], False

    def write(self, data):
        assert not self.closed
        self.writes.append(bytes(data))

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_write_buffer_size(self):
        return 0

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_writes_in_one_pass_are_joined_in_order_and_close_flushes():
    async def main():
        raw = _Transport()
        t = _JoinedWrites(raw, asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        t.write(b"")
        t.write(bytearray(b"{}"))
        assert raw.writes == [] and t.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        t.write(b"a")
        await asyncio.sleep(0)
        t.writelines([b"b", b"c"])
        assert t.get_extra_info("peername") == ("127.0.0.1", 1)  # everything else is the real transport's
        t.close()  # what was written before the close still goes out, first
        assert raw.writes[1:] == [b"a", b"bc"] and raw.closed
        await asyncio.sleep(0)
        assert len(raw.writes) == 3

    asyncio.run(main())


def test_server_answers_many_requests_on_one_keep_alive_connection(tmp_path, storage, db_url):
    token = make_room(storage, "qn-a")
    proc = start_collector(db_url, tmp_path, access_log=False)
    try:
        host, port = proc.url.split("//")[1].split(":")
        done = []

        class Resp:
            def on_body(self, body):
                done[-1]["body"] += body

            def on_message_complete(self):
                done[-1]["complete"] = True

        parser = httptools.HttpResponseParser(Resp())
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            for seq in range(30):
                body = json.dumps(P.heartbeat("qn-a", seq=seq)).encode()
                bad = seq % 10 == 9  # an error answer now and then, on the same connection
                sock.sendall(b"POST /api/v1/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                             + (b"nope" if bad else token.encode()) + b"\r\nContent-Type: application/json\r\n"
                             + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                done.append({"body": b"", "complete": False})
                while not done[-1]["complete"]:
                    data = sock.recv(65536)
                    assert data, "server closed the connection"
                    parser.feed_data(data)
                status = parser.get_status_code()
                answer = json.loads(done[-1]["body"])
                if bad:
                    assert status == 401 and answer["error"]["code"] == "unauthorized"
                else:
                    assert status == 200 and answer["accepted"] is True
        assert len(done) == 30
    finally:
        proc.stop()
