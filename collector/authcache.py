"""Per-process memory of room tokens already verified against the database.

It saves the token lookup on the heartbeat hot path, never the authorisation: the one statement that
stores a heartbeat (`Storage.heartbeat_fast`) also checks, in the database, that the token id and hash
are still the room's and that the room is enabled. So `room rotate` or `room disable` in any process
takes effect on the next request, whatever this cache holds; a stale entry only costs a fall-back to
the full lookup. Entries expire after `ttl_s` anyway, and the map is bounded.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from . import security


class VerifiedTokens:
    def __init__(self, ttl_s: float = 60.0, max_entries: int = 50_000,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[str, str, str, float]] = {}  # token_id -> room, salt, hash, expiry

    def lookup(self, token_id: str, secret: str) -> Optional[tuple[str, str]]:
        """(room_id, token_hash) when this exact secret was verified recently; None otherwise."""
        entry = self._entries.get(token_id)
        if entry is None:
            return None
        room_id, salt, token_hash, expires = entry
        if self._clock() >= expires:
            self._entries.pop(token_id, None)
            return None
        if not security.verify_secret(secret, salt, token_hash):
            return None
        return room_id, token_hash

    def remember(self, token_id: str, room_id: str, salt: str, token_hash: str) -> None:
        """Call only after the secret verified and the room was enabled."""
        if len(self._entries) >= self.max_entries and token_id not in self._entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first
        self._entries[token_id] = (room_id, salt, token_hash, self._clock() + self.ttl_s)

    def forget(self, token_id: str) -> None:
        self._entries.pop(token_id, None)

    def __len__(self) -> int:
        return len(self._entries)
