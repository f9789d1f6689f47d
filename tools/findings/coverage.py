"""What a run did not cover, in one sentence: for the security summary and the next steps of a run.

A run that is not `succeeded` must never read as clean; this names the scanners that stopped early
or failed and why (their error, else their first note), bounded, with the run's own error.
"""

from __future__ import annotations

from secaudit.tools.findings.records import UNMATCHED_PATH_REASON, RunRecord, RunStatus
from secaudit.tools.text import clean_line, first_few

__all__ = ["incomplete_scanners", "run_coverage_note"]

_REASON_CHARS = 200
_MAX_NAMED = 6


def incomplete_scanners(run: RunRecord) -> dict[str, str]:
    """Scanner -> why it did not cover everything (bounded, one line each)."""
    out: dict[str, str] = {}
    for cov in run.coverage:
        if cov.complete:
            continue
        reason = cov.error or next(iter(cov.notes), None) or "stopped early"
        out[cov.scanner] = clean_line(reason, _REASON_CHARS)
    return out


def run_coverage_note(run: RunRecord | None) -> str | None:
    """None when the run covered everything it was asked to; else what it missed."""
    if run is None or run.status in (RunStatus.SUCCEEDED, RunStatus.RUNNING):
        return None
    missing = incomplete_scanners(run)
    named = "; ".join(f"{name}: {why}" for name, why in list(missing.items())[:_MAX_NAMED])
    if len(missing) > _MAX_NAMED:
        named += f"; and {len(missing) - _MAX_NAMED} more scanners"
    parts = [f"run {run.id} is {run.status.value}"]
    unmatched = [s.path for s in run.skips if s.scanner == "walker" and s.reason == UNMATCHED_PATH_REASON]
    if unmatched:
        # The run may be read with only its first skips (the summary reads three): no count here.
        shown = first_few([clean_line(p, 80) for p in unmatched], 3)
        parts.append(
            f"`paths` entries matched no file and were not checked ({shown}; entries are relative to "
            "the audited folder)"
        )
    if named:
        parts.append(f"not fully covered by {named}")
    elif run.error:
        parts.append(clean_line(run.error, _REASON_CHARS))
    return (
        ", ".join(parts)
        + ". Findings in what was not scanned are missing: the counts are not a clean bill of health."
    )
