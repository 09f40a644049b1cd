"""The collector's unit is hardened: systemd-analyze's offline exposure score stays <= 2.0."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "hntht-collector.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (Debian systemd)")
def test_exposure_at_most_2_0():
    # --threshold is on the 0-100 scale: 20 == exposure 2.0
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(UNIT)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "Overall exposure level" in r.stdout


def test_unit_essentials():
    text = UNIT.read_text()
    for line in ("DynamicUser=yes", "StateDirectory=hntht-collector", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "hntht-collector serve --host 127.0.0.1"):
        assert line in text
