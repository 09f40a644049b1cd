"""The command line end to end: demo and check as real processes, JSON against the published schema."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import jsonschema
import pytest

from tests.helpers import REPO

SCHEMA = json.loads((REPO / "docs" / "report-schema.json").read_text())


def cli(*args: str, timeout: float = 90, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def demo_json():
    proc = cli("demo", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def test_demo_report_matches_schema(demo_json):
    jsonschema.validate(demo_json, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert demo_json["schema"] == "hntht.report/1"


def test_demo_runs_the_room_like_a_real_one(demo_json):
    # The service (a real `hntht-agent run` process) owned the devices and ran the checklist for us.
    assert demo_json["mode"] == "service"


def test_demo_has_its_deliberate_failure_with_a_remedy(demo_json):
    checks = {c["id"]: c for c in demo_json["checks"]}
    presets = checks["codec.camera_presets"]
    assert presets["status"] == "fail" and "Thu nhỏ" in presets["message"]
    assert presets["remedy"] and "preset" in presets["remedy"].lower()
    # the simulated path to the MCU is healthy: both call-signalling ports answer
    assert checks["network.mcu.tcp.1720"]["status"] == "pass"
    assert checks["network.mcu.tcp.5060"]["status"] == "pass"
    assert demo_json["overall"] == "fail"
    # remedies only where something is wrong
    assert all(c["remedy"] is None for c in demo_json["checks"] if c["status"] in ("pass", "skip"))


def test_demo_reads_every_area(demo_json):
    assert {"network", "host", "codec", "power"} <= set(demo_json["statuses"])
    assert all(probe["ok"] for probe in demo_json["probes"].values()), demo_json["probes"]


def test_demo_cleans_up_its_simulators(demo_json):
    # The simulated MCU listened on 127.0.0.x:1720/5060; after the demo nothing may listen there.
    address = demo_json["statuses"]["network"]["targets"][1]["address"]
    for port in (1720, 5060):
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((address, port)) != 0
    # ... and its service process is gone: a leaked one would still name its deleted demo config.
    import psutil

    leaked = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "run" in cmd and "--config" in cmd:
            config = cmd[cmd.index("--config") + 1] if cmd.index("--config") + 1 < len(cmd) else ""
            if "hntht-demo-" in config and not os.path.exists(config):
                leaked.append(cmd)
    assert leaked == []


def test_demo_in_english_prints_a_table_with_verdict_and_remedies():
    proc = cli("demo", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "readiness board: http://127.0.0.1:" in proc.stderr, "the room reached the collector's board"
    out = proc.stdout
    assert "== Network link ==" in out and "Overall verdict: FAIL" in out and "What to do:" in out
    assert "codec.camera_presets" in out
    assert "\033[" not in out, "no colour when stdout is not a terminal"


def test_demo_in_vietnamese_by_default():
    proc = cli("demo", env={"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert "Kết luận chung: KHÔNG ĐẠT" in proc.stdout and "Việc cần làm" in proc.stdout


def test_check_only_and_exit_codes(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nroom_id = "test-room"\nstate_dir = "%s"\n[network]\ninterface = "lo"\nping_count = 2\n'
        'ping_interval = "50ms"\n[[network.target]]\nname = "gateway"\nhost = "127.0.0.1"\n' % tmp_path
    )
    proc = cli("check", "--config", str(config), "--only", "network", "--json")
    report = json.loads(proc.stdout)
    jsonschema.validate(report, SCHEMA)
    assert set(report["areas"]) == {"network", "drift"}
    # No rehearsal baseline in a fresh state_dir: one drift line saying how to save one.
    assert [c["status"] for c in report["checks"] if c["area"] == "drift"] == ["skip"]
    # network.route depends on this machine's routing table; everything else on loopback passes.
    worst = {"pass": 0, "warn": 1}.get(report["overall"], 2)
    assert proc.returncode == worst


def test_unknown_area_is_a_usage_error():
    proc = cli("check", "--only", "netwrk")
    assert proc.returncode == 2 and "unknown area" in proc.stderr


def test_help_lists_commands():
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("check", "demo", "config"):
        assert command in proc.stdout


def test_demo_serve_keeps_the_board_up_until_ctrl_c():
    import re
    import signal
    import time
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "agent", "demo", "--serve", "--lang", "en"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            match = re.search(r"readiness board: (http://127\.0\.0\.1:\d+/)", line)
            url = match.group(1) if match else None
        assert url, "the demo printed no board URL"
        time.sleep(1.0)  # still up after the report: --serve keeps it
        with urllib.request.urlopen(url, timeout=10) as answer:
            page = answer.read().decode()
        assert "demo-phong-hop" in page
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
