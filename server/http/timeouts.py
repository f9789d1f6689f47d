"""How long a client may take to send a request: the header phase of every connection.

uvicorn starts no timer on a new connection, and none while the headers of a request trickle in:
an idle or half-sent connection held its descriptor for ever. `bounded_h11` is uvicorn's h11
protocol with one more timer: from the moment a connection opens (or its previous answer ends)
the headers of the next request must be complete within `SECAUDIT_HTTP_READ_TIMEOUT` seconds, or
the connection is closed. Data arriving does not restart it, so a header sent a byte at a time
gets no more time than none at all. The body has the same bound, kept by the ASGI side
(`EdgePolicy.read_message`), which answers 408 and closes the connection.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["bounded_h11"]

log = logging.getLogger("secaudit.http")


class _HeaderTimeoutH11(H11Protocol):
    read_timeout = 30.0  # set per server by bounded_h11
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:
            # A request's headers are complete: its body is bounded by the application.
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        # Armed first: a pipelined request already buffered is handled (and disarms it) in super().
        self._arm_header_timer()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.read_timeout, self._headers_overdue)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.transport.is_closing():
            log.debug("closed a connection that sent no complete request within %ss", self.read_timeout)
            self.transport.close()


def bounded_h11(read_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol closing a connection whose request headers take over `read_timeout`."""
    return type("BoundedH11Protocol", (_HeaderTimeoutH11,), {"read_timeout": read_timeout})
