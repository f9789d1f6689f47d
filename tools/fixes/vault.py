"""Sealing of file contents the fix history keeps in the store.

Backups hold a file's previous bytes, and for a secrets fix those bytes contain the secret; plan
contents and diffs may hold other secrets that sit in the same file. The store is a plain SQLite
file that other tools read (and that the canary tests search byte by byte), so every content blob
is sealed with AES-256-GCM (`cryptography`) before it is written, bound to its row (associated
data), and only metadata (paths, sha256 digests, statuses) is stored in clear.

The key lives in its own file beside the store (`<store>.fixkey`, 0600, created once, atomically).
Losing it makes old backups unreadable (revert says so) but never breaks anything else. It
protects against the database file travelling alone (a backup, a bug report, a canary scan), not
against someone who can read the user's files: that is the threat model's "same account" case.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from secaudit.tools.fixes.errors import BackupUnavailable
from secaudit.tools.keys import load_or_create_key

__all__ = ["BlobCipher"]


def _load_or_create_key(path: Path) -> bytes:
    return load_or_create_key(path, _KEY_BYTES, what="fix backup key")


_VERSION = b"v1"
_KEY_BYTES = 32


class BlobCipher:
    def __init__(self, key_path: Path) -> None:
        self.key_path = Path(key_path)
        self._aead = AESGCM(_load_or_create_key(self.key_path))

    def seal(self, data: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        if not blob.startswith(_VERSION):
            raise BackupUnavailable("a stored fix content blob has an unknown format")
        nonce, body = blob[2:14], blob[14:]
        try:
            return self._aead.decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise BackupUnavailable(
                "a stored fix content cannot be decrypted: the key file "
                f"{self.key_path.name} was replaced or the row was altered"
            ) from None
