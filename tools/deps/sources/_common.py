"""Helpers shared by the dependency sources: JSON loading, PEP 508 parsing, pins, line lookup."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from secaudit.tools.advisories.names import PYPI, name_notes, normalize_name
from secaudit.tools.text import clean_line

from ..interface import SourceContext, SourceError

__all__ = [
    "LineIndex",
    "ParsedRequirement",
    "exact_pin",
    "load_json",
    "parse_pep508",
    "pypi_name",
    "sibling",
]

_NAME_TOKEN = re.compile(r"^\s*([^\s\[\]();<>=!~@,]+)")
_VAR = re.compile(r"\$\{[^}]*\}")


@dataclass
class ParsedRequirement:
    name: str
    normalized_name: str
    version: str | None
    specifier: str | None
    extras: tuple[str, ...] = ()
    marker: str | None = None
    url: bool = False
    notes: list[str] = field(default_factory=list)


def load_json(ctx: SourceContext, rel: str) -> tuple[Any, str]:
    """The parsed document and its text; a file that is not JSON (or nests too deep) is a SourceError."""
    text = ctx.read_text(rel)
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):
        raise SourceError(f"{rel}: not valid JSON") from None


def pypi_name(name: str) -> tuple[str, str, list[str]]:
    cleaned = clean_line(name, 200)
    return cleaned, normalize_name(PYPI, cleaned), name_notes(cleaned)


def exact_pin(specifier: str) -> tuple[str | None, list[str]]:
    """The version a specifier pins exactly (`==1.2.3`, `===x`), else None. Wildcards are not pins."""
    parts = [p.strip() for p in specifier.split(",") if p.strip()]
    if len(parts) != 1:
        return None, []
    spec = parts[0]
    if spec.startswith("==="):
        return spec[3:].strip() or None, []
    if spec.startswith("==") and "*" not in spec:
        version = spec[2:].strip()
        try:
            Version(version)
        except InvalidVersion:
            return version, [f"pinned version {clean_line(version, 80)!r} is not a valid PEP 440 version"]
        return version, []
    return None, []


def parse_pep508(text: str) -> ParsedRequirement:
    """Parse one PEP 508 requirement; raises ValueError with a clear reason when it is not one.

    A non-ASCII name is not a valid PEP 508 name, but it is exactly what a look-alike attack writes:
    it is parsed (with a placeholder for the name) so that it is reported, with a note, never dropped.
    """
    # Imported here: packaging's requirement grammar costs more to import than anything else the
    # deps scanner needs to be built (its sources select files by name), which every audit does,
    # even one of a single Python file (an agent hook's).
    from packaging.requirements import InvalidRequirement, Requirement

    notes: list[str] = []
    if _VAR.search(text):
        notes.append("contains ${...}: environment variables are never expanded by this audit")
    raw_name: str | None = None
    candidate = text
    m = _NAME_TOKEN.match(text)
    if m and not m.group(1).isascii():
        raw_name = m.group(1)
        candidate = "placeholder" + text[m.end(1) :]
    try:
        req = Requirement(candidate)
    except InvalidRequirement as exc:
        reason = clean_line(str(exc).splitlines()[0] if str(exc) else "invalid", 160)
        if notes:
            reason += "; it contains ${...}: environment variables are never expanded by this audit"
        raise ValueError(f"not a valid requirement ({reason})") from None
    name, normalized, name_note = pypi_name(raw_name if raw_name is not None else req.name)
    notes.extend(name_note)
    spec = str(req.specifier) or None
    version: str | None = None
    if req.url:
        notes.append("direct URL reference: not followed, version unknown")
    elif spec:
        version, pin_notes = exact_pin(spec)
        notes.extend(pin_notes)
    return ParsedRequirement(
        name=name,
        normalized_name=normalized,
        version=version,
        specifier=spec,
        extras=tuple(sorted(req.extras)),
        marker=str(req.marker) if req.marker else None,
        url=bool(req.url),
        notes=notes,
    )


class LineIndex:
    """Find the 1-based line of things in a text that a parser (tomllib, json) gave no positions for."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def find(self, pattern: re.Pattern[str] | str, start: int = 1, stop: int | None = None) -> int | None:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        end = len(self.lines) if stop is None else min(stop, len(self.lines))
        for number in range(max(start, 1), end + 1):
            if regex.search(self.lines[number - 1]):
                return number
        return None

    def find_literal(self, needle: str, start: int = 1) -> int | None:
        for number in range(max(start, 1), len(self.lines) + 1):
            if needle in self.lines[number - 1]:
                return number
        return None

    def table_start(self, header: str) -> int | None:
        """Line of a TOML table header like `[tool.poetry.dependencies]`."""
        return self.find(re.compile(r"^\s*\[\s*" + re.escape(header).replace(r"\.", r"\s*\.\s*") + r"\s*\]"))

    def array_table_lines(self, header: str) -> list[int]:
        """Lines of each `[[header]]`, in order."""
        regex = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]")
        return [i + 1 for i, line in enumerate(self.lines) if regex.match(line)]


def sibling(rel: str, name: str) -> str:
    head = rel.rsplit("/", 1)[0] if "/" in rel else ""
    return f"{head}/{name}" if head else name
