"""[codec], [codec.tls], [codec.snmp] and [codec.expect]: the room's VCS terminal (codec).

`vendor` picks the driver (agent/vendors/); `transport` and `port` default to what that driver
speaks.  Trust is explicit: an SSH host key pinned in <state_dir>/known_hosts (by `hntht-agent codec
trust`) or `ssh_fingerprint`; a TLS certificate pinned the same way, by `[codec.tls] fingerprint`, or
checked against `[codec.tls] ca_file`.  Plain HTTP/Telnet only with `allow_insecure = true` (the report
then warns).  Every key is documented in config/agent.toml and docs/codec.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.config.schema import Duration, SecretRef
from agent.errors import ConfigError

_HOST = {"pattern": r"[A-Za-z0-9._:\[\]-]{0,253}", "pattern_doc": "a host name or an IP address"}
_SSH_FP = re.compile(r"SHA256:[A-Za-z0-9+/]{43}=?")
_TLS_FP = re.compile(r"(?i)(sha256[:=])?([0-9a-f]{2}:?){31}[0-9a-f]{2}")

# vendor -> transports its driver speaks (first = default)
VENDOR_TRANSPORTS: dict[str, tuple[str, ...]] = {
    "cisco": ("ssh", "https", "http"),
    "poly-gs": ("ssh", "telnet"),
    "poly-rest": ("https", "http"),
    "snmp": ("snmp",),
    "auto": ("ssh", "https", "telnet", "http", "snmp"),
    "none": ("ssh",),
}
DEFAULT_PORTS = {"ssh": 22, "https": 443, "http": 80, "telnet": 23, "snmp": 161}
# Poly Group Series serves its API on Telnet port 24 by default (admin guide).
VENDOR_PORTS = {("poly-gs", "telnet"): 24}


def _ssh_fp(value: str) -> str | None:
    if value and not _SSH_FP.fullmatch(value.strip()):
        return 'write it as `ssh-keygen -lf` prints it: "SHA256:" followed by 43 base64 characters'
    return None


def _tls_fp(value: str) -> str | None:
    if value and not _TLS_FP.fullmatch(value.strip()):
        return 'write the certificate\'s SHA-256 fingerprint, e.g. "sha256:AB:CD:...:EF" (32 bytes in hex)'
    return None


@dataclass
class CodecTls:
    # PEM file of the CA that signed the codec's certificate (when the codec has a CA-signed certificate).
    ca_file: str = ""
    # SHA-256 fingerprint of the codec's own (usually self-signed) certificate; `codec trust` pins it for you.
    fingerprint: str = field(default="", metadata={"check": _tls_fp})


@dataclass
class CodecSnmp:
    version: Literal["2c", "3"] = "2c"
    community_file: SecretRef | None = field(default=None, metadata={"credential": "codec-snmp-community"})


@dataclass
class CodecExpect:
    # codec.ip: the codec's IPv4 address must be this one (empty = only report it).
    ip: str = field(default="", metadata=_HOST)
    # codec.video_format: the lowest acceptable format (main camera signal, or the call's outgoing video).
    video_format: Literal["720p", "1080p"] = "720p"
    # codec.call_rate: the configured default call rate (and a live call's rate) must reach this.
    min_call_rate_kbps: int = field(default=1024, metadata={"min": 0, "max": 20000})
    # codec.content_rate: the presentation channel's rate during a call (0 = only report it).
    min_content_rate_kbps: int = field(default=0, metadata={"min": 0, "max": 20000})
    # codec.monitors: screens that must be connected ("two sources" = 2 screens, or 1 screen with two sources).
    monitors: int = field(default=2, metadata={"min": 0, "max": 8})
    # codec.audio: microphones that must be connected.
    microphones: int = field(default=1, metadata={"min": 0, "max": 16})
    # codec.echo_control: echo cancellation (chế độ triệt vọng) must be on for every microphone.
    echo_control: bool = True
    # codec.camera_presets: preset names that must exist on the codec (e.g. ["Chủ tọa", "Bên trái"]).
    camera_presets: list[str] = field(default_factory=list)
    # codec.registration: "h323" (gatekeeper), "sip" (registrar), "any" (either) or "none" (not checked).
    registration: Literal["h323", "sip", "any", "none"] = "any"
    # The MCU's gatekeeper / SIP registrar the codec must be registered to (empty = any).
    gatekeeper: str = field(default="", metadata=_HOST)
    registrar: str = field(default="", metadata=_HOST)
    # codec.version: the approved software version, matched as a prefix (empty = only report it).
    version: str = ""


@dataclass
class CodecSection:
    vendor: Literal["none", "cisco", "poly-gs", "poly-rest", "snmp", "auto"] = "none"
    host: str = field(default="", metadata=_HOST)
    # "default" = the driver's first choice (cisco: ssh, poly-gs: ssh, poly-rest: https, snmp: snmp).
    transport: Literal["default", "ssh", "https", "http", "telnet", "snmp"] = "default"
    # 0 = the transport's standard port (22, 443, 80, 23 (24 for poly-gs), 161).
    port: int = field(default=0, metadata={"min": 0, "max": 65535})
    # An account that may read status and configuration (Cisco: ADMIN or INTEGRATOR role).
    username: str = ""
    password_file: SecretRef | None = field(default=None, metadata={"credential": "codec-password"})
    # Deadline of each network operation (connect, login, one command).
    timeout: Duration = field(default=Duration(5.0), metadata={"min": 0.2, "max": 60.0})
    # Pinned SSH host key ("SHA256:..."); empty = use <state_dir>/known_hosts (filled by `codec trust`).
    ssh_fingerprint: str = field(default="", metadata={"check": _ssh_fp})
    # SSH client: "openssh" (the system's ssh in a child process: ~14 MB less memory for the service),
    # "paramiko" (in-process), "auto" = openssh when installed, else paramiko. docs/codec.md explains.
    ssh_client: Literal["auto", "openssh", "paramiko"] = "auto"
    # Plain HTTP or Telnet sends the password in clear: refused unless this is true.
    allow_insecure: bool = False
    tls: CodecTls = field(default_factory=CodecTls)
    snmp: CodecSnmp = field(default_factory=CodecSnmp)
    expect: CodecExpect = field(default_factory=CodecExpect)

    def effective_transport(self) -> str:
        if self.transport != "default":
            return self.transport
        return VENDOR_TRANSPORTS.get(self.vendor, ("ssh",))[0]

    def effective_port(self) -> int:
        if self.port:
            return self.port
        transport = self.effective_transport()
        return VENDOR_PORTS.get((self.vendor, transport), DEFAULT_PORTS[transport])

    def validate(self, prefix: str, ctx: Any) -> None:
        if self.vendor == "none":
            return
        if not self.host:
            raise ConfigError(f'is required with vendor = "{self.vendor}": the codec\'s IP address',
                              file=ctx.file, key=f"{prefix}.host")
        transport = self.effective_transport()
        allowed = VENDOR_TRANSPORTS[self.vendor]
        if transport not in allowed:
            raise ConfigError(f"found {transport!r}; the {self.vendor} driver speaks {', '.join(allowed)}",
                              file=ctx.file, key=f"{prefix}.transport")
        if transport in ("http", "telnet") and not self.allow_insecure:
            raise ConfigError(
                f"{transport} sends the codec password in clear; use ssh/https, or set allow_insecure = true "
                "if the codec offers nothing else (the report will warn)",
                file=ctx.file, key=f"{prefix}.transport")
        if transport == "snmp":
            if self.snmp.version == "2c" and self.snmp.community_file is None:
                raise ConfigError("SNMP v2c needs community_file (or the systemd credential 'codec-snmp-community')",
                                  file=ctx.file, key=f"{prefix}.snmp.community_file")
            return
        if not self.username:
            raise ConfigError("is required: an account of the codec that may read status and configuration",
                              file=ctx.file, key=f"{prefix}.username")
        if self.password_file is None:
            raise ConfigError(
                'is required: set password_file = "/etc/hntht-agent/codec-password" (a file with only the password, '
                "chmod 600) or load the systemd credential 'codec-password'",
                file=ctx.file, key=f"{prefix}.password_file")
        if self.tls.ca_file and self.tls.fingerprint:
            raise ConfigError("set either ca_file or fingerprint, not both", file=ctx.file, key=f"{prefix}.tls")
