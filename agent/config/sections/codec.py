"""[codec] and [codec.expect]: the room's VCS terminal. Extended by the codec drivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class CodecExpect:
    pass


@dataclass
class CodecSection:
    vendor: Literal["none", "cisco", "poly-gs", "poly-rest", "snmp", "auto"] = "none"
    expect: CodecExpect = field(default_factory=CodecExpect)
