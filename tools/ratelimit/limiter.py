"""Rate limits per identity and per class of work.

- Classes: `read` (list/get/export), `write` (triage, tasks), `audit` (scans: the expensive kind),
  `request` (every HTTP request, whatever it carries), and `auth_failure` (failed authentications
  per client address: charged only on failure, checked before any token is looked at). Each has
  its own budget.
- Strategy: moving window, the exact one: `N/minute` never admits more than N calls in any 60 s.
  The cheaper sliding-window counter of `limits` rounds its weighted estimate down, so a small
  budget such as 2/minute admitted a third call right after a window edge; identities here are
  few, so one timestamp list per identity and class (at most N entries, in memory or Redis) is
  a fair price for a limit that means what it says.
- Keys never hold client text: a fixed prefix, the class name from our own set, and a digest of
  the identity. `limits` sets a TTL on every key it writes, so abandoned keys expire.
- Redis unreachable: `on_redis_error="local"` (default) falls back to an in-process limiter for a
  cool-down period and logs one line (without the URL's password); `"deny"` refuses the call with a
  clear error instead. Either way there is never a window with no limit at all.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from limits import strategies as sync_strategies
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import MemoryStorage

from secaudit.tools.errors import ConfigError, RateLimited, SecauditError

__all__ = ["COST_CLASSES", "RateLimiter", "RateLimiterUnavailable", "parse_rule", "redacted_url"]

log = logging.getLogger("secaudit.ratelimit")

COST_CLASSES = ("read", "write", "audit", "request", "auth_failure")
KEY_PREFIX = "secaudit-rl"
_NAMESPACE = "secaudit"
_REDIS_COOLDOWN_SECONDS = 5.0
_SWEEP_SECONDS = 1.0  # how often the in-process storage drops expired entries


class RateLimiterUnavailable(SecauditError):
    code = "rate_limiter_unavailable"


def parse_rule(text: str, what: str) -> RateLimitItem:
    """`120/minute`, `10 per second`, ... (the `limits` notation); one rule per class."""
    try:
        item = parse(text)
    except ValueError:
        raise ConfigError(f"{what}: use a rate such as 120/minute or 5/second") from None
    return item


def redacted_url(url: str) -> str:
    """scheme://host:port/db, without user or password: the only form a log line may show."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "redis://<unparseable>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


class _LocalStorage(MemoryStorage):
    """`limits`' in-memory storage, with its expiry sweep run inline at most once a second.

    `MemoryStorage` starts a `threading.Timer` (10 ms) after every hit when the last one has
    finished: with calls a few ms apart that is a new thread for nearly every HTTP request, started
    and joined through the GIL (profiled: the largest single cost of a tool call over HTTP after the
    socket writes). The sweep only frees memory (a hit reads the window from the entries' times,
    expired or not), so running it on the caller's thread now and then changes no decision.

    `limits` calls the hook `self.__schedule_expiry()`, i.e. `_MemoryStorage__schedule_expiry`;
    tests/tools/ratelimit/test_limiter.py fails if a new version of `limits` stops calling it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the name `limits` calls
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class RateLimiter:
    def __init__(
        self,
        rules: Mapping[str, str],
        *,
        redis_url: str | None = None,
        on_redis_error: Literal["local", "deny"] = "local",
    ) -> None:
        self.rules: dict[str, RateLimitItem] = {
            cls: parse_rule(rules[cls], f"rate limit for {cls}") for cls in COST_CLASSES if cls in rules
        }
        self.on_redis_error = on_redis_error
        # The in-process limiter is `limits`' synchronous one: pure CPU, microseconds, called straight
        # from the event loop. Its asyncio twin schedules an expiry task after every hit that hops to
        # a worker thread once per key: measured, that alone cost ~13% of HTTP tool-call throughput.
        # Its storage sweeps expired entries inline instead of in a timer thread per hit (_LocalStorage).
        self._local = sync_strategies.MovingWindowRateLimiter(_LocalStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._redis_label = ""
        self._redis_down_until = 0.0
        if redis_url:
            self._redis_label = redacted_url(redis_url)
            storage: Storage = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                socket_connect_timeout=0.5,
                socket_timeout=0.5,
            )
            self._shared = MovingWindowRateLimiter(storage)

    @property
    def backend(self) -> str:
        return "redis" if self._shared is not None else "memory"

    async def hit(self, identity_key: str, cost: str) -> None:
        """Charge one unit of `cost` to `identity_key` (already a digest); raise RateLimited if over."""
        item = self.rules.get(cost)
        if item is None:
            return
        retry = await self._retry_after(item, cost, identity_key, charge=True)
        if retry is None:
            return
        raise RateLimited(
            f"rate limit for {cost} calls reached ({item.amount} per {item.multiples} "
            f"{item.GRANULARITY.name}); retry in {retry} s",
            retry_after=float(retry),
        )

    async def exhausted(self, identity_key: str, cost: str) -> int | None:
        """Seconds until `identity_key` may spend one `cost` again; None if it may now. Charges nothing."""
        item = self.rules.get(cost)
        if item is None:
            return None
        return await self._retry_after(item, cost, identity_key, charge=False)

    async def _retry_after(
        self, item: RateLimitItem, cost: str, identity_key: str, *, charge: bool
    ) -> int | None:
        """None when one more unit fits (spent too if `charge`), else whole seconds to wait."""
        limiter = self._limiter()
        if limiter is None:
            local = self._local
            if (local.hit if charge else local.test)(item, cost, identity_key):
                return None
            stats = local.get_window_stats(item, cost, identity_key)
            return max(1, math.ceil(stats.reset_time - time.time()))
        try:
            fits = await (limiter.hit if charge else limiter.test)(item, cost, identity_key)
            if fits:
                return None
            stats = await limiter.get_window_stats(item, cost, identity_key)
        except (StorageError, OSError, ConnectionError, TimeoutError):
            self._redis_failed()
            if self.on_redis_error == "deny":
                raise RateLimiterUnavailable(
                    "the shared rate-limit store is unreachable and this server refuses calls until it "
                    "is back; retry shortly"
                ) from None
            # _limiter() now answers with the per-process fallback, so this recursion ends.
            return await self._retry_after(item, cost, identity_key, charge=charge)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def charge(self, identity_key: str, cost: str) -> None:
        """Spend one `cost` without refusing anything now (failures counted for a later check)."""
        try:
            await self.hit(identity_key, cost)
        except RateLimited:
            pass

    def _limiter(self) -> MovingWindowRateLimiter | None:
        """The shared (Redis) limiter, or None for the in-process one."""
        if self._shared is None:
            return None
        if self._redis_down_until and time.monotonic() < self._redis_down_until:
            if self.on_redis_error == "deny":
                raise RateLimiterUnavailable(
                    "the shared rate-limit store is unreachable and this server refuses calls until it "
                    "is back; retry shortly"
                )
            return None
        if self._redis_down_until:
            log.warning("retrying the shared rate-limit store at %s", self._redis_label)
            self._redis_down_until = 0.0
        return self._shared

    def _redis_failed(self) -> None:
        if self._shared is None:
            raise RateLimiterUnavailable("the rate limiter failed; retry shortly")
        behaviour = (
            "refusing calls" if self.on_redis_error == "deny" else "using per-process limits meanwhile"
        )
        log.warning(
            "rate-limit store at %s is unreachable; %s for %.0f s",
            self._redis_label,
            behaviour,
            _REDIS_COOLDOWN_SECONDS,
        )
        self._redis_down_until = time.monotonic() + _REDIS_COOLDOWN_SECONDS

    async def check_shared(self) -> bool:
        """True when there is no shared store or it answers (for start-up logging)."""
        if self._shared is None:
            return True
        try:
            return bool(await self._shared.storage.check())
        except (StorageError, OSError, ConnectionError, TimeoutError):
            return False
