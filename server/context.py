"""The application context: settings and services, shared by every tool call through the lifespan."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from secaudit.server.events_sink import EventSink
from secaudit.server.redaction import setup_redaction
from secaudit.server.settings import Settings
from secaudit.tools.audit import AuditService
from secaudit.tools.events import EventLog
from secaudit.tools.findings import Finding, FindingsService
from secaudit.tools.fixes.model import FixPlan
from secaudit.tools.fixes.service import FindingSource, FixService
from secaudit.tools.keys import load_or_create_key
from secaudit.tools.masking import Redactor
from secaudit.tools.ratelimit import RateLimiter
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService
from secaudit.tools.tasks.bridge import TaskBridge

__all__ = ["AppContext", "CallGuard", "CallInfo", "build_context", "build_limiter"]


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

    async def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress is not None:
            await self.progress(done, total, message)


class CallGuard(Protocol):
    """A check around every tool call (rate limits, scopes, audit log). Raises a SecauditError to refuse."""

    async def before(self, app: AppContext, call: CallInfo, arguments: dict[str, Any]) -> None: ...

    async def after(
        self, app: AppContext, call: CallInfo, arguments: dict[str, Any], outcome: str
    ) -> None: ...


@dataclass
class AppContext:
    settings: Settings
    store: Store
    tasks_store: Store
    tasks: TaskService
    redactor: Redactor = field(default_factory=lambda: Redactor(entropy=False))
    guards: list[CallGuard] = field(default_factory=list)
    redact_obj: Callable[[Any], Any] = lambda obj: obj
    extras: dict[str, Any] = field(default_factory=dict)
    events: EventLog | None = None
    sink: EventSink = field(default_factory=lambda: EventSink(None))
    limiter: RateLimiter | None = None
    findings: FindingsService | None = None
    audit: AuditService | None = None
    fixes: FixService | None = None
    # Resolves a finding id to (finding, repository root) for the fix tools: the findings service.
    finding_source: FindingSource | None = None
    # Files fix tasks from findings and closes them when audits prove the findings fixed.
    task_bridge: TaskBridge | None = None

    def close(self) -> None:
        self.store.close()
        if self.tasks_store is not self.store:
            self.tasks_store.close()


def build_context(settings: Settings) -> AppContext:
    """Open the stores and check their schemas; any problem surfaces here, at start."""
    redactor = setup_redaction(settings)
    store = Store(settings.store_path)
    store.migrate(STORE_MIGRATIONS)
    tasks_store = store if settings.tasks_db == settings.store_path else Store(settings.tasks_db)
    tasks = TaskService(tasks_store, max_prompt_bytes=settings.max_prompt_bytes, redact=redactor.redact)
    tasks.ensure_schema()
    findings = FindingsService(store)
    findings.mark_interrupted()
    # Keyed hashes of secrets (their fingerprints) stay stable across runs with one key per store;
    # the secrets fix uses the same key to check it replaces the very value the audit hashed.
    secret_key = load_or_create_key(
        settings.store_path.with_name(settings.store_path.name + ".hmackey"), what="fingerprint key"
    )
    audit = AuditService(
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
        },
    )
    app = AppContext(
        settings=settings,
        store=store,
        tasks_store=tasks_store,
        tasks=tasks,
        redactor=redactor,
        redact_obj=redactor.redact_obj,
        findings=findings,
        audit=audit,
    )
    app.events = EventLog(store)
    app.sink = EventSink(app.events, retention_days=settings.event_retention_days)
    app.limiter = build_limiter(settings)
    app.fixes = build_fix_service(settings, store, audit=audit, findings=findings, secret_key=secret_key)
    # The fix tools look findings up by id in the findings service.
    app.finding_source = findings
    app.task_bridge = TaskBridge(
        tasks,
        findings,
        planner=functools.partial(_plan_for, app.fixes, findings),
        autoclose=settings.tasks_autoclose,
    )
    return app


def build_limiter(settings: Settings) -> RateLimiter:
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
    the backup key beside the store; interrupted fixes repaired and old backups purged at start.

    Verification re-runs the finding's scanner with the store (advisory database) and the audit's
    scanner options (secrets key); a verified fix marks the finding fixed in the findings store
    (with the fix id), and reverting that fix opens it again."""
    from secaudit.tools.fixes.generators import generator_for
    from secaudit.tools.fixes.locks import FileLocker, Locker, RedisLocker
    from secaudit.tools.fixes.vault import BlobCipher
    from secaudit.tools.fixes.verify import ScannerVerifier

    locker: Locker
    if settings.redis_url is not None:
        locker = RedisLocker(settings.redis_url.get_secret_value())
    else:
        locker = FileLocker(settings.store_path.parent / "fix-locks")
    service = FixService(
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
    service.recover()
    service.purge_backups()
    return service


def _plan_for(fixes: FixService, findings: FindingsService, finding_id: str) -> FixPlan:
    found, root = findings.finding_for_fix(finding_id)
    return fixes.plan(found, root)


def _mark_fixed(findings: FindingsService, finding: Finding, root: Path, fix_id: str) -> bool:
    return findings.mark_fixed_by_fix(root, finding.fingerprint, fix_id)
