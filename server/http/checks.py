"""Pure reading and checks of request parts: headers, Host, Origin, and the JSON-RPC body. No I/O,
easy to test alone."""

from __future__ import annotations

import ipaddress
import re

from starlette.types import Scope

# The JSON-RPC message check serves both transports (server/jsonrpc.py); re-exported here.
from secaudit.server.jsonrpc import (
    INVALID_REQUEST,
    PARSE_ERROR,
    BodyProblem,
    JsonRpcMessage,
    parse_jsonrpc,
)

__all__ = [
    "INVALID_REQUEST",
    "PARSE_ERROR",
    "BodyProblem",
    "JsonRpcMessage",
    "client_address",
    "header",
    "header_values",
    "is_loopback",
    "loopback_hosts",
    "loopback_origins",
    "normalize_host",
    "normalize_origin",
    "parse_jsonrpc",
]


def header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def header(scope: Scope, name: bytes) -> str | None:
    values = header_values(scope, name)
    return values[0] if values else None


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


# RFC 3986 reg-name restricted to DNS letters, or an IPv4 literal, or a bracketed IPv6 literal;
# then an optional port of 1-5 digits. Anything else (userinfo, spaces, a path) is refused.
_HOST = re.compile(
    r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
_ORIGIN = re.compile(r"^(?P<scheme>https?)://(?P<rest>[^/?#@\s]+)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_host(value: str) -> tuple[str, int | None] | None:
    """(lowercase host, port or None) for a Host header value, or None when it is not well formed."""
    if not value or len(value) > 262:
        return None
    m = _HOST.match(value)
    if m is None:
        return None
    host = m.group("host").lower()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    port_text = m.group("port")
    port = None
    if port_text is not None:
        port = int(port_text)
        if not 0 < port < 65536:
            return None
    return host, port


def normalize_origin(value: str) -> str | None:
    """scheme://host[:port] in lowercase with the scheme's default port dropped; None if malformed."""
    m = _ORIGIN.match(value.strip().lower()) if value else None
    if m is None:
        return None
    scheme = m.group("scheme")
    parsed = normalize_host(m.group("rest"))
    if parsed is None:
        return None
    host, port = parsed
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_hosts(port: int) -> set[tuple[str, int | None]]:
    return {("127.0.0.1", port), ("localhost", port), ("[::1]", port)}


def loopback_origins(port: int) -> set[str]:
    return {f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"}
