"""Verification after a fix: is the finding gone, does everything still parse, is anything new?

The service scans the changed files (and the finding's own file) twice under the file locks,
before and after writing, through a `Verifier`, and compares the two snapshots (`evaluate`).
Findings are compared by (scanner, rule, path, package) counts, not by fingerprint: the
fingerprint covers the code around the finding, which the fix itself changes.

`ScannerVerifier` needs nothing but the scanner interface: it runs the finding's own scanner (from
the registry, `secaudit.tools.scanners.builtin`) on the changed files, with the audit's store (it
holds the advisory database for `deps`) and the audit engine's scanner options
(`AuditService.scanner_options`: the store's key for `secrets`), so the re-scan judges exactly as
the audit did. No cache: a verdict on a file just written must come from the file.

A scanner that is not registered here (a `semgrep` finding where the semgrep plug-in is not
installed) or whose backend cannot run (`ScannerUnavailable`: no semgrep binary) makes the
verification inconclusive with that reason: the fix stays `applied`, never `verified`.

Independently of any scanner, `syntax_errors` checks that a changed Python, TOML or JSON file that
parsed before still parses after.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import time
import tomllib
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.model import Verification
from secaudit.tools.scanners.builtin import get_scanner, validate_scanner_options
from secaudit.tools.scanners.interface import (
    CancelToken,
    FileRef,
    ScanContext,
    ScannerError,
    ScannerOptions,
    ScannerUnavailable,
)
from secaudit.tools.store import Store

__all__ = ["ScanSnapshot", "ScannerVerifier", "Verifier", "evaluate", "syntax_error"]


@dataclass(frozen=True)
class ScanSnapshot:
    findings: list[Finding] = field(default_factory=list)
    # "path: reason" for each changed file the scanner could not read or parse.
    parse_errors: list[str] = field(default_factory=list)
    covered: bool = True  # False when the scanner could not run at all
    note: str = ""


class Verifier(Protocol):
    def scan(self, root: Path, finding: Finding, paths: Sequence[str]) -> ScanSnapshot:
        """Scan `paths` (repository-relative) with the scanner that reported `finding`."""


def _key(f: Finding) -> tuple[str, str, str, str]:
    package = f.properties.get("package") or f.properties.get("name") or ""
    return (f.scanner, f.rule_id, f.path, str(package).lower())


def evaluate(
    finding: Finding, changed: Sequence[str], before: ScanSnapshot, after: ScanSnapshot
) -> Verification:
    if not before.covered or not after.covered:
        return Verification(
            outcome="inconclusive", detail=after.note or before.note or "the scanner did not run"
        )
    broke = sorted(set(after.parse_errors) - set(before.parse_errors))
    if broke:
        return Verification(
            outcome="broke_parsing",
            detail="the scanner can no longer parse a changed file",
            parse_errors=broke,
        )
    target = _key(finding)
    counts_before = Counter(_key(f) for f in before.findings)
    counts_after = Counter(_key(f) for f in after.findings)
    new = counts_after - counts_before
    new.pop(target, None)
    if new:
        added = [f for f in after.findings if _key(f) in new]
        return Verification(
            outcome="new_findings",
            detail=f"the change introduced {sum(new.values())} new finding(s)",
            new_findings=[
                {"rule_id": f.rule_id, "path": f.path, "line": f.start_line, "title": f.title}
                for f in added[:20]
            ],
        )
    if counts_before[target] == 0:
        return Verification(
            outcome="inconclusive", detail="the scanner did not report the finding before the fix either"
        )
    if counts_after[target] < counts_before[target]:
        return Verification(outcome="gone", detail="the scanner no longer reports the finding")
    if finding.path not in changed:
        return Verification(
            outcome="inconclusive",
            detail="the finding is in a file the fix does not change (e.g. a lockfile): "
            "re-lock, then audit again to confirm",
        )
    return Verification(
        outcome="still_present", detail="the scanner still reports the finding after the change"
    )


class ScannerVerifier:
    def __init__(
        self,
        *,
        timeout_seconds: float = 120.0,
        store: Store | None = None,
        options: Mapping[str, ScannerOptions | Mapping[str, object]] | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.store = store
        self.options = validate_scanner_options(options)

    def scan(self, root: Path, finding: Finding, paths: Sequence[str]) -> ScanSnapshot:
        try:
            scanner = get_scanner(finding.scanner)
        except ScannerError as exc:
            # Not registered here (e.g. a semgrep finding where the semgrep plug-in is not
            # installed): the change cannot be judged, so it is never reported verified.
            return ScanSnapshot(
                covered=False,
                note=f"the {finding.scanner} scanner is not available here ({exc}), so the fix was not "
                "re-checked: audit again where it runs",
            )
        files: list[FileRef] = []
        for rel in paths:
            path = root / rel
            try:
                st = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                ref = FileRef(path=path, rel=rel, size=st.st_size, mode=st.st_mode)
                if scanner.selects(ref):
                    files.append(ref)
        if not files:
            return ScanSnapshot(
                covered=False, note=f"the {finding.scanner} scanner does not look at the changed files"
            )
        ctx = ScanContext(
            root=root,
            cancel=CancelToken(),
            deadline=time.monotonic() + self.timeout_seconds,
            options=self.options.get(scanner.name),
            store=self.store,
        )
        try:
            result = scanner.scan(ctx, files)
        except ScannerUnavailable as exc:
            return ScanSnapshot(
                covered=False,
                note=f"the {finding.scanner} scanner cannot run here ({exc}), so the fix was not "
                "re-checked: audit again where it runs",
            )
        except ScannerError as exc:
            return ScanSnapshot(covered=False, note=f"the scanner failed: {exc}")
        if not result.complete:
            return ScanSnapshot(covered=False, note="the scanner stopped before it finished the files")
        return ScanSnapshot(
            findings=list(result.findings),
            parse_errors=[f"{s.path}: {s.reason}" for s in result.skipped],
        )


def syntax_error(rel: str, data: bytes) -> str | None:
    """A short reason when `data` does not parse as its file type; None when fine or not checked."""
    try:
        if rel.endswith((".py", ".pyi")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(data, filename=rel)
        elif rel.endswith(".toml"):
            tomllib.loads(data.decode("utf-8"))
        elif rel.endswith(".json"):
            json.loads(data.decode("utf-8-sig"))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        return f"{rel}: {type(exc).__name__}"
    return None
