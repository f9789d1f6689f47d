"""What the HTTP face answers itself, and what every answer leaves with.

`Refusal` is raised anywhere in the pipeline and answered as a JSON-RPC error with its HTTP status
(and, when it names one, a security event). `secure_send` wraps the ASGI `send` of every request,
the SDK's answers included: it adds the security headers (and CORS headers for an allowed origin),
drops `Server`, and counts the answer for the metrics.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import Message, Send

__all__ = [
    "HSTS",
    "REALM",
    "SECURITY_HEADERS",
    "Headers",
    "Refusal",
    "insufficient_scope",
    "secure_send",
    "send_body",
    "send_json",
    "send_refusal",
]

Headers = list[tuple[bytes, bytes]]

REALM = 'Bearer realm="secaudit-mcp"'
SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class Refusal(Exception):
    """Raised inside the pipeline to answer with an error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int = -32600,
        headers: Headers | None = None,
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


def insufficient_scope(scope: str) -> tuple[bytes, bytes]:
    return (b"www-authenticate", f'{REALM}, error="insufficient_scope", scope="{scope}"'.encode())


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Headers | None = None,
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


async def send_json(send: Send, status: int, payload: Any) -> None:
    await send_body(send, status, json.dumps(payload).encode(), b"application/json")


async def send_refusal(send: Send, refusal: Refusal) -> None:
    error = {"code": refusal.code, "message": refusal.message}
    body = {"jsonrpc": "2.0", "id": refusal.request_id, "error": error}
    await send_body(send, refusal.status, json.dumps(body).encode(), b"application/json", refusal.headers)


def secure_send(send: Send, extra: Headers, answered: Callable[[int], None]) -> Send:
    """`send` with `extra` headers on every response start, and `answered(status)` called once."""

    async def secure(message: Message) -> None:
        if message["type"] == "http.response.start":
            ours = {k for k, _ in extra}
            original = message.get("headers", [])
            # SSE answers carry `no-transform` for proxies; it is kept, `no-store` wins over the rest.
            transform = any(k.lower() == b"cache-control" and b"no-transform" in v for k, v in original)
            headers = [(k, v) for k, v in original if k.lower() not in ours and k.lower() != b"server"]
            headers += extra
            if transform:
                headers = [(k, b"no-store, no-transform" if k == b"cache-control" else v) for k, v in headers]
            message = {**message, "headers": headers}
            answered(int(message["status"]))
        await send(message)

    return secure
