"""The limiter itself: exact budgets, also across the edge of a clock minute."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from secaudit.tools.errors import ConfigError, RateLimited
from secaudit.tools.ratelimit import limiter as limiter_module
from secaudit.tools.ratelimit.limiter import RateLimiter


class Clock:
    """time.time() under test control; monotonic() stays real (cool-downs use it)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # 1_800_000_000 is a multiple of 60: start 0.2 s before a fixed-window edge.
    c = Clock(1_800_000_000 - 0.2)
    monkeypatch.setattr("limits.storage.memory.time", c)
    monkeypatch.setattr(limiter_module, "time", c)
    return c


def test_budget_holds_across_a_minute_edge(clock: Clock) -> None:
    async def scenario() -> list[object]:
        limiter = RateLimiter({"write": "2/minute"})
        outcomes: list[object] = []
        for step in (0.0, 0.1, 0.3, 30.0, 29.7, 0.5):
            clock.now += step
            try:
                await limiter.hit("digest-a", "write")
                outcomes.append("ok")
            except RateLimited as exc:
                outcomes.append(exc.retry_after)
        return outcomes

    outcomes = anyio.run(scenario)
    # Two calls just before the edge, a third 0.2 s after it: refused (a window counter that
    # rounds its estimate down let it through). Still refused 30 s later; free again once the
    # first call is 60 s old.
    assert outcomes[:2] == ["ok", "ok"]
    assert isinstance(outcomes[2], float) and 1 <= outcomes[2] <= 60
    assert isinstance(outcomes[3], float) and outcomes[3] <= 30
    assert outcomes[4:] == ["ok", "ok"]


def test_identities_and_classes_have_separate_budgets(clock: Clock) -> None:
    async def scenario() -> None:
        limiter = RateLimiter({"write": "1/minute", "read": "1/minute"})
        await limiter.hit("digest-a", "write")
        await limiter.hit("digest-a", "read")
        await limiter.hit("digest-b", "write")
        with pytest.raises(RateLimited, match=r"\(1 per 1 minute\); retry in"):
            await limiter.hit("digest-a", "write")
        await limiter.hit("digest-a", "audit")  # no rule for this class: unlimited

    anyio.run(scenario)


def test_bad_rule_names_the_class_and_the_notation() -> None:
    with pytest.raises(ConfigError, match="rate limit for write: use a rate such as 120/minute"):
        RateLimiter({"write": "lots"})


def test_local_storage_starts_no_thread_per_hit_and_still_drops_expired_entries(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import limits.storage.memory as memory

    started: list[float] = []

    class CountingTimer(threading.Timer):
        def start(self) -> None:
            started.append(clock.now)
            super().start()

    monkeypatch.setattr(memory.threading, "Timer", CountingTimer)
    sweeps: list[float] = []
    real_sweep = memory.MemoryStorage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    def counting_sweep(self: memory.MemoryStorage) -> None:
        sweeps.append(clock.now)
        real_sweep(self)

    monkeypatch.setattr(memory.MemoryStorage, "_MemoryStorage__expire_events", counting_sweep)

    async def scenario() -> tuple[int, int]:
        limiter = RateLimiter({"read": "1000/minute"})
        for _ in range(200):
            clock.now += 0.001
            await limiter.hit("digest-a", "read")
        storage = limiter._local.storage
        kept = sum(len(v) for v in storage.events.values())  # type: ignore[attr-defined]
        clock.now += 120  # every entry is now past its minute
        storage._next_sweep = 0.0  # type: ignore[attr-defined]  # as if a second had passed
        await limiter.hit("digest-a", "read")
        return kept, sum(len(v) for v in storage.events.values())  # type: ignore[attr-defined]

    kept, after = anyio.run(scenario)
    assert len(started) <= 1  # the storage's own start-up timer at most, none per hit
    assert sweeps, "limits no longer calls the expiry hook _LocalStorage replaces"
    assert kept == 200 and after == 1  # the sweep dropped the expired 200; the new hit remains
