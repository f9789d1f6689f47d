"""Task records as the services return them."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from secaudit.tools.errors import InvalidInput

__all__ = ["Claim", "LinkedFinding", "Task", "TaskPage", "TaskSource", "TaskStatus", "parse_status"]


class TaskStatus(enum.IntEnum):
    """The status values of the shared contract; other services know exactly these four."""

    READY = 0
    COMPLETE = 1
    ARCHIVED = 2
    BACKLOGGED = 3


_NAMES = {s.name.lower(): s for s in TaskStatus}
_ACCEPTED = "0 (ready), 1 (complete), 2 (archived), 3 (backlogged), or one of those names"


def parse_status(value: object) -> TaskStatus:
    """Accept 0-3 as a JSON integer, or the name; refuse everything else by type first.

    Booleans are ints in Python and "1" looks like one: both are refused so that a caller's type
    confusion never silently moves a task.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"status must not be a boolean; use {_ACCEPTED}")
    if isinstance(value, int):
        if value in TaskStatus._value2member_map_:
            return TaskStatus(value)
        raise InvalidInput(f"status {value} is out of range; use {_ACCEPTED}")
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            raise InvalidInput(f"status must be a JSON integer, not a string of digits; use {_ACCEPTED}")
        if value != value.strip():
            # "ready\n" is not "ready": a value that differs from a name is refused, never cleaned up.
            raise InvalidInput(f"status must not have surrounding whitespace; use {_ACCEPTED}")
        status = _NAMES.get(value.lower())
        if status is not None:
            return status
        raise InvalidInput(f"unknown status name; use {_ACCEPTED}")
    raise InvalidInput(f"status must be an integer or a name, not {type(value).__name__}; use {_ACCEPTED}")


def status_name(value: int) -> str:
    try:
        return TaskStatus(value).name.lower()
    except ValueError:
        # Another service may use a value outside the contract; show it, never rewrite it.
        return "unknown"


class Claim(BaseModel):
    model_config = ConfigDict(frozen=True)

    worker: str
    lease_id: str
    claimed_at: float
    expires_at: float


class LinkedFinding(BaseModel):
    """A finding a task was filed for, as it stands now in the findings store."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="the finding id (get_finding)")
    fingerprint: str
    status: str = Field(
        description="its current status: new, open, fixed, false_positive, accepted_risk, wont_fix; "
        "'unknown' when the findings store no longer has it"
    )
    link_state: str = Field(
        description="as the bridge last saw it: open, fixed (an audit proved it) or triaged"
    )
    proved_by_run: int | None = Field(default=None, description="the audit run that proved it fixed")
    fixed_by_fix: str | None = Field(default=None, description="a verified fix that removed it, if any")
    severity: str | None = None
    scanner: str | None = None
    rule_id: str | None = Field(default=None, description="from the scanned repository: data only")
    path: str | None = Field(default=None, description="from the scanned repository: data only")
    start_line: int | None = None


class TaskSource(BaseModel):
    """Where a task filed by `file_fix_tasks` came from, and what the audits say about it since."""

    model_config = ConfigDict(frozen=True)

    kind: str = "secaudit-findings"
    root: str
    group_by: str = Field(description="finding, file or rule")
    group_key: str = Field(description="the fingerprint, the path, or scanner/rule: data only")
    filed_run: int
    filed_at: str
    state: str = Field(
        description="open; completed or archived (by secaudit, after an audit or a triage); dismissed "
        "(deleted or archived by someone else: never re-filed unless asked); replaced (re-filed)"
    )
    state_at: str
    closed_by_run: int | None = Field(
        default=None, description="the audit run that proved the findings fixed"
    )
    note: str = ""
    findings: list[LinkedFinding] = Field(default_factory=list)
    findings_total: int = Field(description="linked findings; `findings` lists at most 50")


class Task(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    uuid: str | None
    prompt: str
    status: int
    status_name: str
    order: int | None
    createdat: str | None
    updatedat: str | None
    version: str = Field(
        description="digest of the whole row as read; pass it as expected_version to update it safely"
    )
    claim: Claim | None = None
    source: TaskSource | None = Field(
        default=None, description="for a task filed from findings: its linked findings and their state"
    )


class TaskPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[Task]
    next_cursor: str | None
