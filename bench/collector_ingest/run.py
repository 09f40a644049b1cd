"""Collector ingest benchmark: simulated agents post heartbeats and record batches to a real collector
process, on SQLite and PostgreSQL side by side.

    .venv/bin/python bench/collector_ingest/run.py [--rooms 2000] [--connections 64] [--seconds 15] [--workers 2]
        [--batch-every 10] [--server-cpus 0 --client-cpus 1] [--access-log] [--pg-socket] [--skip-postgres]

Each connection is one keep-alive HTTP/1.1 client (asyncio streams; responses parsed by httptools)
cycling through its share of the rooms; every 10th request is a 20-record batch (--batch-every 0:
heartbeats only). Prints sustained heartbeats/s and latency percentiles per backend, and the CPU time
each side used during the measured window: the collector processes, PostgreSQL's processes and the
load generator, so capacity per core is visible even when everything shares the same cores.
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

from collector import security  # noqa: E402
from collector.storage import open_storage  # noqa: E402
from tests.collector import payloads as P  # noqa: E402
from tests.collector.procs import start_collector  # noqa: E402


def _request(path: str, token: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class _Resp:
    def __init__(self):
        self.done = False

    def on_message_complete(self):
        self.done = True


async def _client(host, port, rooms, stop_at, lat_hb, lat_rec, errors, seq_box, batch_every, min_requests=0):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < stop_at or i < min_requests:
            room_id, token = rooms[i % len(rooms)]
            i += 1
            seq_box[0] += 1
            if batch_every and i % batch_every == 0:
                recs = [P.record(room_id, seq_box[0] * 100 + k, "status_sample", {"area": "power", "status": {"k": k}},
                                 boot_id="bench") for k in range(20)]
                path, body, sink = "/api/v1/records", json.dumps(P.batch(room_id, recs)).encode(), lat_rec
            else:
                path, sink = "/api/v1/heartbeat", lat_hb
                body = json.dumps(P.heartbeat(room_id, seq=i, at=time.time())).encode()
            t0 = time.perf_counter()
            writer.write(_request(path, token, body))
            resp = _Resp()
            parser = httptools.HttpResponseParser(resp)
            while not resp.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
                parser.feed_data(data)
            sink.append(time.perf_counter() - t0)
            if parser.get_status_code() != 200:
                errors.append(parser.get_status_code())
    finally:
        writer.close()


async def _drive(url, rooms, connections, seconds, batch_every, cpu_meter):
    host, port = url.split("//")[1].split(":")
    per = [rooms[k::connections] for k in range(connections)]
    lat_hb, lat_rec, errors, seq_box = [], [], [], [0]
    # warm-up, not counted: every room's first heartbeat (its `room.online` transition) and at least 1 s
    await asyncio.gather(*[_client(host, int(port), p, time.perf_counter() + 1, [], [], [], seq_box, batch_every,
                                   min_requests=len(p)) for p in per])
    cpu_meter.start()
    t0 = time.perf_counter()
    await asyncio.gather(*[_client(host, int(port), p, t0 + seconds, lat_hb, lat_rec, errors, seq_box, batch_every)
                           for p in per])
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


def bench_backend(name, db_url, args, work, pg_pid=None):
    st = open_storage(db_url)
    st.migrate()
    rooms = []
    for k in range(args.rooms):
        tok = security.new_token()
        rid = f"bench-{k:05d}"
        st.add_room(rid, f"Phòng {k}", "commune", f"Huyện {k % 13}", tok.token_id, tok.salt, tok.hash, time.time())
        rooms.append((rid, tok.token))
    st.close()
    proc = start_collector(db_url, work, sweep_interval=5, workers=args.workers, rate_limit=10**9,
                           env_extra={"HNTHT_COLLECTOR_POOL_SIZE": "8"}, access_log=args.access_log,
                           cpus=args.server_cpus)
    meter = CpuMeter(proc.popen.pid, pg_pid)
    try:
        lat_hb, lat_rec, errors, elapsed = asyncio.run(_drive(proc.url, rooms, args.connections, args.seconds,
                                                              args.batch_every, meter))
    finally:
        proc.stop()
    requests_done = len(lat_hb) + len(lat_rec)
    cpu = meter.used
    return {"backend": name, "hb_per_s": len(lat_hb) / elapsed, "hb_p50": _pct(lat_hb, .5), "hb_p99": _pct(lat_hb, .99),
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
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-every", type=int, default=10, help="every Nth request is a 20-record batch; 0: none")
    ap.add_argument("--server-cpus", help="pin the collector with taskset, e.g. 0")
    ap.add_argument("--client-cpus", help="pin this load generator, e.g. 1")
    ap.add_argument("--access-log", action="store_true", help="serve with the access log on (off by default, "
                    "as in production)")
    ap.add_argument("--pg-socket", action="store_true", help="reach PostgreSQL over its Unix socket, not TCP")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    work = Path(tempfile.mkdtemp(prefix="hntht-bench-"))
    results = []
    if not args.skip_sqlite:
        results.append(bench_backend("sqlite", f"sqlite:///{work}/bench.db", args, work))
    if not args.skip_postgres:
        from tests.collector.pgcluster import PgCluster
        cluster = PgCluster().start()
        try:
            if args.server_cpus:  # PostgreSQL is part of the server side
                subprocess.run(["taskset", "-a", "-p", "-c", args.server_cpus, str(cluster.pid)],
                               capture_output=True, check=False)
            url = cluster.create_database("bench")
            if args.pg_socket:  # same database over the Unix socket instead of TCP on 127.0.0.1
                url = f"postgresql://postgres@/bench?host={cluster.sock}&port={cluster.port}"
            results.append(bench_backend("postgres", url, args, work, cluster.pid))
        finally:
            cluster.stop()
    pinning = (f"collector+db on CPU {args.server_cpus}, client on CPU {args.client_cpus}"
               if args.server_cpus or args.client_cpus else "client on the same CPUs")
    print(f"\ncollector ingest: {args.rooms} rooms, {args.connections} keep-alive connections, "
          f"{args.workers} uvicorn workers, {args.seconds:.0f} s, {os.cpu_count()} CPUs ({pinning}), "
          f"batch every {args.batch_every or 'never'}, access log {'on' if args.access_log else 'off'}, "
          f"PostgreSQL over {'Unix socket' if args.pg_socket else 'TCP'}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'backend':<10}{'heartbeats/s':>14}{'hb p50 ms':>11}{'hb p99 ms':>11}{'batches/s':>11}"
          f"{'records/s':>11}{'batch p99 ms':>14}{'errors':>8}")
    for r in results:
        print(f"{r['backend']:<10}{r['hb_per_s']:>14.0f}{r['hb_p50']:>11.1f}{r['hb_p99']:>11.1f}{r['batches_per_s']:>11.0f}"
              f"{r['records_per_s']:>11.0f}{r['rec_p99']:>14.1f}{r['errors']:>8}")
    print("CPU per request (ms; a batch counts as one request), and CPUs kept busy in total:")
    print(f"{'backend':<10}{'collector':>11}{'postgres':>10}{'client':>8}{'busy CPUs':>11}{'req/s per server core':>23}")
    for r in results:
        server = r["srv_ms_per_req"] + r["pg_ms_per_req"]
        print(f"{r['backend']:<10}{r['srv_ms_per_req']:>11.3f}{r['pg_ms_per_req']:>10.3f}{r['cli_ms_per_req']:>8.3f}"
              f"{r['cpu_busy']:>11.2f}{1000 / server if server else float('nan'):>23.0f}")
    if len(results) == 2:
        print(f"postgres/sqlite heartbeat throughput ratio: {results[1]['hb_per_s'] / results[0]['hb_per_s']:.2f}")
    print("targets: postgres >= 2000 heartbeats/s with p99 < 100 ms; 16,000 rooms at 30 s need ~530/s; "
          "the province (250 rooms) ~8/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
