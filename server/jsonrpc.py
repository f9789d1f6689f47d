"""One JSON-RPC message, parsed and shape-checked the same way on every transport (an HTTP body,
a stdio line): the limits that protect the server, and error texts that never echo the input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from secaudit.tools import boundedjson

__all__ = ["INVALID_REQUEST", "PARSE_ERROR", "BodyProblem", "JsonRpcMessage", "parse_jsonrpc"]


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
        data = boundedjson.loads(body.decode("utf-8"), max_depth, object_pairs_hook=_unique_keys)
    except boundedjson.TooDeep:
        return _too_deep(max_depth)
    except _RepeatedKey:
        return BodyProblem(
            400,
            INVALID_REQUEST,
            "Invalid Request: an object in the message repeats a key; send each key once",
        )
    except ValueError:  # UnicodeDecodeError and json.JSONDecodeError among them
        return BodyProblem(400, PARSE_ERROR, "Parse error: the body is not valid UTF-8 JSON")
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
