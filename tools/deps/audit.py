"""Dependency audit: find manifests and lockfiles, read them through the source plug-ins, and match
the pinned versions against the offline advisory database.

What was not checked is said, never passed off as clean: unpinned requirements, versions from git
or URLs, ecosystems the database has no records for, names that cannot be package names (look-alike
characters), an empty database, and files that could not be read are all listed in the result.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.tools.advisories.db import AdvisoryDB, DBStatus, PackageAdvisory
from secaudit.tools.advisories.matching import Upgrade, is_affected
from secaudit.tools.advisories.model import MALICIOUS_PREFIX, Advisory, AdvisorySeverity, AffectedPackage
from secaudit.tools.advisories.names import NPM, PYPI, shown_name, valid_name
from secaudit.tools.advisories.versions import scheme_for
from secaudit.tools.severity import level_rank
from secaudit.tools.walker import walk

from .interface import Dependency, DependencySource, FileNote, SourceContext, SourceError
from .safe_io import MAX_MANIFEST_BYTES, is_regular_within, read_text_within
from .sources import InstalledEnvironmentSource, default_sources

__all__ = [
    "DepAuditResult",
    "VulnerableDependency",
    "audit_dependencies",
    "discover_manifests",
]

MAX_MANIFESTS = 2000
_MAX_WALK_ENTRIES = 200_000
# Manifests whose declared ranges give way to a lockfile of the same ecosystem in the same folder.
_MANIFEST_SOURCES = frozenset({"pyproject", "package.json"})
_ID_PREFERENCE = {PYPI: ("PYSEC-", "GHSA-"), NPM: ("GHSA-",)}


@dataclass(frozen=True)
class VulnerableDependency:
    """One (package, version, advisory): aliases of the same vulnerability are merged into one."""

    dependency: Dependency
    advisory: Advisory
    aliases: tuple[str, ...]
    severity: AdvisorySeverity
    fixed_versions: tuple[str, ...]  # versions this advisory names as fixed for this package
    upgrade: Upgrade  # smallest version >= current that no advisory for the package covers
    via: str  # "versions" (listed) or "range"
    notes: tuple[str, ...] = ()
    # A malicious-package report (a `MAL-` id among the merged advisories): the package is to be
    # removed, not upgraded.
    malicious: bool = False


@dataclass
class DepAuditResult:
    root: str
    dependencies: list[Dependency] = field(default_factory=list)
    vulnerable: list[VulnerableDependency] = field(default_factory=list)
    # Dependencies not compared with advisories, each with the reason in its notes or in `notes`.
    unchecked: list[Dependency] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[FileNote] = field(default_factory=list)  # files that could not be used, and why
    notes: list[FileNote] = field(default_factory=list)  # per-file remarks (URLs not followed, ...)
    coverage: list[str] = field(default_factory=list)  # audit-wide remarks (empty DB, ecosystem gaps)
    db: DBStatus | None = None
    # Pinned dependencies per ecosystem the database has no advisories for: never checked, so the
    # audit is incomplete (a scanner reports it partial), however many others were checked.
    uncovered: dict[str, int] = field(default_factory=dict)
    # Dependencies whose name cannot be a package of their ecosystem (a Cyrillic `rеquests`): they
    # can match no advisory, so they are not checked, and the audit is incomplete.
    invalid_names: list[Dependency] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.dependencies) - len(self.unchecked)


def discover_manifests(root: Path, sources: Sequence[DependencySource] | None = None) -> list[str]:
    """Repo-relative paths of files some source reads, found by the audit's own walk (the same
    default excludes and .gitignore rules; no link followed).

    Links, FIFOs and oversized files with a manifest's name are listed too, so the audit reports
    why each is refused.
    """
    sources = list(sources or default_sources())
    walked = walk(root, max_files=_MAX_WALK_ENTRIES, max_file_bytes=MAX_MANIFEST_BYTES)
    rels = [f.rel for f in walked.files] + [s.path for s in walked.skips]
    return sorted(rel for rel in rels if any(s.matches(rel) for s in sources))[:MAX_MANIFESTS]


def _context(root: Path) -> SourceContext:
    return SourceContext(
        root=root,
        read_text=lambda rel: read_text_within(root, rel),
        exists=lambda rel: is_regular_within(root, rel),
    )


def _preferred(ecosystem: str, ids: Iterable[str], *, malicious: bool = False) -> str:
    # A malicious-package group is named by its MAL- id: that id is what says "malicious".
    prefs = (MALICIOUS_PREFIX,) if malicious else _ID_PREFERENCE.get(ecosystem, ())

    def key(aid: str) -> tuple[int, str]:
        for rank, prefix in enumerate(prefs):
            if aid.startswith(prefix):
                return rank, aid
        return len(prefs), aid

    return min(ids, key=key)


_Hit = tuple[PackageAdvisory, str, tuple[str, ...]]


def _merge_aliases(
    ecosystem: str, hits: list[_Hit]
) -> list[tuple[PackageAdvisory, str, tuple[str, ...], list[PackageAdvisory], bool]]:
    """Group hits naming the same vulnerability (one's id or alias is another's) into one."""
    parent = list(range(len(hits)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, (pa, _, _) in enumerate(hits):
        for name in (pa.advisory.id, *pa.advisory.aliases):
            if name in owner:
                parent[find(i)] = find(owner[name])
            else:
                owner[name] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(hits)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        ids = [hits[i][0].advisory.id for i in members]
        malicious = any(hits[i][0].advisory.is_malicious for i in members)
        wanted = _preferred(ecosystem, ids, malicious=malicious)
        chosen = next(i for i in members if hits[i][0].advisory.id == wanted)
        pa, via, notes = hits[chosen]
        out.append((pa, via, notes, [hits[i][0] for i in members], malicious))
    return out


def _spelling_note(dep: Dependency, entry: AffectedPackage) -> tuple[str, ...]:
    if entry.name == dep.name:
        return ()
    return (
        f"the advisory spells the package {entry.name!r}; npm names are matched without ASCII case "
        f"(the registry refuses names differing only by case), so it was taken to mean {dep.name!r}",
    )


def _sorted_versions(ecosystem: str, versions: Iterable[str]) -> tuple[str, ...]:
    scheme = scheme_for(ecosystem)

    def key(text: str) -> tuple[int, Any, str]:
        parsed = scheme.parse(text) if scheme else None
        return (0, parsed, text) if parsed is not None else (1, 0, text)

    return tuple(sorted(set(versions), key=key))


def _group_severity(group: list[PackageAdvisory]) -> AdvisorySeverity:
    # Aliases may carry different assessments; the most severe known one is kept (never a guess).
    return max((pa.advisory.severity for pa in group), key=lambda s: level_rank(s.level))


def _drop_superseded(
    deps: list[Dependency], lockfile_sources: set[str]
) -> tuple[list[Dependency], list[FileNote]]:
    """Manifest ranges are superseded by a lockfile of the same ecosystem in the same folder."""
    locked_dirs = {(d.ecosystem, posixpath.dirname(d.manifest)) for d in deps if d.source in lockfile_sources}
    kept: list[Dependency] = []
    notes: dict[str, FileNote] = {}
    for dep in deps:
        folder = (dep.ecosystem, posixpath.dirname(dep.manifest))
        if dep.source in _MANIFEST_SOURCES and folder in locked_dirs:
            notes.setdefault(
                dep.manifest, FileNote(dep.manifest, "versions taken from the lockfile beside it")
            )
            continue
        kept.append(dep)
    return kept, list(notes.values())


def audit_dependencies(
    root: Path,
    files: Sequence[str] | None = None,
    db: AdvisoryDB | None = None,
    *,
    environments: Sequence[str] = (),
    sources: Sequence[DependencySource] | None = None,
) -> DepAuditResult:
    """Audit the dependencies declared under `root`.

    `files`: repo-relative paths to consider (e.g. the audit engine's walk); None discovers them.
    `environments`: repo-relative folders of installed environments (virtualenvs) to read as well.
    `db`: the advisory database; None only lists dependencies (every one reported unchecked).
    """
    root = Path(root).resolve()
    srcs = list(sources or default_sources())
    result = DepAuditResult(root=str(root))
    ctx = _context(root)
    candidates = discover_manifests(root, srcs) if files is None else sorted(set(files))
    deps: list[Dependency] = []
    for rel in candidates:
        source = next((s for s in srcs if s.matches(rel)), None)
        if source is None:
            continue
        try:
            parsed = source.parse(ctx, rel)
        except SourceError as exc:
            result.skipped.append(FileNote(rel, exc.message))
            continue
        except (RecursionError, MemoryError):
            result.skipped.append(FileNote(rel, "too deeply nested or too large to parse; skipped"))
            continue
        deps.extend(parsed.dependencies)
        result.files.extend(parsed.files)
        result.notes.extend(parsed.notes)
    env_source = InstalledEnvironmentSource()
    for env in environments:
        try:
            parsed = env_source.parse(ctx, env)
        except SourceError as exc:
            result.skipped.append(FileNote(env, exc.message))
            continue
        deps.extend(parsed.dependencies)
        result.files.extend(parsed.files)
        result.notes.extend(parsed.notes)
    deps, superseded = _drop_superseded(deps, {s.name for s in srcs if s.is_lockfile})
    result.notes.extend(superseded)
    unique: dict[tuple[str, str, str | None, str, int | None], Dependency] = {}
    for dep in deps:
        unique.setdefault((dep.ecosystem, dep.normalized_name, dep.version, dep.manifest, dep.line), dep)
    result.dependencies = list(unique.values())
    result.files = list(dict.fromkeys(result.files))
    result.notes = list(dict.fromkeys(result.notes))
    _match(result, db)
    return result


def _invalid_names(result: DepAuditResult) -> list[Dependency]:
    """The dependencies whose name is not a valid package name, each with a per-dependency note."""
    invalid = [d for d in result.dependencies if not valid_name(d.ecosystem, d.name)]
    for dep in invalid:
        where = f"line {dep.line}: " if dep.line else ""
        result.notes.append(
            FileNote(
                dep.manifest,
                f"{where}'{shown_name(dep.name)}' is not a valid {dep.ecosystem} package name (look-alike "
                "characters?): not checked against advisories",
            )
        )
    if invalid:
        result.coverage.append(
            f"{len(invalid)} dependencies NOT checked: not valid package names (look-alike characters?): "
            + ", ".join(
                f"'{shown_name(d.name)}' ({d.manifest}{f':{d.line}' if d.line else ''})" for d in invalid[:5]
            )
            + (" ..." if len(invalid) > 5 else "")
        )
    return invalid


def _match(result: DepAuditResult, db: AdvisoryDB | None) -> None:
    result.invalid_names = _invalid_names(result)
    invalid = {id(d) for d in result.invalid_names}
    if db is None:
        result.unchecked = list(result.dependencies)
        result.coverage.append("no advisory database was given: dependencies were listed, not checked")
        return
    status = db.status()
    result.db = status
    if status.empty:
        result.unchecked = list(result.dependencies)
        result.coverage.append(
            "the advisory database is empty: no dependency was checked. Import one with "
            "`secaudit db import PATH` (OSV records or an all.zip) or `secaudit db update` when online"
        )
        return
    by_eco: dict[str, list[Dependency]] = {}
    for dep in result.dependencies:
        if id(dep) in invalid or dep.version is None:
            result.unchecked.append(dep)
        elif not status.covers(dep.ecosystem):
            result.unchecked.append(dep)
        else:
            by_eco.setdefault(dep.ecosystem, []).append(dep)
    for dep in result.dependencies:
        if dep.version and id(dep) not in invalid and not status.covers(dep.ecosystem):
            result.uncovered[dep.ecosystem] = result.uncovered.get(dep.ecosystem, 0) + 1
    for eco, count in sorted(result.uncovered.items()):
        result.coverage.append(
            f"the advisory database has no {eco} records: {count} pinned {eco} dependencies were NOT "
            f"checked (import the OSV {eco} dump: `secaudit db import PATH` or `secaudit db update`)"
        )
    unpinned = sum(1 for d in result.dependencies if d.version is None)
    if unpinned:
        result.coverage.append(f"{unpinned} dependencies are not pinned to one version: not checked")
    for eco, deps in by_eco.items():
        advisories = db.advisories_for(eco, {d.normalized_name for d in deps})
        upgrades: dict[tuple[str, str], Upgrade] = {}
        for dep in deps:
            assert dep.version is not None
            found = advisories.get(dep.normalized_name, ())
            if not found:
                continue
            hits: list[_Hit] = []
            match_notes: list[str] = []
            for pa in found:
                for entry in pa.entries:
                    outcome = is_affected(entry, dep.version)
                    match_notes.extend(outcome.notes)
                    if outcome.affected:
                        spelling = _spelling_note(dep, entry) if eco == NPM else ()
                        hits.append((pa, outcome.via, outcome.notes + spelling))
                        break
            if match_notes:
                text = f"{dep.name} {dep.version}: " + "; ".join(dict.fromkeys(match_notes))
                result.notes.append(FileNote(dep.manifest, text))
            if not hits:
                continue
            key = (dep.normalized_name, dep.version)
            if key not in upgrades:
                upgrades[key] = db.upgrade_for(eco, found, dep.version)
            for pa, via, notes, group, malicious in _merge_aliases(eco, hits):
                aliases = {a for g in group for a in (g.advisory.id, *g.advisory.aliases)}
                aliases.discard(pa.advisory.id)
                fixed = {v for g in group for e in g.entries for v in e.fixed_versions}
                result.vulnerable.append(
                    VulnerableDependency(
                        dependency=dep,
                        advisory=pa.advisory,
                        aliases=tuple(sorted(aliases)),
                        severity=_group_severity(group),
                        fixed_versions=_sorted_versions(eco, fixed),
                        upgrade=upgrades[key],
                        via=via,
                        notes=notes,
                        malicious=malicious,
                    )
                )
