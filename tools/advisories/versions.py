"""Version ordering per ecosystem: PEP 440 for PyPI (`packaging`), SemVer 2.0 for npm (`semver`).

A scheme parses a version string into something totally ordered, or None when the string is not a
version of that scheme; callers turn None into a note, never into a crash or a guess.

`parse_bound` reads a range event's bound. For SemVer it also takes the partial forms npm's own
range grammar takes in a comparator (`>=1.0` is `>=1.0.0`): GitHub's data has `introduced: "1.0"`
(GHSA-r683-j2x4-v87g), and refusing it would leave that range unevaluated, a silent miss. An
installed version is never padded: a lockfile names full versions, and `1.0` there is not one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol

import semver
from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version

from .names import NPM, PYPI

__all__ = ["PEP440", "SCHEMES", "SEMVER", "VersionScheme", "scheme_for"]


class VersionScheme(Protocol):
    name: str

    def parse(self, text: str) -> Any | None: ...

    def parse_bound(self, text: str) -> Any | None: ...

    def is_prerelease(self, parsed: Any) -> bool: ...


class _Pep440:
    name = "PEP 440"

    @staticmethod
    @lru_cache(maxsize=65536)
    def parse(text: str) -> Pep440Version | None:
        try:
            return Pep440Version(text)
        except InvalidVersion:
            return None

    @staticmethod
    def parse_bound(text: str) -> Pep440Version | None:
        # PEP 440 has no partial versions: "1.0" already is one.
        return _Pep440.parse(text)

    @staticmethod
    def is_prerelease(parsed: Any) -> bool:
        # PEP 440: dev releases count as pre-releases for selection purposes.
        return bool(parsed.is_prerelease)


# "1" or "1.0" (no leading zeros, as SemVer numbers), optionally with npm's loose "v"/"=" prefix.
_PARTIAL = re.compile(r"^[vV=]?(0|[1-9]\d{0,15})(?:\.(0|[1-9]\d{0,15}))?$")


class _SemVer:
    name = "SemVer"

    @staticmethod
    @lru_cache(maxsize=65536)
    def parse(text: str) -> semver.Version | None:
        text = text.strip()
        # npm's loose form tolerates a leading "v" or "=" on an exact version; nothing else.
        if text[:1] in ("v", "V", "="):
            text = text[1:]
        try:
            return semver.Version.parse(text)
        except (ValueError, TypeError):
            return None

    @staticmethod
    @lru_cache(maxsize=65536)
    def parse_bound(text: str) -> semver.Version | None:
        full = _SemVer.parse(text)
        if full is not None:
            return full
        m = _PARTIAL.match(text.strip())
        if m is None:
            return None
        return semver.Version(int(m[1]), int(m[2] or 0), 0)

    @staticmethod
    def is_prerelease(parsed: Any) -> bool:
        return parsed.prerelease is not None


PEP440: VersionScheme = _Pep440()
SEMVER: VersionScheme = _SemVer()
SCHEMES: dict[str, VersionScheme] = {PEP440.name: PEP440, SEMVER.name: SEMVER}


def scheme_for(ecosystem: str, range_type: str = "ECOSYSTEM") -> VersionScheme | None:
    """The ordering to use for an ECOSYSTEM or SEMVER range of `ecosystem`; None if we have none."""
    if range_type == "SEMVER":
        return SEMVER
    if range_type != "ECOSYSTEM":
        return None
    if ecosystem == PYPI:
        return PEP440
    if ecosystem == NPM:
        return SEMVER
    return None
