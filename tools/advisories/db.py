"""The offline advisory database: OSV records in indexed tables of the store.

Import is idempotent: a record is inserted when new, replaced when its content changed and its
`modified` is not older than the stored one, and left alone otherwise. Nothing is ever removed by an
import: a record missing from one source may come from another (withdrawal is how OSV retracts).

Import streams: records are parsed one at a time from the source (a zip member at a time for an
`all.zip`) and written in batches, each batch one transaction, so memory stays bounded by the batch
caps below whatever the size of the dump.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit.tools.errors import Cancelled
from secaudit.tools.paths import is_within
from secaudit.tools.store import Store
from secaudit.tools.timefmt import now_us as _now
from secaudit.tools.timefmt import parse_time
from secaudit.tools.walker import CancelToken

from .model import (
    MALICIOUS_PREFIX,
    Advisory,
    AdvisoryFormatError,
    AdvisorySeverity,
    AffectedPackage,
    AffectedRange,
    Event,
    Reference,
)
from .names import SUPPORTED_ECOSYSTEMS, canonical_ecosystem, normalize_name
from .schema import MIGRATIONS

if TYPE_CHECKING:
    from .matching import Upgrade

__all__ = [
    "MIGRATIONS",
    "AdvisoryDB",
    "DBStatus",
    "EcosystemCount",
    "ImportReport",
    "PackageAdvisory",
    "SourceInfo",
]

log = logging.getLogger(__name__)

# Each batch of an import is one transaction: a huge dump (npm's all.zip holds ~200k records, most of
# them malicious-package reports) does not hold the write lock or its parsed rows all at once, and a
# re-run of an interrupted import completes it, since import is idempotent. A batch closes at
# whichever cap it reaches first: the record count bounds the transaction, the bytes bound the
# memory its parsed records take (a parsed record is a few times its source size).
BATCH_RECORDS = 5_000
BATCH_BYTES = 8 * 1024 * 1024
_MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class ImportReport:
    """What one import did. `records` were read and valid; each was inserted, updated, unchanged
    or stale. `errors` were skipped, counted per reason in `skipped` (a few named in
    `error_samples`). `malicious` of the records are malicious-package reports (`MAL-`)."""

    location: str
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Records older (by `modified`) than the stored copy: the stored one is kept.
    stale: int = 0
    errors: int = 0
    error_samples: tuple[str, ...] = ()
    ecosystems: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    malicious: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    batches: int = 0


@dataclass(frozen=True)
class EcosystemCount:
    ecosystem: str
    advisories: int
    packages: int


@dataclass(frozen=True)
class SourceInfo:
    location: str
    kind: str
    imported_at: str
    records: int
    errors: int

    def shown_location(self, roots: Sequence[Path]) -> str:
        """The location as a caller confined to `roots` may see it: a URL, or a path inside a root,
        as stored; a path outside every root by its last component only (it is not echoed)."""
        if self.location.startswith(("http://", "https://")):
            return self.location
        path = Path(self.location)
        if any(is_within(path, root) for root in roots):
            return self.location
        return f"(outside the allowed roots)/{path.name}"


@dataclass(frozen=True)
class DBStatus:
    advisories: int
    withdrawn: int
    # Non-withdrawn malicious-package reports (`MAL-` ids) among `advisories`.
    malicious: int
    ecosystems: tuple[EcosystemCount, ...]
    sources: tuple[SourceInfo, ...]
    last_import_at: str | None
    newest_modified: str | None
    age_seconds: float | None

    @property
    def empty(self) -> bool:
        return self.advisories == 0

    def covers(self, ecosystem: str) -> bool:
        return any(e.ecosystem == ecosystem and e.advisories for e in self.ecosystems)


@dataclass(frozen=True)
class PackageAdvisory:
    """One non-withdrawn advisory for one package: its `entries` are the affected entries that name
    the package (usually one)."""

    advisory: Advisory
    entries: tuple[AffectedPackage, ...]


def _ranges_json(pkg: AffectedPackage) -> str:
    return json.dumps(
        [
            {"type": r.type, "repo": r.repo, "events": [[e.kind, e.version] for e in r.events]}
            for r in pkg.ranges
        ],
        separators=(",", ":"),
    )


def _ranges_from_json(text: str) -> tuple[AffectedRange, ...]:
    return tuple(
        AffectedRange(type=r["type"], repo=r.get("repo"), events=tuple(Event(k, v) for k, v in r["events"]))
        for r in json.loads(text)
    )


def _advisory_row(adv: Advisory, source_id: int, now: str) -> tuple[Any, ...]:
    return (
        adv.id,
        adv.modified,
        adv.published,
        adv.withdrawn,
        json.dumps(list(adv.aliases)),
        adv.summary,
        adv.details,
        adv.severity.level,
        adv.severity.score,
        adv.severity.vector,
        adv.severity.source,
        json.dumps([[r.type, r.url] for r in adv.references], separators=(",", ":")),
        adv.content_hash,
        source_id,
        now,
    )


class AdvisoryDB:
    """Service over the advisory tables of a `Store` (migrated on construction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(MIGRATIONS)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[PackageAdvisory, ...]] = {}
        self._cache_generation: str | None = None
        self._upgrades: dict[tuple[str, str, str], Upgrade] = {}

    # -- import ---------------------------------------------------------------------------------

    def import_path(
        self,
        path: Path,
        *,
        location: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> ImportReport:
        """Import every OSV record under `path` (directory, .json/.yaml file, or all.zip).

        `location` names the source in `status()` (defaults to the resolved path). Raises
        AdvisoryFormatError only when the path as a whole is unusable; bad records are counted.
        `progress(records, errors)` is called after each stored batch.

        `cancel` is checked before each batch is written: once set, Cancelled is raised. The batches
        already stored stay (each is a complete upsert) and importing again finishes the job; the
        source's counters in `status()` are not updated by a cancelled import (they keep those of
        its last complete import, zeros for a new source).
        """
        started = time.perf_counter()
        path = Path(path)
        location = location or str(path.resolve())
        kind = "zip" if path.suffix.lower() == ".zip" else ("directory" if path.is_dir() else "file")
        counts = {
            "records": 0, "inserted": 0, "updated": 0, "unchanged": 0, "stale": 0, "errors": 0,
            "malicious": 0, "batches": 0,
        }  # fmt: skip
        samples: list[str] = []
        skipped: dict[str, int] = {}
        ecosystems: dict[str, int] = {}
        source_id = self._source_id(location, kind)
        stored = 0
        chunks = self._parsed_chunks(path, counts, samples, skipped)
        for chunk in chunks:
            if cancel is not None and cancel.is_cancelled():
                chunks.close()  # the source (a zip) is closed now, not when collected
                log.info("advisory import %s cancelled after %d advisories", kind, stored)
                raise Cancelled(
                    f"import cancelled: the {stored} advisories stored before the cancel stay (each batch"
                    " is a complete upsert); importing the same path again finishes it"
                )
            for adv in chunk:
                for eco in {a.ecosystem for a in adv.affected}:
                    ecosystems[eco] = ecosystems.get(eco, 0) + 1
            self._write_chunk(chunk, source_id, counts)
            stored += len(chunk)
            counts["batches"] += 1
            if progress is not None:
                progress(counts["records"], counts["errors"])
        with self.store.write() as conn:
            conn.execute(
                "UPDATE advisory_sources SET imported_at = ?, records = ?, inserted = ?, updated = ?,"
                " unchanged = ?, errors = ? WHERE id = ?",
                (
                    _now(),
                    counts["records"],
                    counts["inserted"],
                    counts["updated"],
                    counts["unchanged"],
                    counts["errors"],
                    source_id,
                ),
            )
        report = ImportReport(
            location=location,
            error_samples=tuple(samples),
            ecosystems=dict(sorted(ecosystems.items())),
            seconds=time.perf_counter() - started,
            skipped=dict(sorted(skipped.items())),
            **counts,
        )
        log.info(
            "advisory import %s: %d records (%d malicious), %d new, %d updated, %d unchanged, "
            "%d skipped in %.2fs",
            kind,
            report.records,
            report.malicious,
            report.inserted,
            report.updated,
            report.unchanged,
            report.errors,
            report.seconds,
        )
        return report

    def _source_id(self, location: str, kind: str) -> int:
        with self.store.write() as conn:
            row = conn.execute("SELECT id FROM advisory_sources WHERE location = ?", (location,)).fetchone()
            if row:
                return int(row[0])
            cur = conn.execute(
                "INSERT INTO advisory_sources (location, kind, imported_at, records, inserted, updated,"
                " unchanged, errors) VALUES (?, ?, ?, 0, 0, 0, 0, 0)",
                (location, kind, _now()),
            )
            return int(cur.lastrowid or 0)

    def _parsed_chunks(
        self, path: Path, counts: dict[str, int], samples: list[str], skipped: dict[str, int]
    ) -> Generator[list[Advisory], None, None]:
        def skip(exc: AdvisoryFormatError, origin: str | None = None) -> None:
            counts["errors"] += 1
            skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
            if len(samples) < _MAX_REPORTED_ERRORS:
                samples.append(f"{origin}: {exc.message}" if origin else exc.message)

        # Here, not at the top: the parser (and CVSS) are only needed by an import.
        from .osv import iter_documents, parse_record

        chunk: dict[str, Advisory] = {}
        held = 0
        for doc in iter_documents(path):
            if isinstance(doc, AdvisoryFormatError):
                skip(doc)
                continue
            try:
                adv = parse_record(doc.data)
            except AdvisoryFormatError as exc:
                skip(exc, doc.origin)
                continue
            counts["records"] += 1
            if adv.id.startswith(MALICIOUS_PREFIX):
                counts["malicious"] += 1
            previous = chunk.get(adv.id)
            # The same id twice in one source: keep the newer copy.
            if previous is None or adv.modified >= previous.modified:
                chunk[adv.id] = adv
            held += doc.size
            if len(chunk) >= BATCH_RECORDS or held >= BATCH_BYTES:
                yield list(chunk.values())
                chunk = {}
                held = 0
        if chunk:
            yield list(chunk.values())

    def _write_chunk(self, chunk: Sequence[Advisory], source_id: int, counts: dict[str, int]) -> None:
        now = _now()
        with self.store.write() as conn:
            existing: dict[str, tuple[str, str]] = {}
            ids = [a.id for a in chunk]
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                for rid, modified, digest in conn.execute(
                    f"SELECT id, modified, content_hash FROM advisories WHERE id IN ({marks})",  # noqa: S608 - only '?' marks
                    part,
                ):
                    existing[rid] = (modified, digest)
            fresh: list[Advisory] = []
            replaced: list[str] = []
            for adv in chunk:
                old = existing.get(adv.id)
                if old is None:
                    counts["inserted"] += 1
                elif old[1] == adv.content_hash:
                    counts["unchanged"] += 1
                    continue
                elif adv.modified < old[0]:
                    counts["stale"] += 1
                    continue
                else:
                    counts["updated"] += 1
                    replaced.append(adv.id)
                fresh.append(adv)
            if not fresh:
                return
            conn.executemany("DELETE FROM advisory_affected WHERE advisory_id = ?", [(i,) for i in replaced])
            conn.executemany(
                "INSERT OR REPLACE INTO advisories (id, modified, published, withdrawn, aliases, summary,"
                " details, severity, severity_score, severity_vector, severity_source, refs, content_hash,"
                " source_id, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_advisory_row(a, source_id, now) for a in fresh],
            )
            conn.executemany(
                "INSERT INTO advisory_affected (advisory_id, idx, ecosystem, name, raw_name, ranges,"
                " versions) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.id,
                        i,
                        pkg.ecosystem,
                        pkg.normalized_name,
                        pkg.name,
                        _ranges_json(pkg),
                        json.dumps(list(pkg.versions), separators=(",", ":")),
                    )
                    for a in fresh
                    for i, pkg in enumerate(a.affected)
                ],
            )
            conn.execute(
                "UPDATE advisory_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
            )

    def update(
        self,
        ecosystems: Sequence[str] | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> list[ImportReport]:
        """Download the OSV dumps of `ecosystems` (default PyPI and npm) and import them.

        Raises DatabaseUpdateFailed, with nothing changed, when any download fails (e.g. offline).
        """
        from .update import DEFAULT_BASE_URL, update_database

        return update_database(
            self,
            ecosystems or SUPPORTED_ECOSYSTEMS,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
        )

    # -- status ---------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """No advisory stored at all (withdrawn ones count, as in `status().empty`): one row read."""
        with self.store.read() as conn:
            return conn.execute("SELECT 1 FROM advisories LIMIT 1").fetchone() is None

    def status(self) -> DBStatus:
        with self.store.read() as conn:
            total, withdrawn, newest, malicious = conn.execute(
                "SELECT count(*), count(withdrawn), max(modified),"
                " coalesce(sum(withdrawn IS NULL AND substr(id, 1, 4) = 'MAL-'), 0) FROM advisories"
            ).fetchone()
            ecosystems = tuple(
                EcosystemCount(eco, int(n), int(p))
                for eco, n, p in conn.execute(
                    "SELECT f.ecosystem, count(DISTINCT f.advisory_id), count(DISTINCT f.name)"
                    " FROM advisory_affected f JOIN advisories a ON a.id = f.advisory_id"
                    " WHERE a.withdrawn IS NULL GROUP BY f.ecosystem ORDER BY f.ecosystem"
                )
            )
            sources = tuple(
                SourceInfo(loc, kind, at, int(records), int(errors))
                for loc, kind, at, records, errors in conn.execute(
                    "SELECT location, kind, imported_at, records, errors FROM advisory_sources"
                    " ORDER BY imported_at DESC"
                )
            )
        last = max((s.imported_at for s in sources), default=None)
        age = None
        if last:
            then = parse_time(last)
            age = max((datetime.now(UTC) - then).total_seconds(), 0.0)
        return DBStatus(
            advisories=int(total),
            withdrawn=int(withdrawn),
            malicious=int(malicious),
            ecosystems=ecosystems,
            sources=sources,
            last_import_at=last,
            newest_modified=newest,
            age_seconds=age,
        )

    # -- lookup ---------------------------------------------------------------------------------

    def generation(self) -> str:
        rows = self.store.query("SELECT value FROM advisory_meta WHERE key = 'generation'")
        return str(rows[0][0]) if rows else "0"

    def advisories_for(self, ecosystem: str, names: Iterable[str]) -> dict[str, tuple[PackageAdvisory, ...]]:
        """Non-withdrawn advisories per package name (names normalised here), cached until the next
        import changes the database."""
        ecosystem = canonical_ecosystem(ecosystem)
        wanted = {normalize_name(ecosystem, n) for n in names}
        generation = self.generation()
        with self._lock:
            if generation != self._cache_generation:
                self._cache = {}
                self._upgrades = {}
                self._cache_generation = generation
            missing = [n for n in wanted if (ecosystem, n) not in self._cache]
        if missing:
            fetched = self._fetch(ecosystem, missing)
            with self._lock:
                if generation == self._cache_generation:
                    self._cache.update(fetched)
        else:
            fetched = {}
        with self._lock:
            cache = self._cache
        return {n: cache.get((ecosystem, n)) or fetched.get((ecosystem, n), ()) for n in wanted}

    def upgrade_for(self, ecosystem: str, found: Sequence[PackageAdvisory], version: str) -> Upgrade:
        """`smallest_safe_upgrade` over `found` (what `advisories_for` returned for one package),
        memoised until the next import changes the database."""
        # Here, not at the top: version matching is only needed when a dependency has advisories.
        from .matching import Upgrade, smallest_safe_upgrade

        if not found:
            return Upgrade(version)
        key = (ecosystem, found[0].entries[0].normalized_name, version)
        with self._lock:
            cached = self._upgrades.get(key)
        if cached is None:
            entries = [entry for pa in found for entry in pa.entries]
            cached = smallest_safe_upgrade(entries, version, ecosystem)
            with self._lock:
                self._upgrades[key] = cached
        return cached

    def _fetch(
        self, ecosystem: str, names: Sequence[str]
    ) -> dict[tuple[str, str], tuple[PackageAdvisory, ...]]:
        grouped: dict[tuple[str, str], dict[str, tuple[Advisory, list[AffectedPackage]]]] = {
            (ecosystem, n): {} for n in names
        }
        with self.store.read() as conn:
            for start in range(0, len(names), 500):
                part = list(names[start : start + 500])
                marks = ",".join("?" * len(part))
                # The f-string below adds only '?' marks; every value is a bound parameter.
                sql = (
                    "SELECT f.name, f.raw_name, f.ranges, f.versions, a.id, a.modified, a.published,"  # noqa: S608
                    " a.aliases, a.summary, a.details, a.severity, a.severity_score, a.severity_vector,"
                    " a.severity_source, a.refs, a.content_hash"
                    " FROM advisory_affected f JOIN advisories a ON a.id = f.advisory_id"
                    f" WHERE f.ecosystem = ? AND f.name IN ({marks}) AND a.withdrawn IS NULL"
                    " ORDER BY a.id, f.idx"
                )
                rows = conn.execute(sql, [ecosystem, *part])
                for (
                    name,
                    raw_name,
                    ranges,
                    versions,
                    aid,
                    modified,
                    published,
                    aliases,
                    summary,
                    details,
                    level,
                    score,
                    vector,
                    sev_source,
                    refs,
                    digest,
                ) in rows:
                    per_pkg = grouped[(ecosystem, name)]
                    if aid not in per_pkg:
                        adv = Advisory(
                            id=aid,
                            modified=modified,
                            published=published,
                            aliases=tuple(json.loads(aliases)),
                            summary=summary,
                            details=details,
                            references=tuple(Reference(t, u) for t, u in json.loads(refs)),
                            severity=AdvisorySeverity(
                                level=level, score=score, vector=vector, source=sev_source
                            ),
                            content_hash=digest,
                        )
                        per_pkg[aid] = (adv, [])
                    per_pkg[aid][1].append(
                        AffectedPackage(
                            ecosystem=ecosystem,
                            name=raw_name,
                            normalized_name=name,
                            ranges=_ranges_from_json(ranges),
                            versions=tuple(json.loads(versions)),
                        )
                    )
        return {
            key: tuple(PackageAdvisory(adv, tuple(entries)) for adv, entries in per_pkg.values())
            for key, per_pkg in grouped.items()
        }
