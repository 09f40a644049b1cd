"""UPS drivers (napalm style): one base class, one module per protocol, a registry by name.

    from agent.ups import get_driver
    driver = get_driver("megatec")(config.ups)     # the module is imported only now
    status = await driver.read()                   # -> agent.ups.model.UpsStatus
    await driver.aclose()

Drivers keep their session (serial port, TCP connection, SNMP engine) between reads: the daemon
keeps the power probe, and so the driver, alive between polls.
"""

from __future__ import annotations

from agent.ups.base import DRIVERS, UpsDriver, driver_names, get_driver
from agent.ups.model import Alarm, CodecPowerEvidence, PowerEvent, SelfTest, UpsStatus

__all__ = [
    "DRIVERS", "UpsDriver", "driver_names", "get_driver",
    "Alarm", "CodecPowerEvidence", "PowerEvent", "SelfTest", "UpsStatus",
]
