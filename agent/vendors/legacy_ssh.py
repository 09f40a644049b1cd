"""Legacy ``ssh-rsa`` (RSA with SHA-1) host keys for codecs whose SSH server offers nothing else.

The Poly Group Series SSH server signs the key exchange only with ``ssh-rsa``.  Paramiko 5 dropped
that algorithm (``Incompatible ssh peer (no acceptable host key)``) and ``disabled_algorithms`` cannot
bring it back: it only removes algorithms.  So, per transport and never globally:

- :class:`LegacyRSAKey` is an RSAKey that also knows the ``ssh-rsa`` signature hash (SHA-1);
- :func:`allow_ssh_rsa` appends ``ssh-rsa`` *last* to this transport's host key algorithms, so a server
  that offers ``rsa-sha2-*``, ECDSA or Ed25519 still negotiates those; only a server offering ``ssh-rsa``
  alone gets it.

Why it is acceptable: the host key is still pinned by fingerprint (agent/vendors/pinning.py) before the
password is sent; SHA-1 here signs one key-exchange hash, which no known attack forges in real time.
The simulator uses :func:`offer_only_ssh_rsa` to behave like the codec.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes

from agent.vendors import sshlib

RSAKey = sshlib.load().RSAKey


class LegacyRSAKey(RSAKey):
    HASHES = {**RSAKey.HASHES, "ssh-rsa": hashes.SHA1}


def allow_ssh_rsa(transport: Any) -> None:
    """Let this client transport accept an ``ssh-rsa`` (SHA-1) host key signature, as a last resort."""
    keys = tuple(k for k in transport._preferred_keys if k != "ssh-rsa")
    transport._preferred_keys = keys + ("ssh-rsa",)
    transport._key_info = {**transport._key_info, "ssh-rsa": LegacyRSAKey}


def offer_only_ssh_rsa(transport: Any, key: RSAKey) -> None:
    """Server side (simulators): present ``key`` and sign with ``ssh-rsa`` only, like a Group Series."""
    legacy = LegacyRSAKey(key=key.key)
    transport._preferred_keys = ("ssh-rsa",)
    transport._key_info = {**transport._key_info, "ssh-rsa": LegacyRSAKey}
    transport.add_server_key(legacy)
