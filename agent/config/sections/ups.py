"""[ups], [ups.megatec], [ups.snmp], [ups.nut] and [ups.expect]: the room's UPS.

`driver` picks the protocol; only that driver's table is used (the others keep their defaults).
Secrets (SNMP community, v3 keys, NUT password) come from `*_file` keys or systemd credentials.
Every key is documented in config/agent.toml and docs/power.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agent.config.schema import Duration, SecretRef
from agent.errors import ConfigError

_HOST = {"pattern": r"[A-Za-z0-9._:-]{0,253}", "pattern_doc": "a host name or an IP address"}


@dataclass
class MegatecConfig:
    # Serial device of the UPS: /dev/ttyS0 (RS232 on the board), /dev/ttyUSB0 (USB-serial cable).
    port: str = "/dev/ttyUSB0"
    baudrate: int = field(default=2400, metadata={"check": lambda v: None if v in (1200, 2400, 4800, 9600, 19200) else "use 2400 (Megatec standard), or 1200/4800/9600/19200"})
    # Modem lines: most Megatec cables are powered from DTR (NUT's cablepower=normal: DTR on, RTS off).
    dtr: bool = True
    rts: bool = False
    # Deadline of each reply; a command the unit ignores costs this much once per session.
    timeout: Duration = field(default=Duration(1.0), metadata={"min": 0.2, "max": 10.0})
    # Dialect: "auto" asks QPI first (Voltronic), else Megatec Q1 (+ Q6 where the unit answers it).
    protocol: Literal["auto", "megatec", "voltronic"] = "auto"
    # Battery cells in series (12 V block = 6 cells) when the unit reports volts per cell; 0 = derive
    # from the F rating (nominal volts / 2), else leave the pack voltage unknown.
    battery_cells: int = field(default=0, metadata={"min": 0, "max": 480})


@dataclass
class SnmpConfig:
    host: str = field(default="", metadata=_HOST)
    port: int = field(default=161, metadata={"min": 1, "max": 65535})
    version: Literal["2c", "3"] = "2c"
    # v2c community in a file (chmod 600) or the systemd credential "ups-snmp-community".
    community_file: SecretRef | None = field(default=None, metadata={"credential": "ups-snmp-community"})
    # SNMPv3 (USM)
    user: str = ""
    auth_protocol: Literal["none", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] = "SHA"
    auth_key_file: SecretRef | None = field(default=None, metadata={"credential": "ups-snmp-auth-key"})
    priv_protocol: Literal["none", "DES", "3DES", "AES", "AES192", "AES256"] = "AES"
    priv_key_file: SecretRef | None = field(default=None, metadata={"credential": "ups-snmp-priv-key"})
    timeout: Duration = field(default=Duration(2.0), metadata={"min": 0.2, "max": 30.0})
    retries: int = field(default=1, metadata={"min": 0, "max": 5})


@dataclass
class NutConfig:
    host: str = field(default="127.0.0.1", metadata=_HOST)
    port: int = field(default=3493, metadata={"min": 1, "max": 65535})
    # Name of the UPS in upsd (`upsc -l HOST` lists them).
    ups: str = field(default="", metadata={"pattern": r"[A-Za-z0-9._-]{0,64}", "pattern_doc": "a NUT UPS name such as \"santak\""})
    # Reading needs no login; set these only if the upsd administrator asks for it.
    username: str = ""
    password_file: SecretRef | None = field(default=None, metadata={"credential": "ups-nut-password"})
    timeout: Duration = field(default=Duration(3.0), metadata={"min": 0.2, "max": 30.0})
    # As [ups.megatec] battery_cells, for Q1 units served by blazer_ser/nutdrv_qx that report volts per cell.
    battery_cells: int = field(default=0, metadata={"min": 0, "max": 480})


@dataclass
class UpsExpect:
    # power.battery_charge fails below this.
    min_charge_percent: float = field(default=80.0, metadata={"min": 0.0, "max": 100.0})
    # power.runtime fails below this (a meeting must survive a cut until the generator starts).
    min_runtime_minutes: float = field(default=15.0, metadata={"min": 0.0, "max": 1440.0})
    # power.load fails above this (warns above 90 % of it).
    max_load_percent: float = field(default=80.0, metadata={"min": 1.0, "max": 200.0})
    # power.self_test: the last self-test must have passed within this many days (0 = do not check age).
    self_test_max_age_days: int = field(default=30, metadata={"min": 0, "max": 3650})
    # power.codec_on_ups: "required" = no evidence warns, evidence against fails (Điều 6);
    # "optional" = no evidence is reported as unknown (skip), evidence against warns.
    codec_on_ups: Literal["required", "optional"] = "required"


@dataclass
class UpsSection:
    driver: Literal["none", "megatec", "snmp", "nut"] = "none"
    megatec: MegatecConfig = field(default_factory=MegatecConfig)
    snmp: SnmpConfig = field(default_factory=SnmpConfig)
    nut: NutConfig = field(default_factory=NutConfig)
    expect: UpsExpect = field(default_factory=UpsExpect)

    def validate(self, prefix: str, ctx: Any) -> None:
        if self.driver == "megatec" and not self.megatec.port:
            raise ConfigError('is empty; set the serial port, e.g. "/dev/ttyUSB0"', file=ctx.file, key=f"{prefix}.megatec.port")
        if self.driver == "nut" and not self.nut.ups:
            raise ConfigError(
                'is required with driver = "nut": the UPS name in upsd (list them with `upsc -l 127.0.0.1`)',
                file=ctx.file, key=f"{prefix}.nut.ups",
            )
        if self.driver == "nut" and self.nut.password_file is not None and not self.nut.username:
            raise ConfigError("password_file is set but username is empty; set both or neither",
                              file=ctx.file, key=f"{prefix}.nut.username")
        if self.driver == "snmp":
            snmp = self.snmp
            if not snmp.host:
                raise ConfigError("is required with driver = \"snmp\": the UPS network card's address",
                                  file=ctx.file, key=f"{prefix}.snmp.host")
            if snmp.version == "2c" and snmp.community_file is None:
                raise ConfigError(
                    "SNMP v2c needs a community: set community_file = \"/etc/hntht-agent/ups-snmp-community\" "
                    "(a file with only the community, chmod 600) or load the systemd credential 'ups-snmp-community'",
                    file=ctx.file, key=f"{prefix}.snmp.community_file",
                )
            if snmp.version == "3":
                if not snmp.user:
                    raise ConfigError("SNMPv3 needs a user name", file=ctx.file, key=f"{prefix}.snmp.user")
                if snmp.auth_protocol != "none" and snmp.auth_key_file is None:
                    raise ConfigError(
                        f"auth_protocol = {snmp.auth_protocol!r} needs auth_key_file (or the credential 'ups-snmp-auth-key'); "
                        "or set auth_protocol = \"none\"", file=ctx.file, key=f"{prefix}.snmp.auth_key_file",
                    )
                if snmp.priv_protocol != "none" and snmp.priv_key_file is None:
                    raise ConfigError(
                        f"priv_protocol = {snmp.priv_protocol!r} needs priv_key_file (or the credential 'ups-snmp-priv-key'); "
                        "or set priv_protocol = \"none\"", file=ctx.file, key=f"{prefix}.snmp.priv_key_file",
                    )
                if snmp.priv_protocol != "none" and snmp.auth_protocol == "none":
                    raise ConfigError("privacy (encryption) needs authentication: set auth_protocol too",
                                      file=ctx.file, key=f"{prefix}.snmp.priv_protocol")
