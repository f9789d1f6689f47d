"""Handling of untrusted text: what scanned code, advisories and imported SARIF files say.

Such text is data for a reader, never an instruction: it is bounded, stripped of control characters
(terminal escapes, bidi overrides, NULs) and carried in clearly named fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = ["clean_line", "clean_text", "first_few"]

# C0/C1 controls except tab and newline; plus the Unicode bidi/format characters used in
# "Trojan Source" style attacks and zero-width characters that hide content.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
_ELLIPSIS = "…"


def clean_text(text: str | None, max_chars: int = 4000) -> str:
    """Strip control characters, normalise newlines and bound the length (marking the cut)."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > max_chars * 4:
        # Cut before the regex so a huge input costs O(max_chars), not O(input).
        text = text[: max_chars * 4]
    text = _CONTROL.sub("", text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + _ELLIPSIS
    return text


def clean_line(text: str | None, max_chars: int = 300) -> str:
    """A single-line field (title, rule name): newlines and tabs become spaces."""
    cleaned = clean_text(text, max_chars * 2).replace("\n", " ").replace("\t", " ")
    cleaned = unicodedata.normalize("NFC", " ".join(cleaned.split()))
    if len(cleaned) > max_chars:
        cleaned = cleaned[: max_chars - 1] + _ELLIPSIS
    return cleaned


def first_few(items: Sequence[str], limit: int) -> str:
    """The first `limit` items joined by ", ", then " ..." when there are more: a bounded list in a
    note or a message."""
    return ", ".join(items[:limit]) + (" ..." if len(items) > limit else "")
