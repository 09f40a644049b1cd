"""Codec drivers, by name (napalm style registry, imported lazily).

``[codec] vendor`` names the driver; its module is imported only when a probe needs it (paramiko,
requests and pysnmp are slow to import).  Each module defines one :class:`~agent.vendors.base.CodecDriver`
subclass; :data:`DRIVERS` maps the vendor name to ``"module:Class"``.
"""

from __future__ import annotations

import importlib
from typing import Any

DRIVERS: dict[str, str] = {
    "cisco": "agent.vendors.cisco:CiscoDriver",
    "poly-gs": "agent.vendors.poly_gs:PolyGSDriver",
    "poly-rest": "agent.vendors.poly_rest:PolyRestDriver",
    "snmp": "agent.vendors.snmp:SnmpDriver",
    "auto": "agent.vendors.auto:AutoDriver",
}


def available() -> list[str]:
    return list(DRIVERS)


def get_driver_class(name: str) -> type:
    """The driver class registered as ``name``; KeyError for an unknown name."""
    target = DRIVERS[name]
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise KeyError(f"codec driver {name!r} is not installed in this build") from None
        raise
    return getattr(module, class_name)


def connection_from_config(config: Any) -> Any:
    """The :class:`~agent.vendors.base.Connection` described by ``config.codec``."""
    from agent.vendors.base import Connection

    codec = config.codec
    return Connection(
        host=codec.host,
        transport=codec.effective_transport(),
        port=codec.effective_port(),
        username=codec.username,
        password=codec.password_file,
        timeout=float(codec.timeout),
        state_dir=config.state_dir,
        tls_ca_file=codec.tls.ca_file,
        tls_fingerprint=codec.tls.fingerprint,
        ssh_fingerprint=codec.ssh_fingerprint,
        allow_insecure=codec.allow_insecure,
        snmp_community=codec.snmp.community_file,
        snmp_version=codec.snmp.version,
        ssh_client=codec.ssh_client,
    )


def driver_for(config: Any) -> Any:
    """An (unopened) driver instance for the configured codec."""
    cls = get_driver_class(config.codec.vendor)
    return cls(connection_from_config(config))
