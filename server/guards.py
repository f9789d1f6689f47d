"""The call guards every tool call passes through, on every transport: scope, rate limit, audit.

Who is calling comes from the transport: stdio is the local user who started the process (all
scopes: they could run the CLI anyway); HTTP binds a `Caller` in a context variable for each request,
which the SDK carries into the tool's task. Over HTTP a call with no bound caller is refused, so a
missing binding fails closed rather than falling back to local rights.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Any

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.toolkit import set_identity_provider
from secaudit.tools.auth import Principal, identity_digest
from secaudit.tools.errors import PermissionDenied
from secaudit.tools.events import SecurityEvent, args_digest

__all__ = [
    "AuditGuard",
    "Caller",
    "RateLimitGuard",
    "ScopeGuard",
    "bind_caller",
    "current_caller",
    "install_guards",
    "reset_caller",
    "use_http_identity",
]


@dataclass(frozen=True)
class Caller:
    principal: Principal
    client: str | None = None
    # Cost classes the HTTP edge already charged for this request (so the guard does not charge twice).
    charged: frozenset[str] = frozenset()


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("secaudit_caller", default=None)


def current_caller() -> Caller | None:
    return _caller.get()


def bind_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _caller.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _caller.reset(token)


def _http_identity() -> tuple[str, str]:
    caller = _caller.get()
    return (caller.principal.name if caller else "unauthenticated", "http")


def use_http_identity() -> None:
    """Make every tool call in this process an HTTP call (called by the HTTP face at start)."""
    set_identity_provider(_http_identity)


class ScopeGuard:
    async def before(self, app: AppContext, call: CallInfo, arguments: dict[str, Any]) -> None:
        if call.transport == "stdio":
            return
        caller = _caller.get()
        if caller is None:
            raise PermissionDenied("this call is not authenticated; send Authorization: Bearer <token>")
        if not caller.principal.has_scope(call.scope):
            raise PermissionDenied(
                f"tool {call.tool} needs the '{call.scope}' scope; this token has "
                f"{', '.join(sorted(caller.principal.scopes))}. Ask for a token with that scope"
            )

    async def after(self, app: AppContext, call: CallInfo, arguments: dict[str, Any], outcome: str) -> None:
        return None


class RateLimitGuard:
    async def before(self, app: AppContext, call: CallInfo, arguments: dict[str, Any]) -> None:
        caller = _caller.get()
        if caller is not None and call.cost in caller.charged:
            return
        await app.limiter.hit(identity_digest(call.identity), call.cost)

    async def after(self, app: AppContext, call: CallInfo, arguments: dict[str, Any], outcome: str) -> None:
        return None


class AuditGuard:
    """Records every tool call (refused ones included) with a digest of its redacted arguments."""

    async def before(self, app: AppContext, call: CallInfo, arguments: dict[str, Any]) -> None:
        return None

    async def after(self, app: AppContext, call: CallInfo, arguments: dict[str, Any], outcome: str) -> None:
        caller = _caller.get()
        await app.sink.emit(
            SecurityEvent(
                kind="tool_call",
                identity=call.identity,
                transport=call.transport,
                client=caller.client if caller else None,
                tool=call.tool,
                outcome=outcome,
                duration_ms=round((time.monotonic() - call.started) * 1000, 3),
                args_digest=args_digest(app.redact_obj(arguments)),
            )
        )


def install_guards(app: AppContext) -> None:
    """Scope first (cheapest refusal), then the rate limit; audit runs last and sees every outcome."""
    if any(isinstance(g, ScopeGuard) for g in app.guards):
        return
    app.guards[:0] = [ScopeGuard(), RateLimitGuard(), AuditGuard()]
