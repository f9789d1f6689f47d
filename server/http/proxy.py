"""Proxying an admitted request into the SDK's Streamable HTTP app.

Sessions: the caller sees only our session ids, each bound to the token that opened it; the SDK's
own ids stay inside (`SessionTable` maps one to the other). A request runs under the server's
deadline, with the caller bound for the tool guards; past the deadline the work is cancelled inside
its SDK session too, and an answer already begun is ended cleanly. A client that disconnects before
its answer is complete has its request cancelled the same way. Sessions past their lifetime or idle
timeout are ended by a sweep, also while a stream holds them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from secaudit.server.guards import Caller, bind_caller, reset_caller
from secaudit.server.http.checks import header_values
from secaudit.server.http.responses import Headers, Refusal
from secaudit.server.http.sessions import SessionRecord, SessionTable
from secaudit.server.settings import Settings
from secaudit.tools.auth import Principal

__all__ = ["MCP_PATH", "SESSION_HEADER", "SdkProxy"]

log = logging.getLogger("secaudit.http")

MCP_PATH = "/mcp"
SESSION_HEADER = b"mcp-session-id"
_SWEEP_SECONDS = 15.0


class SdkProxy:
    def __init__(self, inner: Starlette, sessions: SessionTable, settings: Settings) -> None:
        self.inner = inner
        self.sessions = sessions
        self.settings = settings

    def session_for(self, scope: Scope, principal: Principal) -> SessionRecord | None:
        values = header_values(scope, SESSION_HEADER)
        if not values:
            return None
        record = self.sessions.get(values[0]) if len(values) == 1 else None
        if record is None or self.sessions.expired(record):
            raise Refusal(404, "Session not found; initialize a new one")
        if record.owner != principal.token_digest:
            # Same answer as an unknown id: the caller learns nothing about other sessions.
            raise Refusal(
                404,
                "Session not found; initialize a new one",
                event="session_refused",
                detail=f"{principal.name}: session opened by another token",
            )
        return record

    def inner_headers(self, scope: Scope, record: SessionRecord | None) -> Headers:
        """The request's headers with our session id swapped for the SDK's."""
        headers: Headers = scope.get("headers", [])
        if record is not None:
            record.last_seen = time.monotonic()
            headers = [(k, v) for k, v in headers if k != SESSION_HEADER]
            headers.append((SESSION_HEADER, record.internal.encode()))
        return headers

    def reserve_session(self, principal: Principal, request_id: Any) -> None:
        """A place for a session this caller opens; 429 when the identity has its maximum open."""
        if not self.sessions.reserve(principal.key):
            raise Refusal(
                429,
                f"too many open sessions for this identity (at most "
                f"{self.settings.http_max_sessions_per_identity}); end one with DELETE or let it expire",
                code=-32000,
                headers=[(b"retry-after", b"60")],
                event="session_refused",
                detail=f"{principal.name}: session cap",
                request_id=request_id,
            )

    async def forward(
        self,
        scope: Scope,
        headers: Headers,
        body: bytes,
        receive: Receive,
        send: Send,
        principal: Principal,
        client: str | None,
        charged: set[str],
        record: SessionRecord | None,
        opening: bool,
        cancel_id: Any = None,
    ) -> None:
        inner_scope = dict(scope)
        inner_scope["headers"] = headers
        replayed = False
        client_gone = anyio.Event()

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            if scope.get("method") == "GET":
                return await receive()
            # The body was read: all that can come now is the disconnect `watch_client` reports.
            await client_gone.wait()
            return {"type": "http.disconnect"}

        status = 0
        started = False
        finished = False
        streaming = False
        # The place reserved for an opening session is given back as soon as the answer starts (the
        # session is then registered, or was refused): an SSE answer may stay open much longer.
        reserved = opening

        def unreserve() -> None:
            nonlocal reserved
            if reserved:
                reserved = False
                self.sessions.release(principal.key)

        async def translate(message: Message) -> None:
            nonlocal status, started, finished, streaming
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                out: Headers = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        streaming = True
                    if key.lower() == SESSION_HEADER:
                        internal = value.decode("latin-1")
                        external = self.sessions.external_for(internal)
                        if external is None and opening and status < 400:
                            external = self.sessions.register(
                                internal, principal.token_digest, principal.key
                            ).external
                        if external is None:
                            continue  # never leak the SDK's own id
                        value = external.encode()
                    out.append((key, value))
                message = {**message, "headers": out}
                unreserve()
            await send(message)

        async def watch_client(running: anyio.CancelScope) -> None:
            # The body is read, so `receive` answers only when the client disconnects or the answer
            # is complete (uvicorn then reports a disconnect too: not the client's doing).
            while (await receive())["type"] != "http.disconnect":
                pass
            if not finished:
                client_gone.set()
                running.cancel()

        token = bind_caller(Caller(principal=principal, client=client, charged=frozenset(charged)))
        try:
            if scope.get("method") == "GET":
                # A GET opens the server-to-client stream: it lives as long as the session.
                await self.inner(inner_scope, replay, translate)
            else:
                with anyio.move_on_after(self.settings.http_request_timeout_seconds) as deadline:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(watch_client, tg.cancel_scope)
                        await self.inner(inner_scope, replay, translate)
                        tg.cancel_scope.cancel()
                if deadline.cancelled_caught:
                    await self._past_deadline(send, record, cancel_id, started, finished, streaming)
                elif client_gone.is_set():
                    await self._client_gone(record, cancel_id)
        finally:
            reset_caller(token)
            unreserve()
        if record is not None and (status == 404 or (scope.get("method") == "DELETE" and status < 300)):
            self.sessions.remove(record)

    async def sweep_sessions(self) -> None:
        """End sessions past their maximum lifetime or idle timeout, also while a stream holds them."""
        while True:
            await anyio.sleep(min(_SWEEP_SECONDS, self.settings.http_session_idle_seconds / 2))
            for record in self.sessions.all_expired():
                self.sessions.remove(record)
                await self._terminate_inner(record.internal)

    async def _past_deadline(
        self,
        send: Send,
        record: SessionRecord | None,
        cancel_id: Any,
        started: bool,
        finished: bool,
        streaming: bool,
    ) -> None:
        if record is not None and cancel_id is not None:
            # Dropping the HTTP exchange does not stop the work: the SDK runs the request in the
            # session's own task group. Cancel it there, as a client would, so an audit past the
            # deadline stops its workers and is recorded as cancelled.
            await self._cancel_inner(record.internal, cancel_id)
        if not started:
            raise Refusal(504, "the request took longer than the server's deadline", code=-32603)
        if finished:
            return
        # The answer had begun: end it (an event stream with a JSON-RPC error for the request)
        # instead of dropping the connection mid-body.
        tail = b""
        if streaming and cancel_id is not None:
            error = {
                "jsonrpc": "2.0",
                "id": cancel_id,
                "error": {
                    "code": -32603,
                    "message": "the request passed the server's deadline and was cancelled",
                },
            }
            tail = b"event: message\ndata: " + json.dumps(error).encode() + b"\n\n"
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _client_gone(self, record: SessionRecord | None, cancel_id: Any) -> None:
        # As after the deadline: the SDK would run the request on in its session, for no one.
        log.info("the client disconnected before its answer was complete; the request is cancelled")
        if record is not None and cancel_id is not None:
            await self._cancel_inner(record.internal, cancel_id, "the client disconnected")

    async def _terminate_inner(self, internal: str) -> None:
        await self._call_inner(internal, "DELETE", b"", "could not end an expired session cleanly")

    async def _cancel_inner(
        self, internal: str, request_id: Any, reason: str = "the server's request deadline passed"
    ) -> None:
        """Send `notifications/cancelled` for `request_id` into the SDK session `internal`."""
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": reason},
            }
        ).encode()
        await self._call_inner(internal, "POST", body, f"could not cancel a request ({reason})")

    async def _call_inner(self, internal: str, method: str, body: bytes, failure: str) -> None:
        """One request of our own to the SDK app, in session `internal`; its answer is discarded."""
        headers = [(b"host", b"127.0.0.1"), (SESSION_HEADER, internal.encode())]
        if body:
            headers += [
                (b"content-type", b"application/json"),
                (b"accept", b"application/json, text/event-stream"),
            ]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": MCP_PATH,
            "raw_path": MCP_PATH.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": None,
            "server": None,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        async def discard(_message: Message) -> None:
            return None

        # Shielded: it often runs right after a deadline cancelled the caller's own scope.
        with anyio.CancelScope(shield=True):
            try:
                with anyio.fail_after(5):
                    await self.inner(scope, receive, discard)
            except Exception:
                log.debug(failure, exc_info=True)
