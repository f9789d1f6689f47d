"""What the config scanner's file kinds share: a hit, a per-file skip, the confined text read, and
the weak-password check dotenv files and compose environments both get."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from secaudit.tools.confined_io import FileRefused, read_bytes
from secaudit.tools.findings.model import Confidence
from secaudit.tools.scanners.secrets_detect import mask_value

__all__ = ["MAX_TEXT_BYTES", "Hit", "Skip", "basename", "is_variable_name", "read_text", "weak_password_hit"]

MAX_TEXT_BYTES = 1024 * 1024  # Dockerfiles, compose, dotenv and settings files are small
_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd)?\b|passwd|password|_pass$|^pass$|pwd")
# Passwords that ship as defaults or examples (product docs, tutorials, base images), and the
# placeholders people leave in: the first guesses of any credential-stuffing run.
_DEFAULT_PASSWORDS = frozenset(
    {
        "changeme", "change_me", "change-me", "changeit", "change_it", "changethis", "changeme123",
        "password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "pa55word",
        "admin", "admin123", "administrator", "secret", "secret123", "supersecret", "super_secret",
        "supersecretpassword", "topsecret", "root", "toor", "1234", "12345", "123456", "12345678",
        "123456789", "qwerty", "abc123", "pass", "letmein", "welcome", "default", "guest", "test",
        "user", "demo", "example", "sample", "postgres", "mysql", "mariadb", "redis", "mongo",
        "mongodb", "rabbitmq", "elastic", "changeme!", "keycloak", "minioadmin", "sa", "oracle",
    }
)  # fmt: skip
_EMPTY_PASSWORD_FLAGS = {
    "MYSQL_ALLOW_EMPTY_PASSWORD",
    "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
    "POSTGRES_HOST_AUTH_METHOD",
    "ALLOW_EMPTY_PASSWORD",
}


# What dotenv, compose and shells accept as a variable name; anything else on a line is not a setting.
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def is_variable_name(key: str) -> bool:
    """Whether `key` can be an environment variable's name (a commented-out line's cannot)."""
    return bool(_VAR_NAME.match(key))


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


def _own_names(key: str, names: Iterable[str]) -> set[str]:
    """Names a password must not equal: the variable's own prefix (`RABBITMQ` of
    `RABBITMQ_DEFAULT_PASS`) and the caller's (the compose service, its image, its user)."""
    out = {n.strip().lower() for n in names if n and len(n.strip()) >= 2}
    prefix = re.split(r"[_.-]", key, maxsplit=1)[0].lower()
    if len(prefix) >= 3 and not _PASSWORD_NAME.search(prefix):
        out.add(prefix)
    return out


def weak_password_hit(
    key: str, value: str | None, line: int | None, where: str, own_names: Iterable[str] = ()
) -> Hit | None:
    """A password-named variable set empty, to a well-known default, or to the name of what it
    protects (`own_names`, and the variable's own prefix); the value is never echoed."""
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
    elif candidate.lower() in _own_names(key, own_names):
        kind = "the name of the service it protects"
    else:
        return None
    return Hit(
        "config.default-password",
        line,
        f"{key} is {kind} ({mask_value(candidate)})",
        f"{where}:{key}",
        snippet=f"{key}={mask_value(candidate) if candidate else ''}",
    )
