"""An in-process collector for `hntht-agent demo`: SQLite, loopback only, board without login.

    handle = start_embedded("/tmp/demo/collector.db")
    token = handle.add_room("demo-room", "Phòng họp thử", "commune", district="Hạ Long")
    ...  # point the agent at handle.url with that token
    print(handle.board_url)
    handle.stop()
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from . import security
from .config import Settings
from .errors import CollectorError
from .storage import open_storage


@dataclass
class EmbeddedCollector:
    url: str
    db_path: str
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _storage: object = field(repr=False)

    @property
    def board_url(self) -> str:
        return self.url + "/"

    def add_room(self, room_id: str, name: str, level: str, district: str = "") -> str:
        """Register a room (or rotate its token if it exists) and return the new token."""
        tok = security.new_token()
        try:
            self._storage.add_room(room_id, name, level, district, tok.token_id, tok.salt, tok.hash, time.time())
        except CollectorError:
            self._storage.rotate_token(room_id, tok.token_id, tok.salt, tok.hash, time.time())
        return tok.token

    def stop(self, timeout: float = 10) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._storage.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_embedded(db_path: str, host: str = "127.0.0.1", port: int = 0, *,
                   sweep_interval_s: float = 2.0, anonymous_board: bool = True,
                   startup_timeout: float = 15) -> EmbeddedCollector:
    """Start uvicorn in a daemon thread; returns once it accepts connections."""
    import uvicorn

    from .app import create_app

    if not ipaddress.ip_address(host).is_loopback:
        raise CollectorError("the embedded collector binds loopback addresses only")
    settings = Settings(db=db_path, sweep_interval_s=sweep_interval_s, anonymous_board=anonymous_board)
    storage = open_storage(db_path)
    storage.migrate()
    app = create_app(settings, storage=storage)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            server_header=False, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the caller's thread owns signals

    def run():
        asyncio.run(server.serve())

    thread = threading.Thread(target=run, name="hntht-embedded-collector", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            storage.close()
            raise CollectorError("embedded collector did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    return EmbeddedCollector(url=f"http://{host}:{bound[1]}", db_path=db_path, _server=server, _thread=thread,
                             _storage=storage)
