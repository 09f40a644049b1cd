"""The simulated room behind `hntht-agent demo`.

Each component module (network, codec, ups, collector...) starts its simulator on loopback and
returns the config fragment that points the agent at it; :class:`DemoRoom` collects the fragments,
writes a real TOML config file and stops every process and thread it started on exit.
Components are listed in :data:`COMPONENTS` and are started in that order.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from agent.demo.tomlw import dumps

# module names; each has start(room: DemoRoom) -> dict (a config fragment)
COMPONENTS = [
    "agent.demo.network",
    "agent.demo.codec",
    "agent.demo.ups",
    "agent.demo.collector",
]


def merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key].extend(value)
        else:
            into[key] = value


class DemoRoom:
    """A temporary directory, the simulators started in it, and the config that points at them."""

    def __init__(self, room_id: str = "demo-phong-hop", room_name: str = "Phòng họp mô phỏng (demo)") -> None:
        self.room_id = room_id
        self.room_name = room_name
        self._stack = ExitStack()
        self.dir = Path(tempfile.mkdtemp(prefix="hntht-demo-"))
        self._stack.callback(shutil.rmtree, self.dir, ignore_errors=True)
        self.config: dict[str, Any] = {
            "agent": {
                "room_id": room_id,
                "room_name": room_name,
                "level": "commune",
                "state_dir": str(self.dir / "state"),
            },
        }
        self.notes: list[str] = []  # lines shown to the person running the demo
        # Running simulators by component ("codec": CiscoSim, "ups": MegatecEmulator), so tests and
        # demos can switch their fault states while the room runs.
        self.sims: dict[str, Any] = {}
        self.collector: Any = None  # the embedded collector's handle, when it runs
        self.config_path = self.dir / "agent.toml"

    def on_cleanup(self, fn: Callable[..., Any], *args: Any) -> None:
        self._stack.callback(fn, *args)

    def start(self, components: list[str] | None = None) -> "DemoRoom":
        import importlib

        try:
            for name in components or COMPONENTS:
                fragment = importlib.import_module(name).start(self)
                merge(self.config, fragment)
            (self.dir / "state").mkdir(exist_ok=True)
            self.config_path.write_text(dumps(self.config), encoding="utf-8")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "DemoRoom":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
