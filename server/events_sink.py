"""Where security events go: observers (metrics) at once, the events table in batches.

Under HTTP load one SQLite transaction per tool call would cost more than the call itself, so
while the server runs a flusher task, events are buffered and written every quarter second (and at
shutdown). Without the flusher (stdio, CLI) each event is written straight away in a worker thread.
The buffer is bounded: a flood of refused requests cannot grow memory; what is dropped is counted
and logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio
import anyio.to_thread

from secaudit.tools.errors import SecauditError
from secaudit.tools.events import EventLog, SecurityEvent

__all__ = ["EventSink"]

log = logging.getLogger("secaudit.events")

_FLUSH_SECONDS = 0.25
_MAX_BUFFER = 10_000
_PRUNE_EVERY_SECONDS = 3600.0


class EventSink:
    def __init__(self, events: EventLog | None, *, retention_days: int = 0) -> None:
        self.events = events
        self.retention_days = retention_days
        self.observers: list[Callable[[SecurityEvent], None]] = []
        self._buffer: list[SecurityEvent] = []
        self._running = False
        self.dropped = 0

    async def emit(self, event: SecurityEvent) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                log.exception("event observer failed")
        if self.events is None:
            return
        if self._running:
            if len(self._buffer) >= _MAX_BUFFER:
                self.dropped += 1
                return
            self._buffer.append(event)
            return
        await self._write([event])

    async def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        await self._write(batch)
        if self.dropped:
            log.warning("%d security events were dropped: the buffer was full", self.dropped)
            self.dropped = 0

    async def _write(self, batch: list[SecurityEvent]) -> None:
        events = self.events
        if events is None:
            return
        try:
            await anyio.to_thread.run_sync(events.record_many, batch)
        except SecauditError as exc:
            log.error("could not record %d security events: %s", len(batch), exc)

    async def prune(self) -> None:
        events = self.events
        if events is None or self.retention_days <= 0:
            return
        try:
            removed = await anyio.to_thread.run_sync(events.prune, self.retention_days)
        except SecauditError as exc:
            log.error("could not prune security events: %s", exc)
            return
        if removed:
            log.info("pruned %d security events older than %d days", removed, self.retention_days)

    async def run(self) -> None:
        """Flush periodically until cancelled; flush what is left on the way out."""
        self._running = True
        last_prune = time.monotonic()
        await self.prune()
        try:
            while True:
                await anyio.sleep(_FLUSH_SECONDS)
                await self.flush()
                if time.monotonic() - last_prune > _PRUNE_EVERY_SECONDS:
                    last_prune = time.monotonic()
                    await self.prune()
        finally:
            self._running = False
            with anyio.CancelScope(shield=True):
                await self.flush()
