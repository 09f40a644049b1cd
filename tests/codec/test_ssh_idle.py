"""A kept SSH session costs (almost) nothing while idle, and closing it ends its thread at once
(agent/vendors/sshlib.py), against the Cisco simulator's real SSH server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from agent.vendors import sshlib
from tests.codec.conftest import driver
from tests.helpers import REPO


def _transport(drv):
    return drv._guard._exchange.__self__.channel.transport


def test_idle_transport_thread_sleeps_and_keepalive_stays_on(clean, tmp_path):
    drv = driver(clean, "paramiko-json", tmp_path)
    drv.poll()
    try:
        t = _transport(drv)
        assert t.sock.gettimeout() == sshlib.IDLE_WAKE  # paramiko's own is 0.1 s: 10 wake-ups a second
        assert t.packetizer._Packetizer__keepalive_interval == 15
        # Idle for a while: the transport thread hardly wakes (paramiko's default: ~20 times in 2 s).
        before = _wakeups(t.native_id)
        time.sleep(2.0)
        assert _wakeups(t.native_id) - before <= 3
        assert t.is_active()
        drv.poll()  # data still flows at once on the quiet session
    finally:
        drv.close()


def test_close_ends_the_transport_thread_at_once(clean, tmp_path):
    drv = driver(clean, "paramiko-terminal", tmp_path)
    drv.poll()
    t = _transport(drv)
    started = time.monotonic()
    drv.close()
    t.join(2.0)
    assert not t.is_alive()
    assert time.monotonic() - started < sshlib.IDLE_WAKE / 2


def test_paramiko_is_loaded_without_invoke():
    code = ("import sys; from agent.vendors import pinning, sshlib; p = sshlib.load(); "
            "assert 'invoke' not in sys.modules and 'yaml' not in sys.modules, sorted(sys.modules); "
            "import paramiko.config; assert paramiko.config.invoke is None; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "ok", out.stderr


def _wakeups(native_id: int) -> int:
    with open(f"/proc/self/task/{native_id}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc")


def test_load_is_safe_from_two_threads():
    mods = []
    threads = [threading.Thread(target=lambda: mods.append(sshlib.load())) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(mods) == 4 and len({id(m) for m in mods}) == 1 and hasattr(mods[0], "Transport")
