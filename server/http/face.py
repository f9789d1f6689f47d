"""The Streamable HTTP face: one ASGI app in front of the SDK's transport.

Order of the checks on every request, cheapest and least trusting first, each answering before any
session or tool work happens:

 1. header block size (431)          6. route: /healthz (open), /metrics (auth), /mcp, else 404
 2. Host against the allowlist (421)  7. bearer token (401 + WWW-Authenticate), scope (403)
 3. Origin against the allowlist (403) 8. per-identity request budget (429 + Retry-After)
 4. CORS preflight (only if allowlisted) 9. session id: known, unexpired, same token (else 404)
 5. no credentials in the query (400) 10. body: Content-Type (415), size (413, before reading when
                                          declared), JSON, nesting depth, JSON-RPC shape (400)
                                     11. tools/call: the tool's scope (403), its class budget (429)

Then the SDK serves the request under a deadline, with the caller bound for the tool guards. Every
response, errors included, leaves through `_secure_send`, which adds the security headers.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Message, Receive, Scope, Send

from secaudit.server.context import AppContext
from secaudit.server.guards import Caller, bind_caller, reset_caller, use_http_identity
from secaudit.server.handlers import all_tools
from secaudit.server.http.checks import (
    BodyProblem,
    JsonRpcMessage,
    is_loopback,
    loopback_hosts,
    loopback_origins,
    normalize_host,
    normalize_origin,
    parse_jsonrpc,
)
from secaudit.server.http.metrics import CONTENT_TYPE_LATEST, HttpMetrics
from secaudit.server.http.sessions import SessionRecord, SessionTable
from secaudit.server.settings import Settings
from secaudit.tools.auth import TOOL_SCOPES, Principal, TokenRegistry, identity_digest, parse_token_env
from secaudit.tools.errors import ConfigError, RateLimited, SecauditError
from secaudit.tools.events import SecurityEvent

__all__ = ["HttpFace", "build_token_registry"]

log = logging.getLogger("secaudit.http")


MCP_PATH = "/mcp"
_SESSION_HEADER = b"mcp-session-id"
_REALM = 'Bearer realm="secaudit-mcp"'
_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Query parameter names that carry credentials in the wild (OAuth's access_token, api keys, ...).
_CREDENTIAL_PARAM = ("token", "auth", "key", "bearer", "secret", "password", "passwd", "credential", "jwt")
_ANONYMOUS = Principal(
    name="loopback-anonymous",
    scopes=frozenset({"read"}),
    token_digest="-",  # noqa: S106 - a marker, not a credential
    source="no-auth",
)
_SWEEP_SECONDS = 15.0


def build_token_registry(settings: Settings) -> TokenRegistry:
    env_entries = []
    if settings.http_tokens is not None:
        env_entries = parse_token_env(settings.http_tokens.get_secret_value())
    return TokenRegistry(env_entries=env_entries, token_file=settings.http_token_file)


@dataclass(frozen=True)
class _ToolRule:
    scope: str
    cost: str


class _Refusal(Exception):
    """Raised inside the pipeline to answer with an error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int = -32600,
        headers: list[tuple[bytes, bytes]] | None = None,
        event: str | None = None,
        detail: str | None = None,
        request_id: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or []
        self.event = event
        self.detail = detail
        self.request_id = request_id


class HttpFace:
    """The ASGI application served by `secaudit serve --http`."""

    def __init__(
        self, settings: Settings, server: MCPServer[AppContext], app: AppContext, *, port: int
    ) -> None:
        self.settings = settings
        self.app = app
        self.port = port
        self.tokens = build_token_registry(settings)
        self.no_auth = settings.http_no_auth
        host = settings.http_host
        loopback = is_loopback(host)
        if self.no_auth and not loopback:
            raise ConfigError(
                "SECAUDIT_HTTP_NO_AUTH: refused because the server would listen on a non-loopback "
                "address; configure tokens (SECAUDIT_HTTP_TOKENS or SECAUDIT_HTTP_TOKEN_FILE)"
            )
        if not self.no_auth and not self.tokens.entries() and not self.tokens.configured:
            raise ConfigError(
                "no HTTP authentication configured: set SECAUDIT_HTTP_TOKENS or SECAUDIT_HTTP_TOKEN_FILE "
                "(create a token with `secaudit token new`); for local tests only, --no-auth on loopback"
            )
        allowed_hosts: set[tuple[str, int | None]] = set()
        for value in settings.http_allowed_hosts:
            parsed = normalize_host(value)
            if parsed is None:
                raise ConfigError("SECAUDIT_HTTP_ALLOWED_HOSTS: use host or host:port values")
            allowed_hosts.add(parsed)
        if loopback:
            allowed_hosts |= loopback_hosts(port)
        elif not allowed_hosts:
            raise ConfigError(
                "SECAUDIT_HTTP_ALLOWED_HOSTS: required when listening on a non-loopback address; list "
                "the Host values clients (or your reverse proxy) send"
            )
        self.allowed_hosts = frozenset(allowed_hosts)
        self.cors_origins = frozenset(self._origins(settings.http_cors_origins, "SECAUDIT_HTTP_CORS_ORIGINS"))
        origins = self._origins(settings.http_allowed_origins, "SECAUDIT_HTTP_ALLOWED_ORIGINS")
        origins |= self.cors_origins
        if loopback:
            origins |= loopback_origins(port)
        self.allowed_origins = frozenset(origins)
        self.security_headers = list(_SECURITY_HEADERS) + ([_HSTS] if settings.http_hsts else [])
        self.tools = {spec.name: _ToolRule(spec.scope, spec.cost) for spec in all_tools()}
        self.sessions = SessionTable(
            idle_seconds=settings.http_session_idle_seconds,
            max_seconds=settings.http_session_max_seconds,
            per_identity=settings.http_max_sessions_per_identity,
        )
        self._throttle_logged: dict[str, float] = {}
        self.metrics = HttpMetrics(self.tools, lambda: len(self.sessions))
        app.sink.observers.append(self.metrics.observe_event)
        use_http_identity()
        self.inner = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            max_request_body_size=settings.http_max_body_bytes,
            session_idle_timeout=settings.http_session_idle_seconds,
            max_sessions=settings.http_max_sessions,
            # Host and Origin are checked here, strictly, before anything else; the SDK's looser
            # wildcard-port check would only repeat them.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            host=host,
        )

    @staticmethod
    def _origins(values: tuple[str, ...], var: str) -> set[str]:
        out: set[str] = set()
        for value in values:
            norm = normalize_origin(value)
            if norm is None:
                raise ConfigError(f"{var}: use scheme://host[:port] values (http or https)")
            out.add(norm)
        return out

    # -- ASGI entry ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        started = False
        message = await receive()
        try:
            async with self.inner.router.lifespan_context(self.inner), anyio.create_task_group() as tg:
                tg.start_soon(self.app.sink.run)
                tg.start_soon(self._sweep_sessions)
                if self.app.limiter is not None and not await self.app.limiter.check_shared():
                    log.warning(
                        "the shared rate-limit store does not answer at start; %s",
                        "calls are refused until it does"
                        if self.settings.rate_limit_on_redis_error == "deny"
                        else "per-process limits apply until it does",
                    )
                await send({"type": "lifespan.startup.complete"})
                started = True
                message = await receive()
                tg.cancel_scope.cancel()
        except Exception:
            log.exception("HTTP server lifespan failed")
            if not started:
                await send({"type": "lifespan.startup.failed", "message": "start-up failed; see the log"})
                return
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})

    # -- pipeline -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin_raw = _header(scope, b"origin")
        origin = normalize_origin(origin_raw) if origin_raw is not None else None
        route = scope.get("path", "")
        route_label = route if route in (MCP_PATH, "/healthz", "/metrics") else "other"
        secure_send = self._secure_send(send, origin, route_label)
        client = _client(scope)
        try:
            self._check_edges(scope, origin_raw, origin)
            method = scope.get("method", "GET")
            if method == "OPTIONS":
                await self._preflight(origin, secure_send)
                return
            self._check_query(scope)
            if route == "/healthz":
                if method not in ("GET", "HEAD"):
                    raise _Refusal(405, "use GET", headers=[(b"allow", b"GET, HEAD")])
                await _send_json(secure_send, 200, {"status": "ok"})
            elif route == "/metrics":
                if method != "GET":
                    raise _Refusal(405, "use GET", headers=[(b"allow", b"GET")])
                principal = await self._authenticate(scope, client)
                if not (principal.has_scope("metrics")):
                    raise _Refusal(
                        403,
                        "this token lacks the 'metrics' scope",
                        headers=[_insufficient("metrics")],
                        event="scope_denied",
                        detail="/metrics",
                    )
                await _send(secure_send, 200, self.metrics.render(), CONTENT_TYPE_LATEST.encode())
            elif route == MCP_PATH:
                await self._mcp(scope, receive, secure_send, client)
            else:
                raise _Refusal(404, "not found; the MCP endpoint is /mcp")
        except _Refusal as refusal:
            if refusal.event is not None:
                await self.app.sink.emit(
                    SecurityEvent(kind=refusal.event, transport="http", client=client, detail=refusal.detail)
                )
            await _send_jsonrpc_error(secure_send, refusal)

    def _check_edges(self, scope: Scope, origin_raw: str | None, origin: str | None) -> None:
        size = sum(len(k) + len(v) for k, v in scope.get("headers", ()))
        if size > self.settings.http_max_header_bytes:
            raise _Refusal(
                431, "request headers too large", event="request_refused", detail="headers too large"
            )
        hosts = _headers(scope, b"host")
        host = normalize_host(hosts[0]) if len(hosts) == 1 else None
        if host is None or host not in self.allowed_hosts:
            raise _Refusal(
                421,
                "Misdirected Request: this Host is not served here",
                event="host_refused",
                detail=hosts[0][:100] if hosts else "(none)",
            )
        if origin_raw is not None and (origin is None or origin not in self.allowed_origins):
            raise _Refusal(
                403, "Forbidden: this Origin is not allowed", event="origin_refused", detail=origin_raw[:100]
            )

    def _check_query(self, scope: Scope) -> None:
        query = scope.get("query_string", b"")
        if not query:
            return
        try:
            names = [k.lower() for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
        except ValueError:
            names = ["?"]
        if any(part in name for name in names for part in _CREDENTIAL_PARAM):
            raise _Refusal(
                400,
                "credentials in the URL are refused (they end up in logs); send Authorization: Bearer "
                "<token> instead, and rotate the token that was sent",
                event="token_in_query",
            )

    async def _preflight(self, origin: str | None, send: Send) -> None:
        if origin is None or origin not in self.cors_origins:
            raise _Refusal(403, "Forbidden: cross-origin requests are not allowed from this Origin")
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-methods", b"GET, POST, DELETE"),
                    (
                        b"access-control-allow-headers",
                        b"authorization, content-type, accept, mcp-session-id, mcp-protocol-version, "
                        b"last-event-id",
                    ),
                    (b"access-control-max-age", b"600"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _authenticate(self, scope: Scope, client: str | None) -> Principal:
        if self.no_auth and not self.tokens.configured:
            return _ANONYMOUS
        # Failed authentications are counted per client address, and an address over its budget is
        # refused before its token is even looked at: a valid token from there is refused too, or
        # the throttle would still answer "valid or not" to a guesser. It also bounds how fast
        # unauthenticated traffic can write auth_failed events. Behind a reverse proxy every client
        # shares the proxy's address (docs/http.md).
        address_key = identity_digest("client-address\x00" + (client or "unknown"))
        limiter = self.app.limiter
        if limiter is not None:
            try:
                wait = await limiter.exhausted(address_key, "auth_failure")
            except SecauditError as exc:
                raise _Refusal(503, str(exc), code=-32603, headers=[(b"retry-after", b"5")]) from None
            if wait is not None:
                raise _Refusal(
                    429,
                    "Too Many Requests: too many failed authentications from this address; "
                    f"retry in {wait} s",
                    headers=[(b"retry-after", str(wait).encode())],
                    event=self._throttle_event(address_key),
                    detail="failed-authentication budget spent",
                )
        try:
            return self._check_token(scope)
        except _Refusal:
            if limiter is not None:
                try:
                    await limiter.charge(address_key, "auth_failure")
                except SecauditError:
                    log.warning("could not count a failed authentication; the rate-limit store failed")
            raise

    def _throttle_event(self, address_key: str) -> str | None:
        """'auth_throttled' once a minute per address: a flood of refusals is not a flood of rows."""
        now = time.monotonic()
        if len(self._throttle_logged) > 10_000:
            self._throttle_logged = {k: t for k, t in self._throttle_logged.items() if now - t < 60}
        last = self._throttle_logged.get(address_key)
        if last is not None and now - last < 60:
            return None
        self._throttle_logged[address_key] = now
        return "auth_throttled"

    def _check_token(self, scope: Scope) -> Principal:
        values = _headers(scope, b"authorization")
        if not values:
            raise _Refusal(
                401,
                "Unauthorized: send Authorization: Bearer <token>",
                headers=[(b"www-authenticate", _REALM.encode())],
                event="auth_failed",
                detail="missing",
            )
        scheme, _, token = values[0].partition(" ")
        principal = None
        if len(values) == 1 and scheme.lower() == "bearer":
            principal = self.tokens.authenticate(token.strip())
        if principal is None:
            raise _Refusal(
                401,
                "Unauthorized: the token is not valid",
                headers=[(b"www-authenticate", f'{_REALM}, error="invalid_token"'.encode())],
                event="auth_failed",
                detail="invalid" if scheme.lower() == "bearer" else "not a bearer token",
            )
        return principal

    async def _charge(self, principal: Principal, cost: str, request_id: Any = None) -> None:
        if self.app.limiter is None:
            return
        try:
            await self.app.limiter.hit(principal.key, cost)
        except RateLimited as exc:
            retry = str(int(exc.retry_after)).encode()
            raise _Refusal(
                429,
                str(exc),
                code=-32000,
                headers=[(b"retry-after", retry)],
                event="rate_limited",
                detail=f"{principal.name}: {cost}",
                request_id=request_id,
            ) from None
        except SecauditError as exc:
            raise _Refusal(503, str(exc), code=-32603, headers=[(b"retry-after", b"5")]) from None

    async def _mcp(self, scope: Scope, receive: Receive, send: Send, client: str | None) -> None:
        method = scope.get("method", "GET")
        if method not in ("POST", "GET", "DELETE"):
            raise _Refusal(405, "use POST, GET or DELETE", headers=[(b"allow", b"GET, POST, DELETE")])
        principal = await self._authenticate(scope, client)
        if not principal.scopes & TOOL_SCOPES:
            raise _Refusal(
                403,
                "Forbidden: this token has no MCP scope (read, write, fix or admin)",
                headers=[_insufficient("read")],
                event="scope_denied",
                detail=f"{principal.name}: /mcp",
            )
        await self._charge(principal, "request")

        record = self._session_for(scope, principal, client)
        headers = scope.get("headers", [])
        if record is not None:
            record.last_seen = time.monotonic()
            headers = [(k, v) for k, v in headers if k != _SESSION_HEADER]
            headers.append((_SESSION_HEADER, record.internal.encode()))

        body = b""
        message: JsonRpcMessage | None = None
        if method == "POST":
            content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise _Refusal(415, "Unsupported Media Type: send Content-Type: application/json")
            body = await self._read_body(scope, receive)
            parsed = parse_jsonrpc(body, self.settings.http_max_json_depth)
            if isinstance(parsed, BodyProblem):
                raise _Refusal(parsed.status, parsed.message, code=parsed.code)
            message = parsed
            charged: set[str] = set()
            if message.tool is not None and message.tool in self.tools:
                rule = self.tools[message.tool]
                request_id = message.raw.get("id")
                if not principal.has_scope(rule.scope):
                    raise _Refusal(
                        403,
                        f"Forbidden: tool {message.tool} needs the '{rule.scope}' scope; this token has "
                        f"{', '.join(sorted(principal.scopes))}",
                        code=-32003,
                        headers=[_insufficient(rule.scope)],
                        event="scope_denied",
                        detail=f"{principal.name}: {message.tool}",
                        request_id=request_id,
                    )
                await self._charge(principal, rule.cost, request_id)
                charged.add(rule.cost)
        else:
            charged = set()

        opening = record is None and message is not None and message.method == "initialize"
        if opening and not self.sessions.reserve(principal.key):
            raise _Refusal(
                429,
                f"too many open sessions for this identity (at most "
                f"{self.settings.http_max_sessions_per_identity}); end one with DELETE or let it expire",
                code=-32000,
                headers=[(b"retry-after", b"60")],
                event="session_refused",
                detail=f"{principal.name}: session cap",
                request_id=message.raw.get("id") if message else None,
            )
        # A request that runs past the deadline is cancelled inside its session too (below).
        cancel_id = message.raw.get("id") if message is not None and message.is_request else None
        await self._forward(
            scope, headers, body, receive, send, principal, client, charged, record, opening, cancel_id
        )

    def _session_for(self, scope: Scope, principal: Principal, client: str | None) -> SessionRecord | None:
        values = _headers(scope, _SESSION_HEADER)
        if not values:
            return None
        record = self.sessions.get(values[0]) if len(values) == 1 else None
        if record is None or self.sessions.expired(record):
            raise _Refusal(404, "Session not found; initialize a new one")
        if record.owner != principal.token_digest:
            # Same answer as an unknown id: the caller learns nothing about other sessions.
            raise _Refusal(
                404,
                "Session not found; initialize a new one",
                event="session_refused",
                detail=f"{principal.name}: session opened by another token",
            )
        return record

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.settings.http_max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise _Refusal(400, "Bad Request: invalid Content-Length")
            if int(declared) > limit:
                raise _Refusal(
                    413,
                    f"Payload Too Large: at most {limit} bytes",
                    event="request_refused",
                    detail="body too large",
                )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Refusal(400, "Bad Request: the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refusal(
                    413,
                    f"Payload Too Large: at most {limit} bytes",
                    event="request_refused",
                    detail="body too large",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _forward(
        self,
        scope: Scope,
        headers: list[tuple[bytes, bytes]],
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

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

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
                out: list[tuple[bytes, bytes]] = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        streaming = True
                    if key.lower() == _SESSION_HEADER:
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

        token = bind_caller(Caller(principal=principal, client=client, charged=frozenset(charged)))
        try:
            if scope.get("method") == "GET":
                # A GET opens the server-to-client stream: it lives as long as the session.
                await self.inner(inner_scope, replay, translate)
            else:
                with anyio.move_on_after(self.settings.http_request_timeout_seconds) as deadline:
                    await self.inner(inner_scope, replay, translate)
                if deadline.cancelled_caught:
                    await self._past_deadline(send, record, cancel_id, started, finished, streaming)
        finally:
            reset_caller(token)
            unreserve()
        if record is not None and (status == 404 or (scope.get("method") == "DELETE" and status < 300)):
            self.sessions.remove(record)

    async def _sweep_sessions(self) -> None:
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
            raise _Refusal(504, "the request took longer than the server's deadline", code=-32603)
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

    async def _terminate_inner(self, internal: str) -> None:
        await self._call_inner(internal, "DELETE", b"", "could not end an expired session cleanly")

    async def _cancel_inner(self, internal: str, request_id: Any) -> None:
        """Send `notifications/cancelled` for `request_id` into the SDK session `internal`."""
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "the server's request deadline passed"},
            }
        ).encode()
        await self._call_inner(internal, "POST", body, "could not cancel a request past its deadline")

    async def _call_inner(self, internal: str, method: str, body: bytes, failure: str) -> None:
        """One request of our own to the SDK app, in session `internal`; its answer is discarded."""
        headers = [(b"host", b"127.0.0.1"), (_SESSION_HEADER, internal.encode())]
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

    def _secure_send(self, send: Send, origin: str | None, route: str) -> Send:
        extra = list(self.security_headers)
        if origin is not None and origin in self.cors_origins:
            extra += [
                (b"access-control-allow-origin", origin.encode()),
                (b"vary", b"Origin"),
                (b"access-control-expose-headers", b"mcp-session-id, www-authenticate, retry-after"),
            ]
        metrics = self.metrics

        async def secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                ours = {k for k, _ in extra}
                original = message.get("headers", [])
                # SSE answers carry `no-transform` for proxies; it is kept, `no-store` wins over the rest.
                transform = any(k.lower() == b"cache-control" and b"no-transform" in v for k, v in original)
                headers = [(k, v) for k, v in original if k.lower() not in ours and k.lower() != b"server"]
                headers += extra
                if transform:
                    headers = [
                        (k, b"no-store, no-transform" if k == b"cache-control" else v) for k, v in headers
                    ]
                message = {**message, "headers": headers}
                metrics.request_answered(route, int(message["status"]))
            await send(message)

        return secure


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def _header(scope: Scope, name: bytes) -> str | None:
    values = _headers(scope, name)
    return values[0] if values else None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: Any) -> None:
    await _send(send, status, json.dumps(payload).encode(), b"application/json")


async def _send_jsonrpc_error(send: Send, refusal: _Refusal) -> None:
    error = {"code": refusal.code, "message": refusal.message}
    body = {"jsonrpc": "2.0", "id": refusal.request_id, "error": error}
    await _send(send, refusal.status, json.dumps(body).encode(), b"application/json", refusal.headers)


def _insufficient(scope: str) -> tuple[bytes, bytes]:
    return (b"www-authenticate", f'{_REALM}, error="insufficient_scope", scope="{scope}"'.encode())
