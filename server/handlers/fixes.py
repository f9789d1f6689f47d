"""Fix tools: thin handlers over `FixService` (plan_fix, apply_fix, revert_fix, list_fixes).

Findings are named by id and resolved through `app.finding_source` (the findings service: the
finding as its latest run reported it, and its repository root); plans and fixes by their own ids.
A verified fix marks the finding fixed in the findings store, a revert opens it again.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from pydantic import BaseModel, Field, Strict, StrictBool, StrictInt, StrictStr

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.toolkit import NEXT_CURSOR_NOTE, StrictInput, ToolSpec
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.confirm import check_confirm_digest, confirmation_message, require_digest
from secaudit.tools.fixes.model import FixPlan, FixRecord, FixStatus
from secaudit.tools.fixes.service import ApplyResult, require_one_target

__all__ = ["TOOLS"]

Id = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Digest = Annotated[StrictStr, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]


def _finding(app: AppContext, finding_id: str) -> tuple[Finding, str]:
    found, root = app.finding_source.finding_for_fix(finding_id)
    return found, str(root)


class PlanFixInput(StrictInput):
    finding_id: Id = Field(description="the finding to fix (from list_findings)")


class PlanOutput(BaseModel):
    plan: FixPlan


async def plan_fix(app: AppContext, args: PlanFixInput, call: CallInfo) -> PlanOutput:
    def run() -> FixPlan:
        found, root = _finding(app, args.finding_id)
        return app.fixes.plan(found, root)

    return PlanOutput(plan=await anyio.to_thread.run_sync(run))


class ApplyFixInput(StrictInput):
    plan_id: Id | None = Field(default=None, description="from plan_fix (or finding_id)")
    finding_id: Id | None = Field(default=None, description="plan and apply in one step")
    dry_run: StrictBool = Field(default=True, description="false: write (confirmed)")
    confirm_digest: Digest | None = Field(
        default=None,
        description="from plan_fix, with plan_id: confirms a write without elicitation",
    )


async def apply_fix(app: AppContext, args: ApplyFixInput, call: CallInfo) -> ApplyResult:
    """A write is confirmed by the user through elicitation when the client can ask, else by the
    plan's confirm_digest; never without one (`secaudit.tools.fixes.confirm`)."""
    require_one_target(args.plan_id, args.finding_id, names=("plan_id", "finding_id"))
    service = app.fixes
    if args.dry_run:

        def preview() -> ApplyResult:
            if args.plan_id is not None:
                return service.apply(plan_id=args.plan_id, dry_run=True)
            assert args.finding_id is not None
            found, root = _finding(app, args.finding_id)
            return service.apply(finding=found, root=root, dry_run=True)

        return await anyio.to_thread.run_sync(preview)

    if call.confirm is None:
        plan_id, digest = require_digest(args.plan_id, args.confirm_digest)
        plan = await anyio.to_thread.run_sync(lambda: service.get_plan(plan_id))
        check_confirm_digest(plan, digest)
        return await anyio.to_thread.run_sync(
            lambda: service.apply(plan_id=plan.plan_id, dry_run=False, confirmation="digest")
        )

    def planned() -> FixPlan:
        if args.plan_id is not None:
            return service.get_plan(args.plan_id)
        assert args.finding_id is not None
        found, root = _finding(app, args.finding_id)
        return service.plan(found, root)

    plan = await anyio.to_thread.run_sync(planned)
    if args.confirm_digest is not None:
        check_confirm_digest(plan, args.confirm_digest)
    answer = await call.confirm(app.redactor.redact(confirmation_message(plan)))
    if answer != "accept":
        return ApplyResult(
            dry_run=False,
            plan=plan,
            message=f"the user {'declined' if answer == 'decline' else 'cancelled'} the confirmation: "
            "nothing was written",
            confirmation="declined" if answer == "decline" else "cancelled",
        )
    return await anyio.to_thread.run_sync(
        lambda: service.apply(plan_id=plan.plan_id, dry_run=False, confirmation="elicitation")
    )


class RevertFixInput(StrictInput):
    fix_id: Id


class FixOutput(BaseModel):
    fix: FixRecord


async def revert_fix(app: AppContext, args: RevertFixInput, call: CallInfo) -> FixOutput:
    record = await anyio.to_thread.run_sync(lambda: app.fixes.revert(args.fix_id))
    return FixOutput(fix=record)


class ListFixesInput(StrictInput):
    # Strict(False): JSON carries the status as its string value, never an enum instance; the enum
    # still refuses anything but its values (no int, bool or other string).
    status: list[Annotated[FixStatus, Strict(False)]] | None = Field(default=None, max_length=8)
    finding_fingerprint: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = None


class FixListOutput(BaseModel):
    items: list[FixRecord]
    next_cursor: str | None = Field(description=NEXT_CURSOR_NOTE)


async def list_fixes(app: AppContext, args: ListFixesInput, call: CallInfo) -> FixListOutput:
    page = await anyio.to_thread.run_sync(
        lambda: app.fixes.list(
            statuses=args.status,
            finding_fingerprint=args.finding_fingerprint,
            limit=args.limit,
            cursor=args.cursor,
        )
    )
    return FixListOutput(items=page.items, next_cursor=page.next_cursor)


TOOLS: list[ToolSpec] = [
    ToolSpec(
        name="plan_fix",
        title="Plan fix",
        description="Plan a fix: the exact diff, file hashes, risks, re-lock commands, confirm_digest. "
        "Writes nothing.",
        input_model=PlanFixInput,
        output_model=PlanOutput,
        handler=plan_fix,
        scope="read",
        cost="read",
        read_only=True,
    ),
    ToolSpec(
        name="apply_fix",
        title="Apply fix",
        description="Apply a fix; dry run unless dry_run=false, which needs confirmation (elicitation, "
        "or plan_id + confirm_digest). All files or none, re-scanned, rolled back unless fixed and sound.",
        input_model=ApplyFixInput,
        output_model=ApplyResult,
        handler=apply_fix,
        scope="fix",
        cost="write",
        read_only=False,
        destructive=True,
    ),
    ToolSpec(
        name="revert_fix",
        title="Revert fix",
        description="Restore the exact bytes an applied fix changed; conflict if a file changed since.",
        input_model=RevertFixInput,
        output_model=FixOutput,
        handler=revert_fix,
        scope="fix",
        cost="write",
        read_only=False,
        destructive=True,
    ),
    ToolSpec(
        name="list_fixes",
        title="List fixes",
        description="The fix history, newest first, with status and verification.",
        input_model=ListFixesInput,
        output_model=FixListOutput,
        handler=list_fixes,
        scope="read",
        cost="read",
        read_only=True,
        idempotent=True,
    ),
]
