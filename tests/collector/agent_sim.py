"""A simulated room agent (stand-in for the agent daemon in the e2e test): heartbeats, a check report,
events and status samples through the documented protocol, with an outbox and retry classification."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import uuid

import requests

from tests.collector import payloads as P


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--room", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--heartbeats", type=int, default=5)
    ap.add_argument("--interval", type=float, default=0.2)
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    boot = str(uuid.uuid4())
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    outbox: list[dict] = []
    rec_seq = 0

    def enqueue(kind, body):
        nonlocal rec_seq
        rec_seq += 1
        outbox.append(P.record(a.room, rec_seq, kind, body, boot_id=boot, at=time.time()))

    enqueue("check_report", P.report(a.room, at=time.time(), overall="fail", checks=[
        {"id": "network.mcu.loss", "area": "network", "status": "fail", "message": "Mất gói tới MCU 12%",
         "observed": 12, "expected": "<= 1", "remedy": "Kiểm tra đường truyền", "clause": "5.2.1", "duration_ms": 9}]))
    enqueue("event", P.event())
    sent = {"heartbeats": 0, "acked": 0, "retries": 0}
    for i in range(a.heartbeats):
        enqueue("status_sample", {"area": "power", "status": {"on_battery": True, "seq": i}})
        hb = P.heartbeat(a.room, seq=i, boot_id=boot, at=time.time(), overall="fail", on_battery=True,
                         interval_s=1, outbox={"depth": len(outbox), "oldest_at": outbox[0]["at"] if outbox else None,
                                               "dropped": 0, "quarantined": 0})
        r = s.post(a.url + "/api/v1/heartbeat", data=gzip.compress(json.dumps(hb).encode()),
                   headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=(3, 10))
        if r.status_code == 200:
            sent["heartbeats"] += 1
        while outbox:
            batch = outbox[:500]
            r = s.post(a.url + "/api/v1/records", json=P.batch(a.room, batch), timeout=(3, 10))
            if r.status_code == 200:
                acked = set(r.json()["accepted"]) | {x["id"] for x in r.json()["rejected"]}
                outbox = [x for x in outbox if x["id"] not in acked]
                sent["acked"] += len(acked)
                # resend the last batch once: delivery is idempotent
                s.post(a.url + "/api/v1/records", json=P.batch(a.room, batch), timeout=(3, 10))
            elif r.status_code in (408, 429) or r.status_code >= 500:
                sent["retries"] += 1
                time.sleep(float(r.headers.get("Retry-After", "0.2")))
            else:
                print(json.dumps({"error": r.status_code}), flush=True)
                return 1
        time.sleep(a.interval)
    print(json.dumps(sent), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
