"""The build gate: which findings of a run fail it (`secaudit audit --fail-on`).

One home for the rule, whichever face applies it: a finding blocks when it is open (new or open:
not fixed, not triaged away), not suppressed in code (`# nosec`), and at or above the threshold
severity; the threshold `none` blocks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.records import FindingSummary

__all__ = ["FAIL_ON_CHOICES", "FAIL_ON_NONE", "blocking"]

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
