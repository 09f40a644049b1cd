"""[ups] and [ups.expect]: the room's UPS. Extended by the UPS drivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class UpsExpect:
    pass


@dataclass
class UpsSection:
    driver: Literal["none", "megatec", "snmp", "nut"] = "none"
    expect: UpsExpect = field(default_factory=UpsExpect)
