"""Room tokens and viewer passwords.

A room token is `hntht1.<token_id>.<secret>`: `token_id` finds the room with one indexed lookup, and
only a salted SHA-256 of the 256-bit random secret is stored. (A slow KDF buys nothing for a secret
with that much entropy and would cost every request; viewer passwords, chosen by people, use scrypt.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Optional

TOKEN_PREFIX = "hntht1"


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once, never stored
    token_id: str
    salt: str
    hash: str


def new_token() -> NewToken:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return NewToken(f"{TOKEN_PREFIX}.{token_id}.{secret}", token_id, salt, _hash_secret(salt, secret))


def _hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def split_token(token: str) -> Optional[tuple[str, str]]:
    """-> (token_id, secret) or None when the string is not shaped like our token."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2] or len(token) > 200:
        return None
    return parts[1], parts[2]


def verify_secret(secret: str, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(_hash_secret(salt, secret), expected_hash)


# -- viewer passwords (scrypt) ---------------------------------------------------------------
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(_N, _R, _P, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r),
                                p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


# A hash to compare against when the user does not exist, so timing does not reveal user names.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_hex(8))


def session_id() -> str:
    return secrets.token_urlsafe(32)


def hash_session_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
