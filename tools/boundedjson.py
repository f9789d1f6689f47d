"""Parsing JSON that another program wrote (an MCP message, hook input on stdin, an agent's config
file) with a bound on its nesting.

`json.loads` recurses once per level: a hostile document of nothing but `[` raises RecursionError
from deep inside the parser, which callers that only expect ValueError let escape as an internal
error. `loads` turns that, and any document nested deeper than the caller's limit, into one
`TooDeep` (a ValueError), so every caller reports it as bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["TooDeep", "depth_exceeds", "loads"]


class TooDeep(ValueError):
    """The document is nested deeper than the limit (or deeper than the parser can recurse)."""


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a parsed document nests objects and arrays deeper than `limit` levels."""
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


def loads(
    text: str | bytes,
    max_depth: int,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """`json.loads(text)`, refusing a document nested deeper than `max_depth` with TooDeep.
    Other errors are json.loads' own (ValueError, UnicodeDecodeError among them)."""
    try:
        data = json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels") from None
    if depth_exceeds(data, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    return data
