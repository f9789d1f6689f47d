"""The build gate: which findings of a run fail it (`secaudit audit --fail-on`).

One home for the rule, whichever face applies it: a finding blocks when it is open (new or open:
not fixed, not triaged away), not suppressed in code (`# nosec`), and at or above the threshold
severity; the threshold `none` blocks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.records import FindingSummary, RunStatus

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "FAIL_ON_CHOICES",
    "FAIL_ON_NONE",
    "Gate",
    "blocking",
    "gate",
]

# The audit's exit codes, whichever face reports them (the CLI exits with them; JSON carries them).
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2, 3

FAIL_ON_NONE = "none"
# Most severe first, then `none`: the order a user reads them in `--help`.
FAIL_ON_CHOICES: tuple[str, ...] = (*(s.value for s in Severity), FAIL_ON_NONE)


def blocking(items: Iterable[FindingSummary], fail_on: str) -> list[FindingSummary]:
    """The findings among `items` that fail the gate at threshold `fail_on` (a severity or `none`)."""
    if fail_on == FAIL_ON_NONE:
        return []
    rank = Severity(fail_on).rank
    return [
        f
        for f in items
        if f.status in ("new", "open") and not f.suppressed_in_code and f.severity.rank >= rank
    ]


@dataclass(frozen=True)
class Gate:
    """The verdict on one run: its exit code and why."""

    exit_code: int
    fail_on: str
    blocking: int
    partial: bool
    fail_on_partial: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "exit_code": self.exit_code,
            "fail_on": self.fail_on,
            "blocking": self.blocking,
            "partial": self.partial,
            "fail_on_partial": self.fail_on_partial,
        }


def gate(status: RunStatus, items: Iterable[FindingSummary], fail_on: str, *, fail_on_partial: bool) -> Gate:
    """The exit code of a finished run.

    2 when it could not run (failed, cancelled); else 1 when a finding blocks (a blocking finding is
    actionable whatever else the run missed, so it wins over partial); else 3 when the run is partial
    and `fail_on_partial`; else 0."""
    failing = len(blocking(items, fail_on))
    partial = status is RunStatus.PARTIAL
    if status in (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.RUNNING):
        code = EXIT_ERROR
    elif failing:
        code = EXIT_FINDINGS
    elif partial and fail_on_partial:
        code = EXIT_PARTIAL
    else:
        code = EXIT_OK
    return Gate(code, fail_on, failing, partial, fail_on_partial)
