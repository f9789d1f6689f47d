"""The bridge from findings to the task operator: fix tasks filed, de-duplicated, closed by audits.

Filing (`file`). The findings an audit run reported that are still open (not fixed since, no live
triage, not `# nosec`), at or above a severity, become ready rows of the shared `tasks` table: one
per finding, or one per file or per rule (`group_by`). Each row gets a fresh uuid, an `"order"`
from severity then path (`prompts.findings_order`) and a self-contained prompt (`prompts.py`). The
link tables (`links.py`, in the tasks database) map each finding to the one task that holds it, so
filing again creates nothing for a finding that already has a task. A task deleted or archived by
someone else is respected: its findings are not filed again unless `refile_dismissed` is asked.

Closing (`reconcile`). The bridge observes the findings service (`tools/findings/observers.py`):
after every audit run, triage decision and fix revert it compares each linked finding's state in
the store with the state it last saw, and moves the task:

    every finding fixed (proved by an audit: `fixed_run`)    ready/backlogged -> complete (1)
    every finding triaged away (or fixed and triaged)         ready/backlogged -> archived (2)
    a finding open again after we completed or archived      complete (or archived by us) -> ready (0)

A task another program archived or deleted is `dismissed` and never moved again. Each transition
goes through the row-version check (`TaskService.write_changes`) inside the transaction that read
the row, so a concurrent change by the operator is never overwritten: its write either commits
before ours (and we decide on what it wrote) or waits for ours.

Ordering when the tasks live in another database file (`SECAUDIT_TASKS_DB`): the findings change
commits in the store first; then, in one transaction of the tasks database, the bridge reads the
store's current state and writes the tasks and their links. The decision is taken from state, not
from the event, so a crash between the two commits is repaired by the next reconcile (any later
audit or triage of that root, or filing from it), and running it twice changes nothing. When both
live in one file, the bridge's writes are part of the findings' own transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from secaudit.tools.errors import Conflict, InvalidInput, SecauditError
from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.records import FindingRecord, RunStatus
from secaudit.tools.findings.service import FindingsService
from secaudit.tools.findings.states import FindingState, current_states, open_findings_of_run
from secaudit.tools.fixes.model import FixPlan
from secaudit.tools.tasks.models import LinkedFinding, Task, TaskSource, TaskStatus, status_name
from secaudit.tools.tasks.prompts import FixNote, PromptGroup, diff_counts, findings_order, fit_prompt
from secaudit.tools.tasks.service import TaskService, row_version
from secaudit.tools.text import clean_line
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = [
    "GROUP_MODES",
    "ExistingTask",
    "FileReport",
    "FileRequest",
    "FiledTask",
    "ReconcileReport",
    "TaskBridge",
]

log = logging.getLogger("secaudit.tasks")

GroupBy = Literal["finding", "file", "rule"]
GROUP_MODES: tuple[GroupBy, ...] = ("finding", "file", "rule")
MAX_TASKS_PER_CALL = 10_000
_LISTED = 200
_PROMPTS_SHOWN = 10
_MEMBERS_SHOWN = 50
_CHUNK = 500
_TRIAGED = ("false_positive", "accepted_risk", "wont_fix")
_LIVE_LINKS = ("open", "completed", "archived")

Planner = Callable[[str], FixPlan]


class FileRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: int = Field(ge=1)
    min_severity: Severity = Severity.MEDIUM
    scanners: tuple[str, ...] | None = Field(default=None, max_length=50)
    rules: tuple[str, ...] | None = Field(default=None, max_length=50)
    path_glob: str | None = Field(default=None, min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    group_by: GroupBy = "finding"
    max_tasks: int | None = Field(default=None, ge=1, le=MAX_TASKS_PER_CALL)
    dry_run: bool = True
    refile_dismissed: bool = False
    plan_fixes: bool = True


class FiledTask(BaseModel):
    task_id: int | None = Field(description="null in a dry run")
    uuid: str | None = Field(description="null in a dry run")
    group_key: str = Field(description="fingerprint, path, or scanner/rule (data from the repository)")
    label: str = Field(description="what and where, for a reader: rule and path (data from the repository)")
    order: int
    severity: str
    finding_ids: list[str]
    plan_ids: list[str] = Field(default_factory=list, description="mechanical fixes planned for them")
    prompt: str | None = Field(default=None, description="the prompt (dry runs show the first ones)")


class ExistingTask(BaseModel):
    task_id: int
    status: int | None = Field(description="the task's status now; null when the row is gone")
    status_name: str
    link_state: str
    finding_ids: list[str] = Field(description="the findings of this filing it already holds (first 50)")
    findings_total: int


class FileReport(BaseModel):
    dry_run: bool
    run_id: int
    root: str
    group_by: str
    min_severity: str
    findings_considered: int
    tasks_filed: int
    findings_filed: int
    findings_existing: int = Field(description="already linked to a task")
    findings_dismissed: int = Field(description="task deleted/archived")
    groups_over_max: int
    filed: list[FiledTask]
    existing: list[ExistingTask]
    dismissed: list[ExistingTask]
    truncated: bool = Field(description="lists cut at 200; counts exact")
    notes: list[str] = Field(default_factory=list)


class ReconcileReport(BaseModel):
    root: str
    completed: list[int] = Field(default_factory=list)
    archived: list[int] = Field(default_factory=list)
    readied: list[int] = Field(default_factory=list)
    dismissed: list[int] = Field(default_factory=list)
    findings_changed: int = 0

    def notes(self) -> list[str]:
        parts = []
        for label, ids in (
            ("completed", self.completed),
            ("archived", self.archived),
            ("re-readied", self.readied),
            ("dismissed (changed by someone else)", self.dismissed),
        ):
            if ids:
                shown = ", ".join(f"#{i}" for i in ids[:20]) + (
                    f" and {len(ids) - 20} more" if len(ids) > 20 else ""
                )
                parts.append(f"{label} {shown}")
        return ["tasks: " + "; ".join(parts)] if parts else []


@dataclass(frozen=True)
class _Head:
    """What the bridge decides on: a task's uuid (is it still the row we filed?) and its status."""

    uuid: str | None
    status: object


@dataclass
class _Link:
    task_id: int
    uuid: str
    state: str
    group_key: str = ""


@dataclass
class _Member:
    task_id: int
    fingerprint: str
    state: str
    state_run: int | None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


class TaskBridge:
    def __init__(
        self,
        tasks: TaskService,
        findings: FindingsService,
        *,
        planner: Planner | None = None,
        autoclose: bool = True,
        max_plans: int = 200,
    ) -> None:
        self.tasks = tasks
        self.findings = findings
        self.planner = planner
        self.max_plans = max_plans
        # One file: the bridge writes inside the findings' own transaction. Two files (or two Store
        # objects on one file, whose connections would wait on each other): after the store commits.
        self.atomic = tasks.store is findings.store
        self.autoclose = autoclose
        if autoclose:
            findings.add_observer(self)

    # -- the observer side ----------------------------------------------------------------------

    def in_transaction(self, conn: sqlite3.Connection, root: str, run_id: int | None) -> list[str]:
        if not self.atomic:
            return []
        return self._reconcile_in(conn, root).notes()

    def after_commit(self, root: str, run_id: int | None) -> list[str]:
        if self.atomic:
            return []
        return self._reconcile_separate(root).notes()

    def reconcile(self, root: str) -> ReconcileReport:
        """Bring every task linked to findings of `root` in line with the findings' current state."""
        if self.atomic:
            with self.findings.store.write() as conn:
                return self._reconcile_in(conn, root)
        return self._reconcile_separate(root)

    def _reconcile_separate(self, root: str) -> ReconcileReport:
        # The tasks lock is taken first and the store read under it: two reconciles are serialised,
        # and the later one always decides on the newer state of the findings.
        with self.tasks.store.write() as tconn, self.findings.store.read() as sconn:
            return self._reconcile(tconn, sconn, root)

    def _reconcile_in(self, conn: sqlite3.Connection, root: str) -> ReconcileReport:
        with self.tasks.store.write() as tconn:  # joins the store's transaction: the same connection
            return self._reconcile(tconn, conn, root)

    def _reconcile(self, tconn: sqlite3.Connection, sconn: sqlite3.Connection, root: str) -> ReconcileReport:
        report = ReconcileReport(root=root)
        links = {
            int(r[0]): _Link(int(r[0]), str(r[1]), str(r[2]))
            for r in tconn.execute(
                "SELECT task_id, task_uuid, state FROM secaudit_task_links"
                " WHERE root = ? AND state IN ('open', 'completed', 'archived')",
                (root,),
            )
        }
        if not links:
            return report
        members: dict[int, list[_Member]] = {}
        for r in tconn.execute(
            "SELECT m.task_id, m.fingerprint, m.state, m.state_run FROM secaudit_task_link_findings m"
            " JOIN secaudit_task_links l ON l.task_id = m.task_id"
            " WHERE l.root = ? AND l.state IN ('open', 'completed', 'archived')",
            (root,),
        ):
            members.setdefault(int(r[0]), []).append(_Member(int(r[0]), str(r[1]), str(r[2]), r[3]))
        states = current_states(sconn, root, [m.fingerprint for ms in members.values() for m in ms])
        rows = self._task_rows(tconn, list(links))
        stamp = now_iso()
        member_updates: list[tuple[str, int | None, str, str, str]] = []
        link_updates: list[tuple[str, str, int | None, str, int]] = []
        for task_id, link in links.items():
            row = rows.get(task_id)
            changed = False
            for m in members.get(task_id, []):
                new_state, new_run = _member_state(states.get(m.fingerprint))
                if (new_state, new_run) != (m.state, m.state_run):
                    member_updates.append((new_state, new_run, stamp, root, m.fingerprint))
                    m.state, m.state_run = new_state, new_run
                    changed = True
            if changed:
                report.findings_changed += 1
            if row is None or row.uuid != link.uuid:
                link_updates.append(
                    ("dismissed", stamp, None, "the task row was deleted by someone else", task_id)
                )
                report.dismissed.append(task_id)
                continue
            status = row.status
            kept = [m for m in members.get(task_id, []) if m.state != "gone"]
            if not kept:
                continue
            fixed_runs = [m.state_run for m in kept if m.state == "fixed" and m.state_run is not None]
            any_open = any(m.state == "open" for m in kept)
            if status == TaskStatus.ARCHIVED and link.state != "archived":
                link_updates.append(("dismissed", stamp, None, "archived by someone else", task_id))
                report.dismissed.append(task_id)
                continue
            if any_open:
                if link.state in ("completed", "archived"):
                    if status in (TaskStatus.COMPLETE, TaskStatus.ARCHIVED):
                        self._move(tconn, task_id, status, TaskStatus.READY)
                        report.readied.append(task_id)
                    link_updates.append(("open", stamp, None, "a finding is open again", task_id))
                continue
            if link.state == "completed" or (link.state == "archived" and not fixed_runs):
                # Closed before, on this same evidence: whatever the operator did with the task since
                # (made it ready again, say) is theirs; only a finding coming back re-opens it.
                continue
            if fixed_runs:
                proof = max(fixed_runs)
                if status in (TaskStatus.READY, TaskStatus.BACKLOGGED, TaskStatus.ARCHIVED):
                    self._move(tconn, task_id, status, TaskStatus.COMPLETE)
                    report.completed.append(task_id)
                link_updates.append(
                    ("completed", stamp, proof, f"audit run {proof} shows the findings fixed", task_id)
                )
                continue
            # Every finding left is triaged away.
            if status in (TaskStatus.READY, TaskStatus.BACKLOGGED):
                self._move(tconn, task_id, status, TaskStatus.ARCHIVED)
                report.archived.append(task_id)
                link_updates.append(("archived", stamp, None, "its findings were triaged away", task_id))
            elif link.state == "open":
                # Completed by the operator meanwhile: closed, and nothing for us to write.
                link_updates.append(
                    ("completed", stamp, None, "completed; its findings were triaged away", task_id)
                )
        tconn.executemany(
            "UPDATE secaudit_task_link_findings SET state = ?, state_run = ?, state_at = ?"
            " WHERE root = ? AND fingerprint = ?",
            member_updates,
        )
        tconn.executemany(
            "UPDATE secaudit_task_links SET state = ?, state_at = ?, closed_by_run = ?, note = ?"
            " WHERE task_id = ?",
            link_updates,
        )
        return report

    @staticmethod
    def _task_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, _Head]:
        """id -> (uuid, status) of each given task that exists: what every decision needs."""
        out: dict[int, _Head] = {}
        for part in _chunks(list(ids)):
            for r in conn.execute(
                f"SELECT id, uuid, status FROM tasks WHERE id IN ({','.join('?' * len(part))})",  # noqa: S608 - placeholders only
                part,
            ):
                out[int(r[0])] = _Head(None if r[1] is None else str(r[1]), r[2])
        return out

    def _move(self, conn: sqlite3.Connection, task_id: int, seen: object, status: TaskStatus) -> None:
        """One transition, inside the caller's transaction, through the row-version check: the row
        as it is now (every column) must still have the status the decision was made on."""
        cur = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,))
        row = cur.fetchone()
        names = [str(d[0]) for d in cur.description]
        if row is None or dict(zip((n.lower() for n in names), row, strict=True)).get("status") != seen:
            raise Conflict(f"task {task_id} changed while its transition was decided")
        version = row_version(names, tuple(row))
        self.tasks.write_changes(conn, task_id, {"status": int(status)}, expected_version=version)

    # -- filing ---------------------------------------------------------------------------------

    def file(self, request: FileRequest) -> FileReport:
        run = self.findings.run_with_findings(request.run_id)
        if run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
            raise InvalidInput(
                f"run {run.id} is {run.status.value}; file tasks from a finished audit run "
                "(succeeded or partial): list_runs shows them"
            )
        root = run.root
        if not request.dry_run and self.autoclose:
            self.reconcile(root)
        with self.findings.store.read() as sconn:
            # Again in this snapshot: a concurrent run's retention may have pruned it since.
            self.findings.run_with_findings(run.id)
            records = open_findings_of_run(
                sconn,
                run.id,
                min_severity=request.min_severity,
                scanners=request.scanners,
                rules=request.rules,
                path_glob=request.path_glob,
            )
        groups = _group(records, request.group_by)
        with self.tasks.store.read() as tconn:
            linked, rows = self._linked(tconn, root, [f.fingerprint for f in records])
        plan = self._partition(groups, linked, rows, request)
        if request.plan_fixes and self.planner is not None:
            self._plan(plan.to_file, root)
        report = FileReport(
            dry_run=request.dry_run,
            run_id=run.id,
            root=root,
            group_by=request.group_by,
            min_severity=request.min_severity.value,
            findings_considered=len(records),
            tasks_filed=0,
            findings_filed=0,
            findings_existing=plan.existing_count,
            findings_dismissed=plan.dismissed_count,
            groups_over_max=plan.over_max,
            filed=[],
            existing=plan.existing[:_LISTED],
            dismissed=plan.dismissed[:_LISTED],
            truncated=False,
        )
        if run.status is RunStatus.PARTIAL:
            report.notes.append(
                f"run {run.id} is partial: findings in what it did not cover are not in it "
                "(get_run says what it skipped)"
            )
        if request.dry_run:
            for index, group in enumerate(plan.to_file):
                report.filed.append(self._filed(group, None, None, show_prompt=index < _PROMPTS_SHOWN))
            report.tasks_filed = len(plan.to_file)
            report.findings_filed = sum(len(g.findings) for g in plan.to_file)
        else:
            self._write(plan.to_file, root, run.id, request, report)
        report.truncated = (
            len(report.filed) > _LISTED or len(plan.existing) > _LISTED or len(plan.dismissed) > _LISTED
        )
        report.filed = report.filed[:_LISTED]
        return report

    def _filed(
        self, group: PromptGroup, task_id: int | None, uuid: str | None, *, show_prompt: bool
    ) -> FiledTask:
        return FiledTask(
            task_id=task_id,
            uuid=uuid,
            group_key=clean_line(group.group_key, 300),
            label=_label(group),
            order=findings_order(group.findings),
            severity=max(group.findings, key=lambda f: f.severity.rank).severity.value,
            finding_ids=[f.id for f in group.findings][:_MEMBERS_SHOWN],
            plan_ids=[n.plan_id for n in group.fixes.values() if n.plan_id][:_MEMBERS_SHOWN],
            prompt=fit_prompt(group, self.tasks.max_prompt_bytes) if show_prompt else None,
        )

    def _linked(
        self, tconn: sqlite3.Connection, root: str, fingerprints: Sequence[str]
    ) -> tuple[dict[str, _Link], dict[int, _Head]]:
        """fingerprint -> the link of the task holding it, with `state` as it stands now: a live
        link whose task row is gone or was archived by someone else counts as dismissed."""
        by_fp: dict[str, int] = {}
        for part in _chunks(list(dict.fromkeys(fingerprints))):
            for r in tconn.execute(
                "SELECT fingerprint, task_id FROM secaudit_task_link_findings"  # noqa: S608 - placeholders only
                f" WHERE root = ? AND fingerprint IN ({','.join('?' * len(part))})",
                [root, *part],
            ):
                by_fp[str(r[0])] = int(r[1])
        task_ids = sorted(set(by_fp.values()))
        links: dict[int, _Link] = {}
        for part in _chunks(task_ids):
            for r in tconn.execute(
                "SELECT task_id, task_uuid, state, group_key FROM secaudit_task_links"  # noqa: S608 - placeholders only
                f" WHERE task_id IN ({','.join('?' * len(part))})",
                part,
            ):
                links[int(r[0])] = _Link(int(r[0]), str(r[1]), str(r[2]), str(r[3]))
        rows = self._task_rows(tconn, task_ids)
        for link in links.values():
            row = rows.get(link.task_id)
            if link.state in _LIVE_LINKS and (
                row is None
                or row.uuid != link.uuid
                or (row.status == TaskStatus.ARCHIVED and link.state != "archived")
            ):
                link.state = "dismissed"
        return {fp: links[tid] for fp, tid in by_fp.items() if tid in links}, rows

    @staticmethod
    def _partition(
        groups: dict[str, list[FindingRecord]],
        linked: dict[str, _Link],
        rows: dict[int, _Head],
        request: FileRequest,
    ) -> _Partition:
        part = _Partition()
        existing: dict[int, list[str]] = {}
        dismissed: dict[int, list[str]] = {}
        candidates: list[PromptGroup] = []
        for key, findings in groups.items():
            fresh: list[FindingRecord] = []
            for f in findings:
                link = linked.get(f.fingerprint)
                if link is None:
                    fresh.append(f)
                elif link.state == "dismissed":
                    if request.refile_dismissed:
                        fresh.append(f)
                    else:
                        dismissed.setdefault(link.task_id, []).append(f.id)
                        part.dismissed_count += 1
                else:
                    existing.setdefault(link.task_id, []).append(f.id)
                    part.existing_count += 1
            if fresh:
                root = findings[0].root
                candidates.append(PromptGroup(root, request.group_by, key, request.run_id, fresh))
        candidates.sort(key=lambda g: (findings_order(g.findings), g.group_key))
        limit = request.max_tasks if request.max_tasks is not None else MAX_TASKS_PER_CALL
        part.to_file = candidates[:limit]
        part.over_max = max(0, len(candidates) - limit)
        states = {lk.task_id: lk.state for lk in linked.values()}
        for target, source, link_state in (
            (part.existing, existing, None),
            (part.dismissed, dismissed, "dismissed"),
        ):
            for task_id, ids in source.items():
                row = rows.get(task_id)
                status = None if row is None else row.status
                state = link_state or states.get(task_id, "open")
                target.append(
                    ExistingTask(
                        task_id=task_id,
                        status=status if isinstance(status, int) else None,
                        status_name="deleted"
                        if row is None
                        else (status_name(status) if isinstance(status, int) else "unknown"),
                        link_state=state,
                        finding_ids=ids[:_MEMBERS_SHOWN],
                        findings_total=len(ids),
                    )
                )
        return part

    def _plan(self, groups: Sequence[PromptGroup], root: str) -> None:
        assert self.planner is not None
        budget = self.max_plans
        for group in groups:
            for f in group.findings:
                if budget <= 0:
                    return
                budget -= 1
                try:
                    plan = self.planner(f.id)
                except SecauditError as exc:
                    # "no automatic fix for X; fixes exist for: <every supported rule>": the list is
                    # for a person choosing a rule, not for an agent fixing this one.
                    group.fixes[f.fingerprint] = FixNote(reason=str(exc).split("; fixes exist for")[0])
                    continue
                except Exception:
                    log.warning("planning a fix for finding %s failed", f.id, exc_info=True)
                    group.fixes[f.fingerprint] = FixNote(reason="the fix planner failed on this finding")
                    continue
                added, removed = diff_counts(plan.diff)
                group.fixes[f.fingerprint] = FixNote(
                    plan_id=plan.plan_id,
                    confirm_digest=plan.confirm_digest,
                    kind=plan.kind,
                    summary=plan.summary,
                    files=tuple(p.path for p in plan.files),
                    added=added,
                    removed=removed,
                    diff=plan.diff,
                )

    def _write(
        self, groups: Sequence[PromptGroup], root: str, run_id: int, request: FileRequest, report: FileReport
    ) -> None:
        prompts = {id(g): fit_prompt(g, self.tasks.max_prompt_bytes) for g in groups}
        stamp = now_iso()
        with self.tasks.store.write() as tconn:
            # Checked again under the write lock: a concurrent filing may have linked some of them.
            linked, _rows = self._linked(tconn, root, [f.fingerprint for g in groups for f in g.findings])
            for group in groups:
                keep = [
                    f
                    for f in group.findings
                    if f.fingerprint not in linked
                    or (request.refile_dismissed and linked[f.fingerprint].state == "dismissed")
                ]
                if not keep:
                    report.findings_existing += len(group.findings)
                    continue
                if len(keep) != len(group.findings):
                    report.findings_existing += len(group.findings) - len(keep)
                    group.findings = keep
                    prompts[id(group)] = fit_prompt(group, self.tasks.max_prompt_bytes)
                order = findings_order(group.findings)
                task_id, task_uuid = self.tasks.insert(tconn, prompts[id(group)], order=order)
                tconn.execute(
                    "INSERT INTO secaudit_task_links (task_id, task_uuid, root, group_by, group_key,"
                    " filed_run, filed_at, state, state_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                    (task_id, task_uuid, root, group.group_by, group.group_key, run_id, stamp, stamp),
                )
                moved = {linked[f.fingerprint].task_id for f in group.findings if f.fingerprint in linked}
                tconn.executemany(
                    "INSERT INTO secaudit_task_link_findings (root, fingerprint, finding_id, task_id,"
                    " state, state_run, state_at) VALUES (?, ?, ?, ?, 'open', NULL, ?)"
                    " ON CONFLICT (root, fingerprint) DO UPDATE SET finding_id = excluded.finding_id,"
                    " task_id = excluded.task_id, state = 'open', state_run = NULL,"
                    " state_at = excluded.state_at",
                    [(root, f.fingerprint, f.id, task_id, stamp) for f in group.findings],
                )
                for old in moved:
                    # A re-filed task keeps its history; with no finding left it is marked replaced.
                    tconn.execute(
                        "UPDATE secaudit_task_links SET state = CASE WHEN EXISTS (SELECT 1 FROM"
                        " secaudit_task_link_findings m WHERE m.task_id = secaudit_task_links.task_id)"
                        " THEN 'dismissed' ELSE 'replaced' END, state_at = ?, note = ? WHERE task_id = ?",
                        (stamp, f"findings re-filed as task {task_id}", old),
                    )
                report.tasks_filed += 1
                report.findings_filed += len(group.findings)
                if len(report.filed) <= _LISTED:
                    report.filed.append(self._filed(group, task_id, task_uuid, show_prompt=False))

    # -- reads for the operator -----------------------------------------------------------------

    def with_sources(self, tasks: Sequence[Task]) -> list[Task]:
        """The tasks, each filed from findings with its `source`: the link and the linked findings'
        current state in the findings store."""
        ids = [t.id for t in tasks]
        if not ids:
            return list(tasks)
        links: dict[int, dict[str, Any]] = {}
        members: dict[int, list[_Member]] = {}
        totals: dict[int, int] = {}
        with self.tasks.store.read() as tconn:
            for part in _chunks(ids):
                marks = ",".join("?" * len(part))
                cur = tconn.execute(f"SELECT * FROM secaudit_task_links WHERE task_id IN ({marks})", part)  # noqa: S608 - placeholders only
                names = [str(d[0]) for d in cur.description]
                for r in cur.fetchall():
                    links[int(r[0])] = dict(zip(names, r, strict=True))
                for r in tconn.execute(
                    "SELECT task_id, fingerprint, state, state_run FROM secaudit_task_link_findings"  # noqa: S608 - placeholders only
                    f" WHERE task_id IN ({marks}) ORDER BY task_id, fingerprint",
                    part,
                ):
                    tid = int(r[0])
                    totals[tid] = totals.get(tid, 0) + 1
                    if len(members.setdefault(tid, [])) < _MEMBERS_SHOWN:
                        members[tid].append(_Member(tid, str(r[1]), str(r[2]), r[3]))
        if not links:
            return list(tasks)
        by_root: dict[str, list[str]] = {}
        for tid, row in links.items():
            by_root.setdefault(str(row["root"]), []).extend(m.fingerprint for m in members.get(tid, []))
        states: dict[tuple[str, str], FindingState] = {}
        with self.findings.store.read() as sconn:
            for root, fps in by_root.items():
                for fp, state in current_states(sconn, root, fps).items():
                    states[(root, fp)] = state
        out: list[Task] = []
        for task in tasks:
            link = links.get(task.id)
            if link is None or link["task_uuid"] != task.uuid:
                out.append(task)
                continue
            root = str(link["root"])
            linked = []
            for m in members.get(task.id, []):
                s = states.get((root, m.fingerprint))
                linked.append(
                    LinkedFinding(
                        id=s.finding_id if s else "",
                        fingerprint=m.fingerprint,
                        status=s.status if s else "unknown",
                        link_state=m.state,
                        proved_by_run=m.state_run,
                        fixed_by_fix=s.fixed_by_fix if s else None,
                        severity=s.severity if s else None,
                        scanner=s.scanner if s else None,
                        rule_id=clean_line(s.rule_id, 200) if s else None,
                        path=clean_line(s.path, 500) if s else None,
                        start_line=s.start_line if s else None,
                    )
                )
            source = TaskSource(
                root=root,
                group_by=str(link["group_by"]),
                group_key=clean_line(str(link["group_key"]), 300),
                filed_run=int(link["filed_run"]),
                filed_at=str(link["filed_at"]),
                state=str(link["state"]),
                state_at=str(link["state_at"]),
                closed_by_run=link["closed_by_run"],
                note=str(link["note"]),
                findings=linked,
                findings_total=totals.get(task.id, 0),
            )
            out.append(task.model_copy(update={"source": source}))
        return out


class _Partition:
    def __init__(self) -> None:
        self.to_file: list[PromptGroup] = []
        self.existing: list[ExistingTask] = []
        self.dismissed: list[ExistingTask] = []
        self.existing_count = 0
        self.dismissed_count = 0
        self.over_max = 0


def _member_state(state: FindingState | None) -> tuple[str, int | None]:
    """A linked finding's state for its task: fixed only when an audit proved it (`fixed_run`); a
    finding a verified fix marked is still open here until an audit that looked confirms it."""
    if state is None:
        return "gone", None
    if state.status in _TRIAGED:
        return "triaged", None
    if state.status == "fixed" and state.fixed_run is not None:
        return "fixed", state.fixed_run
    return "open", None


def _label(group: PromptGroup) -> str:
    first = group.findings[0]
    if group.group_by == "finding":
        line = f":{first.start_line}" if first.start_line is not None else ""
        text = f"{first.scanner} {first.rule_id} at {first.path}{line}"
    elif group.group_by == "file":
        text = f"{len(group.findings)} finding(s) in {first.path}"
    else:
        text = f"{len(group.findings)} finding(s) of {first.scanner} {first.rule_id}"
    return clean_line(text, 300)


def _group(records: Sequence[FindingRecord], group_by: GroupBy) -> dict[str, list[FindingRecord]]:
    groups: dict[str, list[FindingRecord]] = {}
    for f in records:
        if group_by == "finding":
            key = f.fingerprint
        elif group_by == "file":
            key = f.path
        else:
            key = f"{f.scanner}/{f.rule_id}"
        groups.setdefault(key, []).append(f)
    return groups
