"""Diff-scoped audits: scan only what changed, report only what is new relative to the base.

The policy, in one place for the CLI (`secaudit audit --changed/--staged/--since`) and the MCP
tool (`run_audit` with `changed` / `since`):

- The files: what git reports as changed (tools/gitdiff.py), on the new side; deleted files are not
  scanned. `staged` scans the staged blobs (written into a private temp folder), not the working copy.
- The base: the base version of only those files, written into a private temp folder at the SAME
  repository-relative paths (a renamed file at its new path, with its old path's content) and scanned
  with the same scanners and options. A fingerprint is (scanner, rule, relative path, code context)
  (tools/findings/model.py), so an unchanged problem has the same fingerprint on both sides.
- New: a finding of the run whose fingerprint the base did not produce. With `changed_lines`, a new
  finding must also touch a changed line (git diff -U0 hunks); a finding without a line, or in an
  added file, is kept.
- The run is recorded like any other (all its findings, so triage and the lifecycle stay whole) but
  marks nothing fixed; what it reports, gates on and exports are the new findings only.
- When the base scan did not check everything, nothing is hidden on its account: a finding is
  called pre-existing only when the base really produced it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from secaudit.tools.audit.engine import AuditService, ProgressFn, RunScope
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.model import Finding
from secaudit.tools.findings.records import FindingSummary, RunRecord
from secaudit.tools.findings.rows import finding_id
from secaudit.tools.gitdiff import DiffMode, DiffScope, GitRepo, check_ref
from secaudit.tools.paths import confine_dir
from secaudit.tools.project.config import ProjectPolicy
from secaudit.tools.scanners.interface import CancelToken

__all__ = ["DiffAudit", "DiffOutcome", "DiffRequest", "DiffSummary", "diff_request", "scope_sarif"]

_TEMP_PREFIX = "secaudit-diff-"


@dataclass(frozen=True)
class DiffRequest:
    mode: DiffMode
    since: str | None = None  # the base ref, for DiffMode.SINCE
    changed_lines: bool = False


def diff_request(
    *, changed: str | None, since: str | None, changed_lines: bool, paths: Sequence[str] | None
) -> DiffRequest | None:
    """The diff scope a caller asked for (None: a whole audit); InvalidInput for a contradiction.

    `changed`: "working" or "staged"; `since`: a base ref. At most one of them; `changed_lines`
    only with one; a `paths` restriction not with one (git's list of files is the scope)."""
    if changed is not None and since is not None:
        raise InvalidInput("give at most one of changed (working / staged) and since (a base ref)")
    if changed is None and since is None:
        if changed_lines:
            raise InvalidInput("changed_lines needs a diff scope: changed (working / staged) or since")
        return None
    if paths:
        raise InvalidInput("paths cannot be combined with a diff scope: the changed files are the scope")
    if since is not None:
        return DiffRequest(DiffMode.SINCE, check_ref(since), changed_lines)
    if changed not in (DiffMode.WORKING.value, DiffMode.STAGED.value):
        raise InvalidInput("changed must be 'working' or 'staged'")
    return DiffRequest(DiffMode(changed), None, changed_lines)


class DiffSummary(BaseModel):
    """How a diff-scoped run was scoped and what it left out; in every output of such a run."""

    model_config = ConfigDict(frozen=True)

    mode: str = Field(description="working (tree vs HEAD), staged (index vs HEAD) or since (tree vs a ref)")
    base_ref: str = Field(description="the base as named (HEAD for working and staged)")
    base_commit: str | None = Field(description="the base commit; null when HEAD has no commit yet")
    files_changed: int = Field(description="changed files scanned (added, modified, renamed, untracked)")
    files_deleted: int = Field(description="deleted files (not scanned)")
    findings_new: int = Field(description="findings not present at the base: the ones reported")
    findings_preexisting: int = Field(description="findings the base has too: recorded, not reported")
    findings_outside_changed_lines: int = Field(
        default=0, description="new findings hidden because they touch no changed line (changed_lines)"
    )
    changed_lines: bool = False
    base_complete: bool = Field(
        description="false: the base scan missed something, so fewer findings may be called pre-existing"
    )

    def line(self) -> str:
        """One line for a terminal or a log."""
        base = (
            f"{self.base_ref} ({self.base_commit[:12]})"
            if self.base_commit
            else f"{self.base_ref} (no commit)"
        )
        what = {"working": "working tree", "staged": "staged changes", "since": "working tree"}[self.mode]
        text = (
            f"diff-scoped: {what} against {base}: {self.files_changed} changed files scanned, "
            f"{self.files_deleted} deleted; {self.findings_new} new findings reported, "
            f"{self.findings_preexisting} pre-existing hidden"
        )
        if self.changed_lines:
            text += f", {self.findings_outside_changed_lines} off the changed lines hidden"
        if not self.base_complete:
            text += "; the base scan was incomplete (nothing hidden on its account)"
        return text


@dataclass(frozen=True)
class DiffOutcome:
    run: RunRecord
    summary: DiffSummary
    findings: list[FindingSummary]  # the run's findings that are reported (new), most severe first

    @property
    def new_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.findings)


class DiffAudit:
    """Runs a diff-scoped audit through the one AuditService."""

    def __init__(self, audit: AuditService) -> None:
        self.audit = audit

    def run(
        self,
        path: str,
        request: DiffRequest,
        *,
        scanners: Sequence[str] | None = None,
        use_cache: bool = True,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        scanner_options: Mapping[str, Mapping[str, object]] | None = None,
        project: ProjectPolicy | None = None,
    ) -> DiffOutcome:
        root = confine_dir(path, self.audit.allowed_roots)
        # One reading of the project configuration for both trees: the base is judged by the same rules.
        policy = project if project is not None else self.audit.project_policy(str(root))
        scanners = scanners or policy.config.scanners
        self.audit.resolve_scanners(scanners)  # an unknown name is refused before git runs
        repo = GitRepo(root)
        scope = repo.scope(request.mode, request.since)
        ranges = repo.changed_lines(scope) if request.changed_lines else {}
        token = cancel or CancelToken()
        with tempfile.TemporaryDirectory(prefix=_TEMP_PREFIX) as tmp:  # mode 0700: ours alone
            base_tree = Path(tmp) / "base"
            base_tree.mkdir()
            written = repo.materialize_base(scope, base_tree, max_bytes=self.audit.max_file_bytes)
            base_findings: list[Finding] = []
            base_complete = True
            if written:
                base_findings, base_complete = self.audit.scan_tree(
                    base_tree, written, scanners=scanners, use_cache=use_cache, cancel=token,
                    scanner_options=scanner_options, project=policy,
                )  # fmt: skip
            tree = None
            if request.mode is DiffMode.STAGED:
                tree = Path(tmp) / "index"
                tree.mkdir()
                repo.materialize_index(scope, tree, max_bytes=self.audit.max_file_bytes)
            run = self.audit.run(
                str(root), scanners=scanners, use_cache=use_cache, cancel=token, progress=progress,
                scanner_options=scanner_options, project=policy,
                scope=RunScope(files=tuple(scope.paths), tree=tree, notes=(_scope_note(scope),)),
            )  # fmt: skip
        base_ids = {finding_id(run.root, f.fingerprint) for f in base_findings}
        items = self.audit.findings.run_summaries(run.id)
        fresh = [f for f in items if f.id not in base_ids]
        shown = [f for f in fresh if _on_changed_lines(f, ranges)] if request.changed_lines else fresh
        summary = DiffSummary(
            mode=scope.mode.value,
            base_ref=scope.base_ref,
            base_commit=scope.base_commit,
            files_changed=len(scope.changes),
            files_deleted=scope.deleted,
            findings_new=len(shown),
            findings_preexisting=len(items) - len(fresh),
            findings_outside_changed_lines=len(fresh) - len(shown),
            changed_lines=request.changed_lines,
            base_complete=base_complete,
        )
        return DiffOutcome(run=run, summary=summary, findings=shown)


def _scope_note(scope: DiffScope) -> str:
    base = scope.base_commit[:12] if scope.base_commit else "no commit yet"
    return (
        f"diff-scoped ({scope.mode.value}) against {scope.base_ref} ({base}): {len(scope.changes)} changed "
        f"files, {scope.deleted} deleted; only findings absent at the base are reported; this run marks "
        "nothing fixed"
    )


def _on_changed_lines(f: FindingSummary, ranges: Mapping[str, list[tuple[int, int]]]) -> bool:
    spans = ranges.get(f.path)
    if spans is None or f.start_line is None:
        return True  # an added or untracked file (all of it changed), or a finding without a line
    end = f.end_line if f.end_line is not None and f.end_line >= f.start_line else f.start_line
    return any(lo <= end and f.start_line <= hi for lo, hi in spans)


def scope_sarif(doc: dict[str, Any], outcome: DiffOutcome) -> dict[str, Any]:
    """A run's SARIF log cut to the new findings: each kept result has `baselineState: new`, and
    the run's properties say how it was scoped and how many results were left out."""
    run = doc["runs"][0]
    keep = outcome.new_ids
    kept = []
    for res in run.get("results", []):
        fid = res.get("properties", {}).get("secaudit", {}).get("id")
        if fid in keep:
            kept.append({**res, "baselineState": "new"})
    run["results"] = kept
    run.setdefault("properties", {}).setdefault("secaudit", {})["diff"] = outcome.summary.model_dump(
        mode="json"
    )
    return doc
