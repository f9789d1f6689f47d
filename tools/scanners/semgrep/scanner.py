"""The `semgrep` scanner: our JavaScript/TypeScript rule pack (and the user's rules) run by semgrep,
local rules only, with a per-file cache.

Engine. Found by `secaudit.tools.engines.discover` (SECAUDIT_SEMGREP, the private environment,
PATH). Without one the scanner raises ScannerUnavailable naming the install command: the run is
partial, never clean.

Invocation. `semgrep scan --experimental --config <rule file>... --json --metrics=off
--disable-version-check --no-rewrite-rule-ids --no-git-ignore --disable-nosem --timeout N
--max-target-bytes N --jobs N -- <files>`, argv lists only, in the audited root, with a scratch
HOME (see `engine_environment`). `--experimental` selects semgrep's OCaml command line, which
starts in well under a second where the Python one takes several (most of a small re-audit); when
it answers "not implemented" (exit 99) the chunk is run again without it.
semgrep is given explicit files, the ones the walker selected and the cache could not answer, in
chunks that fit the argument-length limit (semgrep has no target-list option); explicit targets
also bypass any `.semgrepignore` in the repository, so the audit covers what it says it covers.
`.mts`/`.cts` files need `--scan-unknown-extensions` (semgrep does not know those extensions), so
they get their own invocation: that flag makes semgrep much slower on the other files, and with
rules for other languages loaded it would make those rules parse them too, so that invocation gets
only the JavaScript/TypeScript rules.

Cache. A file's result is keyed by sha256(content), its path (rules may filter by path), the
semgrep version, the rules digest (pack and user rules) and our flags: a re-audit hands semgrep
only the files that changed, and none at all when nothing did. A timeout is cached too, marked as
such: a file semgrep cannot finish within the per-rule limit (generated code such as emscripten's
asm.js output takes minutes just to parse) would otherwise be re-run, and time out again, on every
re-audit. A file served from such an entry still makes the scan incomplete (the run is `partial`),
and the note says how to retry it (an audit without the cache, or a larger `--timeout`, which is
part of the key).

Cancellation. semgrep runs in its own process group; on cancel or when the time budget runs out
the group is killed and reaped, and the files it had not finished are reported as not scanned.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from secaudit.tools.confined_io import read_bytes
from secaudit.tools.engines.semgrep import (
    Engine,
    EngineUnavailable,
    discover,
    engine_environment,
    wait_group,
)
from secaudit.tools.errors import SecauditError
from secaudit.tools.masking import get_redactor
from secaudit.tools.scanners.interface import (
    Digested,
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerOptions,
    ScannerUnavailable,
    ScanResult,
    cached_many,
    digest_file,
    read_vouched,
)
from secaudit.tools.scanners.semgrep.early import EarlyRun
from secaudit.tools.scanners.semgrep.early import register as register_early
from secaudit.tools.scanners.semgrep.early import take as take_early
from secaudit.tools.scanners.semgrep.results import findings_from_matches, parse_output
from secaudit.tools.scanners.semgrep.ruleset import PACK_DIR, RulesError, RuleSet, load_rules
from secaudit.tools.text import clean_text

__all__ = [
    "EXCLUDED_DIRS",
    "JS_TS_EXTENSIONS",
    "PLUGIN_VERSION",
    "SemgrepOptions",
    "SemgrepScanner",
]

# Bumped whenever the invocation, the result format or the finding mapping changes: it is part of
# every cache key, so a change can never serve stale results.
PLUGIN_VERSION = "secaudit-semgrep-v1"
JS_TS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
_JS_TS_SET = frozenset(JS_TS_EXTENSIONS)
_UNKNOWN_TO_SEMGREP = (".mts", ".cts")
EXCLUDED_DIRS = frozenset({"node_modules", "dist", "build", "coverage", ".next"})
_ARGV_BUDGET = 512 * 1024
_MAX_CHUNK_FILES = 20_000
_STDERR_TAIL = 1500
# semgrep's OCaml command line (osemgrep): same rules, flags and JSON as the Python one, but it
# starts in a fraction of a second instead of several, which is most of a re-audit's time.
_FAST_CLI = "--experimental"
_NOT_IN_OSEMGREP = 99  # semgrep's exit code for "not implemented in osemgrep"


class SemgrepOptions(ScannerOptions):
    """What the edge configures (server/settings.py); validated once, handed over in the run's
    `ScanContext.options`."""

    executable: Path | None = None  # SECAUDIT_SEMGREP
    user_rules: Path | None = None  # SECAUDIT_SEMGREP_RULES
    engines_dir: Path | None = None  # where `secaudit engines install semgrep` puts the engine
    pack_dir: Path = PACK_DIR  # tests point this at their own rules
    timeout_per_rule: int = Field(default=10, ge=1, le=3600)  # semgrep --timeout, per rule per file
    timeout_threshold: int = Field(default=3, ge=0, le=1000)  # rule timeouts before a file is given up
    max_target_bytes: int = Field(default=1_000_000, ge=1)  # semgrep --max-target-bytes


class _Job:
    __slots__ = ("digest", "file", "key")

    def __init__(self, file: FileRef, digest: str, key: str) -> None:
        self.file = file
        self.digest = digest
        self.key = key


def _target(rel: str) -> str:
    # A path semgrep could read as an option is given as ./path.
    return "./" + rel if rel.startswith("-") else rel


def _argv_budget(base: Sequence[str], env: Mapping[str, str]) -> int:
    try:
        limit = int(os.sysconf("SC_ARG_MAX"))
    except (ValueError, OSError, AttributeError):
        limit = 256 * 1024
    used = sum(len(a) + 9 for a in base) + sum(len(k) + len(v) + 10 for k, v in env.items())
    return max(16 * 1024, min(_ARGV_BUDGET, limit // 2 - used))


def _chunks(jobs: list[_Job], budget: int) -> list[list[_Job]]:
    chunks: list[list[_Job]] = []
    current: list[_Job] = []
    size = 0
    for job in jobs:
        cost = len(os.fsencode(_target(job.file.rel))) + 9  # the string, its NUL and its pointer
        if current and (size + cost > budget or len(current) >= _MAX_CHUNK_FILES):
            chunks.append(current)
            current, size = [], 0
        current.append(job)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _start(
    engine: Engine | None, argv: list[str], env: dict[str, str], cwd: Path, out_path: Path, err_path: Path
) -> subprocess.Popen[bytes]:
    """Start semgrep for `argv` in `cwd`, in its own process group, its output in the two files:
    directly on the engine's OCaml binary when it has one (Engine.launch). Raises OSError."""
    executable, argv, env = engine.launch(argv, env) if engine else (None, argv, env)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        return subprocess.Popen(
            argv, executable=executable, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
            env=env, start_new_session=True,
        )  # fmt: skip


class SemgrepScanner(Scanner):
    name = "semgrep"
    Options = SemgrepOptions
    description = (
        "JavaScript/TypeScript security rules run by semgrep (local rules only, offline), cached per file."
    )

    def __init__(self) -> None:
        # Every target list handed to semgrep, in order: what the cache saved is observable.
        self.invocations: list[list[str]] = []
        # Called with each semgrep process id once it started (its process group has that id).
        self.on_start: Callable[[int], None] | None = None
        self.engine: Engine | None = None
        self._python: bool | None = None
        self._legacy_cli = False
        self._unfinished = 0  # files semgrep gave up on for a reason that may not recur (timeouts)

    def version(self) -> str:
        return PLUGIN_VERSION

    def _pack_has_python(self) -> bool:
        if self._python is None:
            try:
                self._python = load_rules(PACK_DIR, None).python
            except RulesError:
                self._python = False
        return self._python

    def selects(self, file: FileRef) -> bool:
        # Called for every file of the tree: plain string work, no path objects.
        rel = file.rel
        name = rel.rsplit("/", 1)[-1]
        dot = name.rfind(".")
        ext = name[dot:] if dot > 0 else ""
        if ext not in _JS_TS_SET and not (ext == ".py" and self._pack_has_python()):
            return False
        if name.endswith(".min.js"):
            return False
        return "/" not in rel or EXCLUDED_DIRS.isdisjoint(rel.split("/")[:-1])

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        opts = ctx.options_as(SemgrepOptions)
        try:
            rules = load_rules(opts.pack_dir, opts.user_rules)
        except RulesError as exc:
            raise ScannerError(str(exc)) from None
        if not rules.rules:
            raise ScannerUnavailable(
                "no semgrep rule was found (the rule pack is missing and SECAUDIT_SEMGREP_RULES is not set)"
            )
        try:
            engine = discover(explicit=opts.executable, engines_dir=opts.engines_dir)
        except EngineUnavailable as exc:
            raise ScannerUnavailable(str(exc)) from None
        self.engine = engine
        result = ScanResult()
        prefix = "\x00".join(
            [
                PLUGIN_VERSION, engine.version, rules.digest, str(opts.timeout_per_rule),
                str(opts.timeout_threshold), str(opts.max_target_bytes),
            ]
        )  # fmt: skip
        jobs: list[_Job] = []
        cached = 0
        # Stat first: a file whose stat vouches for its stored hash is not read (tools/audit/filestats.py).
        digested: list[Digested] = []
        cached_unfinished = 0
        for file in files:
            if ctx.cancel.is_cancelled():
                result.complete = False
                break
            if file.size > opts.max_target_bytes:
                result.skipped.append(
                    # Source semgrep would have analysed and did not: a coverage loss, not an empty file.
                    FileSkip(
                        file.rel,
                        f"larger than semgrep's per-file limit of {opts.max_target_bytes} bytes "
                        "(exclude it in the project config if it is generated)",
                        partial=True,
                    )
                )
                ctx.progress(1)
                continue
            try:
                digested.append(digest_file(ctx.digests, file, file.size))
            except OSError as exc:
                result.skipped.append(
                    FileSkip(file.rel, f"cannot read: {exc.strerror or type(exc).__name__}")
                )
                ctx.progress(1)

        def key_of(digest: str, rel: str) -> str:
            return hashlib.sha256(f"{prefix}\x00{rel}\x00{digest}".encode()).hexdigest()

        keys = [key_of(item.digest, item.file.rel) for item in digested]
        hits = cached_many(ctx.cache, keys) if ctx.cache is not None else {}
        for item, key in zip(digested, keys, strict=True):
            file, digest, content = item.file, item.digest, item.content
            hit = hits.get(key)
            if content is None and isinstance(hit, dict) and hit.get("matches"):
                # Findings quote their lines: read the bytes the vouched hash stands for.
                content = read_vouched(file, file.size)
                if content is None:  # changed since the walk: hashed afresh, looked up alone
                    content = self._read(file, result)
                    if content is None:
                        ctx.progress(1)
                        continue
                    digest = hashlib.sha256(content).hexdigest()
                    key = key_of(digest, file.rel)
                    hit = ctx.cache.get(key) if ctx.cache is not None else None
            if isinstance(hit, dict) and isinstance(hit.get("matches"), list):
                cached += 1
                if hit.get("retry"):
                    cached_unfinished += 1
                self._record(result, file, content or b"", hit)
                ctx.progress(1)
                continue
            jobs.append(_Job(file, digest, key))
        if jobs and not ctx.cancel.is_cancelled():
            self._run(ctx, engine, rules, opts, jobs, result)
        elif jobs:
            self._leftover(ctx, jobs, result)
        if self._unfinished or cached_unfinished:
            # The analysis did not finish, so the scanner did not cover what it selected, and the run
            # must not read as clean, whether the timeout happened now or in an earlier audit.
            result.complete = False
        if self._unfinished:
            result.notes.append(
                f"{self._unfinished} files were not fully analysed (semgrep timed out or ran out of memory "
                "on them); re-audits reuse this result while the file is unchanged: audit without the "
                "cache (use_cache false, --no-cache) to retry them"
            )
        if cached_unfinished:
            result.notes.append(
                f"{cached_unfinished} files are not fully analysed: semgrep timed out or ran out of memory "
                "on their current content in an earlier audit, and they were not retried (audit without "
                "the cache, use_cache false, --no-cache, to retry them)"
            )
        result.notes.insert(
            0,
            f"semgrep {engine.version} ({engine.source}); {len(rules.rules)} rules "
            f"({rules.pack_rules} from the pack, {rules.user_rules} user rules); "
            f"{cached} files from the cache, {len(jobs)} scanned by semgrep",
        )
        return result

    @staticmethod
    def _read(file: FileRef, result: ScanResult) -> bytes | None:
        try:
            with open(file.path, "rb") as fh:
                return fh.read(file.size + 1)
        except OSError as exc:
            result.skipped.append(FileSkip(file.rel, f"cannot read: {exc.strerror or type(exc).__name__}"))
            return None

    def _run(
        self,
        ctx: ScanContext,
        engine: Engine,
        rules: RuleSet,
        opts: SemgrepOptions,
        jobs: list[_Job],
        result: ScanResult,
    ) -> None:
        rule_ids = {rid: rid for rid in rules.rules}
        with tempfile.TemporaryDirectory(prefix="secaudit-semgrep-") as tmp:
            scratch = Path(tmp)
            env = engine_environment(scratch)
            # (jobs, rule files, extra flags) per kind of invocation; see the module docstring.
            groups: list[tuple[list[_Job], list[Path], list[str]]] = []
            known = [j for j in jobs if not j.file.rel.endswith(_UNKNOWN_TO_SEMGREP)]
            unknown = [j for j in jobs if j.file.rel.endswith(_UNKNOWN_TO_SEMGREP)]
            # Rule files of JavaScript/TypeScript rules only are left out when no target is one.
            any_js_ts = any(j.file.rel.endswith(JS_TS_EXTENSIONS) for j in known)
            groups.append((known, rules.files_for(js_ts_targets=any_js_ts), []))
            if unknown:
                configs = list(rules.files)
                if not rules.js_ts_only:
                    js_ts = rules.js_ts_rules()
                    subset = scratch / "js-ts-rules.yaml"
                    subset.write_text(yaml.safe_dump({"rules": js_ts}, sort_keys=False), encoding="utf-8")
                    configs = [subset] if js_ts else []
                groups.append((unknown, configs, ["--scan-unknown-extensions"]))
            done: set[int] = set()
            try:
                for group_jobs, configs, flags in groups:
                    if not group_jobs:
                        continue
                    if not configs:
                        for job in group_jobs:
                            result.skipped.append(
                                FileSkip(job.file.rel, "no loaded semgrep rule covers JavaScript/TypeScript")
                            )
                            done.add(id(job))
                            ctx.progress(1)
                        continue
                    base = self._base_argv(engine, configs, flags, opts, ctx.workers)
                    for chunk in _chunks(group_jobs, _argv_budget(base, env)):
                        if not self._invoke(ctx, base, env, scratch, chunk, rule_ids, result):
                            return
                        done.update(id(j) for j in chunk)
            finally:
                left = [j for j in jobs if id(j) not in done]
                if left:
                    self._leftover(ctx, left, result)

    @staticmethod
    def _base_argv(
        engine: Engine, configs: list[Path], flags: list[str], opts: SemgrepOptions, workers: int
    ) -> list[str]:
        argv = [str(engine.executable), "scan", _FAST_CLI]
        for config in configs:
            # Always an absolute path to a local file: never a registry name or a URL.
            argv += ["--config", str(Path(config).resolve())]
        argv += [
            "--json", "--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids",
            "--no-git-ignore", "--disable-nosem", "--quiet",
            "--timeout", str(opts.timeout_per_rule), "--timeout-threshold", str(opts.timeout_threshold),
            "--max-target-bytes", str(opts.max_target_bytes),
            "--jobs", str(max(1, workers or os.cpu_count() or 1)),
            *flags,
        ]  # fmt: skip
        return argv

    def _invoke(
        self,
        ctx: ScanContext,
        base: list[str],
        env: dict[str, str],
        scratch: Path,
        chunk: list[_Job],
        rule_ids: dict[str, str],
        result: ScanResult,
    ) -> bool:
        """Run semgrep over one chunk and record its files; False when stopped (cancel, deadline)."""
        targets = [_target(j.file.rel) for j in chunk]
        self.invocations.append([j.file.rel for j in chunk])
        n = len(self.invocations)
        out_path, err_path = scratch / f"out-{n}.json", scratch / f"err-{n}.txt"
        argv = [a for a in base if a != _FAST_CLI] if self._legacy_cli else base
        full = [*argv, "--", *targets]
        early = take_early(str(ctx.root), chunk[0].file.rel) if len(chunk) == 1 else None
        if early is not None and (
            early.argv != full or early.digest != chunk[0].digest or not chunk[0].file.same_stat(early.stat)
        ):
            early.discard()  # started for another command line or another content: not this scan's
            early = None
        if early is not None:
            code = self._finish_early(ctx, early, out_path, err_path)
        else:
            code = self._spawn(ctx, full, env, out_path, err_path)
        if code == _NOT_IN_OSEMGREP and not self._legacy_cli:
            # semgrep's OCaml command line does not implement something this run needs: the same run
            # through its Python command line (slower to start, same results).
            self._legacy_cli = True
            result.notes.append("semgrep --experimental declined this scan (exit 99); used its Python CLI")
            code = self._spawn(
                ctx, [*(a for a in base if a != _FAST_CLI), "--", *targets], env, out_path, err_path
            )
        if code is None:
            return False
        try:
            doc = json.loads(out_path.read_bytes() or b"null")
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ScannerError(f"semgrep failed (exit {code}) without a result: {self._stderr(err_path)}")
        outcome = parse_output(doc, [j.file.rel for j in chunk], rule_ids)
        if outcome.fatal:
            shown = "; ".join(outcome.fatal[:3])
            raise ScannerError(f"semgrep refused the rules (exit {code}): {shown}")
        result.notes.extend(n for n in outcome.notes[:10] if n not in result.notes)
        for job in chunk:
            value = outcome.per_file[job.file.rel]
            if value.get("retry"):
                self._unfinished += 1
            content = self._read(job.file, result)
            if content is not None:
                unchanged = hashlib.sha256(content).hexdigest() == job.digest
                self._record(result, job.file, content, value)
                # A file edited while semgrep ran: its result belongs to neither version's key. A
                # timeout is kept too (marked `retry`): see the module docstring.
                if ctx.cache is not None and unchanged:
                    ctx.cache.put(job.key, value)
            ctx.progress(1)
        return True

    def _spawn(
        self, ctx: ScanContext, argv: list[str], env: dict[str, str], out_path: Path, err_path: Path
    ) -> int | None:
        try:
            proc = _start(self.engine, argv, env, ctx.root, out_path, err_path)
        except OSError as exc:
            raise ScannerUnavailable(f"cannot start semgrep: {exc.strerror or exc}") from None
        return self._wait(ctx, proc)

    def _wait(self, ctx: ScanContext, proc: subprocess.Popen[bytes]) -> int | None:
        """Wait for a semgrep of this scan (its exit code; None when stopped: cancel, deadline)."""
        if self.on_start is not None:
            self.on_start(proc.pid)
        return wait_group(proc, deadline=ctx.deadline, stop=ctx.cancel.is_cancelled, pause=ctx.cancel.wait)

    def _finish_early(self, ctx: ScanContext, early: EarlyRun, out_path: Path, err_path: Path) -> int | None:
        """Wait for a semgrep started ahead (start_early) as for one started now; its output moved
        to where `_invoke` reads it."""
        try:
            code = self._wait(ctx, early.proc)
            if code is not None:
                shutil.move(early.out, out_path)
                shutil.move(early.err, err_path)
            return code
        finally:
            early.discard()

    @classmethod
    def start_early(cls, root: Path, rel: str, options: SemgrepOptions, *, workers: int) -> bool:
        """Start semgrep now on the one file `rel` of `root` (confined by the caller), for a scan of
        it this process is about to run (an agent hook's, early.py): the scan takes the process if
        it would have started the same command on the same content. `workers`: the audit's
        setting. Never raises; False when nothing was started (not a file this scanner selects, no
        engine or rules, too large, unreadable)."""
        scanner = cls()
        try:
            if rel.endswith(_UNKNOWN_TO_SEMGREP) or not scanner.selects(FileRef(root / rel, rel, 0, 0)):
                return False
            rules = load_rules(options.pack_dir, options.user_rules)
            if not rules.rules:
                return False
            engine = discover(explicit=options.executable, engines_dir=options.engines_dir)
            content = read_bytes(root, rel, options.max_target_bytes, follow_links=False)
            stat = os.lstat(root / rel)
        except (RulesError, EngineUnavailable, SecauditError, OSError):
            return False
        configs = rules.files_for(js_ts_targets=rel.endswith(JS_TS_EXTENSIONS))
        argv = [*cls._base_argv(engine, configs, [], options, workers), "--", _target(rel)]
        scratch = Path(tempfile.mkdtemp(prefix="secaudit-semgrep-early-"))
        out, err = scratch / "out.json", scratch / "err.txt"
        try:
            proc = _start(engine, argv, engine_environment(scratch), root, out, err)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            return False
        digest = hashlib.sha256(content).hexdigest()
        register_early(EarlyRun(str(root), rel, digest, stat, argv, proc, scratch, out, err))
        return True

    @staticmethod
    def _stderr(path: Path) -> str:
        try:
            text = path.read_bytes()[-_STDERR_TAIL * 2 :].decode("utf-8", errors="replace")
        except OSError:
            return "no output"
        return clean_text(get_redactor().redact(text), _STDERR_TAIL).strip() or "no output"

    @staticmethod
    def _leftover(ctx: ScanContext, jobs: list[_Job], result: ScanResult) -> None:
        why = (
            "not scanned: the audit was cancelled"
            if ctx.cancel.is_cancelled()
            else "not scanned: the scanner's time budget ran out (SECAUDIT_SCANNER_TIMEOUT)"
            if time.monotonic() > ctx.deadline
            else "not scanned: the scanner stopped early"
        )
        result.complete = False
        result.skipped.extend(FileSkip(j.file.rel, why) for j in jobs)
        result.notes.append(f"{len(jobs)} files were not scanned by semgrep ({why.split(': ', 1)[1]})")

    @staticmethod
    def _record(result: ScanResult, file: FileRef, content: bytes, value: dict[str, Any]) -> None:
        matches = [m for m in value.get("matches") or [] if isinstance(m, dict)]
        if "skip" in value:
            result.skipped.append(FileSkip(file.rel, str(value["skip"])))
        else:
            result.scanned.append(file.rel)
        if matches:
            result.findings.extend(findings_from_matches(file.rel, content, matches))
