"""[network] and [[network.target]]: the link to the gateway and the MCU."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.schema import Duration


def _port_list(ports: list[int]) -> str | None:
    bad = [p for p in ports if not 1 <= p <= 65535]
    if bad:
        return f"ports must be between 1 and 65535, not {bad}"
    if len(set(ports)) != len(ports):
        return "a port is listed twice"
    return None


@dataclass
class Target:
    name: str = field(
        metadata={"pattern": r"[a-z0-9_-]{1,32}", "pattern_doc": "1 to 32 characters from a-z, 0-9, '_' and '-'"}
    )
    host: str = field(metadata={"doc": 'an IPv4 address, a DNS name, or "auto" (the default gateway)'})
    tcp_ports: list[int] = field(default_factory=list, metadata={"check": _port_list})
    ping: bool = True
    max_rtt_ms: float = field(default=150.0, metadata={"min": 1.0, "max": 10000.0})
    max_jitter_ms: float = field(default=30.0, metadata={"min": 0.1, "max": 10000.0})
    max_loss_percent: float = field(default=1.0, metadata={"min": 0.0, "max": 100.0})
    min_mos: float = field(default=3.6, metadata={"min": 1.0, "max": 4.5})
    tcp_timeout: Duration = field(default=Duration(3.0), metadata={"min": 0.1, "max": 30.0})


def _default_targets() -> list[Target]:
    return [Target(name="gateway", host="auto")]


@dataclass
class NetworkSection:
    interface: str = "auto"
    ping_count: int = field(default=10, metadata={"min": 1, "max": 100})
    ping_interval: Duration = field(default=Duration(0.2), metadata={"min": 0.01, "max": 10.0})
    ping_timeout: Duration = field(default=Duration(1.0), metadata={"min": 0.1, "max": 10.0})
    dns_timeout: Duration = field(default=Duration(2.0), metadata={"min": 0.1, "max": 10.0})
    target: list[Target] = field(default_factory=_default_targets)

    def validate(self, prefix: str, ctx) -> None:
        from agent.errors import ConfigError

        names = [t.name for t in self.target]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError(f"target name {name!r} is used twice; names must be unique",
                                  file=ctx.file, key=f"{prefix}.target")
        # The ping run must fit the network probe's deadline; say so now rather than time out later.
        run = self.ping_count * self.ping_interval + self.ping_timeout
        if run > 20:
            raise ConfigError(
                f"ping_count x ping_interval + ping_timeout = {run:.1f} s, more than the 20 s a probe may take; "
                "lower ping_count or ping_interval",
                file=ctx.file, key=f"{prefix}.ping_count")
