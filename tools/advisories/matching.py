"""Does an OSV `affected` entry cover a version, and what is the smallest safe upgrade?

Semantics follow the OSV schema's evaluation rules: a version is affected when it is listed in
`versions` or falls in any ECOSYSTEM/SEMVER range. A range's events are sorted by version; an
`introduced` at or below the version turns "affected" on, a `fixed` at or below it (or a
`last_affected` strictly below it) turns it off; `limit` events, if any, cap the range from above.
Bounds are read with the scheme's `parse_bound` (npm's partial `1.0` is `1.0.0`).
GIT ranges name commits, not versions, and are not evaluated here (OSV producers such as the PyPA
database also enumerate the versions they cover in `versions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .model import AffectedPackage, AffectedRange, Event
from .versions import SCHEMES, VersionScheme, scheme_for

__all__ = ["MatchResult", "Upgrade", "is_affected", "smallest_safe_upgrade"]


@dataclass(frozen=True, slots=True)
class MatchResult:
    affected: bool
    # "versions" (listed explicitly), "range", or "" when not affected.
    via: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Upgrade:
    """`version` is the smallest known version >= the current one that no advisory covers.

    It equals the current version when that one is already unaffected; None when no such version is
    known, with `note` saying why.
    """

    version: str | None
    note: str = ""


@lru_cache(maxsize=8192)
def _parsed_versions(scheme_name: str, versions: tuple[str, ...]) -> frozenset[Any]:
    scheme = SCHEMES[scheme_name]
    return frozenset(p for p in (scheme.parse(v) for v in versions) if p is not None)


def _in_versions_list(pkg: AffectedPackage, version: str, scheme: VersionScheme | None) -> bool:
    if not pkg.versions:
        return False
    if version in pkg.versions:
        return True
    if scheme is None:
        return False
    parsed = scheme.parse(version)
    # Equal under the scheme ("1.0" == "1.0.0" in PEP 440) counts as listed.
    return parsed is not None and parsed in _parsed_versions(scheme.name, pkg.versions)


@lru_cache(maxsize=65536)
def _prepared(
    scheme_name: str, events: tuple[Event, ...]
) -> tuple[tuple[tuple[tuple[Any, ...], str], ...], tuple[Any, ...], str | None]:
    """A range's events parsed and sorted once: (sorted (key, kind) pairs, limits, error note)."""
    scheme = SCHEMES[scheme_name]
    keyed: list[tuple[tuple[Any, ...], str]] = []
    limits: list[Any] = []
    for event in events:
        if event.kind == "introduced" and event.version == "0":
            keyed.append(((0,), event.kind))
            continue
        bound = scheme.parse_bound(event.version)
        if bound is None:
            return (
                (),
                (),
                (
                    f"range event {event.kind}={event.version!r} is not a valid {scheme.name} version; "
                    "that range was not evaluated"
                ),
            )
        if event.kind == "limit":
            limits.append(bound)
        else:
            keyed.append(((1, bound), event.kind))
    keyed.sort(key=lambda item: item[0])
    return tuple(keyed), tuple(limits), None


def _range_affects(rng: AffectedRange, parsed: Any, scheme: VersionScheme) -> tuple[bool, str | None]:
    keyed, limits, error = _prepared(scheme.name, rng.events)
    if error is not None:
        return False, error
    affected = False
    for key, kind in keyed:
        if kind == "introduced":
            if key == (0,) or parsed >= key[1]:
                affected = True
        elif kind == "fixed":
            if parsed >= key[1]:
                affected = False
        elif kind == "last_affected" and parsed > key[1]:
            affected = False
    if affected and limits and not any(parsed < limit for limit in limits):
        affected = False
    return affected, None


def is_affected(pkg: AffectedPackage, version: str) -> MatchResult:
    """Whether `version` of `pkg`'s package is covered by this affected entry (never raises)."""
    eco_scheme = scheme_for(pkg.ecosystem)
    notes: list[str] = []
    if _in_versions_list(pkg, version, eco_scheme):
        return MatchResult(True, "versions")
    for rng in pkg.ranges:
        if rng.type == "GIT":
            continue
        scheme = scheme_for(pkg.ecosystem, rng.type)
        if scheme is None:
            notes.append(f"{rng.type} ranges of ecosystem {pkg.ecosystem} are not evaluated")
            continue
        parsed = scheme.parse(version)
        if parsed is None:
            notes.append(f"version {version!r} is not a valid {scheme.name} version; ranges not evaluated")
            continue
        hit, note = _range_affects(rng, parsed, scheme)
        if note:
            notes.append(note)
        if hit:
            return MatchResult(True, "range", tuple(dict.fromkeys(notes)))
    return MatchResult(False, "", tuple(dict.fromkeys(notes)))


def _fixed_candidates(entries: Iterable[AffectedPackage]) -> set[str]:
    out: set[str] = set()
    for pkg in entries:
        out.update(pkg.fixed_versions)
    return out


def smallest_safe_upgrade(entries: Sequence[AffectedPackage], current: str, ecosystem: str) -> Upgrade:
    """Smallest version >= `current` that none of `entries` (one package, withdrawn advisories
    already removed) covers, among the versions the advisories name as fixed.

    Pre-releases are candidates only when `current` is one, as PEP 440 installers select them.
    """
    scheme = scheme_for(ecosystem)
    if scheme is None:
        return Upgrade(None, f"no version ordering for ecosystem {ecosystem}")
    cur = scheme.parse(current)
    if cur is None:
        return Upgrade(None, f"current version {current!r} is not a valid {scheme.name} version")
    if not any(is_affected(pkg, current).affected for pkg in entries):
        return Upgrade(current)
    allow_pre = scheme.is_prerelease(cur)
    candidates: list[tuple[Any, str]] = []
    skipped_pre: list[str] = []
    for raw in _fixed_candidates(entries):
        parsed = scheme.parse_bound(raw)
        if parsed is None or parsed <= cur:
            continue
        # A partial bound ("1.0" in an npm range) names the release it pads to: suggest that one.
        text = raw if scheme.parse(raw) is not None else str(parsed)
        if scheme.is_prerelease(parsed) and not allow_pre:
            skipped_pre.append(text)
            continue
        candidates.append((parsed, text))
    candidates.sort(key=lambda item: item[0])
    for _, text in candidates:
        if not any(is_affected(pkg, text).affected for pkg in entries):
            return Upgrade(text)
    if skipped_pre:
        return Upgrade(
            None,
            "only pre-release fixes are known ("
            + ", ".join(sorted(skipped_pre)[:5])
            + "); none is suggested",
        )
    if not candidates:
        return Upgrade(None, "no fixed version is known for at least one advisory")
    return Upgrade(None, "every known fixed version is still covered by another advisory")
