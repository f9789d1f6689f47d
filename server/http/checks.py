"""Pure reading and checks of request parts: headers, Host, Origin, and the JSON-RPC body. No I/O,
easy to test alone."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

__all__ = [
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


@dataclass(frozen=True)
class BodyProblem:
    status: int
    code: int  # JSON-RPC error code
    message: str


@dataclass(frozen=True)
class JsonRpcMessage:
    raw: dict[str, Any]
    method: str | None
    is_request: bool  # has an id (expects an answer)
    tool: str | None  # for tools/call


PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative, so a hostile document cannot exhaust the interpreter's stack here.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in node)
    return False


def _valid_id(value: Any) -> bool:
    return (isinstance(value, str) and len(value) <= 256) or (
        isinstance(value, int) and not isinstance(value, bool) and -(2**53) <= value <= 2**53
    )


def _too_deep(max_depth: int) -> BodyProblem:
    return BodyProblem(400, INVALID_REQUEST, f"Invalid Request: JSON nested deeper than {max_depth} levels")


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _RepeatedKey
    return obj


def parse_jsonrpc(body: bytes, max_depth: int) -> JsonRpcMessage | BodyProblem:
    """Parse and shape-check one JSON-RPC message (an HTTP body, a stdio line). Error texts never
    echo the body.

    An object that repeats a key is refused: parsers disagree on which copy counts (the SDK's keeps
    the last), so `{"id": 1, "id": 999999}` could be read as one request here and another there.
    """
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys)
    except RecursionError:
        return _too_deep(max_depth)
    except _RepeatedKey:
        return BodyProblem(
            400,
            INVALID_REQUEST,
            "Invalid Request: an object in the message repeats a key; send each key once",
        )
    except ValueError:  # UnicodeDecodeError and json.JSONDecodeError among them
        return BodyProblem(400, PARSE_ERROR, "Parse error: the body is not valid UTF-8 JSON")
    if _depth_exceeds(data, max_depth):
        return _too_deep(max_depth)
    if isinstance(data, list):
        return BodyProblem(400, INVALID_REQUEST, "Invalid Request: batches are not supported")
    if not isinstance(data, dict):
        return BodyProblem(400, INVALID_REQUEST, "Invalid Request: a JSON-RPC message must be an object")
    if data.get("jsonrpc") != "2.0":
        return BodyProblem(400, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')
    has_id = "id" in data
    if has_id and not _valid_id(data["id"]):
        return BodyProblem(400, INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
    method = data.get("method")
    if method is None:
        if has_id and (("result" in data) != ("error" in data)):
            return JsonRpcMessage(raw=data, method=None, is_request=False, tool=None)
        return BodyProblem(400, INVALID_REQUEST, 'Invalid Request: "method" is required')
    if not isinstance(method, str) or not 0 < len(method) <= 128:
        return BodyProblem(400, INVALID_REQUEST, 'Invalid Request: "method" must be a short string')
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        return BodyProblem(400, INVALID_REQUEST, 'Invalid Request: "params" must be an object')
    tool = None
    if method == "tools/call":
        name = (params or {}).get("name")
        tool = name if isinstance(name, str) and len(name) <= 128 else None
    return JsonRpcMessage(raw=data, method=method, is_request=has_id, tool=tool)
