"""The Streamable HTTP face: one ASGI app in front of the SDK's transport.

Order of the checks on every request, cheapest and least trusting first, each answering before any
session or tool work happens:

 1. header block size (431)          6. route: /healthz (open), /metrics (auth), /mcp, else 404
 2. Host against the allowlist (421)  7. bearer token (401 + WWW-Authenticate), scope (403)
 3. Origin against the allowlist (403) 8. per-identity request budget (429 + Retry-After)
 4. CORS preflight (only if allowlisted) 9. session id: known, unexpired, same token (else 404)
 5. no credentials in the query (400) 10. body: Content-Type (415), size (413, before reading when
                                          declared), read timeout (408), JSON, repeated keys,
                                          nesting depth, JSON-RPC shape (400)
                                     11. tools/call: the tool's scope (403), its class budget (429)

Before 1, the connection's own deadline for the request headers (`timeouts.py`). Then the SDK serves
the request under a deadline, with the caller bound for the tool guards; the request is cancelled
if the client disconnects first. Every response, errors included, leaves through `secure_send`,
which adds the security headers.

This module routes (6) and composes the parts, each in its own module: `policy.py` (checks 1-5 and
10 in `EdgePolicy`; the scopes and budgets of 7, 8 and 11 in `AccessPolicy`), `auth.py` (the bearer
token of 7 and its failure throttle), `proxy.py` (the sessions of 9, and the SDK app behind them),
`responses.py` (refusals and the security headers), `checks.py` (the pure parsing underneath).
"""

from __future__ import annotations

import functools
import logging

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from secaudit.server.app import served_tools
from secaudit.server.context import AppContext
from secaudit.server.guards import use_http_identity
from secaudit.server.http.auth import Authenticator, build_token_registry
from secaudit.server.http.checks import JsonRpcMessage, client_address, header, is_loopback, normalize_origin
from secaudit.server.http.metrics import CONTENT_TYPE_LATEST, HttpMetrics
from secaudit.server.http.policy import AccessPolicy, EdgePolicy, ToolRule
from secaudit.server.http.proxy import MCP_PATH, SdkProxy
from secaudit.server.http.responses import Refusal, secure_send, send_body, send_json, send_refusal
from secaudit.server.http.sessions import SessionTable
from secaudit.server.settings import Settings
from secaudit.tools.events import SecurityEvent

__all__ = ["MCP_PATH", "HttpFace", "build_token_registry"]

log = logging.getLogger("secaudit.http")


class HttpFace:
    """The ASGI application served by `secaudit serve --http`."""

    def __init__(
        self, settings: Settings, server: MCPServer[AppContext], app: AppContext, *, port: int
    ) -> None:
        self.settings = settings
        self.app = app
        self.port = port
        loopback = is_loopback(settings.http_host)
        self.auth = Authenticator(settings, loopback=loopback, limiter=app.limiter)
        self.edge = EdgePolicy(settings, port=port, loopback=loopback)
        tools = {spec.name: ToolRule(spec.scope, spec.cost) for spec in served_tools(settings)}
        self.access = AccessPolicy(tools, limiter=app.limiter)
        self.sessions = SessionTable(
            idle_seconds=settings.http_session_idle_seconds,
            max_seconds=settings.http_session_max_seconds,
            per_identity=settings.http_max_sessions_per_identity,
        )
        self.metrics = HttpMetrics(tools, lambda: len(self.sessions))
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
            host=settings.http_host,
        )
        self.proxy = SdkProxy(self.inner, self.sessions, settings)

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
                tg.start_soon(self.proxy.sweep_sessions)
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
        origin_raw = header(scope, b"origin")
        origin = normalize_origin(origin_raw) if origin_raw is not None else None
        route = scope.get("path", "")
        route_label = route if route in (MCP_PATH, "/healthz", "/metrics") else "other"
        answered = functools.partial(self.metrics.request_answered, route_label)
        secured = secure_send(send, self.edge.response_headers(origin), answered)
        client = client_address(scope)
        try:
            self.edge.check_edges(scope, origin_raw, origin)
            method = scope.get("method", "GET")
            if method == "OPTIONS":
                await self.edge.preflight(origin, secured)
                return
            self.edge.check_query(scope)
            if route == "/healthz":
                if method not in ("GET", "HEAD"):
                    raise Refusal(405, "use GET", headers=[(b"allow", b"GET, HEAD")])
                await send_json(secured, 200, {"status": "ok"})
            elif route == "/metrics":
                if method != "GET":
                    raise Refusal(405, "use GET", headers=[(b"allow", b"GET")])
                principal = await self.auth.authenticate(scope, client)
                self.access.check_metrics_scope(principal)
                await send_body(secured, 200, self.metrics.render(), CONTENT_TYPE_LATEST.encode())
            elif route == MCP_PATH:
                await self._mcp(scope, receive, secured, client)
            else:
                raise Refusal(404, "not found; the MCP endpoint is /mcp")
        except Refusal as refusal:
            if refusal.event is not None:
                await self.app.sink.emit(
                    SecurityEvent(kind=refusal.event, transport="http", client=client, detail=refusal.detail)
                )
            await send_refusal(secured, refusal)

    async def _mcp(self, scope: Scope, receive: Receive, send: Send, client: str | None) -> None:
        method = scope.get("method", "GET")
        if method not in ("POST", "GET", "DELETE"):
            raise Refusal(405, "use POST, GET or DELETE", headers=[(b"allow", b"GET, POST, DELETE")])
        principal = await self.auth.authenticate(scope, client)
        self.access.check_mcp_scope(principal)
        await self.access.charge(principal, "request")

        record = self.proxy.session_for(scope, principal)
        headers = self.proxy.inner_headers(scope, record)

        body = b""
        message: JsonRpcMessage | None = None
        charged: set[str] = set()
        if method == "POST":
            body, message = await self.edge.read_message(scope, receive)
            charged = await self.access.admit_tool_call(principal, message)

        opening = record is None and message is not None and message.method == "initialize"
        if opening:
            self.proxy.reserve_session(principal, message.raw.get("id") if message else None)
        # A request that runs past the deadline is cancelled inside its session too (see proxy.py).
        cancel_id = message.raw.get("id") if message is not None and message.is_request else None
        await self.proxy.forward(
            scope, headers, body, receive, send, principal, client, charged, record, opening, cancel_id
        )
