"""`baseline save` and `diff` ask the running service (one owner per device), over the real control socket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest

from agent.daemon.control import ControlServer
from tests.helpers import REPO

STATUSES = {
    "codec": {"facts": {"model": "Cisco Room Bar", "serial": "S1"}, "call_rate": {"default_kbps": 2048},
              "presets": [{"id": "1", "name": "Chủ tọa"}], "reasons": {}},
}


class FakeService:
    """The service's control socket (the real server class) answering `check` with a canned report."""

    def __init__(self, path, report):
        self.requests = []
        self.report = report
        self.loop = asyncio.new_event_loop()
        self.server = ControlServer(path, "", self.handle)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)

    async def handle(self, request):
        self.requests.append(request)
        return {"ok": True, "exit_code": 0, "report": self.report, "text": ""}

    def close(self):
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def setup(tmp_path):
    sock = tmp_path / "control.sock"
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nroom_id = "test-room"\nstate_dir = "{tmp_path / "state"}"\n'
                      f'[daemon]\ncontrol_socket = "{sock}"\n')
    report = {"room_id": "test-room", "generated_at": "2026-11-29T07:00:00Z", "overall": "pass", "mode": "service",
              "checks": [{"id": "codec.reachable", "area": "codec", "status": "pass"}], "statuses": STATUSES}
    service = FakeService(sock, report)
    yield config, service, tmp_path
    service.close()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=60, cwd=REPO)


def test_save_and_diff_go_through_the_running_service(setup):
    config, service, tmp_path = setup
    proc = cli("baseline", "save", "-c", str(config), "--json")
    assert proc.returncode == 0, proc.stderr
    saved = json.loads(proc.stdout)["baseline"]
    assert saved["report"]["mode"] == "service" and saved["settings"]["codec.call_rate"] == 2048
    assert len(service.requests) == 1 and service.requests[0]["cmd"] == "check"
    assert service.requests[0]["only"] == ["network", "codec", "power"]  # the areas that hold settings
    service.report["statuses"]["codec"]["call_rate"]["default_kbps"] = 1024
    diff = cli("baseline", "diff", "-c", str(config), "--json", "--lang", "en")
    assert diff.returncode == 1
    assert json.loads(diff.stdout)["changes"] == [{"setting": "codec.call_rate", "status": "warn", "old": 2048,
                                                   "new": 1024}]
    assert len(service.requests) == 2


def test_save_through_the_service_is_refused_on_a_failing_item(setup):
    config, service, tmp_path = setup
    service.report["checks"].append({"id": "codec.camera_presets", "area": "codec", "status": "fail",
                                     "message": "Missing camera presets: Thu nhỏ", "remedy": "Store it"})
    proc = cli("baseline", "save", "-c", str(config), "--lang", "en")
    assert proc.returncode == 2 and "codec.camera_presets" in proc.stdout
    assert not (tmp_path / "state" / "baseline.json").exists()
