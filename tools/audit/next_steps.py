"""What to call after an audit: short structured hints (a tool and why), from facts about the run.

Pure: the caller gathers the facts (the run, whether the advisory database is empty, how many
open findings have an automatic fix, whether more findings follow the first page) and this decides.
Tool names are the MCP tools'; the CLI shows the same hints beside its own commands.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from secaudit.tools.findings.coverage import incomplete_scanners, run_coverage_note
from secaudit.tools.findings.records import RunRecord, RunStatus

__all__ = ["NextStep", "next_steps"]

_UNCOVERED_NOTE = "ecosystems NOT checked"


class NextStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str = Field(description="the tool to call next")
    why: str = Field(description="what it gives, in one or two sentences")


def next_steps(
    run: RunRecord,
    *,
    advisories_empty: bool,
    fixable: Mapping[str, int],
    more_findings: bool,
) -> list[NextStep]:
    steps: list[NextStep] = []
    deps_ran = "deps" in run.scanners
    deps_uncovered = any(
        cov.scanner == "deps" and any(n.startswith(_UNCOVERED_NOTE) for n in cov.notes)
        for cov in run.coverage
    )
    if deps_ran and (advisories_empty or deps_uncovered):
        what = (
            "the offline advisory database is empty"
            if advisories_empty
            else "the advisory database has no advisories for some of the repository's ecosystems"
        )
        steps.append(
            NextStep(
                tool="import_advisories",
                why=f"{what}, so those dependencies were not checked for known vulnerabilities: import an "
                "OSV export (a folder of records, a .json file or an OSV all.zip, inside the allowed roots; "
                "`secaudit db update` downloads the PyPI and npm exports), then run_audit again.",
            )
        )
    note = run_coverage_note(run)
    if note is not None:
        missing = incomplete_scanners(run)
        if run.status == RunStatus.CANCELLED:
            todo = "run_audit again to cover everything."
        else:
            todo = (
                "get_run lists the skipped files with reasons; fix what is named (install a missing engine "
                "with `secaudit engines install`, raise SECAUDIT_SCANNER_TIMEOUT, audit fewer `paths`) or "
                "leave those scanners out with `scanners`, then run_audit again."
            )
        if set(missing) == {"deps"} and steps:
            todo = "import advisories (above), then run_audit again."
        steps.append(NextStep(tool="get_run", why=f"{note} {todo}"))
    total = sum(fixable.values())
    if total:
        kinds = ", ".join(f"{kind}: {count}" for kind, count in fixable.items())
        steps.append(
            NextStep(
                tool="plan_fix",
                why=f"{total} open findings have an automatic fix ({kinds}; `fixable` in the listing): "
                "plan_fix with a finding id shows the exact diff; apply_fix with dry_run=false writes and "
                "verifies it once confirmed (the user accepts, or plan_id with the plan's confirm_digest).",
            )
        )
    if run.findings_total > total:
        steps.append(
            NextStep(
                tool="get_finding",
                why=f"the other {run.findings_total - total} findings have no automatic fix (or were "
                "triaged): get_finding gives the message, snippet and CWE to fix one by hand; "
                "triage_finding records a decision with a reason.",
            )
        )
    if more_findings:
        steps.append(
            NextStep(
                tool="list_findings",
                why="only the first findings are in this result: list_findings with this run_id and the "
                "cursor pages through the rest.",
            )
        )
    return steps
