"""`mask_text`: find secrets in a text, replace the union of their spans, describe what was masked.

The result never holds a raw value: each match gives its kind, its span in the original text,
its line and a preview that shows at most 8 characters of a value of 16 or more.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from secaudit.tools.errors import InvalidInput
from secaudit.tools.masking.patterns import KIND_PRIORITY, RawSpan, find_spans, secret_variants

__all__ = [
    "PREVIEW_MIN_LENGTH",
    "MaskMatch",
    "MaskResult",
    "apply_spans",
    "keyed_hash",
    "mask_text",
    "merge_spans",
    "preview",
    "replacement",
]

# Values shorter than this preview as "***": showing 4 + 4 characters of a 12-character secret
# would give away two thirds of it. At 16 and above, at most half is shown.
PREVIEW_MIN_LENGTH = 16
_PREVIEW_EDGE = 4


def preview(value: str) -> str:
    """`abcd...wxyz` for a value of 16 characters or more, else `***`.

    Control characters in the shown edges become `?` so a preview never carries a line break or
    an escape sequence into a log or a terminal.
    """
    if len(value) < PREVIEW_MIN_LENGTH:
        return "***"
    head, tail = value[:_PREVIEW_EDGE], value[-_PREVIEW_EDGE:]
    return f"{_printable(head)}...{_printable(tail)}"


def _printable(part: str) -> str:
    if part.isprintable():
        return part
    return "".join(c if c.isprintable() else "?" for c in part)


def keyed_hash(value: str, key: bytes) -> str:
    """HMAC-SHA256 of `value` (UTF-8) under `key`, hex: a fingerprint that cannot be brute-forced
    back to a short secret without the key."""
    if not key:
        raise InvalidInput("keyed_hash needs a non-empty key: pass the installation's fingerprint key.")
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def replacement(kind: str) -> str:
    """What a masked span becomes in the output text."""
    return f"[MASKED:{kind}]"


@dataclass(frozen=True, slots=True)
class MaskMatch:
    """One masked span.

    `kind`: what was found (github_token, private_key, env_assignment...); `start`/`end`:
    character offsets of the masked value in the ORIGINAL text (end exclusive); `line`: 1-based
    line of `start`; `preview`: first 4 and last 4 characters when 16 or more long, else `***`.
    A frozen dataclass (cheap to build by the ten thousand); `pydantic.TypeAdapter(MaskResult)`
    validates, dumps and gives the JSON schema.
    """

    kind: str
    start: int
    end: int
    line: int
    preview: str


@dataclass(frozen=True, slots=True)
class MaskResult:
    """The masked text and what was masked in it (never a raw value)."""

    masked: str
    matches: list[MaskMatch] = field(default_factory=list)


def merge_spans(spans: list[RawSpan]) -> list[RawSpan]:
    """Sorted union of the spans; overlapping or touching spans become one, labelled with the kind
    of highest priority among them (a token format beats the generic key rule).

    A `high_entropy` span that overlaps a span of any precise rule is dropped rather than merged:
    the precise rule knows where its secret ends, the entropy rule only sees a run of characters
    (`hooks.slack.com/services/...` must not lose its `com/`).
    """
    precise = _union([s for s in spans if s[2] != "high_entropy"])
    guesses = [s for s in spans if s[2] == "high_entropy"]
    if not guesses:
        return precise
    starts = [s[0] for s in precise]
    kept: list[RawSpan] = []
    for start, end, kind in guesses:
        i = bisect.bisect_left(starts, end)  # precise spans starting before this one ends
        if i > 0 and precise[i - 1][1] > start:
            continue
        kept.append((start, end, kind))
    return _union(precise + kept)


def _union(spans: list[RawSpan]) -> list[RawSpan]:
    if not spans:
        return []
    ordered = sorted(spans)
    merged: list[RawSpan] = []
    cur_start, cur_end, cur_kind = ordered[0]
    for start, end, kind in ordered[1:]:
        if start <= cur_end:
            if end > cur_end:
                cur_end = end
            if KIND_PRIORITY.get(kind, 9) < KIND_PRIORITY.get(cur_kind, 9):
                cur_kind = kind
        else:
            merged.append((cur_start, cur_end, cur_kind))
            cur_start, cur_end, cur_kind = start, end, kind
    merged.append((cur_start, cur_end, cur_kind))
    return [s for s in merged if s[1] > s[0]]


def apply_spans(text: str, merged: list[RawSpan]) -> str:
    """`text` with each (already merged, sorted) span replaced by its marker."""
    if not merged:
        return text
    parts: list[str] = []
    pos = 0
    for start, end, kind in merged:
        parts.append(text[pos:start])
        parts.append(replacement(kind))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def mask_text(text: str, *, extra_secrets: Iterable[str] = (), entropy: bool = True) -> MaskResult:
    """Mask every secret found in `text`.

    `extra_secrets` are literal values masked wherever they occur, along with their URL-encoded,
    JSON- and repr-escaped forms; values shorter than 6 characters are ignored (they would mask
    common words). `entropy=False` turns off the generic high-entropy rule.
    """
    secrets = [form for value in extra_secrets for form in secret_variants(value)]
    merged = merge_spans(find_spans(text, secrets, entropy=entropy))
    matches: list[MaskMatch] = []
    line = 1
    counted_to = 0
    for start, end, kind in merged:
        line += text.count("\n", counted_to, start)
        counted_to = start
        shown = preview(text[start:end])
        matches.append(MaskMatch(kind=kind, start=start, end=end, line=line, preview=shown))
    return MaskResult(masked=apply_spans(text, merged), matches=matches)
