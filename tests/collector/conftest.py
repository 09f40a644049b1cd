"""Fixtures for the collector tests: both storage backends, a controllable clock, rooms, clients."""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

from collector import security
from collector.app import create_app
from collector.config import Settings
from collector.storage import open_storage
from tests.helpers import is_root

from .pgcluster import PgCluster

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster():
    if not is_root():
        pytest.skip("PostgreSQL tests start a cluster as the postgres user and need root")
    if shutil.which("runuser") is None:
        pytest.fail("runuser (util-linux) is missing")
    cluster = PgCluster()
    try:
        cluster.start()  # as root a failure here FAILS the tests (no skip)
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def db_url(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/collector.db"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{os.getpid()}_{next(_db_counter)}")


@pytest.fixture
def storage(db_url):
    st = open_storage(db_url)
    st.migrate()
    yield st
    st.close()


def make_room(storage, room_id="qn-a", name="Phòng họp A", level="commune", district="Hạ Long", now=0.0):
    tok = security.new_token()
    storage.add_room(room_id, name, level, district, tok.token_id, tok.salt, tok.hash, now)
    return tok.token


@pytest.fixture
def settings(db_url):
    return Settings(db=db_url, sweep_interval_s=0, rate_limit_per_minute=1000, board_refresh_s=0)


@pytest.fixture
def client(settings, storage, clock):
    from fastapi.testclient import TestClient

    app = create_app(settings, storage=storage, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
