"""Collector ingest benchmark: simulated agents post heartbeats and record batches to a real collector
process, on SQLite and PostgreSQL side by side.

    .venv/bin/python bench/collector_ingest/run.py [--rooms 2000] [--connections 64] [--seconds 15] [--workers 1]
        [--batch-every 10] [--server-cpus 0 --client-cpus 1] [--access-log] [--pg-socket] [--skip-postgres]
        [--baseline DIR [--rounds 3]]

Each connection is one keep-alive HTTP/1.1 client (an asyncio protocol on uvloop; responses parsed by
httptools) cycling through its share of the rooms, each room with its own valid token; every 10th
request is a 20-record batch (--batch-every 0: heartbeats only). Latency is measured at the client,
from just before a request is written to the end of its response. One worker is the default: on
this 2-core machine, where PostgreSQL and the load generator share the cores, it gave the most
heartbeats per CPU-second and the lowest p99 (docs/collector.md, "Performance").

Prints sustained heartbeats/s and latency percentiles per backend, the load average after each run,
and the CPU time each side used during the measured window: the collector processes, PostgreSQL's
processes and the load generator, so capacity per core is visible even when everything shares the
same cores. `--baseline DIR` runs the collector of another tree (an older commit) alternately with
this one, each on a fresh database, and prints current/baseline ratios of the medians.
PostgreSQL is a throwaway cluster started as the postgres user (needs root and Debian's postgresql
package). Only loopback traffic; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httptools  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402
import uvloop  # noqa: E402

from collector import security  # noqa: E402
from collector.storage import open_storage  # noqa: E402
from tests.collector import payloads as P  # noqa: E402
from tests.collector.procs import Proc, start_collector  # noqa: E402
from tests.helpers import free_port  # noqa: E402


def _request(path: str, token: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


# The heartbeat of tests/collector/payloads.py, serialised once per room with marker values, so each
# request only splices in its seq and the current time (the same bytes json.dumps would give).
_MARK_SEQ, _MARK_AT = 987654321, 978307230.0  # 2001-01-01T00:00:30.000Z; last_push_at 30 s earlier


class _Room:
    __slots__ = ("room_id", "token", "hb_head", "hb_parts")

    def __init__(self, room_id: str, token: str):
        self.room_id, self.token = room_id, token
        text = json.dumps(P.heartbeat(room_id, seq=_MARK_SEQ, at=_MARK_AT))
        parts = []
        for marker in (f'"seq": {_MARK_SEQ}', P.iso(_MARK_AT), P.iso(_MARK_AT - 30)):
            assert text.count(marker) == 1, marker
            head, text = text.split(marker)
            parts.append(head.encode())
        parts.append(text.encode())
        self.hb_parts = parts
        self.hb_head = (f"POST /api/v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: ").encode()

    def heartbeat(self, seq: int, sent_at: bytes, last_push_at: bytes) -> bytes:
        p = self.hb_parts
        body = b"".join((p[0], b'"seq": %d' % seq, p[1], sent_at, p[2], last_push_at, p[3]))
        return b"%s%d\r\n\r\n%s" % (self.hb_head, len(body), body)


class _Stamps:
    """The current time as the agent writes it (RFC 3339 UTC, milliseconds, as payloads.iso gives it):
    the date and seconds are formatted once per second, the milliseconds per request."""

    def __init__(self):
        self._second, self._heads = None, None

    def now(self) -> tuple[bytes, bytes]:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._second = second
            self._heads = (P.iso(second)[:19].encode(), P.iso(second - 30)[:19].encode())
        ms = b".%03dZ" % int((t - second) * 1000)
        return self._heads[0] + ms, self._heads[1] + ms


class _Agents(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection cycling through its share of the rooms: send a request, parse
    the whole response (httptools), record the latency from just before the write to the end of the
    response, send the next one. A state machine in the protocol's callbacks: no task, no stream
    reader, no new parser per request, so the load generator takes little of the CPUs it shares."""

    def __init__(self, rooms, stop_at, lat_hb, lat_rec, errors, seq_box, batch_every, stamps, min_requests=0):
        self.rooms, self.stop_at, self.min_requests = rooms, stop_at, min_requests
        self.lat_hb, self.lat_rec, self.errors, self.seq_box = lat_hb, lat_rec, errors, seq_box
        self.batch_every, self.stamps = batch_every, stamps
        self.i = 0
        self.done = asyncio.get_running_loop().create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.transport = None
        self.sink, self.t0 = None, 0.0

    def connection_made(self, transport):
        self.transport = transport
        self._send_next()

    def _send_next(self):
        room = self.rooms[self.i % len(self.rooms)]
        self.i += 1
        self.seq_box[0] += 1
        if self.batch_every and self.i % self.batch_every == 0:
            recs = [P.record(room.room_id, self.seq_box[0] * 100 + k, "status_sample",
                             {"area": "power", "status": {"k": k}}, boot_id="bench") for k in range(20)]
            data, self.sink = _request("/api/v1/records", room.token, json.dumps(P.batch(room.room_id, recs)).encode()), \
                self.lat_rec
        else:
            data, self.sink = room.heartbeat(self.i, *self.stamps.now()), self.lat_hb
        self.t0 = time.perf_counter()
        self.transport.write(data)

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_message_complete(self):
        self.sink.append(time.perf_counter() - self.t0)
        status = self.parser.get_status_code()
        if status != 200:
            self.errors.append(status)
        if time.perf_counter() < self.stop_at or self.i < self.min_requests:
            self._send_next()
        else:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)

    def _fail(self, exc):
        if not self.done.done():
            self.done.set_exception(exc)
        self.transport.close()

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"server closed the connection ({exc})"))


async def _run_agents(host, port, per, stop_at, lat_hb, lat_rec, errors, seq_box, batch_every, min_requests):
    loop, stamps = asyncio.get_running_loop(), _Stamps()
    conns = []
    for rooms in per:
        _, proto = await loop.create_connection(
            lambda rooms=rooms: _Agents(rooms, stop_at, lat_hb, lat_rec, errors, seq_box, batch_every, stamps,
                                        len(rooms) if min_requests else 0), host, port)
        conns.append(proto)
    await asyncio.gather(*[c.done for c in conns])


async def _drive(url, rooms, connections, seconds, batch_every, cpu_meter):
    host, port = url.split("//")[1].split(":")
    rooms = [_Room(rid, tok) for rid, tok in rooms]
    per = [rooms[k::connections] for k in range(connections)]
    lat_hb, lat_rec, errors, seq_box = [], [], [], [0]
    # warm-up, not counted: every room's first heartbeat (its `room.online` transition) and at least 1 s
    await _run_agents(host, int(port), per, time.perf_counter() + 1, [], [], [], seq_box, batch_every, True)
    cpu_meter.start()
    t0 = time.perf_counter()
    await _run_agents(host, int(port), per, t0 + seconds, lat_hb, lat_rec, errors, seq_box, batch_every, False)
    elapsed = time.perf_counter() - t0
    cpu_meter.stop()
    return lat_hb, lat_rec, errors, elapsed


def _tree_cpu(pid) -> float:
    """User+system CPU seconds of a process and all its descendants (those alive now)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


class CpuMeter:
    """CPU seconds used during the measured window by the collector, PostgreSQL and this load generator."""

    def __init__(self, server_pid, pg_pid):
        self.server_pid, self.pg_pid = server_pid, pg_pid
        self.used = {}

    @staticmethod
    def _self_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def _snap(self):
        return {"server": _tree_cpu(self.server_pid), "postgres": _tree_cpu(self.pg_pid), "client": self._self_cpu()}

    def start(self):
        self._t0 = self._snap()

    def stop(self):
        t1 = self._snap()
        self.used = {k: t1[k] - self._t0[k] for k in t1}


def _pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def _make_rooms(db_url, count):
    st = open_storage(db_url)
    st.migrate()
    rooms = []
    for k in range(count):
        tok = security.new_token()
        rid = f"bench-{k:05d}"
        st.add_room(rid, f"Phòng {k}", "commune", f"Huyện {k % 13}", tok.token_id, tok.salt, tok.hash, time.time())
        rooms.append((rid, tok.token))
    st.close()
    return rooms


def _start_server(src, db_url, work, args):
    """`hntht-collector serve` from this checkout, or (baseline) from the tree at `src`."""
    env = {"HNTHT_COLLECTOR_POOL_SIZE": "8"}
    if src is None:
        return start_collector(db_url, work, sweep_interval=5, workers=args.workers, rate_limit=10**9,
                               env_extra=env, access_log=args.access_log, cpus=args.server_cpus)
    port = free_port()
    log_path = work / f"collector-baseline-{port}.log"
    argv = [sys.executable, "-m", "collector", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(args.workers), "--sweep-interval", "5"] + (["--access-log"] if args.access_log else [])
    if args.server_cpus:
        argv = ["taskset", "-c", args.server_cpus, *argv]
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=str(src),
                                 env=dict(os.environ, HNTHT_COLLECTOR_DB=db_url, PYTHONPATH=str(src),
                                          HNTHT_COLLECTOR_RATE_LIMIT_PER_MINUTE=str(10**9), **env))
    proc = Proc(popen, log_path, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"baseline collector exited: {log_path.read_text()[-3000:]}")
        try:
            if requests.get(proc.url + "/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError("baseline collector did not become healthy in 30 s")


def bench_backend(name, db_url, args, work, pg_pid=None, src=None):
    rooms = _make_rooms(db_url, args.rooms)
    proc = _start_server(src, db_url, work, args)
    meter = CpuMeter(proc.popen.pid, pg_pid)
    try:
        # the load generator runs on uvloop, as the server does: the event loop is most of its CPU
        lat_hb, lat_rec, errors, elapsed = uvloop.run(_drive(proc.url, rooms, args.connections, args.seconds,
                                                             args.batch_every, meter))
    finally:
        proc.stop()
    requests_done = len(lat_hb) + len(lat_rec)
    cpu = meter.used
    return {"backend": name, "collector": "baseline" if src else "current", "load": os.getloadavg()[0],
            "hb_per_s": len(lat_hb) / elapsed, "hb_p50": _pct(lat_hb, .5), "hb_p99": _pct(lat_hb, .99),
            "batches_per_s": len(lat_rec) / elapsed, "rec_p99": _pct(lat_rec, .99),
            "records_per_s": 20 * len(lat_rec) / elapsed, "errors": len(errors),
            "mean_ms": statistics.fmean(lat_hb) * 1000 if lat_hb else float("nan"),
            # CPU per request (a batch counts as one request; --batch-every 0 makes this per heartbeat)
            "srv_ms_per_req": 1000 * cpu["server"] / max(1, requests_done),
            "pg_ms_per_req": 1000 * cpu["postgres"] / max(1, requests_done),
            "cli_ms_per_req": 1000 * cpu["client"] / max(1, requests_done),
            "cpu_busy": sum(cpu.values()) / elapsed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rooms", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-every", type=int, default=10, help="every Nth request is a 20-record batch; 0: none")
    ap.add_argument("--server-cpus", help="pin the collector with taskset, e.g. 0")
    ap.add_argument("--client-cpus", help="pin this load generator, e.g. 1")
    ap.add_argument("--access-log", action="store_true", help="serve with the access log on (off by default, "
                    "as in production)")
    ap.add_argument("--pg-socket", action="store_true", help="reach PostgreSQL over its Unix socket, not TCP")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--baseline", metavar="DIR", help="also run the collector from the tree in DIR (e.g. "
                    "`git worktree add DIR REV`, or `git archive REV collector | tar -x -C DIR`), alternating with "
                    "this checkout's under the same load, and print current/baseline ratios")
    ap.add_argument("--rounds", type=int, default=1, help="runs per backend (and per collector with --baseline)")
    args = ap.parse_args()
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    work = Path(tempfile.mkdtemp(prefix="hntht-bench-"))
    # With a baseline, both collectors serve the same load, alternately, each on a fresh database.
    variants = [Path(args.baseline).resolve(), None] if args.baseline else [None]
    results = []
    if not args.skip_sqlite:
        for r in range(args.rounds):
            for v, src in enumerate(variants):
                results.append(bench_backend("sqlite", f"sqlite:///{work}/bench-{r}-{v}.db", args, work, src=src))
    if not args.skip_postgres:
        from tests.collector.pgcluster import PgCluster
        cluster = PgCluster().start()
        try:
            if args.server_cpus:  # PostgreSQL is part of the server side
                subprocess.run(["taskset", "-a", "-p", "-c", args.server_cpus, str(cluster.pid)],
                               capture_output=True, check=False)
            for r in range(args.rounds):
                for v, src in enumerate(variants):
                    url = cluster.create_database(f"bench_{r}_{v}")
                    if args.pg_socket:  # same database over the Unix socket instead of TCP on 127.0.0.1
                        url = f"postgresql://postgres@/bench_{r}_{v}?host={cluster.sock}&port={cluster.port}"
                    results.append(bench_backend("postgres", url, args, work, cluster.pid, src=src))
        finally:
            cluster.stop()
    pinning = (f"collector+db on CPU {args.server_cpus}, client on CPU {args.client_cpus}"
               if args.server_cpus or args.client_cpus else "client on the same CPUs")
    print(f"\ncollector ingest: {args.rooms} rooms, {args.connections} keep-alive connections, "
          f"{args.workers} uvicorn workers, {args.seconds:.0f} s, {os.cpu_count()} CPUs ({pinning}), "
          f"batch every {args.batch_every or 'never'}, access log {'on' if args.access_log else 'off'}, "
          f"PostgreSQL over {'Unix socket' if args.pg_socket else 'TCP'}, "
          f"load average {os.getloadavg()[0]:.2f}")
    label = (lambda r: f"{r['backend']}{'/' + r['collector'] if args.baseline else ''}")
    print(f"{'run':<19}{'heartbeats/s':>13}{'hb p50 ms':>10}{'hb p99 ms':>10}{'batches/s':>10}"
          f"{'records/s':>10}{'batch p99 ms':>13}{'errors':>7}{'load':>6}")
    for r in results:
        print(f"{label(r):<19}{r['hb_per_s']:>13.0f}{r['hb_p50']:>10.1f}{r['hb_p99']:>10.1f}{r['batches_per_s']:>10.0f}"
              f"{r['records_per_s']:>10.0f}{r['rec_p99']:>13.1f}{r['errors']:>7}{r['load']:>6.2f}")
    print("CPU per request (ms; a batch counts as one request), and CPUs kept busy in total:")
    print(f"{'run':<19}{'collector':>10}{'postgres':>9}{'client':>8}{'busy CPUs':>10}{'req/s per server core':>23}")
    for r in results:
        server = r["srv_ms_per_req"] + r["pg_ms_per_req"]
        print(f"{label(r):<19}{r['srv_ms_per_req']:>10.3f}{r['pg_ms_per_req']:>9.3f}{r['cli_ms_per_req']:>8.3f}"
              f"{r['cpu_busy']:>10.2f}{1000 / server if server else float('nan'):>23.0f}")
    if args.baseline:
        for backend in ("sqlite", "postgres"):
            base = [r for r in results if r["backend"] == backend and r["collector"] == "baseline"]
            cur = [r for r in results if r["backend"] == backend and r["collector"] == "current"]
            if base and cur:
                def med(rows, key):
                    return statistics.median(r[key] for r in rows)
                print(f"{backend} current/baseline (medians of {len(cur)} alternating runs): heartbeats/s "
                      f"{med(cur, 'hb_per_s') / med(base, 'hb_per_s'):.2f}, collector CPU per request "
                      f"{med(cur, 'srv_ms_per_req') / med(base, 'srv_ms_per_req'):.2f}, database+collector CPU "
                      f"{(med(cur, 'srv_ms_per_req') + med(cur, 'pg_ms_per_req')) / (med(base, 'srv_ms_per_req') + med(base, 'pg_ms_per_req')):.2f}")
    else:
        pg = [r for r in results if r["backend"] == "postgres"]
        lite = [r for r in results if r["backend"] == "sqlite"]
        if pg and lite:
            print(f"postgres/sqlite heartbeat throughput ratio: {pg[-1]['hb_per_s'] / lite[-1]['hb_per_s']:.2f}")
    print("targets: postgres >= 2000 heartbeats/s with p99 < 100 ms; 16,000 rooms at 30 s need ~530/s; "
          "the province (250 rooms) ~8/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
