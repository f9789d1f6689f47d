"""Task tools: thin handlers over `TaskService`, and `file_fix_tasks` over the task bridge."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, field_validator

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.handlers.audit import RunId, ScannerName
from secaudit.server.toolkit import NEXT_CURSOR_NOTE, StrictInput, ToolSpec, tool_spec
from secaudit.tools.errors import ConfigError
from secaudit.tools.findings import Severity
from secaudit.tools.tasks import Task, TaskStatus, parse_status
from secaudit.tools.tasks.bridge import MAX_TASKS_PER_CALL, FileReport, FileRequest, TaskBridge

__all__ = ["TOOLS"]

StatusValue = Annotated[
    StrictInt | StrictStr,
    Field(
        description="0 ready, 1 complete, 2 archived, 3 backlogged",
        json_schema_extra={
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 3},
                {"type": "string", "enum": ["ready", "complete", "archived", "backlogged"]},
            ]
        },
    ),
]
TaskId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
Order = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1, description="lower numbers run first")]
Version = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{32}$", description="a task's `version`")]
LeaseId = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{32}$", description="the claim's `lease_id`")]
Worker = Annotated[StrictStr, Field(min_length=1, max_length=200)]


def _bridge(app: AppContext) -> TaskBridge:
    if app.task_bridge is None:
        raise ConfigError("filing tasks from findings is not configured in this server")
    return app.task_bridge


def _with_sources(app: AppContext, tasks: list[Task]) -> list[Task]:
    return tasks if app.task_bridge is None else app.task_bridge.with_sources(tasks)


class TaskOutput(BaseModel):
    task: Task


class CreateTaskInput(StrictInput):
    prompt: StrictStr = Field(description="the task text, stored byte-exact")
    order: Order = 0
    status: StatusValue = Field(default=0, description="ready (0) or backlogged (3)")

    @field_validator("status")
    @classmethod
    def _status(cls, value: int | str) -> int | str:
        parse_status(value)
        return value


async def create_task(app: AppContext, args: CreateTaskInput, call: CallInfo) -> TaskOutput:
    status = parse_status(args.status)
    task = await anyio.to_thread.run_sync(
        lambda: app.tasks.create(args.prompt, order=args.order, status=status)
    )
    return TaskOutput(task=task)


class GetTaskInput(StrictInput):
    id: TaskId | None = None
    uuid: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


async def get_task(app: AppContext, args: GetTaskInput, call: CallInfo) -> TaskOutput:
    def read() -> Task:
        return _with_sources(app, [app.tasks.get(task_id=args.id, task_uuid=args.uuid)])[0]

    return TaskOutput(task=await anyio.to_thread.run_sync(read))


class ListTasksInput(StrictInput):
    status: list[StatusValue] | None = Field(default=None, max_length=4)
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = None
    sort: Literal["id", "queue"] = Field(default="id", description="id: creation order; queue: next first")

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: list[int | str] | None) -> list[int | str] | None:
        for item in value or []:
            parse_status(item)
        return value


class TaskListOutput(BaseModel):
    items: list[Task]
    next_cursor: str | None = Field(description=NEXT_CURSOR_NOTE)


async def list_tasks(app: AppContext, args: ListTasksInput, call: CallInfo) -> TaskListOutput:
    statuses = [parse_status(s) for s in args.status] if args.status else None

    def read() -> TaskListOutput:
        page = app.tasks.list(statuses=statuses, limit=args.limit, cursor=args.cursor, sort=args.sort)
        return TaskListOutput(items=_with_sources(app, page.items), next_cursor=page.next_cursor)

    return await anyio.to_thread.run_sync(read)


class UpdateTaskInput(StrictInput):
    id: TaskId
    prompt: StrictStr | None = None
    order: Order | None = None
    status: StatusValue | None = None
    expected_version: Version = Field(description="the `version` you read")

    @field_validator("status")
    @classmethod
    def _status(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            parse_status(value)
        return value


async def update_task(app: AppContext, args: UpdateTaskInput, call: CallInfo) -> TaskOutput:
    status = None if args.status is None else parse_status(args.status)
    task = await anyio.to_thread.run_sync(
        lambda: app.tasks.update(
            args.id,
            prompt=args.prompt,
            order=args.order,
            status=status,
            expected_version=args.expected_version,
        )
    )
    return TaskOutput(task=task)


class ClaimInput(StrictInput):
    worker: Annotated[StrictStr, Field(min_length=1, max_length=200, description="who takes the task")]
    lease_seconds: Annotated[StrictInt, Field(ge=1, le=7 * 24 * 3600)] = 300


class ClaimOutput(BaseModel):
    claimed: bool
    task: Task | None = Field(description="the leased task, or null when nothing is ready")


async def claim_next_task(app: AppContext, args: ClaimInput, call: CallInfo) -> ClaimOutput:
    task = await anyio.to_thread.run_sync(
        lambda: app.tasks.claim_next(args.worker, lease_seconds=args.lease_seconds)
    )
    return ClaimOutput(claimed=task is not None, task=task)


class MoveInput(StrictInput):
    id: TaskId
    expected_version: Version | None = Field(default=None, description="the `version` you read")
    lease_id: LeaseId | None = Field(
        default=None,
        description="from claim_next_task",
    )
    worker: Worker | None = Field(default=None, description="as claimed")


def _mover(status: TaskStatus) -> object:
    async def move(app: AppContext, args: MoveInput, call: CallInfo) -> TaskOutput:
        task = await anyio.to_thread.run_sync(
            lambda: app.tasks.set_status(
                args.id,
                status,
                expected_version=args.expected_version,
                lease_id=args.lease_id,
                worker=args.worker,
            )
        )
        return TaskOutput(task=task)

    return move


class FileFixTasksInput(StrictInput):
    run_id: RunId
    min_severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        default="medium", description="only findings at or above this severity"
    )
    scanner: list[ScannerName] | None = Field(default=None, max_length=20)
    rule: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=50
    )
    path_glob: Annotated[StrictStr, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="e.g. 'src/*.js' ('*' also crosses folders)"
    )
    group_by: Literal["finding", "file", "rule"] = Field(
        default="finding", description="one task per finding, per file, or per rule"
    )
    max_tasks: Annotated[StrictInt, Field(ge=1, le=MAX_TASKS_PER_CALL)] | None = Field(
        default=None, description="at most this many new tasks"
    )
    dry_run: StrictBool = Field(default=True, description="false: file them")
    refile_dismissed: StrictBool = Field(
        default=False,
        description="also refile findings whose task was deleted/archived",
    )
    plan_fixes: StrictBool = Field(
        default=True,
        description="plan fixes for the prompts (first 200)",
    )


async def file_fix_tasks(app: AppContext, args: FileFixTasksInput, call: CallInfo) -> FileReport:
    request = FileRequest(
        run_id=args.run_id,
        min_severity=Severity(args.min_severity),
        scanners=None if args.scanner is None else tuple(args.scanner),
        rules=None if args.rule is None else tuple(args.rule),
        path_glob=args.path_glob,
        group_by=args.group_by,
        max_tasks=args.max_tasks,
        dry_run=args.dry_run,
        refile_dismissed=args.refile_dismissed,
        plan_fixes=args.plan_fixes,
    )
    bridge = _bridge(app)
    return await anyio.to_thread.run_sync(lambda: bridge.file(request))


TOOLS: list[ToolSpec] = [
    tool_spec(
        "create_task",
        "Create task",
        "Add a task (ready or backlogged) to the shared tasks table.",
        CreateTaskInput,
        TaskOutput,
        create_task,
        read_only=False,
    ),
    tool_spec(
        "get_task",
        "Get task",
        "Read one task by id or uuid.",
        GetTaskInput,
        TaskOutput,
        get_task,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "list_tasks",
        "List tasks",
        "List tasks, optionally by status.",
        ListTasksInput,
        TaskListOutput,
        list_tasks,
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "update_task",
        "Update task",
        "Change a task's prompt, order or status; refused if the row changed since expected_version.",
        UpdateTaskInput,
        TaskOutput,
        update_task,
        read_only=False,
    ),
    tool_spec(
        "claim_next_task",
        "Claim next task",
        "Lease the next ready task (lowest order, then id) to a worker for lease_seconds.",
        ClaimInput,
        ClaimOutput,
        claim_next_task,
        read_only=False,
    ),
    tool_spec(
        "file_fix_tasks",
        "File fix tasks from findings",
        "File a run's open findings as ready tasks with fix prompts, never twice; dry run unless "
        "dry_run=false. An audit proving them fixed completes the task.",
        FileFixTasksInput,
        FileReport,
        file_fix_tasks,
        read_only=False,
    ),
    tool_spec(
        "complete_task",
        "Complete task",
        "Mark a task complete (status 1).",
        MoveInput,
        TaskOutput,
        _mover(TaskStatus.COMPLETE),
        read_only=False,
        idempotent=True,
    ),
    tool_spec(
        "archive_task",
        "Archive task",
        "Archive a task (status 2).",
        MoveInput,
        TaskOutput,
        _mover(TaskStatus.ARCHIVED),
        read_only=False,
        idempotent=True,
    ),
    tool_spec(
        "backlog_task",
        "Backlog task",
        "Move a task to the backlog (status 3).",
        MoveInput,
        TaskOutput,
        _mover(TaskStatus.BACKLOGGED),
        read_only=False,
        idempotent=True,
    ),
    tool_spec(
        "ready_task",
        "Ready task",
        "Make a task ready (status 0) and drop any lease on it.",
        MoveInput,
        TaskOutput,
        _mover(TaskStatus.READY),
        read_only=False,
        idempotent=True,
    ),
]
