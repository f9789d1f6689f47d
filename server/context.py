"""The application context, and the one place services are put together (for the server and the CLI).

- `build_context` (the server; tests): every service, each one present. The stores are created
  and migrated, runs and fixes left half done by dead processes are repaired, old fix backups are
  purged: once, at start, where any problem surfaces.
- The pieces it is made of, for CLI commands that compose only what they use: `open_store` and
  `open_tasks` (read-only, or for writing), `open_audit`, `build_fix_service`, `build_limiter`.
  A command that only reads opens its database read-only (SQLite `mode=ro`): it migrates nothing,
  repairs nothing and cannot change the file; a database that does not exist yet reads as an
  empty one and is not created. A command that writes migrates the store it writes.

Heavy modules (the fix service loads libcst, the audit service its scanners) are imported inside
the functions that build them: importing this module costs what the light CLI commands need anyway.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from secaudit.server.redaction import setup_redaction
from secaudit.server.settings import Settings

if TYPE_CHECKING:
    from secaudit.server.events_sink import EventSink
    from secaudit.tools.audit import AuditService
    from secaudit.tools.events import EventLog
    from secaudit.tools.findings import Finding, FindingsService
    from secaudit.tools.fixes.model import FixPlan
    from secaudit.tools.fixes.service import FindingSource, FixService
    from secaudit.tools.masking import Redactor
    from secaudit.tools.ratelimit import RateLimiter
    from secaudit.tools.store import Migration, SchemaState, Store
    from secaudit.tools.tasks import TaskService
    from secaudit.tools.tasks.bridge import TaskBridge

__all__ = [
    "AppContext",
    "CallGuard",
    "CallInfo",
    "build_audit",
    "build_context",
    "build_fix_service",
    "build_limiter",
    "findings_service",
    "fingerprint_key",
    "open_audit",
    "open_store",
    "open_tasks",
]

_T = TypeVar("_T")


@dataclass
class CallInfo:
    """What is known about one tool call while it runs."""

    tool: str
    identity: str
    scope: str
    cost: str
    transport: str
    started: float = field(default_factory=time.monotonic)
    progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None
    # Asks the client's user a yes/no question (MCP elicitation): "accept", "decline" or "cancel".
    # None when the client did not declare the elicitation capability (the tool must not ask).
    confirm: Callable[[str], Awaitable[str]] | None = None

    async def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress is not None:
            await self.progress(done, total, message)


class CallGuard(Protocol):
    """A check around every tool call (rate limits, scopes, audit log). Raises a SecauditError to refuse."""

    async def before(self, app: AppContext, call: CallInfo, arguments: dict[str, Any]) -> None: ...

    async def after(
        self, app: AppContext, call: CallInfo, arguments: dict[str, Any], outcome: str
    ) -> None: ...


@dataclass(frozen=True)
class AppContext:
    """Settings and every service a tool call may use; built once per server by `build_context`.
    Every service is always there: handlers use `app.findings`, `app.fixes`, ... as they are."""

    settings: Settings
    store: Store
    tasks: TaskService
    findings: FindingsService
    audit: AuditService
    fixes: FixService
    # Resolves a finding id to (finding, repository root) for the fix tools: the findings service.
    finding_source: FindingSource
    # Files fix tasks from findings and closes them when audits prove the findings fixed.
    task_bridge: TaskBridge
    events: EventLog
    sink: EventSink
    limiter: RateLimiter
    redactor: Redactor
    # The list is filled by `install_guards` when the server is built; the field never changes.
    guards: list[CallGuard] = field(default_factory=list)

    @property
    def tasks_store(self) -> Store:
        """The database holding the shared `tasks` table: the store itself unless SECAUDIT_TASKS_DB
        names another file."""
        return self.tasks.store

    def redact_obj(self, obj: _T) -> _T:
        return self.redactor.redact_obj(obj)

    def close(self) -> None:
        self.store.close()
        if self.tasks_store is not self.store:
            self.tasks_store.close()


def build_context(settings: Settings) -> AppContext:
    """Open the stores and check their schemas; any problem surfaces here, at start."""
    from secaudit.server.events_sink import EventSink
    from secaudit.tools.events import EventLog

    redactor = setup_redaction(settings)
    audit = open_audit(settings, bridge=False)
    store, findings = audit.store, audit.findings
    tasks = open_tasks(settings, write=True, redactor=redactor, store=store)
    fixes = build_fix_service(
        settings, store, audit=audit, findings=findings, secret_key=fingerprint_key(settings)
    )
    fixes.recover()
    fixes.purge_backups()
    events = EventLog(store)
    bridge = open_bridge(settings, tasks, findings, planner=functools.partial(_plan_for, fixes, findings))
    return AppContext(
        settings=settings,
        store=store,
        tasks=tasks,
        findings=findings,
        audit=audit,
        fixes=fixes,
        finding_source=findings,
        task_bridge=bridge,
        events=events,
        sink=EventSink(events, retention_days=settings.event_retention_days),
        limiter=build_limiter(settings),
        redactor=redactor,
    )


# -- stores -------------------------------------------------------------------------------------


def open_store(settings: Settings, *, write: bool, schema: Sequence[Migration] | None = None) -> Store:
    """The main store.

    `write=True`: created when missing, migrated to the current schema. `write=False`: opened
    read-only; `schema` names the migrations of the tables the command reads (default: all). A store
    that does not exist yet reads as an empty one, in memory. A store whose `schema` is behind this
    version (secaudit was upgraded) is migrated first: the one write a reading command can cause.
    """
    from secaudit.tools.store import Store

    if write or schema is None:
        # Every component's migrations: this imports each area's tables (events, findings, ...).
        from secaudit.tools.schema import STORE_MIGRATIONS

        if write:
            store = Store(settings.store_path)
            store.migrate(STORE_MIGRATIONS)
            return store
        schema = STORE_MIGRATIONS
    needed = schema
    return _read_only(
        settings.store_path,
        state=lambda s: s.schema_state(needed),
        prepare=lambda s: s.migrate(needed),
        upgrade=lambda: open_store(settings, write=True),
    )


def open_tasks(
    settings: Settings, *, write: bool, redactor: Redactor | None = None, store: Store | None = None
) -> TaskService:
    """The task service over the database holding the shared `tasks` table (the main store unless
    SECAUDIT_TASKS_DB names another file; `store`, when given, is the main store already open).

    `write=True` creates the table when absent (or checks an existing one) and applies our
    migrations; `redactor` masks secrets in prompts before they are stored (required then).
    `write=False` opens read-only, as `open_store` does.
    """
    from secaudit.tools.store import Store
    from secaudit.tools.tasks import TaskService

    def service(on: Store) -> TaskService:
        redact = None if redactor is None else redactor.redact
        return TaskService(on, max_prompt_bytes=settings.max_prompt_bytes, redact=redact)

    if write:
        if redactor is None:
            raise ValueError("open_tasks(write=True) needs the redactor that masks prompts")
        shared = store is not None and settings.tasks_db == settings.store_path
        tasks = service(store if shared and store is not None else Store(settings.tasks_db))
        tasks.ensure_schema()
        return tasks
    return service(
        _read_only(
            settings.tasks_db,
            state=lambda s: service(s).schema_state(),
            prepare=lambda s: service(s).ensure_schema(),
            upgrade=lambda: _ensured(service(Store(settings.tasks_db))),
        )
    )


def _ensured(tasks: TaskService) -> Store:
    tasks.ensure_schema()
    return tasks.store


def _read_only(
    path: Path,
    *,
    state: Callable[[Store], SchemaState],
    prepare: Callable[[Store], object],
    upgrade: Callable[[], Store],
) -> Store:
    """The database at `path` for a command that only reads. When nothing is stored there yet (no
    file, or none of the tables the command reads), an empty database in memory, `prepare`d with
    them, answers every read ("no tasks", "no runs", NotFound) exactly as a new store would, and
    nothing is created. Tables set up by an older version are brought up to date by `upgrade`."""
    from secaudit.tools.store import SchemaState, Store

    if path.exists() or path.is_symlink():
        store = Store(path, readonly=True)
        try:
            found = state(store)
        except BaseException:
            store.close()
            raise
        if found is SchemaState.READY:
            return store
        store.close()
        if found is SchemaState.BEHIND:
            return upgrade()
    empty = Store.in_memory(path.name)
    prepare(empty)
    return empty


# -- services -----------------------------------------------------------------------------------


def fingerprint_key(settings: Settings) -> bytes:
    """Keyed hashes of secrets (their fingerprints) stay stable across runs with one key per store;
    the secrets fix uses the same key to check it replaces the very value the audit hashed.
    SECAUDIT_FINGERPRINT_KEY, when set, is that key instead of the file: a CI secret holding the
    developers' key makes the committed baseline's secrets entries match on the CI machine."""
    from secaudit.tools.keys import key_from_text, load_or_create_key

    if settings.fingerprint_key is not None:
        return key_from_text(settings.fingerprint_key.get_secret_value())
    return load_or_create_key(
        settings.store_path.with_name(settings.store_path.name + ".hmackey"), what="fingerprint key"
    )


def findings_service(store: Store, settings: Settings) -> FindingsService:
    """The findings service over `store`, telling each listed finding whether a fix generator
    handles it (`fixable`, `fix_kind`: the light catalog, no generator loaded), and pruning old runs
    as SECAUDIT_RUNS_KEPT says."""
    from secaudit.tools.findings import FindingsService
    from secaudit.tools.fixes.catalog import fix_kind

    return FindingsService(store, classify=fix_kind, runs_kept=settings.runs_kept)


def open_audit(settings: Settings, *, bridge: bool = True) -> AuditService:
    """The audit service (with its findings service, `.findings`) over the main store opened for
    writing: migrated, and runs left `running` by a process that died marked failed. With `bridge`
    (a CLI writer), a task bridge observes its findings, so the audit closes linked tasks."""
    store = open_store(settings, write=True)
    findings = findings_service(store, settings)
    findings.mark_interrupted()
    if bridge:
        attach_bridge(settings, findings)
    return build_audit(settings, store, findings, secret_key=fingerprint_key(settings))


def attach_bridge(settings: Settings, findings: FindingsService) -> TaskBridge:
    """A task bridge (without fix planning) observing `findings`, for a CLI command that changes
    findings (audit, import, triage, fix revert)."""
    tasks = open_tasks(settings, write=True, redactor=setup_redaction(settings), store=findings.store)
    return open_bridge(settings, tasks, findings)


def build_audit(
    settings: Settings, store: Store, findings: FindingsService, *, secret_key: bytes
) -> AuditService:
    from secaudit.tools.audit import AuditService

    return AuditService(
        store,
        findings,
        allowed_roots=settings.allowed_roots,
        max_file_bytes=settings.max_file_bytes,
        max_files=settings.max_files,
        workers=settings.audit_workers,
        scanner_timeout_seconds=settings.scanner_timeout_seconds,
        cache_days=settings.cache_days,
        scanner_options={
            "secrets": {"secret_key": secret_key},
            **({"deps": {"online": settings.deps_online}} if settings.deps_online else {}),
            "semgrep": semgrep_options(settings),
        },
    )


def semgrep_options(settings: Settings) -> dict[str, object]:
    """The semgrep scanner's configured options (SECAUDIT_SEMGREP, SECAUDIT_SEMGREP_RULES, the
    engines folder): what every audit's scanner gets, and what an agent hook starts semgrep with
    ahead of its scan (server/cli/hook.py)."""
    return {
        "executable": settings.semgrep_path,
        "user_rules": settings.semgrep_rules,
        "engines_dir": settings.engines_dir,
    }


def open_bridge(
    settings: Settings,
    tasks: TaskService,
    findings: FindingsService,
    *,
    planner: Callable[[str], FixPlan] | None = None,
) -> TaskBridge:
    """The task bridge between `findings` and the tasks table: it observes the findings service
    (runs, triage, reverts) and closes, archives or re-readies linked tasks (SECAUDIT_TASKS_AUTOCLOSE).
    Every writer of findings attaches one, so a CLI audit closes tasks as the server's does."""
    from secaudit.tools.tasks.bridge import TaskBridge

    return TaskBridge(tasks, findings, planner=planner, autoclose=settings.tasks_autoclose)


def build_limiter(settings: Settings) -> RateLimiter:
    from secaudit.tools.ratelimit import RateLimiter

    redis_url = settings.redis_url.get_secret_value() if settings.redis_url is not None else None
    return RateLimiter(
        {
            "read": settings.rate_limit_read,
            "write": settings.rate_limit_write,
            "audit": settings.rate_limit_audit,
            "request": settings.rate_limit_request,
            "auth_failure": settings.rate_limit_auth_failure,
        },
        redis_url=redis_url,
        on_redis_error=settings.rate_limit_on_redis_error,
    )


def build_fix_service(
    settings: Settings,
    store: Store,
    *,
    audit: AuditService | None = None,
    findings: FindingsService | None = None,
    secret_key: bytes | None = None,
) -> FixService:
    """File locks in a private folder beside the store, or Redis locks when Redis is configured;
    the backup key beside the store.

    Verification re-runs the finding's scanner with the store (advisory database) and the audit's
    scanner options (secrets key); a verified fix marks the finding fixed in the findings store
    (with the fix id), and reverting that fix opens it again. Whoever writes or serves calls
    `recover()` (interrupted fixes) and `purge_backups()` next; a command that only lists fixes does
    not."""
    from secaudit.tools.fixes.generators import generator_for
    from secaudit.tools.fixes.service import FixService
    from secaudit.tools.fixes.vault import BlobCipher
    from secaudit.tools.fixes.verify import ScannerVerifier
    from secaudit.tools.locks import FileLocker, Locker, RedisLocker

    locker: Locker
    if settings.redis_url is not None:
        locker = RedisLocker(settings.redis_url.get_secret_value())
    else:
        locker = FileLocker(settings.store_path.parent / "fix-locks")
    return FixService(
        store,
        settings.allowed_roots,
        cipher=BlobCipher(settings.store_path.with_name(settings.store_path.name + ".fixkey")),
        locker=locker,
        verifier=ScannerVerifier(
            timeout_seconds=settings.scanner_timeout_seconds,
            store=store,
            options=audit.scanner_options if audit is not None else None,
        ),
        on_verified=None if findings is None else functools.partial(_mark_fixed, findings),
        on_reverted=None if findings is None else findings.reopen_after_revert,
        backup_retention_days=settings.fix_backup_days,
        generator_lookup=functools.partial(generator_for, secret_key=secret_key),
    )


def _plan_for(fixes: FixService, findings: FindingsService, finding_id: str) -> FixPlan:
    found, root = findings.finding_for_fix(finding_id)
    return fixes.plan(found, root)


def _mark_fixed(findings: FindingsService, finding: Finding, root: Path, fix_id: str) -> bool:
    return findings.mark_fixed_by_fix(root, finding.fingerprint, fix_id)
