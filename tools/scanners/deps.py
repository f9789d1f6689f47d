"""The `deps` scanner: dependency advisories from the offline OSV database, as findings.

One finding per (package, version, advisory), on the manifest line that lists the package; an
info-level finding per unpinned requirement (it could not be checked). A malicious-package report
(an OSV `MAL-` record) is a finding of its own kind: rule `deps.malicious-package`, critical, and
its message says to remove the package and rotate credentials, never to upgrade it.

The advisory database is the one in the run's store (`ScanContext.store`), or `advisory_db` from the
options; without one the scanner is unavailable rather than "clean". Pinned dependencies of an
ecosystem the database has no advisories for were not checked: the result is incomplete (the run
partial), and its first note names those ecosystems. So is a dependency whose name cannot be a
package name (look-alike characters): it can match nothing, so it is not checked. Options:
`DepsOptions`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING

from pydantic import field_validator

from secaudit.tools.advisories.db import AdvisoryDB
from secaudit.tools.advisories.names import NPM, PYPI, normalize_name
from secaudit.tools.deps.interface import AdvisoryBackendUnavailable, Dependency
from secaudit.tools.deps.remedy import removal_steps
from secaudit.tools.deps.sources import NpmLockSource, default_sources
from secaudit.tools.findings.model import Confidence, Finding, fingerprint
from secaudit.tools.scanners.interface import (
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScannerOptions,
    ScannerUnavailable,
    ScanResult,
)
from secaudit.tools.severity import Severity, severity_from_label

if TYPE_CHECKING:
    from secaudit.tools.deps.audit import DepAuditResult, VulnerableDependency

__all__ = ["MALICIOUS_RULE", "DepsOptions", "DepsScanner", "finding_for", "unpinned_finding"]

_SCANNER = "deps"
_UNPINNED_RULE = "deps.unpinned"
MALICIOUS_RULE = "deps.malicious-package"
_MAX_NOTES = 200
_ONLINE_BACKENDS = ("pypi", "osv", "npm")
_MAX_NPM_LOCKFILES = 10
_NPM_TIMEOUT = 60.0


def _version_of(dist: str) -> str:
    try:
        return dist_version(dist)
    except PackageNotFoundError:
        return "0"


def _where(dep: Dependency) -> str:
    kind = (
        "direct" if dep.direct else ("transitive" if dep.direct is False else "direct or transitive: unknown")
    )
    line = f":{dep.line}" if dep.line else ""
    text = f"{dep.manifest}{line} ({kind})"
    if dep.declared_in:
        text += f"; declared in {dep.declared_in}" + (f":{dep.declared_line}" if dep.declared_line else "")
    return text


def _properties(hit: VulnerableDependency) -> dict[str, object]:
    dep, adv = hit.dependency, hit.advisory
    return {
        "ecosystem": dep.ecosystem,
        "package": dep.name,
        "normalized_name": dep.normalized_name,
        "version": dep.version,
        "advisory_id": adv.id,
        "aliases": list(hit.aliases),
        "advisory_severity": hit.severity.level,
        "cvss_score": hit.severity.score,
        "cvss_vector": hit.severity.vector,
        "severity_source": hit.severity.source,
        "fixed_versions": list(hit.fixed_versions),
        "smallest_safe_upgrade": None if hit.malicious else hit.upgrade.version,
        "upgrade_note": hit.upgrade.note or None,
        "direct": dep.direct,
        "declared_in": dep.declared_in,
        "declared_line": dep.declared_line,
        "hashed": dep.hashed,
        "source": dep.source,
        "matched_by": hit.via,
        "malicious": hit.malicious,
        "match_notes": list(hit.notes),
    }


def _fingerprint(hit: VulnerableDependency) -> str:
    dep = hit.dependency
    return fingerprint(
        _SCANNER, hit.advisory.id, dep.manifest, f"{dep.ecosystem}:{dep.normalized_name}@{dep.version}"
    )


def malicious_finding(hit: VulnerableDependency) -> Finding:
    """A malicious package: removed, never upgraded (a bump keeps the attacker's package installed)."""
    dep, adv = hit.dependency, hit.advisory
    steps = removal_steps(dep.ecosystem, dep.name, dep.direct)
    lines = [
        f"{dep.name} {dep.version} ({dep.ecosystem}) is reported as a malicious package by {adv.id}"
        + (f" ({', '.join(hit.aliases)})" if hit.aliases else "")
        + ".",
        "A malicious package is removed, not upgraded: no version of it is a fix, and its code may "
        "already have run when it was installed.",
        *(f"{i}. {step[0].upper()}{step[1:]}." for i, step in enumerate(steps, start=1)),
        f"Listed in {_where(dep)}.",
        *hit.notes,
    ]
    if adv.summary:
        lines.append(f"Advisory summary: {adv.summary}")
    return Finding(
        scanner=_SCANNER,
        rule_id=MALICIOUS_RULE,
        severity=Severity.CRITICAL,
        confidence=Confidence.HIGH,
        path=dep.manifest,
        start_line=dep.line,
        end_line=dep.line,
        title=f"{dep.name} {dep.version} is a malicious package: remove it (do not upgrade)",
        message="\n".join(lines),
        references=[r.url for r in adv.references],
        fingerprint=_fingerprint(hit),
        properties={**_properties(hit), "removal_steps": steps},
    )


def finding_for(hit: VulnerableDependency) -> Finding:
    if hit.malicious:
        return malicious_finding(hit)
    dep, adv = hit.dependency, hit.advisory
    upgrade = (
        f"smallest safe upgrade: {hit.upgrade.version}"
        if hit.upgrade.version
        else f"no safe upgrade known ({hit.upgrade.note})"
    )
    level = hit.severity.level
    score = f" (CVSS {hit.severity.score:g})" if hit.severity.score is not None else ""
    lines = [
        f"{dep.name} {dep.version} ({dep.ecosystem}) is affected by {adv.id}"
        + (f" ({', '.join(hit.aliases)})" if hit.aliases else "")
        + ".",
        f"Severity: {level}{score}" + ("" if level != "unknown" else ": the advisory gives no rating"),
        "Fixed in: "
        + (", ".join(hit.fixed_versions) if hit.fixed_versions else "no fixed version published"),
        upgrade[0].upper() + upgrade[1:] + ".",
        f"Listed in {_where(dep)}.",
        *hit.notes,
    ]
    if adv.summary:
        lines.append(f"Advisory summary: {adv.summary}")
    return Finding(
        scanner=_SCANNER,
        rule_id=adv.id,
        # An advisory without a CVSS vector or a publisher rating keeps "unknown" in its properties;
        # the finding needs a level, and medium neither hides it below common --fail-on thresholds
        # nor inflates it.
        severity=severity_from_label(level) or Severity.MEDIUM,
        confidence=Confidence.HIGH if hit.via == "versions" else Confidence.MEDIUM,
        path=dep.manifest,
        start_line=dep.line,
        end_line=dep.line,
        title=f"{dep.name} {dep.version}: {adv.summary or adv.id}",
        message="\n".join(lines),
        references=[r.url for r in adv.references],
        fingerprint=_fingerprint(hit),
        properties=_properties(hit),
    )


def unpinned_finding(dep: Dependency) -> Finding:
    spec = dep.specifier or "no version constraint"
    return Finding(
        scanner=_SCANNER,
        rule_id=_UNPINNED_RULE,
        severity=Severity.INFO,
        confidence=Confidence.HIGH,
        path=dep.manifest,
        start_line=dep.line,
        end_line=dep.line,
        title=f"{dep.name} is not pinned ({spec}): not checked against advisories",
        message=(
            f"{dep.name} ({dep.ecosystem}) in {_where(dep)} has {spec}; only an exact version can be "
            "matched against advisories. Pin it, or audit the lockfile that resolves it.\n"
            + "\n".join(dep.notes)
        ),
        fingerprint=fingerprint(
            _SCANNER, _UNPINNED_RULE, dep.manifest, f"{dep.ecosystem}:{dep.normalized_name}"
        ),
        properties={"ecosystem": dep.ecosystem, "package": dep.name, "specifier": dep.specifier},
    )


class DepsOptions(ScannerOptions):
    # A database other than the store's (tests; a second, pinned database).
    advisory_db: AdvisoryDB | None = None
    # Repository-relative virtualenv folders whose installed packages are read as well.
    environments: tuple[str, ...] = ()
    # Opt-in online backends: "pypi" or "osv" ask pip-audit's service, "npm" runs `npm audit` on
    # each npm lockfile; a list or one comma-separated string. A backend that does not answer (or
    # a name not understood) leaves a note, and the offline result stands.
    online: tuple[str, ...] = ()

    @field_validator("online", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return tuple(value.split(",")) if isinstance(value, str) else value


class DepsScanner(Scanner):
    name = _SCANNER
    description = "Known vulnerabilities of pinned dependencies, from the offline OSV advisory database"
    Options = DepsOptions

    def __init__(self, db: AdvisoryDB | None = None) -> None:
        self._db = db
        self._sources = default_sources()

    def version(self) -> str:
        return f"deps-1/packaging-{_version_of('packaging')}/semver-{_version_of('semver')}"

    def selects(self, file: FileRef) -> bool:
        return any(s.matches(file.rel) for s in self._sources)

    def _database(self, ctx: ScanContext, options: DepsOptions) -> AdvisoryDB:
        db = options.advisory_db if options.advisory_db is not None else self._db
        if db is not None:
            return db
        if ctx.store is not None:
            return AdvisoryDB(ctx.store)
        raise ScannerUnavailable("the deps scanner has no advisory database configured")

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        # Here, not at the top: the scanner is loaded for every audit (and agent hook) but scans
        # only when a manifest is in scope; the dependency audit imports the version schemes.
        from secaudit.tools.deps.audit import audit_dependencies

        options = ctx.options_as(DepsOptions)
        db = self._database(ctx, options)
        audit = audit_dependencies(
            ctx.root, [f.rel for f in files], db, environments=list(options.environments)
        )
        if audit.db is not None and audit.db.empty and audit.dependencies:
            raise ScannerUnavailable(audit.coverage[0])
        result = to_scan_result(audit)
        if options.online:
            result.notes.extend(_online_notes(ctx, audit, options.online))
        ctx.progress(len(files))
        return result


def to_scan_result(audit: DepAuditResult) -> ScanResult:
    result = ScanResult(
        findings=[finding_for(hit) for hit in audit.vulnerable],
        scanned=list(audit.files),
        skipped=[FileSkip(n.path, n.message) for n in audit.skipped],
    )
    result.findings.extend(unpinned_finding(d) for d in audit.dependencies if d.version is None)
    if audit.uncovered:
        # Not looking is not clean: an ecosystem without advisories makes the result incomplete.
        result.complete = False
        result.notes.append(
            "ecosystems NOT checked (no advisories in the database): "
            + ", ".join(f"{eco} ({count} dependencies)" for eco, count in sorted(audit.uncovered.items()))
        )
    if audit.invalid_names:
        # A look-alike name matches no advisory: counted as checked, it would read as clean.
        result.complete = False
    result.notes.extend(audit.coverage)
    result.notes.append(
        f"{audit.checked} of {len(audit.dependencies)} dependencies checked against the advisory database"
    )
    result.notes.extend(f"{n.path}: {n.message}" for n in audit.notes[:_MAX_NOTES])
    if len(audit.notes) > _MAX_NOTES:
        result.notes.append(f"{len(audit.notes) - _MAX_NOTES} more notes not shown")
    return result


def _backends(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """The requested online backends, and a note per value not understood."""
    chosen: list[str] = []
    notes: list[str] = []
    for raw in values:
        value = str(raw).strip().lower()
        if value in _ONLINE_BACKENDS:
            chosen.append(value)
        elif value:
            notes.append(f"online check: unknown backend {value[:40]!r}; use {', '.join(_ONLINE_BACKENDS)}")
    return list(dict.fromkeys(chosen)), notes


def _offline_ids(audit: DepAuditResult, ecosystem: str, manifest: str | None = None) -> set[tuple[str, str]]:
    hits = [
        h for h in audit.vulnerable
        if h.dependency.ecosystem == ecosystem and (manifest is None or h.dependency.manifest == manifest)
    ]  # fmt: skip
    return {(h.dependency.normalized_name, a) for h in hits for a in (h.advisory.id, *h.aliases)}


def _online_notes(ctx: ScanContext, audit: DepAuditResult, online: Sequence[str]) -> list[str]:
    backends, notes = _backends(online)
    for backend in backends:
        if backend == "npm":
            notes.extend(_npm_notes(ctx, audit))
        else:
            notes.extend(_pip_audit_notes(audit, backend))
    return notes


def _pip_audit_notes(audit: DepAuditResult, service: str) -> list[str]:
    if not any(d.ecosystem == PYPI and d.version for d in audit.dependencies):
        return [f"online check (pip-audit, {service}): not run: no pinned PyPI dependencies"]
    from secaudit.tools.deps.online import pip_audit_check  # opt-in: only for this backend

    try:
        online = pip_audit_check(audit.dependencies, service=service)
    except AdvisoryBackendUnavailable as exc:
        return [f"online check: {exc.message}"]
    offline_ids = _offline_ids(audit, PYPI)
    extra = [
        f for f in online.findings if (f.name, f.id) not in offline_ids
        and not any((f.name, a) in offline_ids for a in f.aliases)
    ]  # fmt: skip
    notes = [f"online check (pip-audit, {service}): {online.audited} packages audited"]
    notes.extend(
        f"online only: {f.name} {f.version} {f.id} (fixed in {', '.join(f.fix_versions) or 'no release'})"
        for f in extra
    )
    return notes


def _npm_notes(ctx: ScanContext, audit: DepAuditResult) -> list[str]:
    lockfiles = sorted({d.manifest for d in audit.dependencies if d.source == NpmLockSource.name})
    if not lockfiles:
        why = (
            "npm audit needs a package-lock.json, and none was read"
            if any(d.ecosystem == NPM for d in audit.dependencies)
            else "no npm dependencies"
        )
        return [f"online check (npm audit): not run: {why}"]
    notes: list[str] = []
    if len(lockfiles) > _MAX_NPM_LOCKFILES:
        notes.append(
            f"online check (npm audit): {len(lockfiles)} lockfiles; the first {_MAX_NPM_LOCKFILES} audited"
        )
    from secaudit.tools.deps.npm_audit import npm_audit_check  # opt-in: only for this backend

    for lockfile in lockfiles[:_MAX_NPM_LOCKFILES]:
        timeout = min(_NPM_TIMEOUT, ctx.deadline - time.monotonic())
        if timeout < 5:
            notes.append(f"online check (npm audit, {lockfile}): not run, the scan is out of time")
            continue
        try:
            online = npm_audit_check(ctx.root, lockfile, timeout=timeout)
        except AdvisoryBackendUnavailable as exc:
            notes.append(f"online check ({lockfile}): {exc.message}")
            continue
        offline_ids = _offline_ids(audit, NPM, lockfile)
        extra = [a for a in online.advisories if (normalize_name(NPM, a.name), a.id) not in offline_ids]
        count = "" if online.dependencies is None else f"{online.dependencies} dependencies audited, "
        notes.append(
            f"online check (npm audit, {lockfile}): {count}{len(online.advisories)} advisories, "
            f"{len(online.advisories) - len(extra)} already found offline"
        )
        notes.extend(
            f"online only ({lockfile}): {a.name} {', '.join(a.versions) or '(version not in the lockfile)'} "
            f"{a.id} [{a.severity}] vulnerable {a.range or '(range not given)'}; {a.fix}"
            + (f"; {a.title}" if a.title else "")
            for a in extra
        )
    return notes
