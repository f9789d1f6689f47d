"""The confirmation a write needs, whatever face asks for it.

A fix is written (`apply_fix` with `dry_run=false`) only when someone who saw the plan said yes:

- a client that can ask its user (MCP elicitation) shows `confirmation_message(plan)` (files, lines
  added and removed, risks; never a diff line, so never a secret) and the write happens only on
  an explicit accept;
- otherwise the caller passes the plan's `confirm_digest` (a digest of exactly what the plan writes:
  root, kind, finding, files with their hashes; returned by plan_fix and every dry run) with its
  `plan_id`: `check_confirm_digest` refuses a missing or different one, and the apply itself still
  refuses files that changed since planning (their hashes, `FixService.apply`);
- the CLI's `--write` is the operator's own confirmation (docs/fixes.md).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from secaudit.tools.fixes.errors import ConfirmationRequired
from secaudit.tools.fixes.model import FixPlan
from secaudit.tools.text import clean_line

__all__ = ["DiffStat", "check_confirm_digest", "confirmation_message", "diff_stats", "require_digest"]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_MAX_FILES_SHOWN = 20
_MAX_RISKS_SHOWN = 5


@dataclass(frozen=True)
class DiffStat:
    path: str
    added: int
    removed: int
    created: bool


def diff_stats(plan: FixPlan) -> list[DiffStat]:
    """Lines added and removed per file, counted from the plan's (masked) diff."""
    counts: dict[str, list[int]] = {f.path: [0, 0] for f in plan.files}
    current: list[int] | None = None
    for line in plan.diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:].removeprefix("b/")
            current = counts.get(target)
            continue
        if line.startswith("--- "):
            continue
        if current is None:
            continue
        if line.startswith("+"):
            current[0] += 1
        elif line.startswith("-"):
            current[1] += 1
    return [DiffStat(f.path, counts[f.path][0], counts[f.path][1], f.created) for f in plan.files]


def confirmation_message(plan: FixPlan) -> str:
    """What the user is asked before a write: the same text for the same content (the question is
    pinned by its wording across the rounds of a confirmation), no diff line, paths cleaned."""
    stats = diff_stats(plan)
    lines = [
        f"Apply a {clean_line(plan.kind, 60)} fix for {clean_line(plan.scanner, 40)} rule "
        f"{clean_line(plan.rule_id, 120)}? It writes {len(stats)} file(s):"
    ]
    for stat in stats[:_MAX_FILES_SHOWN]:
        verb = "create" if stat.created else "change"
        lines.append(f"  {verb} {clean_line(stat.path, 200)} (+{stat.added} -{stat.removed} lines)")
    if len(stats) > _MAX_FILES_SHOWN:
        lines.append(f"  ... and {len(stats) - _MAX_FILES_SHOWN} more")
    for risk in plan.risks[:_MAX_RISKS_SHOWN]:
        lines.append(f"Risk: {clean_line(risk, 300)}")
    lines.append(
        f"Plan content digest {plan.confirm_digest[:12]}. Files changed since planning are refused; "
        "the change is verified and rolled back if it does not remove the finding."
    )
    return "\n".join(lines)


def check_confirm_digest(plan: FixPlan, digest: str) -> None:
    """The digest must be this plan's: what the caller was shown is what gets written."""
    if not _DIGEST.match(digest) or not hmac.compare_digest(digest, plan.confirm_digest):
        raise ConfirmationRequired(
            "confirm_digest does not match this plan: it was shown for another plan or altered; take "
            "plan_fix's confirm_digest for this plan_id (after the user saw its diff)"
        )


def require_digest(plan_id: str | None, digest: str | None) -> tuple[str, str]:
    """Without elicitation a write names the plan that was shown, and its digest."""
    if plan_id is None or digest is None:
        raise ConfirmationRequired(
            "writing a fix needs a confirmation, and this client cannot ask its user (no elicitation "
            "capability): call plan_fix, show the user the diff, then apply_fix with that plan_id, "
            "dry_run=false and the plan's confirm_digest"
        )
    return plan_id, digest
