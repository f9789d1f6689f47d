"""Bearer tokens: who may call, with which scopes.

Why it is built this way:
- Only SHA-256 digests of tokens are kept in memory (and, preferably, on disk). Tokens are random
  and at least 32 characters long, so a fast hash is enough: a slow password hash protects guessable
  secrets, and it would cost milliseconds on every request.
- A presented token is compared against *every* entry with `hmac.compare_digest`, with no early
  exit, so neither the position of the match nor the number of entries leaks through timing.
- Several entries may share a name: that is how a token is rotated (add the new one, move clients,
  remove the old one). The identity of a caller is the entry's name.
- The token file is re-read when its size, mtime or inode changes; a broken edit keeps the previous
  set (logged) instead of locking everybody out or letting everybody in.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import threading
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from secaudit.tools.errors import ConfigError

__all__ = [
    "ALL_SCOPES",
    "TOOL_SCOPES",
    "Principal",
    "TokenEntry",
    "TokenRegistry",
    "hash_token",
    "identity_digest",
    "new_token",
    "parse_token_env",
    "parse_token_file",
    "raw_tokens",
]

log = logging.getLogger("secaudit.auth")

# read: list/get/export; write: audit, triage, tasks; fix: apply/revert fixes; admin: everything.
TOOL_SCOPES: frozenset[str] = frozenset({"read", "write", "fix", "admin"})
# `metrics` only opens /metrics, so a Prometheus scraper needs no tool rights.
ALL_SCOPES: frozenset[str] = TOOL_SCOPES | {"metrics"}

MIN_TOKEN_CHARS = 32
MAX_TOKEN_CHARS = 512
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")
_RELOAD_CHECK_SECONDS = 1.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Called for every rate-limited tool call with one of a handful of token names (never a token).
@functools.lru_cache(maxsize=256)
def identity_digest(identity: str) -> str:
    """A stable, non-reversible key for an identity (Redis keys, log lines)."""
    return hashlib.sha256(b"secaudit-identity\x00" + identity.encode("utf-8")).hexdigest()[:32]


def new_token() -> str:
    """A fresh token: 256 bits from the OS CSPRNG, URL-safe, with a recognisable prefix for scanners."""
    return "sa_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenEntry:
    name: str
    scopes: frozenset[str]
    digest: bytes  # sha256 of the token
    expires: dt.datetime | None = None
    source: str = "file"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    scopes: frozenset[str]
    token_digest: str  # hex; binds sessions to the exact token that opened them
    source: str = "token"

    def has_scope(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def key(self) -> str:
        return identity_digest(self.name)


def _scopes(raw: Iterable[str], where: str) -> frozenset[str]:
    scopes = frozenset(s.strip().lower() for s in raw if s.strip())
    unknown = scopes - ALL_SCOPES
    if unknown or not scopes:
        raise ConfigError(f"{where}: scopes must be one or more of {', '.join(sorted(ALL_SCOPES))}")
    return scopes


def _secret_digest(secret: str, where: str) -> bytes:
    if secret.startswith("sha256:"):
        hexd = secret.removeprefix("sha256:").lower()
        if not _HEX64.match(hexd):
            raise ConfigError(f"{where}: a sha256: value must be 64 hexadecimal characters")
        return bytes.fromhex(hexd)
    if not (MIN_TOKEN_CHARS <= len(secret) <= MAX_TOKEN_CHARS) or not _TOKEN_CHARS.match(secret):
        raise ConfigError(
            f"{where}: a token must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} printable characters "
            "without spaces; create one with `secaudit token new`"
        )
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _name(name: object, where: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: name must be 1-64 letters, digits, '_', '.', '-'")
    return name


def _env_entries(text: str) -> list[tuple[str, str, str] | None]:
    """The one reading of the `name:scopes:token` syntax: each non-blank entry (separated by ';'
    or newlines) split into its three fields, None for an entry that does not have three."""
    out: list[tuple[str, str, str] | None] = []
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if part:
            pieces = part.split(":", 2)
            out.append((pieces[0], pieces[1], pieces[2]) if len(pieces) == 3 else None)
    return out


def raw_tokens(text: str) -> list[str]:
    """The plain tokens in a SECAUDIT_HTTP_TOKENS value, for the redactor. Lenient on purpose: an
    entry `parse_token_env` refuses still has its token masked; `sha256:` digests are not secrets."""
    return [f[2] for f in _env_entries(text) if f is not None and f[2] and not f[2].startswith("sha256:")]


def parse_token_env(text: str, var: str = "SECAUDIT_HTTP_TOKENS") -> list[TokenEntry]:
    """`name:scope,scope:TOKEN` entries separated by ';' or newlines. TOKEN may be `sha256:<hex>`.

    Error messages give the entry's position, never its content.
    """
    entries: list[TokenEntry] = []
    for index, fields in enumerate(_env_entries(text), 1):
        where = f"{var} entry {index}"
        if fields is None:
            raise ConfigError(f"{where}: use name:scope[,scope]:token")
        name, scopes, secret = fields
        entries.append(
            TokenEntry(
                name=_name(name, where),
                scopes=_scopes(scopes.split(","), where),
                digest=_secret_digest(secret, where),
                source="env",
            )
        )
    return entries


def parse_token_file(path: Path) -> list[TokenEntry]:
    """A TOML file of `[[token]]` tables: name, scopes (list), sha256 (hex), optional expires.

    Only digests are accepted in the file: the file is read by the server and may be backed up,
    copied or shown in an editor, so it must not hold anything that opens the door by itself.
    """
    label = f"token file {path.name}"
    try:
        st = path.stat()
        if st.st_mode & stat.S_IWOTH:
            raise ConfigError(f"{label}: is writable by other users; chmod o-w it")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{label}: does not exist") from None
    except PermissionError:
        raise ConfigError(f"{label}: cannot be read (permissions)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        raise ConfigError(f"{label}: is not valid TOML") from None
    tokens = data.get("token", [])
    if not isinstance(tokens, list):
        raise ConfigError(f"{label}: use [[token]] tables")
    entries: list[TokenEntry] = []
    for index, item in enumerate(tokens, 1):
        where = f"{label} token {index}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: use a [[token]] table")
        unknown = set(item) - {"name", "scopes", "sha256", "expires"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        digest = item.get("sha256")
        if not isinstance(digest, str) or not _HEX64.match(digest.lower()):
            raise ConfigError(f"{where}: sha256 must be the 64-hex digest of the token")
        scopes = item.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}: scopes must be a list of strings")
        expires = item.get("expires")
        if expires is not None:
            if not isinstance(expires, dt.datetime) or expires.tzinfo is None:
                raise ConfigError(f"{where}: expires must be a TOML date-time with a time zone")
        entries.append(
            TokenEntry(
                name=_name(item.get("name"), where),
                scopes=_scopes(scopes, where),
                digest=bytes.fromhex(digest.lower()),
                expires=expires,
                source="file",
            )
        )
    return entries


@dataclass
class TokenRegistry:
    """The set of valid tokens, from the environment and an optional file (re-read when it changes)."""

    env_entries: list[TokenEntry] = field(default_factory=list)
    token_file: Path | None = None
    _file_entries: list[TokenEntry] = field(default_factory=list)
    _file_sig: tuple[int, int, int] | None = None
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.token_file is not None:
            self._file_entries = parse_token_file(self.token_file)
            self._file_sig = self._signature()
            self._checked = time.monotonic()

    @property
    def configured(self) -> bool:
        return bool(self.env_entries) or self.token_file is not None

    def entries(self) -> list[TokenEntry]:
        self._maybe_reload()
        return [*self.env_entries, *self._file_entries]

    def _signature(self) -> tuple[int, int, int] | None:
        assert self.token_file is not None
        try:
            st = os.stat(self.token_file)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _maybe_reload(self) -> None:
        if self.token_file is None:
            return
        now = time.monotonic()
        if now - self._checked < _RELOAD_CHECK_SECONDS:
            return
        with self._lock:
            if now - self._checked < _RELOAD_CHECK_SECONDS:
                return
            self._checked = now
            sig = self._signature()
            if sig == self._file_sig:
                return
            try:
                entries = parse_token_file(self.token_file)
            except ConfigError as exc:
                log.error("token file not reloaded, keeping the previous tokens: %s", exc)
                self._file_sig = sig
                return
            self._file_entries = entries
            self._file_sig = sig
            log.info("token file reloaded: %d token(s)", len(entries))

    def authenticate(self, presented: str, now: dt.datetime | None = None) -> Principal | None:
        """The principal for `presented`, or None. Constant time in the entry that matches."""
        if not presented or len(presented) > MAX_TOKEN_CHARS:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: TokenEntry | None = None
        for entry in self.entries():
            # No early exit: every entry is compared whatever the outcome.
            if hmac.compare_digest(entry.digest, digest) and found is None:
                found = entry
        if found is None:
            return None
        if found.expires is not None and (now or dt.datetime.now(dt.UTC)) >= found.expires:
            return None
        return Principal(name=found.name, scopes=found.scopes, token_digest=digest.hex())
