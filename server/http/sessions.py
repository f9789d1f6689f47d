"""Session ids handed to clients, bound to the token that opened them.

The SDK numbers its sessions with `uuid4().hex` (122 random bits) and binds them to a principal
only when its own OAuth middleware is in use. We keep the SDK's session machinery but never show its
ids: each client sees an id of 256 bits from the OS CSPRNG, which this table maps to the SDK's id
together with the digest of the token that opened it, its identity, its age and its last use.
A request that presents an id with another token, after the maximum lifetime, or after the idle
timeout, is answered as if the session did not exist.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

__all__ = ["SessionRecord", "SessionTable"]


@dataclass
class SessionRecord:
    external: str
    internal: str
    owner: str  # sha256 hex of the token that opened it
    identity_key: str
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)


class SessionTable:
    def __init__(self, *, idle_seconds: float, max_seconds: float, per_identity: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.per_identity = per_identity
        self._by_external: dict[str, SessionRecord] = {}
        self._by_internal: dict[str, SessionRecord] = {}
        self._pending: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_external)

    def expired(self, record: SessionRecord, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - record.created > self.max_seconds or now - record.last_seen > self.idle_seconds

    def get(self, external: str) -> SessionRecord | None:
        return self._by_external.get(external)

    def external_for(self, internal: str) -> str | None:
        record = self._by_internal.get(internal)
        return record.external if record else None

    def open_for(self, identity_key: str) -> int:
        return sum(1 for r in self._by_external.values() if r.identity_key == identity_key)

    def reserve(self, identity_key: str) -> bool:
        """Hold a place for a session being opened; False when the identity is at its cap."""
        pending = self._pending.get(identity_key, 0)
        if self.open_for(identity_key) + pending >= self.per_identity:
            return False
        self._pending[identity_key] = pending + 1
        return True

    def release(self, identity_key: str) -> None:
        left = self._pending.get(identity_key, 0) - 1
        if left > 0:
            self._pending[identity_key] = left
        else:
            self._pending.pop(identity_key, None)

    def register(self, internal: str, owner: str, identity_key: str) -> SessionRecord:
        record = SessionRecord(
            external=secrets.token_urlsafe(32), internal=internal, owner=owner, identity_key=identity_key
        )
        self._by_external[record.external] = record
        self._by_internal[internal] = record
        return record

    def remove(self, record: SessionRecord) -> None:
        self._by_external.pop(record.external, None)
        self._by_internal.pop(record.internal, None)

    def all_expired(self) -> list[SessionRecord]:
        now = time.monotonic()
        return [r for r in self._by_external.values() if self.expired(r, now)]
