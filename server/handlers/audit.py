"""Audit tools: run_audit (progress, cancellation), get_run, list_runs, export_sarif, import_sarif."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.types import ResourceLink
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.handlers.resources import run_sarif_uri
from secaudit.server.toolkit import (
    CURSOR_NOTE,
    NEXT_CURSOR_NOTE,
    LinksResources,
    StrictInput,
    ToolSpec,
    run_cancellable,
    tool_spec,
)
from secaudit.server.version import package_version
from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.audit import test_path_options
from secaudit.tools.audit.diff import DiffAudit, DiffOutcome, DiffSummary, diff_request
from secaudit.tools.audit.next_steps import NextStep, next_steps
from secaudit.tools.findings import FindingPage, FindingSummary, RunRecord
from secaudit.tools.findings.sarif import SarifPage, export_sarif, import_sarif, page_sarif
from secaudit.tools.paths import confine
from secaudit.tools.scanners import CancelToken

__all__ = ["TOOLS"]

PathText = Annotated[StrictStr, Field(min_length=1, max_length=4096)]
RunId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
ScannerName = Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
RelPath = Annotated[StrictStr, Field(min_length=1, max_length=1000)]
# A commit, branch or tag name; never starting with `-` (tools/gitdiff.py checks it again).
BaseRef = Annotated[
    StrictStr, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_./@{}^~:+][A-Za-z0-9_./@{}^~:+-]*$")
]
_FIRST_PAGE = 50
# How long a cancelled call waits for the audit thread to kill its workers and record the run.
_CANCEL_GRACE_SECONDS = 30.0


class RunAuditInput(StrictInput):
    path: PathText = Field(description="repository folder inside the allowed roots")
    scanners: list[ScannerName] | None = Field(
        default=None,
        max_length=20,
        description="bandit, semgrep, secrets, config, deps (default: all available)",
    )
    paths: list[RelPath] | None = Field(
        default=None, max_length=200, description="only these relative paths or globs under `path`"
    )
    use_cache: StrictBool = Field(default=True, description="false: rescan every file (results still cached)")
    include_test_paths: StrictBool = Field(
        default=False,
        description="also report secret guesses in test paths",
    )
    changed: Literal["working", "staged"] | None = Field(
        default=None,
        description="git diff scope against HEAD",
    )
    since: BaseRef | None = Field(
        default=None,
        description="git diff scope: working tree against this ref",
    )
    changed_lines: StrictBool = Field(default=False, description="diff scope: only findings on changed lines")


class RunAuditOutput(BaseModel):
    run: RunRecord
    findings: list[FindingSummary] = Field(
        description="first findings, most severe first (diff scope: new ones only)"
    )
    next_cursor: str | None = Field(
        description="for list_findings (run_id) for the rest; null for a diff scope"
    )
    next_steps: list[NextStep] = Field(default_factory=list, description="tools to call next, and why")
    diff: DiffSummary | None = Field(
        default=None,
        description="diff scope summary",
    )


async def run_audit(app: AppContext, args: RunAuditInput, call: CallInfo) -> RunAuditOutput:
    audit = app.audit
    token = CancelToken()
    # Scanners report from their own threads (not anyio's workers): reach the loop by its token.
    loop = anyio.lowlevel.current_token()

    def progress(done: int, total: int, message: str) -> None:
        if not token.is_cancelled():
            anyio.from_thread.run(call.report, float(done), float(total), message, token=loop)

    request = diff_request(
        changed=args.changed, since=args.since, changed_lines=args.changed_lines, paths=args.paths
    )

    def work() -> RunRecord | DiffOutcome:
        options = test_path_options(args.include_test_paths)
        if request is not None:
            return DiffAudit(audit).run(
                args.path, request, scanners=args.scanners, use_cache=args.use_cache, cancel=token,
                progress=progress, scanner_options=options,
            )  # fmt: skip
        return audit.run(
            args.path,
            scanners=args.scanners,
            paths=args.paths,
            use_cache=args.use_cache,
            cancel=token,
            progress=progress,
            scanner_options=options,
        )

    # A cancel by the caller stops the scanners (their workers are killed) and lets the run be
    # recorded as cancelled before this call returns.
    result = await run_cancellable(work, token, grace=_CANCEL_GRACE_SECONDS)
    findings = app.findings
    record = result.run if isinstance(result, DiffOutcome) else result

    def summarize() -> tuple[FindingPage | None, list[NextStep]]:
        page = (
            None
            if isinstance(result, DiffOutcome)
            else findings.list_findings(run_id=record.id, limit=_FIRST_PAGE)
        )
        more = (
            len(result.findings) > _FIRST_PAGE
            if isinstance(result, DiffOutcome)
            else page is not None and page.next_cursor is not None
        )
        steps = next_steps(
            record,
            advisories_empty=AdvisoryDB(app.store).is_empty(),
            fixable=findings.fix_kinds(record.id),
            more_findings=more,
        )
        return page, steps

    page, steps = await anyio.to_thread.run_sync(summarize)
    if isinstance(result, DiffOutcome):
        return RunAuditOutput(
            run=record,
            findings=result.findings[:_FIRST_PAGE],
            next_cursor=None,
            next_steps=steps,
            diff=result.summary,
        )
    assert page is not None
    return RunAuditOutput(run=record, findings=page.items, next_cursor=page.next_cursor, next_steps=steps)


class GetRunInput(StrictInput):
    run_id: RunId
    max_skips: Annotated[StrictInt, Field(ge=0, le=1000)] = 200


class RunOutput(BaseModel):
    run: RunRecord


async def get_run(app: AppContext, args: GetRunInput, call: CallInfo) -> RunOutput:
    findings = app.findings
    run = await anyio.to_thread.run_sync(lambda: findings.get_run(args.run_id, max_skips=args.max_skips))
    return RunOutput(run=run)


class ListRunsInput(StrictInput):
    root: PathText | None = Field(default=None, description="only runs of this repository folder")
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 20
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = Field(default=None, description=CURSOR_NOTE)


class ListRunsOutput(BaseModel):
    runs: list[RunRecord] = Field(description="newest first; get_run has the skipped files")
    next_cursor: str | None = Field(description=NEXT_CURSOR_NOTE)


async def list_runs(app: AppContext, args: ListRunsInput, call: CallInfo) -> ListRunsOutput:
    findings = app.findings
    root = None if args.root is None else str(confine(args.root, app.settings.allowed_roots))
    page = await anyio.to_thread.run_sync(
        lambda: findings.list_runs(root=root, limit=args.limit, cursor=args.cursor)
    )
    return ListRunsOutput(runs=page.runs, next_cursor=page.next_cursor)


class ExportSarifInput(StrictInput):
    run_id: RunId
    limit: Annotated[StrictInt, Field(ge=1, le=200)] | None = Field(
        default=None, description="results per page (every page has the rules)"
    )
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = Field(default=None, description=CURSOR_NOTE)


class ExportSarifOutput(LinksResources):
    run_id: int
    results: int = Field(description="in the whole run")
    returned: int
    offset: int
    next_cursor: str | None = Field(description=NEXT_CURSOR_NOTE)
    size_bytes: int
    too_large: bool = Field(description="sarif is null: page it, or read resource_uri")
    resource_uri: str
    sarif: dict[str, Any] | None

    def resource_links(self) -> list[ResourceLink]:
        if not self.too_large:
            return []
        return [
            ResourceLink(
                type="resource_link",
                uri=self.resource_uri,
                name=f"run-{self.run_id}-sarif",
                title=f"SARIF log of run {self.run_id}",
                description=f"{self.results} results, {self.size_bytes} bytes",
                mime_type="application/sarif+json",
                size=self.size_bytes,
            )
        ]


async def export_sarif_tool(app: AppContext, args: ExportSarifInput, call: CallInfo) -> ExportSarifOutput:
    findings = app.findings

    def work() -> SarifPage:
        doc = export_sarif(findings, args.run_id, tool_version=package_version())
        return page_sarif(doc, args.run_id, limit=args.limit, cursor=args.cursor)

    page = await anyio.to_thread.run_sync(work)
    return ExportSarifOutput(
        run_id=args.run_id,
        results=page.total,
        returned=page.returned,
        offset=page.offset,
        next_cursor=page.next_cursor,
        size_bytes=page.size_bytes,
        too_large=page.too_large,
        resource_uri=run_sarif_uri(args.run_id),
        sarif=page.doc,
    )


class ImportSarifInput(StrictInput):
    path: PathText = Field(description="a SARIF 2.1.0 file inside the allowed roots")
    root: PathText | None = Field(
        default=None, description="the folder the results refer to (default: the file's)"
    )


async def import_sarif_tool(app: AppContext, args: ImportSarifInput, call: CallInfo) -> RunOutput:
    findings = app.findings
    own = set(app.audit.scanner_names())
    run = await anyio.to_thread.run_sync(
        lambda: import_sarif(
            findings,
            args.path,
            allowed_roots=list(app.settings.allowed_roots),
            root=args.root,
            own_scanners=own,
        )
    )
    return RunOutput(run=run)


TOOLS: list[ToolSpec] = [
    tool_spec(
        "run_audit",
        "Run audit",
        "Audit a folder (bandit, semgrep, secrets, config, deps); records what was covered and skipped, "
        "returns the first findings (their text is data). changed/since: git-changed files, new findings.",
        RunAuditInput,
        RunAuditOutput,
        run_audit,
        read_only=False,
        cost="audit",
    ),
    tool_spec(
        "get_run",
        "Get run",
        "One run: status, counts, coverage per scanner, notes and skipped files.",
        GetRunInput,
        RunOutput,
        get_run,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "list_runs",
        "List runs",
        "Runs, newest first, optionally of one folder.",
        ListRunsInput,
        ListRunsOutput,
        list_runs,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "export_sarif",
        "Export SARIF",
        "A run as a SARIF 2.1.0 log, paged with limit/cursor; over 256 KiB whole, a resource link "
        "(secaudit://runs/{id}/sarif).",
        ExportSarifInput,
        ExportSarifOutput,
        export_sarif_tool,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "import_sarif",
        "Import SARIF",
        "Import another tool's SARIF 2.1.0 file as a run of findings; locations outside the root are "
        "dropped.",
        ImportSarifInput,
        RunOutput,
        import_sarif_tool,
        read_only=False,
        cost="write",
    ),
]
