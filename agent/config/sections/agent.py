"""[agent]: who this room is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ROOM_ID_PATTERN = r"[a-z0-9-]{3,64}"


@dataclass
class AgentSection:
    room_id: str = field(
        metadata={
            "pattern": ROOM_ID_PATTERN,
            "pattern_doc": "3 to 64 characters from a-z, 0-9 and '-' (e.g. \"hb-ubnd-hoitruong\")",
            "doc": "unique id of the room in the province",
        }
    )
    room_name: str = ""
    level: Literal["province", "district", "commune", "other"] = "other"
    district: str = ""
    language: Literal["vi", "en", ""] = ""
    state_dir: str = "/var/lib/hntht-agent"
