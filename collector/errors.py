"""One exception tree for the collector (root: CollectorError)."""

from __future__ import annotations


class CollectorError(Exception):
    """Root of every error the collector raises on purpose."""


class ConfigError(CollectorError):
    """Bad settings: names the setting and how to fix it."""


class StorageError(CollectorError):
    """The database failed or is unreachable."""


class StorageUnavailable(StorageError):
    """Database temporarily unreachable: clients should retry (HTTP 503)."""


class RoomExists(CollectorError):
    """`room add` for an id that is already registered."""


class UnknownRoom(CollectorError):
    """An operation named a room that is not registered."""


class ApiError(CollectorError):
    """An HTTP API error, rendered as {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, *, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
