"""The unit file: exposure gate (<= 1.5, threshold 15 on the 0-100 scale) and offline verify."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

UNIT = REPO / "systemd" / "hntht-agent.service"


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: install Debian's systemd package (scripts/install-test-deps.sh)"
    return tool


def test_security_exposure_gate():
    result = subprocess.run([analyze(), "security", "--offline=yes", "--threshold=15", str(UNIT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout).group(1))
    assert score <= 1.5


def test_verify_offline(tmp_path):
    # verify needs ExecStart to exist: point it at this checkout's entry point, the rest unchanged.
    entry = Path(sys.executable).parent / "hntht-agent"
    assert entry.exists()
    unit = tmp_path / "hntht-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/hntht-agent/venv/bin/hntht-agent", str(entry)))
    result = subprocess.run([analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_contract():
    text = UNIT.read_text()
    for line in ("Type=notify", "WatchdogSec=", "DynamicUser=yes", "StateDirectory=hntht-agent",
                 "ConfigurationDirectory=hntht-agent", "RuntimeDirectory=hntht-agent",
                 "LoadCredential=collector-token:", "ProtectSystem=strict", "DevicePolicy=closed",
                 "ExecReload=/bin/kill -HUP $MAINPID", "CapabilityBoundingSet=\n"):
        assert line in text, line
    sysctl = (REPO / "systemd" / "60-hntht-agent.conf").read_text()
    assert "net.ipv4.ping_group_range = 0 2147483647" in sysctl
