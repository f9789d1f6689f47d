"""Per-file locks held while a fix reads, compares, writes and verifies a file.

Two kinds, one protocol:

- `FileLocker` (the default): `fcntl.flock` on one lock file per target in a private folder (0700)
  next to the store, never beside the user's file, so fixing a repository leaves no clutter in it.
  The lock file is named by the sha256 of the target's real path. flock locks belong to the open
  file description, so they exclude other threads of this process as well as other processes, and
  the kernel drops them when a process dies (even by SIGKILL): a crashed fixer never leaves a file
  locked. Lock files are never deleted (deleting one while another process waits on it would
  split the lock in two).
- `RedisLocker` (when `SECAUDIT_REDIS_URL` is set, so fixers on several hosts sharing a checkout
  exclude each other): redis-py's `Lock`, i.e. `SET key token NX PX ttl` to take it and a Lua
  compare-and-delete to release it, so a holder whose TTL ran out can never release somebody
  else's lock. The TTL bounds how long a crashed holder blocks others; writers check
  `still_held()` right before each replace.

Several files are always locked in sorted key order, so two multi-file fixes cannot deadlock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from secaudit.tools.errors import ConfigError, Conflict

__all__ = ["FileLocker", "LockSet", "Locker", "RedisLocker", "lock_key"]

_POLL_SECONDS = 0.01


def lock_key(real_path: Path) -> str:
    """A fixed-length name for a target file (its path is never put in a lock name or Redis key)."""
    return hashlib.sha256(os.fsencode(real_path)).hexdigest()


class LockSet(Protocol):
    def still_held(self) -> bool:
        """False when a lock was lost (a Redis TTL ran out); the caller must not write then."""


class Locker(Protocol):
    def hold(self, keys: Sequence[str], *, timeout: float) -> contextlib.AbstractContextManager[LockSet]:
        """Lock every key (sorted order) within `timeout` seconds, else raise Conflict."""


class _FileLockSet:
    def still_held(self) -> bool:
        return True


class FileLocker:
    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = Path(lock_dir)
        self._ready = False

    def _open(self, key: str) -> int:
        if not self._ready:
            # Created on first use, so a server that never applies a fix leaves no folder behind.
            self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # mkdir's mode is masked by umask and ignored for an existing folder: enforce it.
            with contextlib.suppress(OSError):
                os.chmod(self.lock_dir, 0o700)
            self._ready = True
        return os.open(
            self.lock_dir / f"{key}.lock",
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )

    @contextlib.contextmanager
    def hold(self, keys: Sequence[str], *, timeout: float) -> Iterator[LockSet]:
        fds: list[int] = []
        deadline = time.monotonic() + timeout
        try:
            for key in sorted(set(keys)):
                fd = self._open(key)
                fds.append(fd)
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                            raise
                        if time.monotonic() >= deadline:
                            raise Conflict(
                                "another fix is writing this file right now and did not finish within "
                                f"{timeout:g} s; try again"
                            ) from None
                        time.sleep(_POLL_SECONDS)
            yield _FileLockSet()
        finally:
            for fd in reversed(fds):
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def try_hold(self, keys: Sequence[str]) -> contextlib.AbstractContextManager[LockSet]:
        return self.hold(keys, timeout=0.0)


class _RedisLockSet:
    def __init__(self, locks: list[Any]) -> None:
        self._locks = locks

    def still_held(self) -> bool:
        try:
            return all(bool(lock.owned()) for lock in self._locks)
        except Exception:  # noqa: BLE001 - an unreachable Redis means we cannot prove ownership
            return False


class RedisLocker:
    """Locks in Redis under `secaudit:fixlock:<key>`, each with a TTL and an owner token."""

    def __init__(self, url: str, *, ttl_seconds: float = 120.0, client: Any | None = None) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "SECAUDIT_REDIS_URL is set but the redis package is missing; install secaudit-mcp[redis]"
            ) from None
        self.ttl_seconds = ttl_seconds
        self.client = client or redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._local = threading.local()

    @contextlib.contextmanager
    def hold(self, keys: Sequence[str], *, timeout: float) -> Iterator[LockSet]:
        from redis.exceptions import LockError, RedisError

        held: list[Any] = []
        deadline = time.monotonic() + timeout
        try:
            for key in sorted(set(keys)):
                lock = self.client.lock(
                    f"secaudit:fixlock:{key}",
                    timeout=self.ttl_seconds,
                    sleep=_POLL_SECONDS,
                    blocking=timeout > 0,
                    blocking_timeout=max(0.0, deadline - time.monotonic()),
                    thread_local=False,
                )
                try:
                    # A random token per acquisition: redis-py would generate one too; being explicit
                    # documents that ownership is by token, not by process.
                    ok = lock.acquire(token=uuid.uuid4().hex)
                except RedisError:
                    raise Conflict("the Redis lock server did not answer; nothing was written") from None
                if not ok:
                    raise Conflict(
                        "another fix holds the lock on this file (Redis) and did not release it within "
                        f"{timeout:g} s; try again"
                    )
                held.append(lock)
            yield _RedisLockSet(held)
        finally:
            for lock in reversed(held):
                with contextlib.suppress(LockError, RedisError):
                    lock.release()

    def try_hold(self, keys: Sequence[str]) -> contextlib.AbstractContextManager[LockSet]:
        return self.hold(keys, timeout=0.0)
