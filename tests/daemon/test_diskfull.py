"""State directory on a small, full tmpfs: a clear error, the service keeps running, drops per
policy (status samples first) and says so; it recovers when space comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.daemon.conftest import write_config
from tests.helpers import REPO, is_root


@pytest.fixture()
def small_tmpfs(tmp_path):
    if not is_root():
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_keeps_running_and_drops_by_policy(tmp_path, small_tmpfs, mcu_port, daemons):
    # No collector: everything stays in the outbox, which must fill the disk, not its own cap.
    config = write_config(tmp_path / "room", url=None, ca=None, mcu_port=mcu_port, extra={
        "agent": {"state_dir": str(small_tmpfs / "state")},
        "daemon": {"network_interval": "100ms", "host_interval": "100ms", "outbox_max_mb": 64}})
    (small_tmpfs / "state").mkdir()
    filler = small_tmpfs / "filler"
    filler.write_bytes(b"\0" * (1024 * 1024 - 256 * 1024))  # leave ~256 KiB for the outbox
    d = daemons(config)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and "outbox_disk_full" not in d.output():
        time.sleep(0.2)
    log = d.output()
    assert "outbox_disk_full" in log, log[-2000:]
    line = next(json.loads(x) for x in log.splitlines() if '"outbox_disk_full"' in x)
    assert line["level"] == "error" and "full" in line["hint"] and line["path"].endswith("outbox.sqlite")
    time.sleep(1.0)
    assert d.proc.poll() is None  # still running

    status = subprocess.run([sys.executable, "-m", "agent", "status", "--json", "-c", str(config)],
                            capture_output=True, text=True, cwd=REPO, timeout=20)
    snap = json.loads(status.stdout)
    assert snap["running"] is True
    assert "outbox: disk_full" in snap["alarms"]
    assert snap["outbox"]["dropped"] > 0
    # Policy: samples are dropped (to make room) before any event.
    assert snap["outbox"]["dropped_by_kind"].get("event", 0) == 0
    assert snap["probes"]["host"]["runs"] > 5

    filler.unlink()  # space comes back
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "outbox_disk_ok" not in d.output():
        time.sleep(0.2)
    assert "outbox_disk_ok" in d.output()
    assert d.terminate() == 0
    import sqlite3

    db = sqlite3.connect(small_tmpfs / "state" / "outbox.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
