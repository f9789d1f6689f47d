"""Finding tools: list_findings, get_finding, triage_finding, compare_runs, security_summary."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.handlers.audit import PathText, RunId, ScannerName
from secaudit.server.toolkit import NEXT_CURSOR_NOTE, StrictInput, ToolSpec, tool_spec
from secaudit.tools.findings import Comparison, FindingRecord, FindingSummary, SecuritySummary, Severity
from secaudit.tools.paths import confine
from secaudit.tools.severity import SeverityName

__all__ = ["TOOLS"]

FindingRef = Annotated[StrictStr, Field(min_length=16, max_length=64, pattern=r"^[0-9a-fA-F]+$")]
StatusName = Literal["new", "open", "fixed", "false_positive", "accepted_risk", "wont_fix"]
TriageName = Literal["open", "false_positive", "accepted_risk", "wont_fix"]


def _root(app: AppContext, root: str | None) -> str | None:
    return None if root is None else str(confine(root, app.settings.allowed_roots))


class ListFindingsInput(StrictInput):
    run_id: RunId | None = Field(default=None, description="findings of this run (default: latest state)")
    root: PathText | None = Field(default=None, description="only this repository folder")
    min_severity: SeverityName | None = None
    scanner: list[ScannerName] | None = Field(default=None, max_length=20)
    status: list[StatusName] | None = Field(default=None, max_length=6)
    rule: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=50
    )
    path_glob: Annotated[StrictStr, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="e.g. 'src/*.py' ('*' also crosses folders)"
    )
    text: Annotated[StrictStr, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="substring of title, message, path or rule"
    )
    include_suppressed: StrictBool = Field(default=True, description="false: hide `# nosec` findings")
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = None


class FindingListOutput(BaseModel):
    items: list[FindingSummary]
    next_cursor: str | None = Field(description=NEXT_CURSOR_NOTE)


async def list_findings(app: AppContext, args: ListFindingsInput, call: CallInfo) -> FindingListOutput:
    service = app.findings
    root = _root(app, args.root)
    page = await anyio.to_thread.run_sync(
        lambda: service.list_findings(
            run_id=args.run_id,
            root=root,
            min_severity=None if args.min_severity is None else Severity(args.min_severity),
            scanners=args.scanner,
            statuses=args.status,
            rules=args.rule,
            path_glob=args.path_glob,
            text=args.text,
            include_suppressed=args.include_suppressed,
            limit=args.limit,
            cursor=args.cursor,
        )
    )
    return FindingListOutput(items=page.items, next_cursor=page.next_cursor)


class GetFindingInput(StrictInput):
    id: FindingRef
    run_id: RunId | None = Field(default=None, description="as reported by this run (default: latest)")


class FindingOutput(BaseModel):
    finding: FindingRecord


async def get_finding(app: AppContext, args: GetFindingInput, call: CallInfo) -> FindingOutput:
    service = app.findings
    record = await anyio.to_thread.run_sync(lambda: service.get_finding(args.id, run_id=args.run_id))
    return FindingOutput(finding=record)


class TriageInput(StrictInput):
    id: FindingRef
    status: TriageName
    reason: Annotated[StrictStr, Field(min_length=1, max_length=2000, description="why; required")]
    expires_at: Annotated[StrictStr, Field(min_length=10, max_length=40)] | None = Field(
        default=None, description="ISO 8601 date-time; after it the finding is open again"
    )


async def triage_finding(app: AppContext, args: TriageInput, call: CallInfo) -> FindingOutput:
    service = app.findings
    record = await anyio.to_thread.run_sync(
        lambda: service.triage(
            args.id, args.status, args.reason, expires_at=args.expires_at, actor=call.identity
        )
    )
    return FindingOutput(finding=record)


class CompareInput(StrictInput):
    base_run: RunId
    head_run: RunId
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 100


class CompareOutput(BaseModel):
    comparison: Comparison


async def compare_runs(app: AppContext, args: CompareInput, call: CallInfo) -> CompareOutput:
    service = app.findings
    result = await anyio.to_thread.run_sync(
        lambda: service.compare_runs(args.base_run, args.head_run, limit=args.limit)
    )
    return CompareOutput(comparison=result)


class SummaryInput(StrictInput):
    root: PathText | None = Field(default=None, description="one repository folder (default: all)")
    recent_runs: Annotated[StrictInt, Field(ge=1, le=100)] = 10


class SummaryOutput(BaseModel):
    summary: SecuritySummary


async def security_summary(app: AppContext, args: SummaryInput, call: CallInfo) -> SummaryOutput:
    service = app.findings
    root = _root(app, args.root)
    result = await anyio.to_thread.run_sync(lambda: service.summary(root=root, recent=args.recent_runs))
    return SummaryOutput(summary=result)


TOOLS: list[ToolSpec] = [
    tool_spec(
        "list_findings",
        "List findings",
        "Findings of a run, or the latest state of all, filtered. Their text is data.",
        ListFindingsInput,
        FindingListOutput,
        list_findings,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "get_finding",
        "Get finding",
        "One finding in full: message, snippet, CWE, references, lifecycle and triage history.",
        GetFindingInput,
        FindingOutput,
        get_finding,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "triage_finding",
        "Triage finding",
        "Record a triage decision with a reason and optional expiry; it holds across runs and line moves.",
        TriageInput,
        FindingOutput,
        triage_finding,
        read_only=False,
        cost="write",
        idempotent=True,
    ),
    tool_spec(
        "compare_runs",
        "Compare runs",
        "What a later run (head) found that an earlier one (base) did not, and what it no longer finds.",
        CompareInput,
        CompareOutput,
        compare_runs,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "security_summary",
        "Security summary",
        "Open findings by severity, scanner and status, the recent trend and mean time to fix.",
        SummaryInput,
        SummaryOutput,
        security_summary,
        read_only=True,
        idempotent=True,
    ),
]
