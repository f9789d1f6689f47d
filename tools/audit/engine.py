"""The audit engine: one walk, every selected scanner, one recorded run.

The engine knows scanners only through `secaudit.tools.scanners.interface`. It owns what is common
to all of them: confining the root, walking it, the time budget, cancellation, progress, the cache,
and recording the run with what it covered and what it skipped.

Run status:
    succeeded   every scanner ran to the end and examined every file it selected (files with nothing
                to examine, such as binary content, are listed as skips)
    partial     a scanner failed or stopped early, a selected file could not be checked (source the
                running Python cannot parse, a file too large or unreadable), the file limit cut
                the walk, the walk could not examine an entry (an OS error: a path longer than
                the OS allows, a folder it cannot read), or an entry of the caller's `paths`
                matched no file; each such entry is a skip with its reason
    failed      no scanner could run, or the engine itself failed
    cancelled   the caller cancelled; nothing is marked fixed by a cancelled run
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from secaudit.tools.audit.cache import StoreCache, prune_cache
from secaudit.tools.audit.filestats import FileStats
from secaudit.tools.confined_io import read_head
from secaudit.tools.errors import Cancelled, InvalidInput, SecauditError
from secaudit.tools.findings.model import Finding
from secaudit.tools.findings.records import (
    UNMATCHED_PATH_REASON,
    RunRecord,
    RunSkip,
    RunStatus,
    ScannerCoverage,
)
from secaudit.tools.findings.service import BaselineInput, FindingsService, RunCoverage
from secaudit.tools.gcpause import paused_gc
from secaudit.tools.paths import check_paths, confine_dir, normalize_relpath
from secaudit.tools.project.baseline import LoadedBaseline, load_baseline
from secaudit.tools.project.config import ProjectPolicy, load_config
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
from secaudit.tools.text import first_few
from secaudit.tools.walker import FileRef, WalkResult, walk

__all__ = ["AuditService", "ProgressFn", "RunScope", "test_path_options"]

log = logging.getLogger("secaudit.audit")

ProgressFn = Callable[[int, int, str], None]
_PROGRESS_INTERVAL = 0.1


def test_path_options(include: bool) -> dict[str, dict[str, object]] | None:
    """The per-run scanner options of the include-test-paths switch (`run_audit`'s
    `include_test_paths`, `secaudit audit --include-tests`): the secrets scanner reports keyword and
    entropy guesses in test and fixture paths instead of dismissing them."""
    return {"secrets": {"include_tests": True}} if include else None


@dataclass(frozen=True)
class RunScope:
    """A diff-scoped run: exactly `files` (repository-relative, from git), read from `tree` when
    given (a private folder holding e.g. the staged content) instead of the root; `notes` are put
    first in the run's notes. Such a run marks nothing fixed."""

    files: tuple[str, ...]
    tree: Path | None = None
    notes: tuple[str, ...] = ()


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


@dataclass
class _Scan:
    """What one pass of the scanners over a walked tree produced (recorded or not)."""

    walked: WalkResult
    tracker: _Progress
    notes: list[str]
    skips: list[RunSkip]
    run_cov: RunCoverage
    findings: list[Finding] = field(default_factory=list)
    coverage: list[ScannerCoverage] = field(default_factory=list)
    scanned_any: set[str] = field(default_factory=set)
    cached_total: int = 0
    files_missed: bool = False
    stats: FileStats | None = None  # the stat rows of an audited root, flushed when the run is recorded


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

    def project_policy(self, path: str) -> ProjectPolicy:
        """The project configuration of the folder `path` would audit (tools/project/config.py);
        ProjectConfigError when it is invalid."""
        root = confine_dir(path, self.allowed_roots)
        return load_config(root, known_scanners=self.scanner_names())

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
        scope: RunScope | None = None,
        project: ProjectPolicy | None = None,
    ) -> RunRecord:
        """Audit `path`. `scanner_options`: this run's option values per scanner name, on top of the
        configured ones (e.g. `{"secrets": {"include_tests": True}}`); checked before the run starts.
        `scope`: a diff-scoped run (tools/audit/diff.py): exactly these files, possibly read from
        another tree (staged content), marking nothing fixed.

        The root's project configuration (`project`, when the caller loaded it already) and committed
        baseline apply: its exclude patterns, default scanners (when `scanners` names none) and
        per-path rules, and the baseline's triage decisions. An invalid one is a ProjectConfigError
        before any run is recorded."""
        root = confine_dir(path, self.allowed_roots)
        policy = project if project is not None else load_config(root, known_scanners=self.scanner_names())
        baseline = load_baseline(root)
        chosen = self.resolve_scanners(scanners or policy.config.scanners)
        wanted = check_paths(paths) if scope is None else [normalize_relpath(f) for f in scope.files]
        self._check_overrides(scanner_options)
        token = cancel or CancelToken()
        run_id = self.findings.start_run(
            str(root), kind="audit", scanners=[s.name for s in chosen], paths=wanted
        )
        if on_started is not None:
            on_started(run_id)
        try:
            # Everything the run builds lives until it ends: collections meanwhile free nothing.
            with paused_gc():
                return self._run(
                    run_id,
                    root,
                    chosen,
                    wanted,
                    use_cache,
                    token,
                    progress,
                    scanner_options,
                    scope,
                    policy,
                    baseline,
                )
        except BaseException as exc:
            cancelled = isinstance(exc, Cancelled) or token.is_cancelled()
            self.findings.fail_run(
                run_id,
                RunStatus.CANCELLED if cancelled else RunStatus.FAILED,
                "cancelled by the caller" if cancelled else f"the audit failed: {type(exc).__name__}",
            )
            raise

    def scan_tree(
        self,
        tree: Path,
        files: Sequence[str],
        *,
        scanners: Sequence[str] | None = None,
        use_cache: bool = True,
        cancel: CancelToken | None = None,
        scanner_options: Mapping[str, Mapping[str, object]] | None = None,
        project: ProjectPolicy | None = None,
    ) -> tuple[list[Finding], bool]:
        """Scan `files` of `tree` (a private folder this process made, e.g. a diff's base version;
        not confined to the allowed roots) and record nothing: (the findings, every scanner ran to
        the end and checked every file)."""
        chosen = self.resolve_scanners(scanners)
        self._check_overrides(scanner_options)
        wanted = [normalize_relpath(f) for f in files]
        policy = project if project is not None else ProjectPolicy()
        scan = self._scan(
            tree, chosen, wanted, use_cache, cancel or CancelToken(), None, scanner_options, policy
        )
        complete = not scan.files_missed and all(c.complete for c in scan.coverage)
        return policy.apply_rules(
            scan.findings
        ).kept, complete and not scan.walked.capped and not scan.walked.faults

    def _scan(
        self,
        root: Path,
        chosen: list[Scanner],
        wanted: list[str] | None,
        use_cache: bool,
        token: CancelToken,
        progress: ProgressFn | None,
        overrides: Mapping[str, Mapping[str, object]] | None,
        policy: ProjectPolicy,
        stat_first: bool = False,
    ) -> _Scan:
        """`stat_first`: `root` is an audited root whose stat rows are kept (tools/audit/filestats.py);
        never for a private tree of this process (a diff's base or index version)."""
        # Read before the walk: every stat and every hash of this run is younger (the racy rule).
        stats = (
            FileStats(self.store, str(root), trust=use_cache, started_ns=self.clock_ns())
            if stat_first
            else None
        )
        walked = walk(
            root,
            max_files=self.max_files,
            max_file_bytes=self.max_file_bytes,
            paths=wanted,
            cancel=token,
            exclude=policy.exclude,
        )
        notes = [*policy.notes, *walked.notes]
        if walked.faults:
            notes.append(
                f"the walk could not examine {walked.faults} entries (an OS error on each, e.g. a path "
                "longer than the OS allows); they were not audited, see the skips"
            )
        skips = [RunSkip(scanner="walker", path=s.path, reason=s.reason) for s in walked.skips]
        selections = [(s, [f for f in walked.files if s.selects(f)]) for s in chosen]
        unchecked_large = self._oversize_selected(root, chosen, walked.oversize)
        if unchecked_large:
            notes.append(
                f"{len(unchecked_large)} file(s) a scanner would examine are over the size limit and were "
                f"not checked (e.g. {unchecked_large[0]}); raise SECAUDIT_MAX_FILE_BYTES or exclude them"
            )
        tracker = _Progress(progress, sum(len(sel) for _, sel in selections))
        tracker.emit(0, "starting")
        # A walk that met a fault did not see what lies below it: an unseen file is not "gone" then.
        scan = _Scan(
            walked=walked,
            tracker=tracker,
            notes=notes,
            skips=skips,
            files_missed=bool(unchecked_large),
            stats=stats,
            run_cov=RunCoverage(
                full=wanted is None and not walked.capped and not walked.faults,
                seen_paths=set(walked.seen),
                excluded=policy.exclude.matches if policy.exclude else None,
            ),
        )
        findings, coverage, run_cov, scanned_any = (
            scan.findings,
            scan.coverage,
            scan.run_cov,
            scan.scanned_any,
        )
        # Scanners that start slow set-up in the background (bandit's workers for a few files) run
        # after the others, which then overlap it; results keep the scanners' order (below).
        order = {s.name: n for n, s in enumerate(chosen)}
        deferred = [
            n for n, (s, sel) in enumerate(selections) if sel and self._prepare(s, sel, root, token, stats)
        ]
        runs = [pair for n, pair in enumerate(selections) if n not in deferred]
        runs += [selections[n] for n in deferred]
        for scanner, selected in runs:
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
                scan.files_missed = True
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
            scan.cached_total += cache.hits
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
        if deferred:
            coverage.sort(key=lambda c: order.get(c.scanner, len(order)))
            findings.sort(key=lambda f: order.get(f.scanner, len(order)))  # stable within a scanner
        return scan

    def _prepare(
        self,
        scanner: Scanner,
        selected: list[FileRef],
        root: Path,
        token: CancelToken,
        stats: FileStats | None,
    ) -> bool:
        """Let `scanner` start its set-up ahead (Scanner.prepare); never fails the run. Its own cache
        reader, whose hits are not counted as the scan's."""
        ctx = ScanContext(
            root=root,
            cancel=token,
            deadline=time.monotonic() + self.scanner_timeout,
            cache=StoreCache(self.store, scanner.name, read=True),
            workers=self.workers,
            store=self.store,
            digests=stats,
        )
        try:
            return scanner.prepare(ctx, selected)
        except Exception:
            log.debug("scanner %s could not prepare", scanner.name, exc_info=True)
            return False

    @staticmethod
    def _oversize_selected(root: Path, chosen: Sequence[Scanner], oversize: Sequence[FileRef]) -> list[str]:
        """Files over the size cap that a chosen scanner selects and that hold text: not checked,
        so the run cannot be complete. Binary content (a NUL in the first 8 KiB) held nothing to
        examine."""
        missed: list[str] = []
        for ref in oversize:
            if not any(s.selects(ref) for s in chosen):
                continue
            try:
                head = read_head(root, ref.rel, 8192, follow_links=False)
            except SecauditError:
                head = b""
            if b"\x00" not in head:
                missed.append(ref.rel)
        return missed

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
        scope: RunScope | None = None,
        policy: ProjectPolicy | None = None,
        baseline: LoadedBaseline | None = None,
    ) -> RunRecord:
        policy = policy if policy is not None else ProjectPolicy()
        tree = root if scope is None or scope.tree is None else scope.tree
        stat_first = scope is None or scope.tree is None
        scan = self._scan(tree, chosen, wanted, use_cache, token, progress, overrides, policy, stat_first)
        walked, notes, coverage, tracker = scan.walked, scan.notes, scan.coverage, scan.tracker
        files_missed, run_cov = scan.files_missed, scan.run_cov
        if scope is not None:
            notes[:0] = list(scope.notes)
            # A diff-scoped run saw a slice (maybe of another tree: the index): it fixes nothing.
            run_cov.complete_scanners.clear()
        # Entries of the caller's `paths` that met no file: what was asked was not checked (a path
        # relative to the wrong folder must not read as clean). A diff's files come from git.
        unmatched = walked.unmatched if scope is None else []
        if scope is None and walked.left_out_only:
            shown = first_few(walked.left_out_only, 10)
            notes.append(
                f"{len(walked.left_out_only)} `paths` entries name only files .gitignore, the project's "
                f"exclude patterns or the default excludes leave out (by design, not checked): {shown}"
            )
        if unmatched:
            shown = first_few(unmatched, 10)
            notes.append(
                f"{len(unmatched)} of the {len(wanted or ())} `paths` entries matched no file under the "
                f"audited folder and were not checked: {shown}. Entries are relative to the audited folder"
            )
            # First, so that the run's bounded list of skips (get_run, the coverage note) holds them.
            scan.skips[:0] = [
                RunSkip(scanner="walker", path=p, reason=UNMATCHED_PATH_REASON) for p in unmatched
            ]
        incomplete = any(not c.complete for c in coverage)
        if token.is_cancelled() or walked.cancelled:
            status = RunStatus.CANCELLED
            notes.append("the audit was cancelled: results are incomplete and nothing was marked fixed")
        elif coverage and all(c.error is not None for c in coverage):
            status = RunStatus.FAILED
        elif walked.capped or walked.faults or files_missed or unmatched or incomplete:
            status = RunStatus.PARTIAL
        else:
            status = RunStatus.SUCCEEDED
        ruled = policy.apply_rules(scan.findings)
        run_cov.silenced = ruled.silenced
        notes.extend(ruled.notes)
        tracker.emit(tracker.total if status is not RunStatus.CANCELLED else tracker.done, "recording")
        try:
            whole = run_cov.full and status is not RunStatus.CANCELLED
            if scan.stats is not None:
                scan.stats.flush(present={f.rel for f in walked.files} if whole else None)
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
            findings=ruled.kept,
            coverage=coverage,
            skips=scan.skips,
            notes=notes,
            run_coverage=run_cov,
            files_total=len(walked.files),
            files_scanned=len(scan.scanned_any),
            files_cached=scan.cached_total,
            error=None if status is not RunStatus.FAILED else "no scanner could run; see notes",
            baseline=self._baseline_input(baseline, notes),
        )

    @staticmethod
    def _baseline_input(baseline: LoadedBaseline | None, notes: list[str]) -> BaselineInput:
        """The baseline's live decisions; expired entries are noted (and do not apply). No baseline
        file: none, and decisions an earlier baseline applied are withdrawn."""
        if baseline is None:
            return BaselineInput(source="(none)", decisions=(), entries=0)
        now = datetime.now(UTC)
        expired = baseline.expired(now)
        if expired:
            shown = "; ".join(
                f"{d.scanner}/{d.rule_id} in {d.path} (fingerprint {d.fingerprint[:12]}) "
                f"expired {d.expires_at}"
                for d in expired[:10]
            )
            notes.append(
                f"baseline {baseline.source}: {len(expired)} expired entries no longer apply: {shown}"
                + (" ..." if len(expired) > 10 else "")
            )
        return BaselineInput(
            source=baseline.source, decisions=baseline.live(now), entries=len(baseline.entries)
        )
