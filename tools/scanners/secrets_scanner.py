"""The `secrets` scanner: hardcoded credentials, found with detect-secrets' plugins, fast and cached.

Speed. detect-secrets' own loop costs hundreds of microseconds per line; here a prefilter selects
the few lines that could match any plugin (see `secrets_detect`), the files are spread over worker
processes when there are enough of them, and each file's result is cached by sha256(content), its
path, the detect-secrets version, our configuration and the HMAC key's id. A re-scan reads and
hashes every file but hands only the changed ones to the detectors.

Secrecy. No raw secret leaves a worker: findings carry the kind, the line, a masked preview (first
4 and last 4 characters for values of 16 or more characters, else `***`), the line with the value
masked as the snippet, and a keyed hash. The fingerprint is built from that keyed hash (HMAC-SHA256
with `SecretsOptions.secret_key`, the store's key); without one a random per-process key is used,
so fingerprints then hold only for the life of the process.

Suppression. `pragma: allowlist secret` on the line (or `pragma: allowlist nextline secret` above
it) and an entry in the repository's `.secrets.baseline` mark a finding `suppressed_in_code`; the
finding is still reported.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import multiprocessing
import os
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from secaudit.tools.confined_io import FileRefused, is_regular, read_bytes
from secaudit.tools.findings.model import Confidence, Finding, Severity, fingerprint
from secaudit.tools.scanners.interface import (
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerOptions,
    ScanResult,
    cached_many,
    digest_file,
)
from secaudit.tools.scanners.secrets_detect import (
    KINDS,
    DetectConfig,
    FileOutcome,
    SecretRecord,
    detect_batch,
    file_is_excluded,
    key_id,
)
from secaudit.tools.text import clean_line

__all__ = ["SCANNER_VERSION", "SecretsOptions", "SecretsScanner", "findings_from_records", "load_baseline"]

log = logging.getLogger(__name__)

# 2: Google API keys, one-line private keys, translation catalogues, long lines in windows.
SCANNER_VERSION = "2"
BASELINE_NAME = ".secrets.baseline"
MAX_BASELINE_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
# Below this many files to scan, starting worker processes costs more than it saves.
MIN_FILES_FOR_POOL = 64
BATCH_FILES = 48
_POLL_SECONDS = 0.25
# How many files the per-file list of test-path dismissals names (the rest are counted).
MAX_TEST_PATH_FILES = 50

# Used when the caller passes no key: fingerprints are then stable only within this process.
_PROCESS_KEY = secrets.token_bytes(32)


def _detect_secrets_version() -> str:
    try:
        return metadata.version("detect-secrets")
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a hard dependency
        return "unknown"


def load_baseline(root: os.PathLike[str] | str) -> tuple[dict[str, tuple[tuple[str, str], ...]], str | None]:
    """(rel path -> ((secret type, sha1 of secret), ...)), or a note saying why it was not used."""
    base = Path(root)
    # Absent, a link, or not a regular file: no baseline (a link is never followed for it).
    if not is_regular(base, BASELINE_NAME, follow_links=False):
        return {}, None
    try:
        raw = read_bytes(base, BASELINE_NAME, MAX_BASELINE_BYTES, follow_links=False)
    except FileRefused as exc:
        return {}, f"{BASELINE_NAME} was not used: {exc.reason}"
    try:
        data = json.loads(raw.decode("utf-8"))
        results = data.get("results", {}) if isinstance(data, dict) else {}
        out: dict[str, tuple[tuple[str, str], ...]] = {}
        for rel, entries in results.items():
            if not isinstance(rel, str) or not isinstance(entries, list):
                continue
            pairs = {
                (str(e.get("type", "")), str(e.get("hashed_secret", "")))
                for e in entries
                if isinstance(e, dict)
            }
            out[rel.replace("\\", "/").removeprefix("./")] = tuple(sorted(pairs))
        return out, None
    except (ValueError, AttributeError):
        return {}, f"{BASELINE_NAME} could not be read as a detect-secrets baseline; not used"


def findings_from_records(rel: str, records: Sequence[SecretRecord]) -> list[Finding]:
    findings: list[Finding] = []
    occurrences: Counter[tuple[str, str]] = Counter()
    for record in sorted(records, key=lambda r: (r.line, r.secret_type, r.mac)):
        kind = KINDS[record.secret_type]
        occurrences[(kind.rule_id, record.mac)] += 1
        count = occurrences[(kind.rule_id, record.mac)]
        # The keyed hash of the value, not its line, identifies the finding: it survives lines
        # inserted above it. A value repeated in one file gets an occurrence number.
        fp = fingerprint("secrets", kind.rule_id, rel, record.mac, extra="" if count == 1 else str(count))
        suppression = "pragma" if record.pragma else "baseline" if record.baseline else None
        message = (
            f"{kind.title} ({record.preview}) on line {record.line}. Remove it from the code, revoke or "
            "rotate it, and load it from the environment or a secret store."
        )
        if suppression == "pragma":
            message += " Marked `pragma: allowlist secret` in the code."
        elif suppression == "baseline":
            message += f" Listed in {BASELINE_NAME}."
        findings.append(
            Finding(
                scanner="secrets",
                rule_id=kind.rule_id,
                severity=Severity(kind.severity),
                confidence=Confidence(kind.confidence),
                path=rel,
                start_line=record.line,
                end_line=record.line,
                title=kind.title,
                message=message,
                snippet=record.snippet,
                cwe=[798],
                references=["https://cwe.mitre.org/data/definitions/798.html"],
                fingerprint=fp,
                suppressed_in_code=suppression is not None,
                properties={
                    "kind": record.secret_type,
                    "preview": record.preview,
                    "secret_id": record.mac[:16],
                    "suppression": suppression,
                },
            )
        )
    return findings


class SecretsOptions(ScannerOptions):
    # The store's HMAC key for the fingerprints (at least 16 bytes); None: a per-process random key.
    secret_key: bytes | None = Field(default=None, repr=False)
    # False: detect-secrets' own behaviour, without our false-positive heuristics (the parity check).
    tuned: bool = True
    # True: keyword and entropy candidates under test folders are reported too.
    include_tests: bool = False
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, key: bytes | None) -> bytes | None:
        if key is not None and len(key) < 16:
            raise ValueError("must be at least 16 bytes (the store's HMAC key)")
        return key

    def detect_config(self) -> DetectConfig:
        return DetectConfig(tuned=self.tuned, include_tests=self.include_tests)


class SecretsScanner(Scanner):
    name = "secrets"
    Options = SecretsOptions
    description = (
        "Hardcoded secrets (cloud and SaaS tokens, private keys, JWTs, URL credentials, "
        "keyword and entropy) via detect-secrets, tuned for few false positives; never returns a raw value."
    )

    def version(self) -> str:
        return f"secrets-{SCANNER_VERSION}+detect-secrets-{_detect_secrets_version()}"

    def selects(self, file: FileRef) -> bool:
        name = file.rel.rsplit("/", 1)[-1]
        return name != BASELINE_NAME and not file_is_excluded(file.rel)

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        result = ScanResult()
        options = ctx.options_as(SecretsOptions)
        key = options.secret_key if options.secret_key is not None else _PROCESS_KEY
        cfg = options.detect_config()
        max_bytes = options.max_file_bytes
        baseline, note = load_baseline(ctx.root)
        if note:
            result.notes.append(note)
        prefix = f"{self.version()}\x00{cfg.digest()}\x00{key_id(key)}"

        def cache_key(rel: str, digest: str) -> str:
            base = repr(baseline.get(rel, ()))
            return hashlib.sha256(f"{prefix}\x00{rel}\x00{digest}\x00{base}".encode()).hexdigest()

        outcomes: dict[str, FileOutcome] = {}
        pending: list[FileRef] = []
        if ctx.cache is not None:
            # Stat first: a file whose stat vouches for its stored hash is not read here.
            digests: list[tuple[FileRef, str, str]] = []
            for file in files:
                try:
                    digest = digest_file(ctx.digests, file, max_bytes).digest
                except OSError:
                    pending.append(file)  # the worker records the skip and its reason
                    continue
                digests.append((file, digest, cache_key(file.rel, digest)))
            hits = cached_many(ctx.cache, [k for _, _, k in digests])
            for file, digest, k in digests:
                hit = hits.get(k)
                if isinstance(hit, dict):
                    outcomes[file.rel] = _outcome_from_cache(file.rel, digest, hit)
                else:
                    pending.append(file)
        else:
            pending.extend(files)
        cached = len(outcomes)
        if cached:
            ctx.progress(cached)

        def collect(batch_outcomes: list[FileOutcome]) -> None:
            for outcome in batch_outcomes:
                outcomes[outcome.rel] = outcome
                cacheable = outcome.sha256 and not (outcome.skip or "").startswith("unreadable")
                if ctx.cache is not None and cacheable:
                    ctx.cache.put(cache_key(outcome.rel, outcome.sha256), outcome.to_json())
            ctx.progress(len(batch_outcomes))

        stopped = self._run(ctx, pending, key, cfg, max_bytes, baseline, collect)

        dismissed: Counter[str] = Counter()
        in_tests: Counter[str] = Counter()  # file -> keyword/entropy guesses dismissed as test data
        for file in files:
            outcome = outcomes.get(file.rel)
            if outcome is None:
                result.skipped.append(FileSkip(file.rel, stopped or "not scanned"))
                continue
            if outcome.skip:
                # Text we could not read or that was too large was not checked; binary content
                # holds no line to check.
                not_text = outcome.skip.startswith(("binary content", "not UTF-8"))
                result.skipped.append(FileSkip(file.rel, outcome.skip, partial=not not_text))
                continue
            result.scanned.append(file.rel)
            result.findings.extend(findings_from_records(file.rel, outcome.records or []))
            dismissed.update(outcome.dismissed or {})
            if (outcome.dismissed or {}).get("test-path"):
                in_tests[file.rel] += (outcome.dismissed or {})["test-path"]
        if stopped:
            result.notes.append(
                f"secrets scan stopped early ({stopped}); the files it did not reach are listed as skipped"
            )
            result.complete = False
        result.notes.append(
            f"{len(result.scanned)} files scanned ({cached} from cache), {len(result.skipped)} skipped"
        )
        if dismissed:
            detail = ", ".join(f"{reason}={count}" for reason, count in sorted(dismissed.items()))
            result.notes.append(f"candidates dismissed by false-positive heuristics: {detail}")
        if in_tests:
            result.notes.append(_test_path_note(in_tests))
        return result

    def _run(
        self,
        ctx: ScanContext,
        pending: list[FileRef],
        key: bytes,
        cfg: DetectConfig,
        max_bytes: int,
        baseline: dict[str, tuple[tuple[str, str], ...]],
        collect: Any,
    ) -> str | None:
        """Scan `pending`; return why it stopped early, or None when every file was done."""
        items = [(str(f.path), f.rel, baseline.get(f.rel, ())) for f in pending]
        # Big files first, so the last batch is not one slow straggler.
        order = sorted(range(len(items)), key=lambda i: -pending[i].size)
        items = [items[i] for i in order]
        batches = [items[i : i + BATCH_FILES] for i in range(0, len(items), BATCH_FILES)]
        workers = max(1, min(int(ctx.workers), os.cpu_count() or 1))
        if workers == 1 or len(items) < MIN_FILES_FOR_POOL:
            for batch in batches:
                reason = _stop_reason(ctx)
                if reason:
                    return reason
                collect(detect_batch(batch, key, cfg, max_bytes))
            return None
        # spawn, not fork: the server process has threads, and a forked child could inherit a lock
        # held by one of them.
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        try:
            futures = {executor.submit(detect_batch, batch, key, cfg, max_bytes) for batch in batches}
            while futures:
                reason = _stop_reason(ctx)
                if reason:
                    return reason
                done, futures = concurrent.futures.wait(
                    futures, timeout=_POLL_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    try:
                        collect(future.result())
                    except concurrent.futures.process.BrokenProcessPool as exc:
                        raise ScannerError("a secrets worker process died; re-run the audit") from exc
            return None
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def _test_path_note(in_tests: Counter[str]) -> str:
    """Which files the test-path heuristic silenced, and how to see what it silenced."""
    listed = sorted(in_tests.items())[:MAX_TEST_PATH_FILES]
    more = len(in_tests) - len(listed)
    return (
        f"test-path dismissals per file ({len(in_tests)} files; keyword and entropy guesses in test "
        "and fixture paths, not reported; audit with include_test_paths=true, CLI --include-tests, "
        "to report them): "
        + ", ".join(f"{clean_line(rel, 200)}={count}" for rel, count in listed)
        + (f"; {more} more files not listed" if more else "")
    )


def _stop_reason(ctx: ScanContext) -> str | None:
    if ctx.cancel.is_cancelled():
        return "cancelled"
    if time.monotonic() >= ctx.deadline:
        return "time budget exhausted"
    return None


def _outcome_from_cache(rel: str, digest: str, value: dict[str, Any]) -> FileOutcome:
    return FileOutcome(
        rel=rel,
        sha256=digest,
        records=[SecretRecord.from_json(r) for r in value.get("records", [])],
        skip=value.get("skip"),
        dismissed={str(k): int(v) for k, v in dict(value.get("dismissed", {})).items()},
    )
