"""A throwaway PostgreSQL cluster from Debian's postgresql package, for tests and the benchmark.

initdb + pg_ctl run as the `postgres` OS user (runuser), data and socket dir in a fresh temp dir,
listening on 127.0.0.1 at a free port. Teardown stops it by the postmaster's PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.helpers import free_port


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql; "
                           "scripts/install-test-deps.sh does it)")
    return Path(found[-1]).parent


class PgCluster:
    def __init__(self):
        self.bindir = pg_bindir()
        self.base = Path(tempfile.mkdtemp(prefix="hntht-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.sock.mkdir()
        self.port = free_port()
        self.pid = None
        shutil.chown(self.base, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        os.chmod(self.base, 0o755)

    def _as_postgres(self, *argv, timeout=60):
        return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, argv)], capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> "PgCluster":
        r = self._as_postgres(self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr[-2000:]}")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                f"-c shared_buffers=128MB")
        r = self._as_postgres(self.bindir / "pg_ctl", "-D", self.data, "-o", opts, "-l", self.base / "server.log",
                              "-w", "-t", "60", "start")
        if r.returncode != 0:
            log = (self.base / "server.log").read_text() if (self.base / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {r.stderr[-1000:]} {log[-2000:]}")
        self.pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return self

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from the test code, not a client
        return self.dsn(name)

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
                for _ in range(100):
                    os.kill(self.pid, 0)
                    time.sleep(0.05)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.base, ignore_errors=True)


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout.lower()
    except OSError:
        return False
    return "c.utf8" in out or "c.utf-8" in out
