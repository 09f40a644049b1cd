"""The NUT driver against Debian's own upsd: power-failure sequence, typed errors, the real nutdrv_qx
reading our Megatec emulator (cross-check), login, and deadlines."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from agent.config import load_dict
from agent.errors import DeviceAuthError, DeviceUnreachable
from agent.ups.megatec import MegatecDriver
from agent.ups.nut import (NutClient, NutDataStale, NutDriver, NutDriverNotConnected, NutError, NutNoDataYet,
                           NutUnknownUps, NutVarNotSupported, status_from_vars)


def nut_section(port: int, ups: str, **extra):
    return load_dict({"agent": {"room_id": "test-room"},
                      "ups": {"driver": "nut", "nut": {"port": port, "ups": ups, "timeout": "1s", **extra}}}).ups


def test_power_failure_sequence(nut_peer):
    driver = NutDriver(nut_section(nut_peer.port, "powerfail"))
    seen = {}
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(seen) < 3:
            s = driver.read_blocking()
            key = ("OB" if s.on_battery else "OL") + (" LB" if s.low_battery else "")
            seen.setdefault(key, s)
            time.sleep(0.2)
    finally:
        driver.close_blocking()
    assert set(seen) == {"OL", "OB", "OB LB"}, seen
    assert seen["OL"].battery_charge_percent == 100 and seen["OL"].runtime_s == 1800
    assert seen["OB"].input_voltage_v == 0.0 and seen["OB"].runtime_s == 900
    low = seen["OB LB"]
    assert low.battery_charge_percent == 15 and low.has_alarm("battery_low") and not low.battery_charge_estimated


def test_typed_errors_from_upsd(nut_peer):
    client = NutClient("127.0.0.1", nut_peer.port, 2.0)
    try:
        with pytest.raises(NutUnknownUps):
            client.list_var("nope")
        with pytest.raises(NutVarNotSupported):
            client.get_var("qx", "no.such")
        with pytest.raises(NutError) as info:
            client.request("FOO")
        assert info.value.code == "UNKNOWN-COMMAND"
        assert client.get_var("qx", "ups.status").startswith("OL")  # the session survives errors
        assert "powerfail" in client.list_ups()
    finally:
        client.close()


def test_unknown_ups_remedy_lists_the_names(nut_peer):
    driver = NutDriver(nut_section(nut_peer.port, "santak"))
    with pytest.raises(NutUnknownUps) as info:
        driver.read_blocking()
    driver.close_blocking()
    assert "powerfail" in info.value.remedy.params["names"]


def test_login_and_access_denied(nut_peer, tmp_path):
    good = tmp_path / "good"
    good.write_text("agentpass")
    good.chmod(0o600)
    driver = NutDriver(nut_section(nut_peer.port, "qx", username="agent", password_file=str(good)))
    assert driver.read_blocking().on_battery is False
    driver.close_blocking()
    # upsd checks a password only for actions (SET, INSTCMD): a wrong one must not break reading,
    # and must never appear in anything we print. ACCESS-DENIED itself is tested on a scripted peer.
    bad = tmp_path / "bad"
    bad.write_text("canary-wrong-pass-91c")
    bad.chmod(0o600)
    driver = NutDriver(nut_section(nut_peer.port, "qx", username="agent", password_file=str(bad)))
    assert driver.read_blocking().on_battery is False
    driver.close_blocking()


def test_access_denied_is_an_auth_error_without_the_secret(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("canary-denied-pass-55e")
    secret.chmod(0o600)
    peer = FakeUpsd({"USERNAME \"agent\"": ["OK"], 'PASSWORD "canary-denied-pass-55e"': ["ERR ACCESS-DENIED"]})
    try:
        driver = NutDriver(nut_section(peer.port, "x", username="agent", password_file=str(secret)))
        with pytest.raises(DeviceAuthError) as info:
            driver.read_blocking()
        assert "canary" not in str(info.value) and "ACCESS-DENIED" in str(info.value)
        assert info.value.remedy is not None
    finally:
        peer.close()


def test_nutdrv_qx_reads_our_emulator_like_our_driver(nut_peer, emulators, tmp_path):
    """Cross-check: NUT's nutdrv_qx accepts the emulator, and upsd reports the values our driver reads."""
    via_nut = NutDriver(nut_section(nut_peer.port, "qx"))
    try:
        nut_status = via_nut.read_blocking()
        variables = via_nut.client.list_var("qx")
    finally:
        via_nut.close_blocking()
    assert variables["driver.version.data"].startswith("Megatec")
    assert variables["device.mfr"] == "NOT_A_LIVE_UPS" and variables["device.model"] == "TESTING"
    ours = emulators("nut-test")
    ours.set(state="normal", delay=0)
    section = load_dict({"agent": {"room_id": "test-room"},
                         "ups": {"driver": "megatec", "megatec": {"port": ours.port, "timeout": "300ms"}}}).ups
    direct = MegatecDriver(section, lock_dir=tmp_path)
    try:
        our_status = direct.read_blocking()
    finally:
        direct.close_blocking()
    for field in ("on_battery", "input_voltage_v", "output_voltage_v", "load_percent", "input_frequency_hz",
                  "temperature_c", "battery_voltage_v", "manufacturer", "model", "firmware", "low_battery"):
        assert getattr(nut_status, field) == getattr(our_status, field), field
    # NUT's guesstimate and ours agree within rounding, and both are labelled estimates.
    assert nut_status.battery_charge_estimated and our_status.battery_charge_estimated
    assert abs(nut_status.battery_charge_percent - our_status.battery_charge_percent) <= 1.0


def test_nutdrv_qx_follows_a_mains_loss_on_the_emulator(nut_peer, emulators):
    emulator = emulators("nut-test", name="qx-nut-test")
    driver = NutDriver(nut_section(nut_peer.port, "qx"))
    try:
        emulator.set(state="mains_loss")
        deadline = time.monotonic() + 15
        status = driver.read_blocking()
        while not status.on_battery and time.monotonic() < deadline:
            time.sleep(0.3)
            status = driver.read_blocking()
        assert status.on_battery is True  # Q1 bit 7 -> nutdrv_qx "OB" -> upsd -> our NUT driver
    finally:
        emulator.set(state="normal")
        driver.close_blocking()


def test_driver_not_connected_then_back(nut_peer):
    client = NutClient("127.0.0.1", nut_peer.port, 2.0)
    nut_peer.stop_driver("powerfail")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.list_var("powerfail")
            except NutDriverNotConnected as exc:
                assert isinstance(exc, DeviceUnreachable) and exc.remedy is not None
                break
            assert time.monotonic() < deadline, "upsd never noticed the stopped driver"
            time.sleep(0.2)
    finally:
        client.close()
        nut_peer.start_driver("powerfail")
        nut_peer.wait_ready("powerfail")


class FakeUpsd:
    """A scripted line server for the replies a healthy test upsd cannot be made to send (DATA-STALE,
    WAIT, silence); the real protocol's framing, on a real socket."""

    def __init__(self, replies: dict[str, list[str]] | None = None, silent: bool = False) -> None:
        self.replies, self.silent = replies or {}, silent
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn) -> None:
        with conn:
            for line in conn.makefile("rb"):
                if self.silent:
                    continue
                for reply in self.replies.get(line.decode().strip(), ["ERR UNKNOWN-COMMAND"]):
                    conn.sendall(reply.encode() + b"\n")

    def close(self) -> None:
        self.sock.close()


def test_data_stale_wait_and_silence():
    stale = FakeUpsd({"LIST VAR x": ["ERR DATA-STALE"]})
    wait = FakeUpsd({"LIST VAR x": ["BEGIN LIST VAR x", 'VAR x ups.status "WAIT"', "END LIST VAR x"]})
    silent = FakeUpsd(silent=True)
    try:
        with pytest.raises(NutDataStale):
            NutDriver(nut_section(stale.port, "x")).read_blocking()
        started = time.monotonic()
        with pytest.raises(NutNoDataYet) as info:
            NutDriver(nut_section(wait.port, "x")).read_blocking()
        assert info.value.remedy is not None and time.monotonic() - started < 3.0
        started = time.monotonic()
        with pytest.raises(DeviceUnreachable, match="did not answer"):
            NutDriver(nut_section(silent.port, "x")).read_blocking()
        assert time.monotonic() - started < 1.5
    finally:
        stale.close(), wait.close(), silent.close()


def test_refused_port_is_unreachable():
    from tests.helpers import free_port

    with pytest.raises(DeviceUnreachable, match="refused"):
        NutDriver(nut_section(free_port(), "x")).read_blocking()


def test_wait_status_is_not_a_ups_state():
    with pytest.raises(NutNoDataYet):
        status_from_vars({"ups.status": "WAIT"}, source="x")
