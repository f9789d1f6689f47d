"""Opaque, tamper-evident keyset cursors shared by every paginated listing.

A cursor carries the sort key of the last row served and a digest of the query it belongs to, so a
page boundary stays stable while rows are inserted, and a cursor replayed against another filter is
refused instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from secaudit.tools.errors import InvalidInput

__all__ = ["MAX_LIMIT", "check_limit", "decode_cursor", "encode_cursor", "query_digest"]

MAX_LIMIT = 200
_MAX_CURSOR_CHARS = 2048


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def query_digest(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(digest: str, key: list[Any]) -> str:
    raw = json.dumps({"q": digest, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, digest: str) -> list[Any]:
    bad = InvalidInput("the cursor is not valid for this query; start again without a cursor")
    if not cursor or len(cursor) > _MAX_CURSOR_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("q") != digest or not isinstance(data.get("k"), list):
        raise bad
    key: list[Any] = data["k"]
    return key
