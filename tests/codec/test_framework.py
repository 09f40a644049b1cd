"""The driver framework: the read-only guard, null-with-reason assembly, the registry and [codec] config."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_dict
from agent.errors import ConfigError
from agent.vendors import DRIVERS, get_driver_class
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, CommandNotAllowed, Connection, NotExposed


class RecordingWire:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.closed = False

    def exchange(self, command: str) -> str:
        self.received.append(command)
        return "ok"

    def close(self) -> None:
        self.closed = True


class Toy(CodecDriver):
    name = "toy"
    vendor = "toy"
    transports = ("ssh",)
    ALLOWED = AllowList("toy", r"xStatus( [A-Za-z0-9 ]+)?", r"xCommand Camera Preset List")

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.wire = RecordingWire()

    def _open_wire(self):
        return self.wire

    def get_facts(self) -> m.Facts:
        self.send("xStatus SystemUnit")
        return m.Facts(vendor="toy", model="T1", software_version="1.0")

    def get_network(self) -> m.NetworkInfo:
        self.not_exposed("network.mac", "T1 has no MAC in its API")
        return m.NetworkInfo(ip="10.0.0.2")

    def get_calls(self):
        raise NotExposed("T1 has no call status")


def conn(tmp_path: Path, transport: str = "ssh") -> Connection:
    return Connection(host="127.0.0.1", transport=transport, port=22, username="u", password=None,
                      timeout=1.0, state_dir=tmp_path)


@pytest.mark.parametrize("command", [
    "xCommand Dial Number: 123", "xCommand Call Disconnect", "xCommand Camera Preset Activate PresetId: 1",
    "xCommand Standby Activate", "xCommand SystemUnit Boot", "xConfiguration Audio DefaultVolume: 0",
    "xStatus Audio\nxCommand Dial Number: 1", "xStatus Audio\rxCommand Dial", "xStatus\x00", "",
    "xCommand Camera Preset List | xCommand Dial", "xstatus audio ; xCommand Standby Activate",
])
def test_guard_refuses_before_sending(tmp_path, command):
    drv = Toy(conn(tmp_path))
    with drv:
        with pytest.raises(CommandNotAllowed):
            drv.send(command)
    assert drv.wire.received == []
    assert drv.wire.closed


def test_guard_refuses_without_session(tmp_path):
    with pytest.raises(CommandNotAllowed):
        Toy(conn(tmp_path)).send("xCommand Dial Number: 1")


def test_send_cannot_be_overridden():
    with pytest.raises(TypeError):
        class Sneaky(CodecDriver):  # noqa: F841
            def send(self, command):
                return None


@pytest.mark.parametrize("name", ["send", "send_many"])
def test_the_guarded_senders_cannot_be_overridden(name):
    with pytest.raises(TypeError):
        type("Sneaky", (CodecDriver,), {name: lambda self, *a, **k: None})


def test_a_batch_with_one_forbidden_command_sends_none(tmp_path):
    drv = Toy(conn(tmp_path))
    with drv:
        with pytest.raises(CommandNotAllowed):
            drv.send_many(["xStatus Audio", "xCommand Dial Number: 1", "xStatus Call"])
        assert drv.wire.received == [] and drv.sent == []
        # a wire without exchange_many gets the batch one command at a time
        assert drv.send_many(["xStatus Audio", "xStatus Call"]) == ["ok", "ok"]
    assert drv.wire.received == ["xStatus Audio", "xStatus Call"]
    with pytest.raises(CommandNotAllowed):
        drv.send_many(["xCommand Standby Activate"])  # no session: refused all the same


def test_a_batch_stopped_early_records_only_what_went_out():
    from agent.vendors.base import AllowList, _Guard

    class Wire:
        def __init__(self):
            self.received = []

        def exchange(self, command):
            raise AssertionError("a batch goes to exchange_many")

        def exchange_many(self, commands, halt_after=None):
            out = []
            for command in commands:
                out.append(None if len(self.received) >= halt_after else "ok")
                if out[-1]:
                    self.received.append(command)
            return out

        def close(self):
            pass

    wire = Wire()
    guard = _Guard(AllowList("t", r"status [0-9]+"), wire)
    assert guard.send_many(["status 1", "status 2", "status 3"], halt_after=2) == ["ok", "ok", None]
    assert guard.sent == wire.received == ["status 1", "status 2"]


def test_allowed_command_reaches_the_wire(tmp_path):
    drv = Toy(conn(tmp_path))
    with drv:
        assert drv.send("xCommand Camera Preset List") == "ok"
    assert drv.wire.received == ["xCommand Camera Preset List"]


def test_read_status_nulls_have_reasons(tmp_path):
    drv = Toy(conn(tmp_path))
    with drv:
        st = drv.read_status()
    assert st.facts.model == "T1"
    assert st.calls is None and "no call status" in st.reasons["calls"]
    assert st.reasons["network.mac"] == "T1 has no MAC in its API"
    assert "presets" in st.reasons  # not implemented by the driver: null + reason
    assert all(st.reason(p) for p in m.missing_reasons(st)), [p for p in m.missing_reasons(st) if not st.reason(p)]
    assert drv.sessions_opened == 1


def test_transport_must_be_supported(tmp_path):
    with pytest.raises(ConfigError):
        Toy(conn(tmp_path, "telnet"))


def test_registry_names():
    assert set(DRIVERS) == {"cisco", "poly-gs", "poly-rest", "snmp", "auto"}
    with pytest.raises(KeyError):
        get_driver_class("huawei")


def _cfg(tmp_path, **codec):
    pw = tmp_path / "pw"
    pw.write_text("s3cret")
    pw.chmod(0o600)
    base = {"vendor": "cisco", "host": "10.0.0.5", "username": "agent", "password_file": str(pw)}
    base.update(codec)
    return load_dict({"agent": {"room_id": "abc", "state_dir": str(tmp_path)}, "codec": base}, file="t.toml")


def test_config_defaults(tmp_path):
    c = _cfg(tmp_path)
    assert c.codec.effective_transport() == "ssh" and c.codec.effective_port() == 22
    assert c.codec.password_file.reveal() == "s3cret"
    c = _cfg(tmp_path, transport="https")
    assert c.codec.effective_port() == 443


@pytest.mark.parametrize("codec,key", [
    ({"host": ""}, "codec.host"),
    ({"transport": "http"}, "codec.transport"),
    ({"transport": "telnet"}, "codec.transport"),
    ({"password": "x"}, "codec.password"),
    ({"username": ""}, "codec.username"),
    ({"ssh_fingerprint": "abc"}, "codec.ssh_fingerprint"),
    ({"tls": {"fingerprint": "zz"}}, "codec.tls.fingerprint"),
    ({"expect": {"video_format": "4k"}}, "codec.expect.video_format"),
    ({"expect": {"registration": "h.323"}}, "codec.expect.registration"),
])
def test_config_errors_name_the_key(tmp_path, codec, key):
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, **codec)
    assert info.value.key == key


def test_insecure_only_when_explicit(tmp_path):
    c = _cfg(tmp_path, transport="http", allow_insecure=True)
    assert c.codec.effective_port() == 80


@pytest.mark.parametrize("codec,port", [
    ({"transport": "telnet", "allow_insecure": True}, 24),  # Group Series API port (admin guide), not Telnet's 23
    ({"transport": "telnet", "allow_insecure": True, "port": 23}, 23),  # HDX / a GS with the API on 23
    ({"transport": "ssh"}, 22),
    ({}, 22),  # poly-gs defaults to SSH
])
def test_group_series_default_ports(tmp_path, codec, port):
    from agent.vendors import connection_from_config

    c = _cfg(tmp_path, vendor="poly-gs", **codec)
    assert c.codec.effective_port() == port
    assert connection_from_config(c).port == port  # what the driver dials


def test_allow_list_verdicts_are_remembered_but_never_change():
    from agent.vendors.base import AllowList

    allowed = AllowList("t", r"status", r"volume get")
    for _ in range(3):  # remembered verdicts give the same answers as the first check
        assert allowed.permits("status") and allowed.permits("volume get")
        assert not allowed.permits("status\ndial 1") and not allowed.permits("volume set 0")
    for i in range(2000):  # past the memory's bound, every command is still checked
        assert not allowed.permits(f"dial {i}")
    assert allowed.permits("status") and not allowed.permits("reboot") and not allowed.permits(None)
    assert len(allowed._seen) <= 512


def test_a_kept_session_does_not_remember_every_command_forever():
    """The service keeps one session for weeks: the guard's record of sent commands stays bounded."""
    from agent.vendors.base import SENT_KEPT, AllowList, _Guard

    class Wire:
        def exchange(self, command):
            return command

        def close(self):
            pass

    guard = _Guard(AllowList("t", r"status [0-9]+"), Wire())
    for i in range(10 * SENT_KEPT):
        assert guard.send(f"status {i}") == f"status {i}"
    assert len(guard.sent) <= 2 * SENT_KEPT and guard.sent[-1] == f"status {10 * SENT_KEPT - 1}"


def test_a_garbled_value_costs_its_part_but_a_failing_read_costs_the_poll(tmp_path):
    """A getter that only parses what was read and finds one value garbled: that part is null with the
    parser's words; a getter whose own read fails (the session broke): the whole poll fails, as before."""
    from agent.errors import ProtocolError

    class Garbled(Toy):
        def get_audio(self):
            raise ProtocolError("mute near answer 'maybe' is neither on nor off")

    class BrokenRead(Toy):
        def get_audio(self):
            self.send("xStatus Audio")
            raise ProtocolError("the codec sent text outside JSON")

    with Garbled(conn(tmp_path)) as drv:
        status = drv.read_status()
    assert status.audio.muted is None and status.network.ip == "10.0.0.2"
    assert "neither on nor off" in str(status.reason("audio.muted"))
    with BrokenRead(conn(tmp_path)) as drv:
        with pytest.raises(ProtocolError):
            drv.read_status()
