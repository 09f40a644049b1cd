"""[ups] config section and the power probe's framework behaviour (no device)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from agent.config import load_dict
from agent.errors import ConfigError
from agent.i18n import render
from agent.model import Status
from agent.probes import get_probe_class
from agent.ups import get_driver
from agent.ups.model import UpsStatus


def cfg(ups: dict, **extra):
    return load_dict({"agent": {"room_id": "test-room"}, "ups": ups, **extra}, file="agent.toml")


def test_defaults_and_driver_none_skips():
    config = cfg({})
    assert config.ups.driver == "none" and config.ups.expect.codec_on_ups == "required"
    probe = get_probe_class("power")(config)
    assert not probe.enabled()
    (result,) = probe.disabled_results()
    assert (result.id, result.status, result.clause) == ("power.ups_reachable", Status.SKIP, "13.6")


@pytest.mark.parametrize(
    "table,key,words",
    [
        ({"driver": "nut"}, "ups.nut.ups", "upsc -l"),
        ({"driver": "snmp"}, "ups.snmp.host", "address"),
        ({"driver": "snmp", "snmp": {"host": "10.0.0.5"}}, "ups.snmp.community_file", "community"),
        ({"driver": "snmp", "snmp": {"host": "10.0.0.5", "version": "3"}}, "ups.snmp.user", "user"),
        ({"driver": "megatec", "megatec": {"baudrate": 2401}}, "ups.megatec.baudrate", "2400"),
        ({"driver": "megatec", "megatec": {"timeout": "50ms"}}, "ups.megatec.timeout", "allowed"),
        ({"expect": {"min_charge_percent": 120}}, "ups.expect.min_charge_percent", "allowed"),
        ({"expect": {"codec_on_ups": "requird"}}, "ups.expect.codec_on_ups", "did you mean 'required'"),
        ({"driver": "megatek"}, "ups.driver", "did you mean 'megatec'"),
        ({"nut": {"password": "x"}}, "ups.nut.password", "not accepted inline"),
        ({"snmp": {"community": "public"}}, "ups.snmp.community", "ups-snmp-community"),
    ],
)
def test_config_errors_name_key_and_fix(table, key, words):
    with pytest.raises(ConfigError) as info:
        cfg(table)
    assert info.value.key == key and info.value.file == "agent.toml"
    assert words in str(info.value)


def test_secret_files_and_credentials(tmp_path, monkeypatch):
    secret = tmp_path / "nut-password"
    secret.write_text("canary-nut-7f3a\n")
    secret.chmod(0o600)
    config = load_dict({"agent": {"room_id": "test-room"},
                        "ups": {"driver": "nut", "nut": {"ups": "santak", "username": "agent", "password_file": str(secret)}}})
    assert config.ups.nut.password_file.reveal() == "canary-nut-7f3a"
    assert "canary" not in repr(config.ups)
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "ups-snmp-community").write_text("canary-community")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config = load_dict({"agent": {"room_id": "test-room"}, "ups": {"driver": "snmp", "snmp": {"host": "10.0.0.5"}}})
    assert config.ups.snmp.community_file.source == "credential:ups-snmp-community"


def test_registry_is_lazy_and_knows_the_drivers():
    import sys

    from agent.ups import DRIVERS

    assert set(DRIVERS) == {"megatec", "snmp", "nut"}
    with pytest.raises(KeyError, match="known: megatec"):
        get_driver("apcupsd")


class FakeDriver:
    """Stands in for a driver: the probe's own bookkeeping is under test, not a protocol."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.closed = 0

    def deadline(self):
        return 2.0

    async def read(self):
        return self.statuses.pop(0)

    async def aclose(self):
        self.closed += 1


def test_probe_tracks_seconds_on_battery_and_closes():
    config = cfg({"driver": "nut", "nut": {"ups": "x"}})
    probe = get_probe_class("power")(config)
    s = lambda ob: UpsStatus(source="fake", driver="nut", on_battery=ob)  # noqa: E731
    fake = FakeDriver([s(False), s(True)])
    probe._driver = fake
    assert probe.deadline() == 3.0  # the driver's own deadline + 1 s, under [check] probe_deadline

    async def run():
        out = [await probe.collect() for _ in range(2)]
        await probe.close()
        await probe.close()
        return out

    on_mains, on_battery = asyncio.run(run())
    assert on_mains.seconds_on_battery == 0
    assert on_battery.seconds_on_battery is None and "first poll" in render(on_battery.unknown["seconds_on_battery"], "en")
    assert fake.closed == 1 and probe._driver is None
    later = s(True)
    probe._track_battery(later, probe._on_battery_since + 90.4)
    assert later.seconds_on_battery == 90 and "seconds_on_battery" not in later.unknown
    back = s(False)
    probe._track_battery(back, 10_000.0)
    assert back.seconds_on_battery == 0 and probe._on_battery_since is None
