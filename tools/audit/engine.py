"""The audit engine: one walk, every selected scanner, one recorded run.

The engine knows scanners only through `secaudit.tools.scanners.interface`. It owns what is common
to all of them: confining the root, walking it, the time budget, cancellation, progress, the cache,
and recording the run with what it covered and what it skipped.

Run status:
    succeeded   every scanner ran to the end and examined every file it selected (files with nothing
                to examine, such as binary content, are listed as skips)
    partial     a scanner failed or stopped early, a selected file could not be checked (source the
                running Python cannot parse, a file too large or unreadable), the file limit cut
                the walk, or the walk could not examine an entry (an OS error: a path longer than
                the OS allows, a folder it cannot read); each such entry is a skip with its reason
    failed      no scanner could run, or the engine itself failed
    cancelled   the caller cancelled; nothing is marked fixed by a cancelled run
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from secaudit.tools.audit.cache import StoreCache, prune_cache
from secaudit.tools.audit.filestats import FileStats
from secaudit.tools.errors import Cancelled, InvalidInput
from secaudit.tools.findings.model import Finding
from secaudit.tools.findings.records import RunRecord, RunSkip, RunStatus, ScannerCoverage
from secaudit.tools.findings.service import FindingsService, RunCoverage
from secaudit.tools.paths import check_paths, confine_dir
from secaudit.tools.scanners.builtin import SCANNERS, get_scanner, validate_scanner_options
from secaudit.tools.scanners.interface import (
    CancelToken,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerOptions,
    ScannerUnavailable,
    ScanResult,
)
from secaudit.tools.store import Store
from secaudit.tools.walker import walk

__all__ = ["AuditService", "ProgressFn", "test_path_options"]

log = logging.getLogger("secaudit.audit")

ProgressFn = Callable[[int, int, str], None]
_PROGRESS_INTERVAL = 0.1


def test_path_options(include: bool) -> dict[str, dict[str, object]] | None:
    """The per-run scanner options of the include-test-paths switch (`run_audit`'s
    `include_test_paths`, `secaudit audit --include-tests`): the secrets scanner reports keyword and
    entropy guesses in test and fixture paths instead of dismissing them."""
    return {"secrets": {"include_tests": True}} if include else None


class _Progress:
    """Thread-safe, throttled progress: scanners report from worker threads, file by file."""

    def __init__(self, sink: ProgressFn | None, total: int) -> None:
        self.sink = sink
        self.total = total
        self.done = 0
        self.label = ""
        self.last = 0.0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.done = min(self.total, self.done + max(0, int(n)))
            now = time.monotonic()
            if self.done < self.total and now - self.last < _PROGRESS_INTERVAL:
                return
            self.last = now
            done, label = self.done, self.label
        self.emit(done, label)

    def emit(self, done: int, label: str) -> None:
        if self.sink is None:
            return
        try:
            self.sink(done, self.total, f"{label}: {done}/{self.total} files")
        except Exception:
            log.debug("progress callback failed", exc_info=True)


class AuditService:
    def __init__(
        self,
        store: Store,
        findings: FindingsService,
        *,
        allowed_roots: Sequence[Path],
        max_file_bytes: int,
        max_files: int,
        workers: int = 0,
        scanner_timeout_seconds: float = 900.0,
        scanner_options: Mapping[str, ScannerOptions | Mapping[str, object]] | None = None,
        cache_days: int = 30,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """`scanner_options`: per scanner name, its options (validated here, once: an unknown
        scanner, option or a wrong value is a ScannerOptionsError before any audit runs).
        `clock_ns`: the wall clock the stat-first racy rule reads (tools/audit/filestats.py)."""
        self.store = store
        self.scanner_options = validate_scanner_options(scanner_options)
        self.findings = findings
        self.allowed_roots = list(allowed_roots)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.workers = workers
        self.scanner_timeout = scanner_timeout_seconds
        self.cache_days = cache_days
        self.clock_ns = clock_ns

    def options_for(
        self, scanner: Scanner, overrides: Mapping[str, Mapping[str, object]] | None = None
    ) -> ScannerOptions:
        """The scanner's configured options (its defaults when none), with this run's `overrides`
        for it on top."""
        configured = self.scanner_options.get(scanner.name)
        base = configured if configured is not None else scanner.Options()
        extra = (overrides or {}).get(scanner.name)
        if not extra:
            return base
        parsed = type(base).parse(scanner.name, extra)  # the override's keys and types, checked
        return base.model_copy(update={key: getattr(parsed, key) for key in extra})

    @staticmethod
    def _check_overrides(overrides: Mapping[str, Mapping[str, object]] | None) -> None:
        for name, values in (overrides or {}).items():
            if name not in SCANNERS:
                raise InvalidInput(
                    f"options given for unknown scanner {name[:60]!r}; "
                    f"available: {', '.join(sorted(SCANNERS.names()))}"
                )
            SCANNERS.get(name).Options.parse(name, values)

    def scanner_names(self) -> list[str]:
        return sorted(SCANNERS.names())

    def resolve_scanners(self, names: Sequence[str] | None) -> list[Scanner]:
        known = self.scanner_names()
        if names is None or not names:
            return [get_scanner(n) for n in known]
        unknown = sorted({n for n in names if n not in known})
        if unknown:
            raise InvalidInput(
                f"unknown scanner(s) {', '.join(repr(n[:40]) for n in unknown[:5])}; "
                f"available: {', '.join(known) or 'none'}"
            )
        return [get_scanner(n) for n in dict.fromkeys(names)]

    def run(
        self,
        path: str,
        *,
        scanners: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
        use_cache: bool = True,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        on_started: Callable[[int], None] | None = None,
        scanner_options: Mapping[str, Mapping[str, object]] | None = None,
    ) -> RunRecord:
        """Audit `path`. `scanner_options`: this run's option values per scanner name, on top of the
        configured ones (e.g. `{"secrets": {"include_tests": True}}`); checked before the run starts."""
        root = confine_dir(path, self.allowed_roots)
        chosen = self.resolve_scanners(scanners)
        wanted = check_paths(paths)
        self._check_overrides(scanner_options)
        token = cancel or CancelToken()
        run_id = self.findings.start_run(
            str(root), kind="audit", scanners=[s.name for s in chosen], paths=wanted
        )
        if on_started is not None:
            on_started(run_id)
        try:
            return self._run(run_id, root, chosen, wanted, use_cache, token, progress, scanner_options)
        except BaseException as exc:
            cancelled = isinstance(exc, Cancelled) or token.is_cancelled()
            self.findings.fail_run(
                run_id,
                RunStatus.CANCELLED if cancelled else RunStatus.FAILED,
                "cancelled by the caller" if cancelled else f"the audit failed: {type(exc).__name__}",
            )
            raise

    def _run(
        self,
        run_id: int,
        root: Path,
        chosen: list[Scanner],
        wanted: list[str] | None,
        use_cache: bool,
        token: CancelToken,
        progress: ProgressFn | None,
        overrides: Mapping[str, Mapping[str, object]] | None = None,
    ) -> RunRecord:
        # Read before the walk: every stat and every hash of this run is younger (the racy rule).
        stats = FileStats(self.store, str(root), trust=use_cache, started_ns=self.clock_ns())
        walked = walk(
            root, max_files=self.max_files, max_file_bytes=self.max_file_bytes, paths=wanted, cancel=token
        )
        notes = list(walked.notes)
        if walked.faults:
            notes.append(
                f"the walk could not examine {walked.faults} entries (an OS error on each, e.g. a path "
                "longer than the OS allows); they were not audited, see the skips"
            )
        skips = [RunSkip(scanner="walker", path=s.path, reason=s.reason) for s in walked.skips]
        selections = [(s, [f for f in walked.files if s.selects(f)]) for s in chosen]
        tracker = _Progress(progress, sum(len(sel) for _, sel in selections))
        tracker.emit(0, "starting")
        findings: list[Finding] = []
        coverage: list[ScannerCoverage] = []
        # A walk that met a fault did not see what lies below it: an unseen file is not "gone" then.
        run_cov = RunCoverage(
            full=wanted is None and not walked.capped and not walked.faults, seen_paths=set(walked.seen)
        )
        scanned_any: set[str] = set()
        cached_total = 0
        files_missed = False
        for scanner, selected in selections:
            if token.is_cancelled():
                break
            tracker.label = scanner.name
            cache = StoreCache(self.store, scanner.name, read=use_cache)
            ctx = ScanContext(
                root=root,
                cancel=token,
                deadline=time.monotonic() + self.scanner_timeout,
                cache=cache,
                progress=tracker.add,
                workers=self.workers,
                options=self.options_for(scanner, overrides),
                store=self.store,
                digests=stats,
            )
            version = ""
            error: str | None = None
            result = ScanResult()
            try:
                version = scanner.version()
                result = scanner.scan(ctx, selected) if selected else ScanResult()
            except ScannerUnavailable as exc:
                error = f"unavailable: {exc}"
            except ScannerError as exc:
                error = f"failed: {exc}"
            except Exception as exc:
                log.exception("scanner %s raised", scanner.name)
                error = f"failed with an internal error ({type(exc).__name__})"
            finally:
                try:
                    cache.flush()
                except Exception:
                    log.warning("could not store %s cache entries", scanner.name, exc_info=True)
            complete = error is None and result.complete and not token.is_cancelled()
            if error is not None:
                notes.append(f"{scanner.name} {error}; its files were not checked")
            unchecked = [s for s in result.skipped if s.partial]
            if unchecked and not token.is_cancelled():
                files_missed = True
                first = unchecked[0]
                notes.append(
                    f"{scanner.name}: {len(unchecked)} selected file(s) could not be checked "
                    f"(e.g. {first.path}: {first.reason}); see skips"
                )
            notes.extend(f"{scanner.name}: {n}" for n in result.notes)
            skips.extend(RunSkip(scanner=scanner.name, path=s.path, reason=s.reason) for s in result.skipped)
            ours = [f for f in result.findings if f.scanner == scanner.name]
            findings.extend(ours)
            scanned_any.update(result.scanned)
            cached_total += cache.hits
            if complete:
                run_cov.complete_scanners.add(scanner.name)
            run_cov.examined[scanner.name] = set(result.scanned)
            coverage.append(
                ScannerCoverage(
                    scanner=scanner.name,
                    version=version,
                    selected=len(selected),
                    scanned=len(result.scanned),
                    cached=cache.hits,
                    skipped=len(result.skipped),
                    findings=len(ours),
                    complete=complete,
                    error=error,
                    notes=result.notes[:20],
                )
            )
            if not selected and error is None:
                notes.append(f"{scanner.name}: no file in scope for this scanner")
        if token.is_cancelled() or walked.cancelled:
            status = RunStatus.CANCELLED
            notes.append("the audit was cancelled: results are incomplete and nothing was marked fixed")
        elif coverage and all(c.error is not None for c in coverage):
            status = RunStatus.FAILED
        elif walked.capped or walked.faults or files_missed or any(not c.complete for c in coverage):
            status = RunStatus.PARTIAL
        else:
            status = RunStatus.SUCCEEDED
        tracker.emit(tracker.total if status is not RunStatus.CANCELLED else tracker.done, "recording")
        try:
            whole = run_cov.full and status is not RunStatus.CANCELLED
            stats.flush(present={f.rel for f in walked.files} if whole else None)
        except Exception:
            log.warning("could not store the files' stat rows", exc_info=True)
        try:
            pruned = prune_cache(self.store, self.cache_days)
            if pruned:
                log.info("dropped %d scan-cache entries unused for %d days", pruned, self.cache_days)
        except Exception:
            log.warning("could not prune the scan cache", exc_info=True)
        return self.findings.finish_run(
            run_id,
            status=status,
            findings=findings,
            coverage=coverage,
            skips=skips,
            notes=notes,
            run_coverage=run_cov,
            files_total=len(walked.files),
            files_scanned=len(scanned_any),
            files_cached=cached_total,
            error=None if status is not RunStatus.FAILED else "no scanner could run; see notes",
        )
