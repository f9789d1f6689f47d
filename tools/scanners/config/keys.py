"""Private key files: PEM/OpenSSH/PuTTY keys found by name and confirmed by their header (a
certificate or public key is nothing secret), and PKCS#12 keystores by name."""

from __future__ import annotations

import re
from pathlib import Path

from secaudit.tools.confined_io import FileRefused, read_head
from secaudit.tools.findings.model import Confidence

from .common import Hit, Skip, basename

__all__ = ["is_key_file", "key_file"]

MAX_KEY_PROBE = 64 * 1024
_KEY_NAMES = re.compile(r"^(?:id_(?:rsa|dsa|ecdsa|ed25519)|.+\.(?:pem|key|ppk|p8|pk8))$")
_KEYSTORE_NAMES = re.compile(r".+\.(?:p12|pfx)$", re.IGNORECASE)
_PRIVATE_KEY_HEADER = re.compile(
    rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
    rb"|PuTTY-User-Key-File-\d"
)


def is_key_file(name: str) -> bool:
    return bool(_KEY_NAMES.match(name) or _KEYSTORE_NAMES.match(name))


def key_file(root: Path, rel: str) -> list[Hit]:
    if _KEYSTORE_NAMES.match(basename(rel)):
        return [
            Hit(
                "config.private-key-file",
                None,
                "PKCS#12 keystore (holds a private key)",
                "keystore",
                confidence=Confidence.MEDIUM,
            )
        ]
    try:
        head = read_head(root, rel, MAX_KEY_PROBE, follow_links=False)
    except FileRefused as exc:
        raise Skip(exc.reason) from None
    match = _PRIVATE_KEY_HEADER.search(head)
    if match is None:
        return []  # a certificate or public key: nothing secret
    header = match.group(0).decode("ascii", "replace")
    line = head[: match.start()].count(b"\n") + 1
    encrypted = b"ENCRYPTED" in match.group(0) or b"Proc-Type: 4,ENCRYPTED" in head
    return [
        Hit(
            "config.private-key-file",
            line,
            f"{header.strip('-')}{' (encrypted)' if encrypted else ''}",
            "private-key",
            snippet=header,
        )
    ]
