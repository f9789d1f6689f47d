"""Pausing CPython's cyclic garbage collector over a bounded stretch of work.

An audit builds tens of thousands of objects that all live until it ends (one FileRef, a Path and a
stat per walked file; a cached result per file). Each batch of them trips the collector's
thresholds, and the full collections that follow traverse every object the process holds (the
imported SDKs, the store's caches), to free nothing: measured on the Django tree of
`benchmarks/bench_audit.py`, that was 15% of a warm re-audit. Reference counting still frees
everything that is not in a cycle while paused; cycles made meanwhile wait for the next collection
once the pause ends.

The collector's switch is process-wide and audits may run in several threads at once (the MCP
server's worker threads), so pauses are counted: the collector is switched back on when the last
one ends, and only if it was on when the first began. Overlapping pauses could keep it off for as
long as audits keep overlapping, so while it has been off for more than `LONGEST_OFF`, a pause
that starts or ends runs one collection itself: garbage never piles up for longer than that.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["LONGEST_OFF", "paused_gc"]

LONGEST_OFF = 60.0  # seconds

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_off_since = 0.0
_clock: Callable[[], float] = time.monotonic


def _collect_if_off_too_long() -> None:
    """Called with the lock held, while some pause is still on."""
    global _off_since
    now = _clock()
    if _was_enabled and now - _off_since > LONGEST_OFF:
        gc.collect()
        _off_since = now


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the body with the cyclic collector off (nested and concurrent uses are counted)."""
    global _depth, _was_enabled, _off_since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
            _off_since = _clock()
        else:
            _collect_if_off_too_long()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _was_enabled:
                    gc.enable()
            else:
                _collect_if_off_too_long()
