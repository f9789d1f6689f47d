"""The `bandit` scanner: bandit's checks over Python files, on every core, with a per-file cache.

Speed. Bandit scans files one after another in one process. We start one worker process per core
(`bandit_worker.py`, which loads bandit's plugins once) and feed them small chunks of files, largest
first, so the cores finish together. The worker also skips work bandit does for nothing: it only
tokenizes a file (to find `# nosec` comments) when the bytes "nosec" occur in it.

Cache. A file's result is keyed by sha256(content), its path, the bandit version and our
configuration digest: a re-audit hands the workers only the files that changed, and a cached result
turns into exactly the findings a fresh scan would give. The hash itself comes stat first
(tools/audit/filestats.py): an unchanged file is not read, unless its cached result has findings,
whose lines are quoted. Workers that finished a scan cleanly stay ready for the next scan of the
same process for two minutes (`_Idle`), so a long-lived server's re-audit after an edit does not pay
bandit's start-up again.

Configuration. Bandit's defaults, every plugin; the repository's `.bandit`, `pyproject.toml` and
`setup.cfg` are never read. `# nosec` findings are kept, marked `suppressed_in_code`.

Cancellation. Workers run in their own process group, are killed on cancel or when the time budget
runs out, and always reaped: no orphan survives the scan (a kept idle worker is ended by its timer,
at interpreter exit, or by EOF on its stdin when this process dies).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import IO, Any

from secaudit.tools.findings.model import Confidence, Finding, fingerprint
from secaudit.tools.masking import get_redactor, preview
from secaudit.tools.scanners.interface import (
    Digested,
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerUnavailable,
    ScanResult,
    cached_many,
    digest_file,
    read_vouched,
)
from secaudit.tools.severity import Severity, severity_from_label

__all__ = ["BanditScanner", "end_idle_workers", "findings_from_result", "selects_path", "warm_workers"]

log = logging.getLogger("secaudit.scanners.bandit")

WORKER = Path(__file__).with_name("bandit_worker.py")
# Bumped whenever the worker protocol, the finding mapping or our bandit configuration changes:
# it is part of every cache key, so a change can never serve stale results.
CONFIG_DIGEST = "secaudit-bandit-v1:defaults:all-plugins:nosec-kept"
_CHUNK_BYTES = 192 * 1024
_CHUNK_FILES = 12
_IN_FLIGHT = 2
_READY_TIMEOUT = 60.0
_MAX_RESTARTS = 8
# A worker that finished a scan cleanly waits this long for the next scan of this process (an MCP
# server's re-audit after an edit then skips bandit's ~0.3 s start-up); then it is ended.
_IDLE_SECONDS = 120.0
# A scan of at most this many files may have its workers started ahead (`prepare`): they load bandit
# while the other scanners run (a hook's scan of one edited file). Above it the start-up is a small
# part of the scan, not worth hashing the files twice to know whether the cache answers them.
_WARM_MAX_FILES = 32
_CONTEXT_LINES = 20

_CONFIDENCE = {"HIGH": Confidence.HIGH, "MEDIUM": Confidence.MEDIUM, "LOW": Confidence.LOW}


def _bandit_version() -> str:
    try:
        return dist_version("bandit")
    except PackageNotFoundError:
        return ""


# Bandit quotes the literal it suspects in these rules' text ("Possible hardcoded password: 'x'").
_PASSWORD_RULES = {"B105", "B106", "B107"}
_KEPT_FIELDS = (
    "test_id", "test_name", "lineno", "line_range", "linerange", "col_offset", "severity",
    "confidence", "cwe", "more_info", "suppressed", "text",
)  # fmt: skip
_QUOTED = re.compile(r":? ?'([^'\n]{1,500})'")


def safe_issue(issue: dict[str, Any]) -> dict[str, Any]:
    """The fields we use, with no secret left in them: what is cached and what becomes a finding.

    Bandit's own `code` field is dropped (the code context is re-read from the file and masked),
    and the literal a hardcoded-password rule quotes is replaced by its masked preview.
    """
    kept = {k: issue[k] for k in _KEPT_FIELDS if k in issue}
    cwe = kept.get("cwe")
    if isinstance(cwe, dict):
        kept["cwe"] = cwe.get("id")
    text = str(kept.get("text") or "")
    if str(kept.get("test_id")) in _PASSWORD_RULES:
        text = _QUOTED.sub(lambda m: " (value masked: " + preview(m.group(1)) + ")", text)
    kept["text"] = get_redactor().redact(text)
    return kept


_STRING_LITERAL = re.compile(r"""(?P<q>['"])(?P<body>[^'"\n]{1,500})(?P=q)""")


def _mask_literals(code: str) -> str:
    """Every short string literal in a hardcoded-password finding's code context is the suspect."""
    return _STRING_LITERAL.sub(lambda m: m.group("q") + "[MASKED:hardcoded_password]" + m.group("q"), code)


def findings_from_result(rel: str, content: bytes, issues: list[dict[str, Any]]) -> list[Finding]:
    """Turn one file's worker result into findings; the same input always gives the same findings."""
    lines = content.decode("utf-8", errors="replace").splitlines()
    ordered = sorted(
        issues, key=lambda i: (int(i.get("lineno") or 0), int(i.get("col_offset") or 0), str(i["test_id"]))
    )
    occurrences: collections.Counter[tuple[str, str]] = collections.Counter()
    out: list[Finding] = []
    for issue in ordered:
        rule = str(issue["test_id"])
        lineno = int(issue.get("lineno") or 0)
        span = [int(n) for n in issue.get("linerange") or [lineno] if isinstance(n, int) or str(n).isdigit()]
        start = min(span) if span else lineno
        end = max(span) if span else lineno
        start = max(start, 1) if lineno else start
        end = max(end, start)
        code = "\n".join(lines[max(start - 1, 0) : min(end, start + _CONTEXT_LINES - 1)]) if lineno else ""
        # Identity comes from the reported line only: a node's full range can be a whole function
        # (B107 reports the `def`), and editing its body must not turn the finding into a new one.
        anchor = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        # The same rule on the same code twice in one file: number them in file order, so each keeps
        # its own identity (and triage) while lines above them change.
        key = (rule, " ".join(anchor.split()))
        occurrences[key] += 1
        extra = "" if occurrences[key] == 1 else str(occurrences[key])
        cwe = int(issue.get("cwe") or 0)
        refs = [str(issue["more_info"])] if issue.get("more_info") else []
        if cwe:
            refs.append(f"https://cwe.mitre.org/data/definitions/{cwe}.html")
        text = str(issue.get("text") or rule)
        if rule in _PASSWORD_RULES:
            code = _mask_literals(code)
        out.append(
            Finding(
                scanner="bandit",
                rule_id=rule,
                # bandit's HIGH/MEDIUM/LOW; its UNDEFINED (or anything else) is info.
                severity=severity_from_label(issue.get("severity")) or Severity.INFO,
                confidence=_CONFIDENCE.get(str(issue.get("confidence")), Confidence.LOW),
                path=rel,
                start_line=lineno or None,
                end_line=(end or None) if lineno else None,
                title=text,
                message=f"{text} (bandit {rule} {issue.get('test_name', '')})",
                snippet=code or None,
                cwe=[cwe] if cwe else [],
                references=refs,
                fingerprint=fingerprint("bandit", rule, rel, anchor, extra=extra),
                suppressed_in_code=bool(issue.get("suppressed")),
                properties={"test_name": str(issue.get("test_name", "")), "line": lineno},
            )
        )
    return out


class _Built:
    """Findings built from cached results, per cache key, for the life of the process.

    A key names the file's path and content and the scanner's version, so the findings it gives
    never change, except through the redaction their text went through: an entry is only served
    under the redactor (and its generation of configured secrets) that built it. Bounded: the oldest
    entries go first when it holds more than `_MAX_BUILT` findings.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[object, int, tuple[Finding, ...]]] = {}
        self.held = 0

    def get(self, key: str) -> tuple[Finding, ...] | None:
        redactor = get_redactor()
        entry = self.entries.get(key)
        if entry is None or entry[0] is not redactor or entry[1] != redactor.generation:
            return None
        return entry[2]

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        redactor = get_redactor()
        with self.lock:
            old = self.entries.pop(key, None)
            self.held += len(findings) - (len(old[2]) if old else 0)
            self.entries[key] = (redactor, redactor.generation, tuple(findings))
            while self.held > _MAX_BUILT and self.entries:
                oldest = next(iter(self.entries))
                self.held -= len(self.entries.pop(oldest)[2])


_MAX_BUILT = 50_000
_BUILT = _Built()


class _Job:
    __slots__ = ("content", "file", "key")

    def __init__(self, file: FileRef, content: bytes, key: str) -> None:
        self.file = file
        self.content = content
        self.key = key


class _Idle:
    """Workers of this process that finished a scan cleanly, ready for the next one.

    Only a worker that answered every request of its scan is kept (never one of a cancelled, timed
    out or failed scan, nor one that crashed); at most one per core; each for `_IDLE_SECONDS`, after
    which a timer ends it, and every kept worker is ended at interpreter exit. A worker keeps no
    state of the files it scanned (each request is independent), and a dead one is never handed out.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (worker, kept until, fresh: started ahead by `warm`, its ready line still unread)
        self.kept: list[tuple[subprocess.Popen[str], float, bool]] = []
        self.timer: threading.Timer | None = None

    def take(self) -> tuple[subprocess.Popen[str], bool] | None:
        """A kept worker that is alive, and whether its ready line is still to read."""
        while True:
            with self.lock:
                if not self.kept:
                    return None
                proc, _, fresh = self.kept.pop()
            if proc.poll() is None:
                return proc, fresh
            _kill(proc)

    def give(self, proc: subprocess.Popen[str], *, fresh: bool = False) -> bool:
        """Keep `proc` for the next scan (False: enough are kept; it was ended)."""
        with self.lock:
            if len(self.kept) < (os.cpu_count() or 1):
                self.kept.append((proc, time.monotonic() + _IDLE_SECONDS, fresh))
                if self.timer is None:
                    self._arm(_IDLE_SECONDS)
                return True
        _kill(proc)
        return False

    def warm(self, wanted: int) -> int:
        """Start workers until `wanted` are kept (at most one per core); how many are kept then."""
        with self.lock:
            missing = min(wanted, os.cpu_count() or 1) - len(self.kept)
        for _ in range(max(0, missing)):
            try:
                proc = _start_worker()
            except ScannerUnavailable:
                break
            if not self.give(proc, fresh=True):
                break
        with self.lock:
            return len(self.kept)

    def _arm(self, delay: float) -> None:
        self.timer = threading.Timer(delay, self.reap)
        self.timer.daemon = True
        self.timer.start()

    def reap(self, *, everything: bool = False) -> None:
        now = time.monotonic()
        with self.lock:
            expired = [p for p, until, _ in self.kept if everything or until <= now]
            self.kept = [k for k in self.kept if not (everything or k[1] <= now)]
            self.timer = None
            if self.kept:
                self._arm(max(0.05, min(until for _, until, _ in self.kept) - now))
        for proc in expired:
            _kill(proc)


_IDLE = _Idle()
atexit.register(_IDLE.reap, everything=True)


def selects_path(rel: str) -> bool:
    """Whether the bandit scanner looks at the file at `rel` (by name only)."""
    return rel.endswith((".py", ".pyw"))


def warm_workers(count: int = 1) -> int:
    """Start `count` workers ahead of a scan this process is about to run (an agent hook's scan of
    an edited Python file: they load bandit while the process imports the rest); the scan takes
    them. Ended at exit, or after `_IDLE_SECONDS`, when no scan does. How many are kept."""
    if not WORKER.is_file() or not _bandit_version():
        return 0
    return _IDLE.warm(count)


def end_idle_workers() -> None:
    """End the workers kept ready between scans (at shutdown, or to start from none)."""
    _IDLE.reap(everything=True)


class _Pool:
    """Worker processes fed from one queue of chunks; results handed to `on_result`."""

    def __init__(
        self,
        jobs: list[_Job],
        workers: int,
        ctx: ScanContext,
        on_result: Callable[[_Job, dict[str, Any]], None],
    ) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.finished: set[int] = set()

        def record(job: _Job, message: dict[str, Any]) -> None:
            with self.lock:
                if id(job) in self.finished:
                    return
                self.finished.add(id(job))
            on_result(job, message)

        self.on_result = record
        self.lock = threading.Lock()
        self.queue: collections.deque[list[_Job]] = collections.deque(self._chunks(jobs))
        self.workers = workers
        self.procs: list[subprocess.Popen[str]] = []
        self.restarts = 0
        self.failure: str | None = None
        self.stopped = threading.Event()

    @staticmethod
    def _chunks(jobs: list[_Job]) -> list[list[_Job]]:
        # Largest files first: the long ones start early and the small tail evens out the cores.
        ordered = sorted(jobs, key=lambda j: (-j.file.size, j.file.rel))
        chunks: list[list[_Job]] = []
        current: list[_Job] = []
        size = 0
        for job in ordered:
            current.append(job)
            size += job.file.size
            if size >= _CHUNK_BYTES or len(current) >= _CHUNK_FILES:
                chunks.append(current)
                current, size = [], 0
        if current:
            chunks.append(current)
        return chunks

    def _spawn(self) -> subprocess.Popen[str]:
        proc = _start_worker()
        with self.lock:
            self.procs.append(proc)
        return proc

    def _take(self) -> list[_Job] | None:
        with self.lock:
            if self.stopped.is_set() or not self.queue:
                return None
            return self.queue.popleft()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            kept = _IDLE.take()
            proc, fresh = kept if kept is not None else (None, True)
            if proc is None:
                try:
                    proc = self._spawn()
                except ScannerUnavailable as exc:
                    self.failure = str(exc)
                    self.stopped.set()
                    return
            else:
                with self.lock:
                    self.procs.append(proc)
            crashed = self._drive(proc, fresh=fresh)
            if not crashed and not self.stopped.is_set() and proc.poll() is None:
                with self.lock:
                    self.procs.remove(proc)  # no longer this scan's to end
                _IDLE.give(proc)
                return
            _kill(proc)
            if not crashed:
                return
            with self.lock:
                self.restarts += 1
                if self.restarts > _MAX_RESTARTS:
                    self.failure = "bandit workers kept crashing; the scan was stopped"
                    self.stopped.set()
                    return

    def _drive(self, proc: subprocess.Popen[str], *, fresh: bool = True) -> bool:
        """Feed one worker until the queue is empty; True if it died under us. `fresh`: a worker
        just started, whose ready line is still to read (a kept one sent it for an earlier scan)."""
        assert proc.stdin is not None and proc.stdout is not None
        out: IO[str] = proc.stdout
        first = _readline(out) if fresh else "ready"
        if not first:
            if not self.stopped.is_set():
                self.failure = "the bandit worker did not start (is bandit installed in this environment?)"
                self.stopped.set()
            return False
        in_flight: collections.deque[collections.deque[_Job]] = collections.deque()

        def fill() -> bool:
            while len(in_flight) < _IN_FLIGHT:
                chunk = self._take()
                if chunk is None:
                    break
                request = {"files": [[str(j.file.path), j.file.rel] for j in chunk]}
                in_flight.append(collections.deque(chunk))
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps(request) + "\n")
                    proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    return False
            return True

        if not fill():
            return self._crashed(in_flight)
        while in_flight:
            line = _readline(out)
            if not line:
                return self._crashed(in_flight)
            try:
                message = json.loads(line)
            except ValueError:
                return self._crashed(in_flight)
            if message.get("done"):
                in_flight.popleft()
                if not fill():
                    return self._crashed(in_flight)
                continue
            current = in_flight[0]
            if not current:
                return self._crashed(in_flight)
            job = current.popleft()
            self.on_result(job, message)
        return False

    def _crashed(self, in_flight: collections.deque[collections.deque[_Job]]) -> bool:
        if self.stopped.is_set():
            return False
        pending = [job for chunk in in_flight for job in chunk]
        if pending:
            # The file being scanned when the worker died is the likely cause: skip it, retry the rest.
            self.on_result(pending[0], {"skip": "the bandit worker crashed on this file"})
            with self.lock:
                for rest in reversed(pending[1:]):
                    self.queue.appendleft([rest])
        return True

    def run(self) -> None:
        left = [self.workers]
        all_done = threading.Event()

        def serve() -> None:
            try:
                self._serve()
            finally:
                with self.lock:
                    left[0] -= 1
                    if not left[0]:
                        all_done.set()

        threads = [threading.Thread(target=serve, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        try:
            # Woken by the last worker thread (a re-audit of one file must not wait out a poll), and
            # every 20 ms to look at cancellation and the deadline.
            while not all_done.wait(0.02):
                if self.ctx.cancel.is_cancelled() or time.monotonic() > self.ctx.deadline:
                    self.stop()
                    break
        finally:
            # Even on an unexpected error here, no busy worker outlives the scan (only idle ones
            # that finished cleanly are kept, by _IDLE).
            if any(t.is_alive() for t in threads):
                self.stop()
            for t in threads:
                t.join(timeout=10)
            with self.lock:
                procs = list(self.procs)
            for proc in procs:
                _kill(proc)

    def stop(self) -> None:
        self.stopped.set()
        with self.lock:
            procs = list(self.procs)
        for proc in procs:
            # A worker thread may be blocked reading this pipe: killing the process gives it EOF,
            # closing the pipe under it would raise in that thread instead. Its owner closes it.
            _kill(proc, close_streams=False)

    def leftover(self) -> list[_Job]:
        with self.lock:
            return [job for job in self.jobs if id(job) not in self.finished]


def _start_worker() -> subprocess.Popen[str]:
    """A new worker process (in its own process group); it prints a ready line once bandit loaded."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    try:
        return subprocess.Popen(
            [sys.executable, "-s", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            bufsize=1,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        raise ScannerUnavailable(f"cannot start a bandit worker: {exc.strerror or exc}") from None


def _readline(out: IO[str]) -> str:
    """One line from a worker, or "" (EOF) if the pipe was closed by a concurrent stop."""
    try:
        return out.readline()
    except (ValueError, OSError):
        return ""


def _kill(proc: subprocess.Popen[str], *, close_streams: bool = True) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if not close_streams:
        return
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _cache_key(version: str, item: Digested) -> str:
    return hashlib.sha256(f"{version}\x00{item.file.rel}\x00{item.digest}".encode()).hexdigest()


class BanditScanner(Scanner):
    name = "bandit"
    description = "Python security checks (bandit), all plugins, on every core, cached per file."

    def version(self) -> str:
        return f"bandit-{_bandit_version()}+{CONFIG_DIGEST}"

    def selects(self, file: FileRef) -> bool:
        return selects_path(file.rel)

    def prepare(self, ctx: ScanContext, files: Sequence[FileRef]) -> bool:
        """Start the workers a small scan needs ahead: they load bandit while the other scanners
        run, and `scan` takes them from the kept ones (True: some are kept, started now or before).
        Reads no file: one whose stat vouches for its hash (tools/audit/filestats.py) is looked up
        in the cache, any other counts as to scan."""
        if not files or len(files) > _WARM_MAX_FILES or ctx.cancel.is_cancelled():
            return False
        if not WORKER.is_file() or not _bandit_version():
            return False
        version = self.version()
        keys: list[str] = []
        missing = 0
        for file in files:
            known = ctx.digests.known(file) if ctx.digests is not None else None
            if known is None:
                missing += 1
            else:
                keys.append(_cache_key(version, Digested(file, known, None)))
        hits = cached_many(ctx.cache, keys) if ctx.cache is not None and keys else {}
        for key in keys:
            hit = hits.get(key)
            if not (isinstance(hit, dict) and ("issues" in hit or "skip" in hit)):
                missing += 1
        if not missing:
            return False
        return _IDLE.warm(max(1, min(ctx.workers or os.cpu_count() or 1, (missing + 3) // 4))) > 0

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        if not WORKER.is_file() or not _bandit_version():
            raise ScannerUnavailable("bandit is not installed in the server's environment")
        result = ScanResult()
        version = self.version()
        jobs: list[_Job] = []
        lock = threading.Lock()
        cached = 0
        # Stat first: a file whose stat vouches for its stored hash is not read (tools/audit/filestats.py).
        digested: list[Digested] = []
        for file in files:
            if ctx.cancel.is_cancelled():
                break
            try:
                digested.append(digest_file(ctx.digests, file, file.size))
            except OSError as exc:
                result.skipped.append(
                    FileSkip(file.rel, f"cannot read: {exc.strerror or type(exc).__name__}", partial=True)
                )
                ctx.progress(1)

        def key_of(item: Digested) -> str:
            return _cache_key(version, item)

        keys = [key_of(item) for item in digested]
        hits = cached_many(ctx.cache, keys) if ctx.cache is not None else {}
        for item, key in zip(digested, keys, strict=True):
            hit = hits.get(key)
            content = item.content
            built = _BUILT.get(key) if isinstance(hit, dict) and hit.get("issues") else None
            if built is not None:  # this process already turned this very result into findings
                cached += 1
                result.scanned.append(item.file.rel)
                result.findings.extend(built)
                ctx.progress(1)
                continue
            if isinstance(hit, dict) and hit.get("issues") and content is None:
                # Findings quote their lines: read the bytes the vouched hash stands for.
                content = read_vouched(item.file, item.file.size)
                if content is None:  # changed since the walk: hashed afresh, looked up alone
                    try:
                        item = digest_file(None, item.file, item.file.size)
                    except OSError as exc:
                        result.skipped.append(
                            FileSkip(
                                item.file.rel,
                                f"cannot read: {exc.strerror or type(exc).__name__}",
                                partial=True,
                            )
                        )
                        ctx.progress(1)
                        continue
                    content, key = item.content, key_of(item)
                    hit = ctx.cache.get(key) if ctx.cache is not None else None
            if isinstance(hit, dict) and ("issues" in hit or "skip" in hit):
                cached += 1
                found = len(result.findings)
                self._record(result, item.file, content or b"", hit)
                if hit.get("issues"):
                    _BUILT.put(key, result.findings[found:])
                ctx.progress(1)
                continue
            if content is None:  # vouched for, but no result stored under this version: scan it
                try:
                    with open(item.file.path, "rb") as fh:
                        content = fh.read(item.file.size + 1)
                except OSError as exc:
                    result.skipped.append(
                        FileSkip(
                            item.file.rel, f"cannot read: {exc.strerror or type(exc).__name__}", partial=True
                        )
                    )
                    ctx.progress(1)
                    continue
                key = key_of(Digested(item.file, hashlib.sha256(content).hexdigest(), content))
            jobs.append(_Job(item.file, content, key))

        def on_result(job: _Job, message: dict[str, Any]) -> None:
            value: dict[str, Any] = (
                {"skip": str(message["skip"])}
                if "skip" in message
                else {"issues": [safe_issue(i) for i in message.get("issues", []) if isinstance(i, dict)]}
            )
            with lock:
                found = len(result.findings)
                self._record(result, job.file, job.content, value)
                if value.get("issues"):
                    # What a re-audit would build from this cached result: the first re-audit after
                    # a cold audit in this process need not build all of them again (~70 ms on Django).
                    _BUILT.put(job.key, result.findings[found:])
                job.content = b""  # keep memory flat on big trees
            if ctx.cache is not None and "crashed" not in value.get("skip", ""):
                ctx.cache.put(job.key, value)
            ctx.progress(1)

        if jobs and not ctx.cancel.is_cancelled():
            # One worker per core, but never more than there are chunks of work.
            workers = max(1, min(ctx.workers or os.cpu_count() or 1, (len(jobs) + 3) // 4))
            pool = _Pool(jobs, workers, ctx, on_result)
            pool.run()
            if pool.failure:
                if not result.scanned:
                    raise ScannerError(pool.failure)
                result.notes.append(pool.failure)
            left = pool.leftover()
            if left:
                why = (
                    "not scanned: the audit was cancelled"
                    if ctx.cancel.is_cancelled()
                    else "not scanned: the scanner's time budget ran out (SECAUDIT_SCANNER_TIMEOUT)"
                    if time.monotonic() > ctx.deadline
                    else "not scanned: the scanner stopped early"
                )
                result.complete = False
                result.skipped.extend(FileSkip(j.file.rel, why, partial=True) for j in left)
                result.notes.append(f"{len(left)} Python files were not scanned ({why.split(': ', 1)[1]})")
        result.notes.insert(0, f"{cached} files from the cache, {len(jobs)} scanned by bandit")
        return result

    @staticmethod
    def _record(result: ScanResult, file: FileRef, content: bytes, value: dict[str, Any]) -> None:
        if "skip" in value:
            # Python source bandit did not examine (a syntax the running Python cannot parse, a
            # crash): its findings are unknown, so the run cannot be clean.
            result.skipped.append(FileSkip(file.rel, str(value["skip"]), partial=True))
            return
        result.scanned.append(file.rel)
        result.findings.extend(findings_from_result(file.rel, content, list(value.get("issues") or [])))
