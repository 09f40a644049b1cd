"""Secrets: read from files or systemd credentials, never shown.

A :class:`Secret` prints as ``***``; the only way to the value is :meth:`Secret.reveal`,
called at the moment a driver needs it.  Every loaded value is also remembered so
that the logging layer can scrub it from any line that would still carry it.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from agent.errors import ConfigError

REDACTED = "***"
_known_values: set[str] = set()
_lock = threading.Lock()


class Secret:
    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # a path or "credential:<name>", safe to show
        if value:
            with _lock:
                _known_values.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED} from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # never pickled with its value
        raise TypeError("secrets cannot be pickled")


def known_values() -> frozenset[str]:
    with _lock:
        return frozenset(_known_values)


def scrub(text: str) -> str:
    """Replace every loaded secret value in ``text`` by ``***``."""
    for value in sorted(known_values(), key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, REDACTED)
    return text


def credentials_directory() -> Path | None:
    value = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(value) if value else None


def read_secret_file(path: Path, *, file: str, key: str, warnings: list[str]) -> Secret:
    """Read one secret file; a missing or unreadable file is a config error naming the key."""
    try:
        info = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"secret file {str(path)!r} does not exist; create it (chmod 600) or fix the path",
            file=file,
            key=key,
        ) from None
    except PermissionError:
        raise ConfigError(
            f"secret file {str(path)!r} is not readable by this user; "
            "give the agent read access (e.g. systemd LoadCredential=)",
            file=file,
            key=key,
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {str(path)!r}: {exc.strerror}", file=file, key=key) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(
            f"{file}: [{key}] secret file {str(path)!r} is readable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):o}); run: chmod 600 {path}"
        )
    try:
        value = raw.decode("utf-8").strip("\r\n")
    except UnicodeDecodeError:
        raise ConfigError(f"secret file {str(path)!r} is not UTF-8 text", file=file, key=key) from None
    if not value:
        raise ConfigError(f"secret file {str(path)!r} is empty", file=file, key=key)
    return Secret(value, str(path))


def read_credential(name: str, *, file: str, key: str, warnings: list[str]) -> Secret | None:
    """The systemd credential ``name`` if the unit loaded it, else None."""
    directory = credentials_directory()
    if directory is None:
        return None
    path = directory / name
    if not path.exists():
        return None
    secret = read_secret_file(path, file=file, key=key, warnings=warnings)
    secret.source = f"credential:{name}"
    return secret
