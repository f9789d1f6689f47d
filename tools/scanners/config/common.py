"""What the config scanner's file kinds share: a hit, a per-file skip, the confined text read, and
the weak-password check dotenv files and compose environments both get."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from secaudit.tools.confined_io import FileRefused, read_bytes
from secaudit.tools.findings.model import Confidence
from secaudit.tools.scanners.secrets_detect import mask_value

__all__ = ["MAX_TEXT_BYTES", "Hit", "Skip", "basename", "read_text", "weak_password_hit"]

MAX_TEXT_BYTES = 1024 * 1024  # Dockerfiles, compose, dotenv and settings files are small
_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd)?\b|passwd|password|_pass$|^pass$|pwd")
_DEFAULT_PASSWORDS = frozenset(
    {
        "changeme",
        "change_me",
        "change-me",
        "password",
        "admin",
        "secret",
        "root",
        "toor",
        "123456",
        "12345678",
        "pass",
        "passw0rd",
        "letmein",
        "default",
        "guest",
        "test",
        "postgres",
        "mysql",
    }
)
_EMPTY_PASSWORD_FLAGS = {
    "MYSQL_ALLOW_EMPTY_PASSWORD",
    "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
    "POSTGRES_HOST_AUTH_METHOD",
    "ALLOW_EMPTY_PASSWORD",
}


class Skip(Exception):
    """A per-file skip, with its reason as the message."""


@dataclass
class Hit:
    rule: str
    line: int | None
    detail: str
    context: str  # stable text for the fingerprint (never a raw secret)
    snippet: str | None = None
    confidence: Confidence = Confidence.HIGH


def basename(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def read_text(root: Path, rel: str, limit: int = MAX_TEXT_BYTES) -> str:
    # The walk found a regular file; a link swapped in since is refused, not followed.
    try:
        data = read_bytes(root, rel, limit, follow_links=False)
    except FileRefused as exc:
        raise Skip(exc.reason) from None
    if b"\x00" in data:
        raise Skip("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Skip("not UTF-8 text") from None


def weak_password_hit(key: str, value: str | None, line: int | None, where: str) -> Hit | None:
    """A password-named variable set empty or to a well-known default (value never echoed)."""
    upper = key.upper()
    if upper in _EMPTY_PASSWORD_FLAGS:
        if value is not None and value.strip().lower() in {"yes", "true", "1", "trust"}:
            return Hit(
                "config.default-password",
                line,
                f"{key} allows logging in without a password",
                f"{where}:{key}:empty-flag",
                snippet=f"{key}={value}",
            )
        return None
    if not _PASSWORD_NAME.search(key) or key.upper().endswith(("_FILE", "_PATH")):
        return None
    if value is None:
        return None  # compose: taken from the host environment at run time
    if value.startswith("$") and ":-" not in value and ":=" not in value:
        return None
    default = re.search(r"\$\{[^}:]+:[-=]([^}]*)\}", value)
    candidate = (default.group(1) if default else value).strip()
    if candidate == "":
        kind = "empty"
    elif candidate.lower() in _DEFAULT_PASSWORDS:
        kind = "a well-known default"
    else:
        return None
    return Hit(
        "config.default-password",
        line,
        f"{key} is {kind} ({mask_value(candidate)})",
        f"{where}:{key}",
        snippet=f"{key}={mask_value(candidate) if candidate else ''}",
    )
