"""Session-scoped UPS peers (see tests/ups/peers.py): started once, stopped by PID at the end."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.ups.peers import Emulator, require_root_peer


@pytest.fixture(scope="session")
def ups_lab():
    with tempfile.TemporaryDirectory(prefix="hntht-ups-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session")
def emulators(ups_lab):
    """emulators(profile) -> a running Emulator (one per profile for the whole session)."""
    started: dict[str, Emulator] = {}

    def get(profile: str, name: str | None = None) -> Emulator:
        key = name or profile
        if key not in started:
            require_root_peer("socat")
            started[key] = Emulator(ups_lab, profile, name=key).start()
        return started[key]

    yield get
    for emulator in started.values():
        emulator.stop()


@pytest.fixture(scope="session")
def nut_peer(ups_lab, emulators):
    """upsd on a free loopback port serving: every NUT-DDL case through dummy-ups, a power-failure .seq,
    and NUT's real nutdrv_qx reading the Megatec emulator (profile nut-test) over its own pty pair."""
    from tests.helpers import FIXTURES
    from tests.ups.casedata import cases
    from tests.ups.peers import NUT_DRIVERS, UPSD, Nut

    require_root_peer("socat", UPSD, str(NUT_DRIVERS / "dummy-ups"), str(NUT_DRIVERS / "nutdrv_qx"))
    nut = Nut(ups_lab / "nutlab")
    for _name, data, _expected in cases("nut"):
        nut.add(data["ups"], driver="dummy-ups", port=str(FIXTURES / data["fixture"]), mode="dummy-once",
                desc=data["note"])
    nut.add("powerfail", driver="dummy-ups", port=str(Path(__file__).parent / "peerdata" / "powerfail.seq"),
            mode="dummy-loop")
    qx_emulator = emulators("nut-test", name="qx-nut-test")
    nut.add("qx", driver="nutdrv_qx", port=qx_emulator.port, protocol="megatec", pollinterval="1")
    try:
        nut.start()
        for name in nut.sections:
            nut.wait_ready(name)
    except Exception as exc:
        nut.stop()
        pytest.fail(f"NUT peer did not start: {exc}")
    yield nut
    nut.stop()
