"""What the HTTP face lets through, as two policies.

`EdgePolicy` decides before anyone is known and before any body is read: header block size, Host
and Origin against their allowlists, CORS preflight, credentials in the query string; then the
body of a POST (Content-Type, size, JSON, nesting depth, JSON-RPC shape). It is built from the
settings at start, and a setting that cannot be honoured is a ConfigError then.

`AccessPolicy` decides once the caller is known: the scope a route or tool needs, and the caller's
rate budgets (the per-request one, and the cost class of each tool call).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
from starlette.types import Receive, Scope, Send

from secaudit.server.http.checks import (
    BodyProblem,
    JsonRpcMessage,
    header,
    header_values,
    loopback_hosts,
    loopback_origins,
    normalize_host,
    normalize_origin,
    parse_jsonrpc,
)
from secaudit.server.http.responses import HSTS, SECURITY_HEADERS, Headers, Refusal, insufficient_scope
from secaudit.server.settings import Settings
from secaudit.tools.auth import TOOL_SCOPES, Principal
from secaudit.tools.errors import ConfigError, RateLimited, SecauditError
from secaudit.tools.ratelimit import RateLimiter

__all__ = ["AccessPolicy", "EdgePolicy", "ToolRule"]

# Query parameter names that carry credentials in the wild (OAuth's access_token, api keys, ...).
_CREDENTIAL_PARAM = ("token", "auth", "key", "bearer", "secret", "password", "passwd", "credential", "jwt")


@dataclass(frozen=True)
class ToolRule:
    scope: str
    cost: str


class EdgePolicy:
    def __init__(self, settings: Settings, *, port: int, loopback: bool) -> None:
        self.max_header_bytes = settings.http_max_header_bytes
        self.max_body_bytes = settings.http_max_body_bytes
        self.max_json_depth = settings.http_max_json_depth
        self.read_timeout = settings.http_read_timeout_seconds
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
        self.cors_origins = frozenset(_origins(settings.http_cors_origins, "SECAUDIT_HTTP_CORS_ORIGINS"))
        origins = _origins(settings.http_allowed_origins, "SECAUDIT_HTTP_ALLOWED_ORIGINS")
        origins |= self.cors_origins
        if loopback:
            origins |= loopback_origins(port)
        self.allowed_origins = frozenset(origins)
        self.security_headers = list(SECURITY_HEADERS) + ([HSTS] if settings.http_hsts else [])

    def response_headers(self, origin: str | None) -> Headers:
        """The headers every response to this request carries: security, and CORS when allowed."""
        extra = list(self.security_headers)
        if origin is not None and origin in self.cors_origins:
            extra += [
                (b"access-control-allow-origin", origin.encode()),
                (b"vary", b"Origin"),
                (b"access-control-expose-headers", b"mcp-session-id, www-authenticate, retry-after"),
            ]
        return extra

    def check_edges(self, scope: Scope, origin_raw: str | None, origin: str | None) -> None:
        size = sum(len(k) + len(v) for k, v in scope.get("headers", ()))
        if size > self.max_header_bytes:
            raise Refusal(
                431, "request headers too large", event="request_refused", detail="headers too large"
            )
        hosts = header_values(scope, b"host")
        host = normalize_host(hosts[0]) if len(hosts) == 1 else None
        if host is None or host not in self.allowed_hosts:
            raise Refusal(
                421,
                "Misdirected Request: this Host is not served here",
                event="host_refused",
                detail=hosts[0][:100] if hosts else "(none)",
            )
        if origin_raw is not None and (origin is None or origin not in self.allowed_origins):
            raise Refusal(
                403, "Forbidden: this Origin is not allowed", event="origin_refused", detail=origin_raw[:100]
            )

    def check_query(self, scope: Scope) -> None:
        query = scope.get("query_string", b"")
        if not query:
            return
        try:
            names = [k.lower() for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
        except ValueError:
            names = ["?"]
        if any(part in name for name in names for part in _CREDENTIAL_PARAM):
            raise Refusal(
                400,
                "credentials in the URL are refused (they end up in logs); send Authorization: Bearer "
                "<token> instead, and rotate the token that was sent",
                event="token_in_query",
            )

    async def preflight(self, origin: str | None, send: Send) -> None:
        if origin is None or origin not in self.cors_origins:
            raise Refusal(403, "Forbidden: cross-origin requests are not allowed from this Origin")
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

    async def read_message(self, scope: Scope, receive: Receive) -> tuple[bytes, JsonRpcMessage]:
        """The POST body, and the JSON-RPC message it holds."""
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refusal(415, "Unsupported Media Type: send Content-Type: application/json")
        body = await self._read_body(scope, receive)
        parsed = parse_jsonrpc(body, self.max_json_depth)
        if isinstance(parsed, BodyProblem):
            raise Refusal(parsed.status, parsed.message, code=parsed.code)
        return body, parsed

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Refusal(400, "Bad Request: invalid Content-Length")
            if int(declared) > limit:
                raise Refusal(
                    413,
                    f"Payload Too Large: at most {limit} bytes",
                    event="request_refused",
                    detail="body too large",
                )
        chunks: list[bytes] = []
        size = 0
        # The whole body, not each chunk, is due within the read timeout: a body sent a byte at a
        # time would otherwise hold the connection (and this task) for ever.
        with anyio.move_on_after(self.read_timeout):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    raise Refusal(400, "Bad Request: the client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise Refusal(
                        413,
                        f"Payload Too Large: at most {limit} bytes",
                        event="request_refused",
                        detail="body too large",
                    )
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        raise Refusal(
            408,
            f"Request Timeout: the body did not arrive within {self.read_timeout:g} s",
            headers=[(b"connection", b"close")],
            event="request_refused",
            detail="body read timeout",
        )


def _origins(values: tuple[str, ...], var: str) -> set[str]:
    out: set[str] = set()
    for value in values:
        norm = normalize_origin(value)
        if norm is None:
            raise ConfigError(f"{var}: use scheme://host[:port] values (http or https)")
        out.add(norm)
    return out


class AccessPolicy:
    def __init__(self, tools: dict[str, ToolRule], *, limiter: RateLimiter | None) -> None:
        self.tools = tools
        self.limiter = limiter

    def check_metrics_scope(self, principal: Principal) -> None:
        if not principal.has_scope("metrics"):
            raise Refusal(
                403,
                "this token lacks the 'metrics' scope",
                headers=[insufficient_scope("metrics")],
                event="scope_denied",
                detail="/metrics",
            )

    def check_mcp_scope(self, principal: Principal) -> None:
        if not principal.scopes & TOOL_SCOPES:
            raise Refusal(
                403,
                "Forbidden: this token has no MCP scope (read, write, fix or admin)",
                headers=[insufficient_scope("read")],
                event="scope_denied",
                detail=f"{principal.name}: /mcp",
            )

    async def admit_tool_call(self, principal: Principal, message: JsonRpcMessage) -> set[str]:
        """For a call of a known tool: its scope, then its cost class charged; the classes charged."""
        if message.tool is None or message.tool not in self.tools:
            return set()
        rule = self.tools[message.tool]
        request_id = message.raw.get("id")
        if not principal.has_scope(rule.scope):
            raise Refusal(
                403,
                f"Forbidden: tool {message.tool} needs the '{rule.scope}' scope; this token has "
                f"{', '.join(sorted(principal.scopes))}",
                code=-32003,
                headers=[insufficient_scope(rule.scope)],
                event="scope_denied",
                detail=f"{principal.name}: {message.tool}",
                request_id=request_id,
            )
        await self.charge(principal, rule.cost, request_id)
        return {rule.cost}

    async def charge(self, principal: Principal, cost: str, request_id: object = None) -> None:
        if self.limiter is None:
            return
        try:
            await self.limiter.hit(principal.key, cost)
        except RateLimited as exc:
            retry = str(int(exc.retry_after)).encode()
            raise Refusal(
                429,
                str(exc),
                code=-32000,
                headers=[(b"retry-after", retry)],
                event="rate_limited",
                detail=f"{principal.name}: {cost}",
                request_id=request_id,
            ) from None
        except SecauditError as exc:
            raise Refusal(503, str(exc), code=-32603, headers=[(b"retry-after", b"5")]) from None
