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
one ends, and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the body with the cyclic collector off (nested and concurrent uses are counted)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
