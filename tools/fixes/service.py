"""The fix service: plan, apply (dry run by default), verify, revert, and the fix history.

An apply is journaled so that a crash at any point is repaired by the next apply (or `recover()`
at start):

    lock every file (sorted) -> each file must still hash to the plan's `before` -> scan (baseline)
    -> commit the fix row as `applying` with the sealed previous bytes -> write each file atomically
    -> syntax check + scan again -> `verified` | `applied` (inconclusive) | restore + `rolled_back`
    -> unlock

A fix row left in `applying` whose locks are free belongs to a dead process: recovery restores
every file that holds the plan's new bytes and marks the fix `failed`. So a finding is only ever
marked fixed (`verified`) after its write landed and was re-scanned, and an interrupted
multi-file fix never stays half applied. `revert_fix` is journaled the same way (`reverting`).

A fix's final status and the findings store's mark (`on_verified`: the finding is fixed;
`on_reverted`: it is open again) are one transaction: the hooks write through the same `Store`,
whose nested `write()` joins the fix's, so a kill between the two cannot leave them disagreeing.

Each file's folder is opened once, by the confined walk, and held for the whole locked section: a
rollback writes through the very folder the fix wrote into (the same `write_atomic`, hash-checked,
so it only ever replaces the fix's own bytes), so a folder swapped for a link meanwhile neither
stops nor redirects it. A rollback that still cannot restore a file settles the row as `failed`
with a message naming the file; no row is left `applying` by a live process.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import logging
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from secaudit.tools.confined_io import (
    MissingFolder,
    cleanup_temps,
    open_parent,
    read_current,
    real_target,
    sha256_bytes,
    write_atomic,
)
from secaudit.tools.errors import Conflict, InvalidInput, NotFound, PathNotAllowed, SecauditError
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import BackupUnavailable, FixError, FixNotApplicable
from secaudit.tools.fixes.generators import generator_for
from secaudit.tools.fixes.model import (
    FixPlan,
    FixRecord,
    FixStatus,
    Generator,
    PlannedFile,
    Proposal,
    Verification,
    decode_text,
)
from secaudit.tools.fixes.tables import MIGRATIONS
from secaudit.tools.fixes.vault import BlobCipher
from secaudit.tools.fixes.verify import ScanSnapshot, Verifier, evaluate, syntax_error
from secaudit.tools.locks import FileLocker, Locker, LockSet, lock_key
from secaudit.tools.masking import get_redactor
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.paths import check_relpath, confine_dir, is_within
from secaudit.tools.store import Store
from secaudit.tools.timefmt import iso_us, now_us

__all__ = [
    "MIGRATIONS",
    "ApplyResult",
    "FindingSource",
    "FixPage",
    "FixService",
    "require_one_target",
    "unified_diff",
]

log = logging.getLogger("secaudit.fixes")

_MAX_FILES_PER_PLAN = 20


class ApplyResult(BaseModel):
    dry_run: bool
    plan: FixPlan
    fix: FixRecord | None = Field(
        default=None, description="the fix record; null on a dry run and when nothing was written"
    )
    message: str
    confirmation: str | None = Field(
        default=None,
        description="elicitation, digest or operator; declined/cancelled: nothing written",
    )


class FixPage(BaseModel):
    items: list[FixRecord]
    next_cursor: str | None


def require_one_target(plan: object | None, finding: object | None, *, names: tuple[str, str]) -> None:
    """Applying takes exactly one of a plan and a finding. Every face checks this first and names
    the two the way its caller gives them (`names`: the plan's, then the finding's)."""
    if (plan is None) == (finding is None):
        raise InvalidInput(f"give exactly one of {names[0]} or {names[1]}")


class FindingSource(Protocol):
    """Where the fix tools look findings up by id (the findings service implements it)."""

    def finding_for_fix(self, finding_id: str) -> tuple[Finding, Path]:
        """The finding and the root of the repository it was found in; NotFound if unknown."""


@dataclass(frozen=True)
class _Op:
    """One file operation: the file must hash to `expect` (None: must be absent); then write `data`
    (None: remove it)."""

    rel: str
    expect: str | None
    data: bytes | None
    undo: bytes | None  # the content before this op (None: the file did not exist)


class _Folders:
    """The folder of each file a fix touches, opened once by the confined walk (`open_parent`) and
    held until the locked section ends, so the rollback writes where the write wrote."""

    def __init__(self, root: Path, stack: contextlib.ExitStack) -> None:
        self.root = root
        self._stack = stack
        self._open: dict[str, tuple[int, str]] = {}

    def get(self, rel: str) -> tuple[int, str]:
        found = self._open.get(rel)
        if found is None:
            found = self._stack.enter_context(open_parent(self.root, rel))
            self._open[rel] = found
        return found


class _SafeView:
    """The read-only RepoView generators get: every read walks the root without following links."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str) -> bytes | None:
        try:
            with open_parent(self.root, rel) as (dir_fd, name):
                return read_current(dir_fd, name, rel).content
        except MissingFolder:
            return None


_KEY_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----")
_KEY_END = re.compile(r"-----END[A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----")
_KEY_MARK = "[MASKED:private_key]"


def _key_block_lines(contents: Iterable[bytes | None]) -> set[str]:
    """Every line of every private key block in the files a fix touches (headers excluded).

    A diff shows a key's body line by line, each behind a diff prefix, in removed and context
    lines, without the header that would tell a line-based redactor it is a key; a short last body
    line is not even high-entropy. So the blocks are found in the files, where they are whole."""
    lines: set[str] = set()
    for data in contents:
        if not data:
            continue
        inside = False
        for line in decode_text(data).splitlines():
            if _KEY_BEGIN.search(line):
                inside = True
                after = _KEY_BEGIN.split(line, maxsplit=1)[1]
                if after.strip():
                    lines.add(line)  # the body starts on the header line
                continue
            if inside and _KEY_END.search(line):
                inside = False
                before = _KEY_END.split(line, maxsplit=1)[0]
                if before.strip():
                    lines.add(line)
                continue
            if inside and line.strip():
                lines.add(line)
    return lines


def _mask_key_lines(diff: str, key_lines: set[str]) -> str:
    if not key_lines:
        return diff
    out: list[str] = []
    for line in diff.splitlines(keepends=True):
        body = line[1:].rstrip("\r\n")
        if line[:1] in (" ", "-", "+") and not line.startswith(("---", "+++")) and body in key_lines:
            out.append(line[:1] + _KEY_MARK + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)


def _mask(text: str, sensitive: Sequence[str], key_lines: set[str] | None = None) -> str:
    text = _mask_key_lines(text, key_lines or set())
    for value in sorted((s for s in sensitive if len(s) >= 4), key=len, reverse=True):
        text = text.replace(value, "***")
    # The diff's context lines are the file's own text, which may hold other secrets than the one
    # this fix moves (the next line's password): the diff is shown (CLI, tool results), so it goes
    # through the redaction layer too. Applying never reads the diff, only the sealed file contents.
    return get_redactor().redact(text)


def _planned_file(row: sqlite3.Row) -> PlannedFile:
    """A plan's file row and a fix's backup row carry the same hashes; either becomes this."""
    return PlannedFile(
        path=row["path"],
        before_sha256=row["before_sha256"],
        after_sha256=row["after_sha256"],
        created=row["before_sha256"] is None,
    )


def unified_diff(changes: Sequence[tuple[str, bytes | None, bytes]]) -> str:
    """A git-style unified diff with repository-relative a/ b/ paths (created files from /dev/null)."""
    out: list[str] = []
    for rel, before, after in changes:
        old = decode_text(before or b"").splitlines(keepends=True) if before else []
        new = decode_text(after).splitlines(keepends=True)
        old_name = f"a/{rel}" if before is not None else "/dev/null"
        for line in difflib.unified_diff(old, new, old_name, f"b/{rel}"):
            if not line.endswith("\n"):
                line += "\n\\ No newline at end of file\n"
            out.append(line)
    return "".join(out)


class FixService:
    def __init__(
        self,
        store: Store,
        roots: Sequence[Path],
        *,
        cipher: BlobCipher,
        locker: Locker | None = None,
        lock_dir: Path | None = None,
        verifier: Verifier | None = None,
        on_verified: Callable[[Finding, Path, str], object] | None = None,
        on_reverted: Callable[[Path, str, str], object] | None = None,
        lock_timeout: float = 30.0,
        backup_retention_days: int = 30,
        generator_lookup: Callable[[Finding], Generator] = generator_for,
    ) -> None:
        self.store = store
        self.roots = tuple(roots)
        self.cipher = cipher
        if locker is None:
            locker = FileLocker(lock_dir or store.path.parent / "fix-locks")
        self.locker = locker
        self.verifier = verifier
        # (finding, root, fix_id) after a fix is verified: the findings store marks it fixed.
        self.on_verified = on_verified
        # (root, finding fingerprint, fix_id) after a revert: the finding that fix fixed is back.
        self.on_reverted = on_reverted
        self.lock_timeout = lock_timeout
        self.backup_retention_days = backup_retention_days
        self.generator_lookup = generator_lookup

    def ensure_schema(self) -> None:
        self.store.migrate(MIGRATIONS)

    # -- planning -------------------------------------------------------------------------------

    def plan(self, finding: Finding, root: str | Path) -> FixPlan:
        real_root = self._confine_repository(root)
        check_relpath(finding.path, "a fix path")
        proposal = self.generator_lookup(finding)(finding, _SafeView(real_root))
        return self._store_plan(finding, real_root, proposal)

    def _confine_repository(self, root: str | Path) -> Path:
        """The finding's repository root, confined; when an allowed root lies inside it (the CLI run
        from a subfolder), the refusal says so and what to allow instead."""
        try:
            return confine_dir(root, self.roots)
        except PathNotAllowed:
            candidate = Path(os.fspath(root)).expanduser()
            if not candidate.is_absolute():
                candidate = self.roots[0] / candidate  # as confine_dir reads it
            real = Path(os.path.realpath(candidate))
            inside = [r for r in self.roots if r != real and is_within(r, real)]
            if not inside:
                raise
            allowed = inside[0]
            up = len(allowed.relative_to(real).parts)
            raise PathNotAllowed(
                f"the finding belongs to a repository whose root is {up} folder(s) above the allowed root "
                f"{allowed}; a fix may change any file of that repository, so its root itself must be "
                f"allowed: run from the repository root, or pass --root {allowed}{'/..' * up} "
                "(for the server: add it to SECAUDIT_ALLOWED_ROOTS)"
            ) from None

    def _store_plan(self, finding: Finding, root: Path, proposal: Proposal) -> FixPlan:
        if not proposal.changes:
            raise FixNotApplicable("the fix changes nothing")
        if len(proposal.changes) > _MAX_FILES_PER_PLAN:
            raise FixError(f"a fix may touch at most {_MAX_FILES_PER_PLAN} files")
        seen: set[str] = set()
        for change in proposal.changes:
            check_relpath(change.rel, "a fix path")
            if change.rel in seen:
                raise FixError("a fix plan names the same file twice")
            seen.add(change.rel)
        plan_id = uuid.uuid4().hex
        key_lines = _key_block_lines(x for c in proposal.changes for x in (c.before, c.after))
        diff = _mask(
            unified_diff([(c.rel, c.before, c.after) for c in proposal.changes]),
            proposal.sensitive,
            key_lines,
        )
        files = [
            PlannedFile(
                path=c.rel,
                before_sha256=None if c.before is None else sha256_bytes(c.before),
                after_sha256=sha256_bytes(c.after),
                created=c.before is None,
            )
            for c in proposal.changes
        ]
        created = now_us()
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO fix_plans (plan_id, created_at, root, kind, summary, finding_fingerprint,"
                " scanner, rule_id, finding_sealed, notes_json, risks_json, relock_json, diff_sealed,"
                " sensitive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan_id,
                    created,
                    str(root),
                    proposal.kind,
                    proposal.summary,
                    finding.fingerprint,
                    finding.scanner,
                    finding.rule_id,
                    self.cipher.seal(finding.model_dump_json().encode(), f"plan-finding:{plan_id}"),
                    json.dumps(proposal.notes),
                    json.dumps(proposal.risks),
                    json.dumps(proposal.relock),
                    self.cipher.seal(diff.encode(), f"plan-diff:{plan_id}"),
                    int(bool(proposal.sensitive)),
                ),
            )
            for seq, (change, planned) in enumerate(zip(proposal.changes, files, strict=True)):
                conn.execute(
                    "INSERT INTO fix_plan_files (plan_id, seq, path, before_sha256, after_sha256,"
                    " after_sealed) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        plan_id,
                        seq,
                        planned.path,
                        planned.before_sha256,
                        planned.after_sha256,
                        self.cipher.seal(change.after, f"plan-file:{plan_id}:{seq}"),
                    ),
                )
        return FixPlan(
            plan_id=plan_id,
            kind=proposal.kind,
            summary=proposal.summary,
            root=str(root),
            finding_fingerprint=finding.fingerprint,
            scanner=finding.scanner,
            rule_id=finding.rule_id,
            files=files,
            diff=diff,
            notes=proposal.notes,
            risks=proposal.risks,
            relock_commands=proposal.relock,
            created_at=created,
        )

    def get_plan(self, plan_id: str) -> FixPlan:
        plan, _finding, _after = self._load_plan(plan_id, with_contents=False)
        return plan

    def _load_plan(self, plan_id: str, *, with_contents: bool) -> tuple[FixPlan, Finding, list[bytes]]:
        rows = self.store.query("SELECT * FROM fix_plans WHERE plan_id = ?", (plan_id,))
        if not rows:
            raise NotFound("no fix plan has that id; plan the fix first (plan_fix)")
        row = rows[0]
        file_rows = self.store.query(
            "SELECT * FROM fix_plan_files WHERE plan_id = ? ORDER BY seq", (plan_id,)
        )
        files = [_planned_file(r) for r in file_rows]
        after: list[bytes] = []
        if with_contents:
            for r in file_rows:
                if r["after_sealed"] is None:
                    raise NotFound(
                        "this plan's contents were purged by the retention setting; plan the fix again"
                    )
                after.append(self.cipher.open(r["after_sealed"], f"plan-file:{plan_id}:{r['seq']}"))
        finding = Finding.model_validate_json(
            self.cipher.open(row["finding_sealed"], f"plan-finding:{plan_id}")
        )
        diff = (
            ""
            if row["diff_sealed"] is None
            else self.cipher.open(row["diff_sealed"], f"plan-diff:{plan_id}").decode()
        )
        plan = FixPlan(
            plan_id=plan_id,
            kind=row["kind"],
            summary=row["summary"],
            root=row["root"],
            finding_fingerprint=row["finding_fingerprint"],
            scanner=row["scanner"],
            rule_id=row["rule_id"],
            files=files,
            diff=diff,
            notes=json.loads(row["notes_json"]),
            risks=json.loads(row["risks_json"]),
            relock_commands=json.loads(row["relock_json"]),
            created_at=row["created_at"],
        )
        return plan, finding, after

    # -- file operations under locks ------------------------------------------------------------

    def _root_of(self, plan: FixPlan) -> Path:
        # The root was confined when planned; confine again in case the allowed roots changed since.
        return confine_dir(plan.root, self.roots)

    def _keys(self, root: Path, rels: Sequence[str]) -> list[str]:
        return [lock_key(real_target(root, rel)) for rel in rels]

    @contextlib.contextmanager
    def _locked(self, root: Path, rels: Sequence[str], *, wait: bool = True) -> Iterator[LockSet]:
        with self.locker.hold(self._keys(root, rels), timeout=self.lock_timeout if wait else 0.0) as held:
            yield held

    @staticmethod
    def _current(root: Path, rel: str) -> bytes | None:
        with open_parent(root, rel) as (dir_fd, name):
            return read_current(dir_fd, name, rel).content

    @staticmethod
    def _run_ops(folders: _Folders, ops: Sequence[_Op], held: LockSet) -> None:
        """Perform every op, or none: on a failure, the ops already done are undone (best effort,
        each undo again hash-checked, so a file someone else changed meanwhile is left alone)."""
        done: list[_Op] = []
        try:
            for op in ops:
                if not held.still_held():
                    raise Conflict("the lock on the file expired before the write; nothing more was written")
                dir_fd, name = folders.get(op.rel)
                write_atomic(
                    dir_fd,
                    name,
                    op.rel,
                    op.data,
                    expected_sha256=op.expect,
                    expect_absent=op.expect is None,
                )
                done.append(op)
        except BaseException:
            for op in reversed(done):
                expect = None if op.data is None else sha256_bytes(op.data)
                try:
                    dir_fd, name = folders.get(op.rel)
                    write_atomic(
                        dir_fd,
                        name,
                        op.rel,
                        op.undo,
                        expected_sha256=expect,
                        expect_absent=expect is None,
                    )
                except (OSError, SecauditError):
                    log.exception("could not undo a partial fix write")
            raise

    def _settle(
        self,
        fix_id: str,
        status: FixStatus,
        message: str,
        verification: Verification | None = None,
        *,
        then: Callable[[], object] | None = None,
    ) -> None:
        """The fix's final status and, in the same transaction, the findings store's mark (`then`)."""
        with self.store.write():
            self._set_status(fix_id, status, message, verification)
            if then is not None:
                try:
                    then()
                except Exception:
                    # One failed statement changes nothing (SQLite rolls back that statement only):
                    # the fix's status stands, the finding keeps its state until the next audit.
                    log.exception("the findings hook failed for fix %s", fix_id)

    # -- apply ----------------------------------------------------------------------------------

    def apply(
        self,
        *,
        plan_id: str | None = None,
        finding: Finding | None = None,
        root: str | Path | None = None,
        dry_run: bool = True,
        confirmation: str | None = None,
    ) -> ApplyResult:
        """Plan (a finding) or load (a plan id), then write unless `dry_run`. The caller has checked
        the confirmation a write needs (`secaudit.tools.fixes.confirm`) and names it."""
        require_one_target(plan_id, finding, names=("plan_id", "finding"))
        if finding is not None:
            if root is None:
                raise InvalidInput("applying a finding needs the repository root it was found in")
            plan = self.plan(finding, root)
        else:
            assert plan_id is not None
            plan = self.get_plan(plan_id)
            if dry_run:
                # A dry run shows what a write would do: a write of a stale plan is refused.
                self._unchanged_since_planned(self._root_of(plan), plan)
        if dry_run:
            return ApplyResult(
                dry_run=True,
                plan=plan,
                message=(
                    "dry run: nothing was written; apply again with dry_run=false (CLI: --write) "
                    "to write this diff"
                ),
            )
        self.recover()
        record = self._apply_plan(plan.plan_id)
        return ApplyResult(
            dry_run=False, plan=plan, fix=record, message=record.message, confirmation=confirmation
        )

    def _unchanged_since_planned(self, root: Path, plan: FixPlan) -> dict[str, bytes]:
        """The current content of every file the plan edits; Conflict when one changed since it was
        planned (or a file it creates exists), as a write would find it."""
        previous: dict[str, bytes] = {}
        for f in plan.files:
            current = self._current(root, f.path)
            if f.created:
                if current is not None:
                    raise Conflict(f"{f.path}: the file now exists but the plan creates it; plan again")
            elif current is None or sha256_bytes(current) != f.before_sha256:
                raise Conflict(
                    f"{f.path}: the file changed since the fix was planned (or the fix was already "
                    "applied); nothing was written. Plan the fix again."
                )
            else:
                previous[f.path] = current
        return previous

    def _apply_plan(self, plan_id: str) -> FixRecord:
        plan, finding, after = self._load_plan(plan_id, with_contents=True)
        root = self._root_of(plan)
        rels = [f.path for f in plan.files]
        with self._locked(root, rels) as held, contextlib.ExitStack() as stack:
            folders = _Folders(root, stack)
            previous = self._unchanged_since_planned(root, plan)
            scan_paths = list(dict.fromkeys([*rels, finding.path]))
            baseline = self._scan(root, finding, scan_paths)
            fix_id = uuid.uuid4().hex
            now = now_us()
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO fixes (fix_id, plan_id, status, message, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (fix_id, plan_id, FixStatus.APPLYING, "writing", now, now),
                )
                for seq, f in enumerate(plan.files):
                    old = previous.get(f.path)
                    conn.execute(
                        "INSERT INTO fix_backups (fix_id, seq, path, before_sha256, after_sha256,"
                        " before_sealed) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            fix_id,
                            seq,
                            f.path,
                            f.before_sha256,
                            f.after_sha256,
                            None if old is None else self.cipher.seal(old, f"backup:{fix_id}:{seq}"),
                        ),
                    )
            ops = [
                _Op(f.path, f.before_sha256, data, previous.get(f.path))
                for f, data in zip(plan.files, after, strict=True)
            ]
            try:
                self._run_ops(folders, ops, held)
            except BaseException as exc:
                message = (
                    f"nothing was written: {exc}"
                    if isinstance(exc, SecauditError)
                    else "nothing was written: the write failed"
                )
                self._set_status(fix_id, FixStatus.FAILED, message)
                raise
            verification = self._verify(root, finding, plan, previous, after, baseline)
            then: Callable[[], object] | None = None
            if verification.outcome in ("broke_parsing", "new_findings", "still_present", "error"):
                undo = [
                    _Op(f.path, f.after_sha256, previous.get(f.path), data)
                    for f, data in zip(plan.files, after, strict=True)
                ]
                try:
                    self._run_ops(folders, undo, held)
                except BaseException as exc:
                    reason = str(exc) if isinstance(exc, SecauditError) else "the restoring write failed"
                    self._settle(
                        fix_id,
                        FixStatus.FAILED,
                        f"the fix did not verify ({verification.detail}) and could not be rolled back: "
                        f"{reason}. The files may hold the fix's bytes: check them (git diff) and "
                        "restore by hand.",
                        verification,
                    )
                    if isinstance(exc, SecauditError):
                        raise FixError(
                            f"fix {fix_id} did not verify and its rollback was refused: {exc}. The fix is "
                            "marked failed; check the files (git diff) and restore them by hand."
                        ) from None
                    raise
                status, message = (
                    FixStatus.ROLLED_BACK,
                    (f"rolled back, the files are as before: {verification.detail}"),
                )
            elif verification.outcome == "gone":
                status, message = FixStatus.VERIFIED, "applied and verified: the finding is gone"
                if self.on_verified is not None:
                    then = functools.partial(self.on_verified, finding, root, fix_id)
            else:
                status, message = FixStatus.APPLIED, f"applied, not verified: {verification.detail}"
            self._settle(fix_id, status, message, verification, then=then)
        return self.get(fix_id)

    def _scan(self, root: Path, finding: Finding, rels: Sequence[str]) -> ScanSnapshot | None:
        if self.verifier is None:
            return None
        try:
            return self.verifier.scan(root, finding, rels)
        except Exception as exc:
            log.exception("verifier failed")
            return ScanSnapshot(covered=False, note=f"the verifier failed ({type(exc).__name__})")

    def _verify(
        self,
        root: Path,
        finding: Finding,
        plan: FixPlan,
        previous: dict[str, bytes],
        after: Sequence[bytes],
        baseline: ScanSnapshot | None,
    ) -> Verification:
        broken = []
        for f, data in zip(plan.files, after, strict=True):
            old = previous.get(f.path)
            if (old is None or syntax_error(f.path, old) is None) and (err := syntax_error(f.path, data)):
                broken.append(err)
        if broken:
            return Verification(
                outcome="broke_parsing", detail="a changed file no longer parses", parse_errors=broken
            )
        if baseline is None:
            return Verification(outcome="skipped", detail="no verifier is configured; audit again to confirm")
        after_scan = self._scan(
            root, finding, list(dict.fromkeys([*(f.path for f in plan.files), finding.path]))
        )
        assert after_scan is not None
        return evaluate(finding, [f.path for f in plan.files], baseline, after_scan)

    def _set_status(
        self, fix_id: str, status: FixStatus, message: str, verification: Verification | None = None
    ) -> None:
        with self.store.write() as conn:
            if verification is None:
                conn.execute(
                    "UPDATE fixes SET status = ?, message = ?, updated_at = ? WHERE fix_id = ?",
                    (status, message, now_us(), fix_id),
                )
            else:
                conn.execute(
                    "UPDATE fixes SET status = ?, message = ?, verification_json = ?, updated_at = ?"
                    " WHERE fix_id = ?",
                    (status, message, verification.model_dump_json(), now_us(), fix_id),
                )

    # -- revert ---------------------------------------------------------------------------------

    def revert(self, fix_id: str) -> FixRecord:
        record = self.get(fix_id)
        if record.status not in (FixStatus.APPLIED, FixStatus.VERIFIED):
            raise InvalidInput(
                f"fix {fix_id} is {record.status.value}; only applied or verified fixes are reverted"
            )
        self.recover()
        root = confine_dir(record.root, self.roots)
        rels = [f.path for f in record.files]
        with self._locked(root, rels) as held, contextlib.ExitStack() as stack:
            folders = _Folders(root, stack)
            record = self.get(fix_id)
            if record.status not in (FixStatus.APPLIED, FixStatus.VERIFIED):
                raise Conflict(f"fix {fix_id} changed state to {record.status.value} meanwhile")
            previous = self._backups(fix_id)
            current_bytes: dict[str, bytes] = {}
            for f in record.files:
                current = self._current(root, f.path)
                if current is None or sha256_bytes(current) != f.after_sha256:
                    raise Conflict(
                        f"{f.path}: the file changed since the fix was applied; nothing was reverted. "
                        "Undo the later change first, or edit the file by hand."
                    )
                current_bytes[f.path] = current
            self._set_status(fix_id, FixStatus.REVERTING, "reverting")
            ops = [
                _Op(f.path, f.after_sha256, previous.get(f.path), current_bytes[f.path]) for f in record.files
            ]
            try:
                self._run_ops(folders, ops, held)
            except BaseException:
                self._set_status(fix_id, record.status, "revert failed; the fix is still applied")
                raise
            self._settle(
                fix_id,
                FixStatus.REVERTED,
                "reverted: the files hold their exact previous bytes",
                then=self._reopen(record, root, fix_id),
            )
        return self.get(fix_id)

    def _reopen(self, record: FixRecord, root: Path, fix_id: str) -> Callable[[], object] | None:
        """The findings mark of a revert: a verified fix's finding is open again."""
        if record.status != FixStatus.VERIFIED and record.status != FixStatus.REVERTING:
            return None
        if self.on_reverted is None:
            return None
        return functools.partial(self.on_reverted, root, record.finding_fingerprint, fix_id)

    def _backups(self, fix_id: str) -> dict[str, bytes]:
        rows = self.store.query("SELECT * FROM fix_backups WHERE fix_id = ? ORDER BY seq", (fix_id,))
        out: dict[str, bytes] = {}
        for r in rows:
            if r["before_sha256"] is None:
                continue  # the fix created this file; reverting removes it
            if r["purged"] or r["before_sealed"] is None:
                raise BackupUnavailable(
                    "the previous bytes of this fix were purged (retention setting "
                    "SECAUDIT_FIX_BACKUP_DAYS); restore the file from version control"
                )
            data = self.cipher.open(r["before_sealed"], f"backup:{fix_id}:{r['seq']}")
            if sha256_bytes(data) != r["before_sha256"]:
                raise BackupUnavailable("a stored backup does not match its recorded hash; it was not used")
            out[r["path"]] = data
        return out

    # -- recovery and retention -----------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish what dead processes left half done; returns the fix ids repaired."""
        rows = self.store.query(
            "SELECT fix_id FROM fixes WHERE status IN (?, ?)", (FixStatus.APPLYING, FixStatus.REVERTING)
        )
        repaired: list[str] = []
        for row in rows:
            fix_id = str(row["fix_id"])
            try:
                if self._recover_one(fix_id):
                    repaired.append(fix_id)
            except Conflict:
                continue  # its owner is alive and holds the locks
            except (SecauditError, OSError) as exc:
                log.warning("could not recover fix %s: %s", fix_id, exc)
        return repaired

    def _recover_one(self, fix_id: str) -> bool:
        record = self.get(fix_id)
        root = confine_dir(record.root, self.roots)
        rels = [f.path for f in record.files]
        with self._locked(root, rels, wait=False) as held, contextlib.ExitStack() as stack:
            folders = _Folders(root, stack)
            record = self.get(fix_id)
            if record.status not in (FixStatus.APPLYING, FixStatus.REVERTING):
                return False
            for rel in rels:
                cleanup_temps(*folders.get(rel))
            previous = self._backups(fix_id)
            undo: list[_Op] = []
            for f in record.files:
                current = self._current(root, f.path)
                if current is not None and sha256_bytes(current) == f.after_sha256:
                    undo.append(_Op(f.path, f.after_sha256, previous.get(f.path), current))
            self._run_ops(folders, undo, held)
            if record.status == FixStatus.APPLYING:
                self._set_status(
                    fix_id,
                    FixStatus.FAILED,
                    f"interrupted before verification; {len(undo)} written file(s) restored",
                )
            else:
                # A `reverting` row was a verified or applied fix; its finding opens again only if
                # that very fix had marked it fixed (the hook checks), in the same transaction.
                self._settle(
                    fix_id,
                    FixStatus.REVERTED,
                    "revert interrupted, completed on recovery",
                    then=self._reopen(record, root, fix_id),
                )
        return True

    def purge_backups(self, *, older_than_days: int | None = None) -> int:
        """Drop sealed contents older than the retention (backups of settled fixes, plan contents)."""
        days = self.backup_retention_days if older_than_days is None else older_than_days
        cutoff = iso_us(datetime.now(UTC) - timedelta(days=days))
        with self.store.write() as conn:
            cur = conn.execute(
                "UPDATE fix_backups SET before_sealed = NULL, purged = 1 WHERE purged = 0 AND fix_id IN"
                " (SELECT fix_id FROM fixes WHERE status NOT IN (?, ?) AND updated_at < ?)",
                (FixStatus.APPLYING, FixStatus.REVERTING, cutoff),
            )
            conn.execute(
                "UPDATE fix_plan_files SET after_sealed = NULL WHERE after_sealed IS NOT NULL AND plan_id IN"
                " (SELECT plan_id FROM fix_plans WHERE created_at < ?) AND plan_id NOT IN"
                " (SELECT plan_id FROM fixes WHERE status IN (?, ?))",
                (cutoff, FixStatus.APPLYING, FixStatus.REVERTING),
            )
            return int(cur.rowcount)

    # -- reads ----------------------------------------------------------------------------------

    _SELECT = (
        "SELECT f.fix_id, f.plan_id, f.status, f.message, f.verification_json, f.created_at, f.updated_at,"
        " p.kind, p.root, p.finding_fingerprint, f.rowid AS rid FROM fixes f JOIN fix_plans p USING (plan_id)"
    )

    def _record(self, row: sqlite3.Row) -> FixRecord:
        backups = self.store.query(
            "SELECT * FROM fix_backups WHERE fix_id = ? ORDER BY seq", (row["fix_id"],)
        )
        files = [_planned_file(r) for r in backups]
        available = bool(backups) and all(
            b["before_sha256"] is None or (not b["purged"] and b["before_sealed"] is not None)
            for b in backups
        )
        verification = row["verification_json"]
        return FixRecord(
            fix_id=row["fix_id"],
            plan_id=row["plan_id"],
            status=FixStatus(row["status"]),
            kind=row["kind"],
            root=row["root"],
            files=files,
            finding_fingerprint=row["finding_fingerprint"],
            message=row["message"],
            verification=None if verification is None else Verification.model_validate_json(verification),
            backup_available=available,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def get(self, fix_id: str) -> FixRecord:
        rows = self.store.query(self._SELECT + " WHERE f.fix_id = ?", (fix_id,))
        if not rows:
            raise NotFound("no fix has that id; list_fixes shows them")
        return self._record(rows[0])

    def list(
        self,
        *,
        statuses: Sequence[FixStatus] | None = None,
        finding_fingerprint: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FixPage:
        check_limit(limit)
        wanted = sorted({FixStatus(s).value for s in statuses}) if statuses else None
        digest = query_digest("fixes", wanted, finding_fingerprint)
        where: list[str] = []
        params: list[Any] = []
        if wanted:
            where.append(f"f.status IN ({','.join('?' * len(wanted))})")
            params.extend(wanted)
        if finding_fingerprint:
            where.append("p.finding_fingerprint = ?")
            params.append(finding_fingerprint)
        if cursor:
            key = decode_cursor(cursor, digest)
            if len(key) != 1 or not isinstance(key[0], int):
                raise InvalidInput("the cursor is not valid for this query; start again without one")
            where.append("f.rowid < ?")
            params.append(key[0])
        sql = (
            self._SELECT
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY f.rowid DESC LIMIT ?"
        )
        params.append(limit + 1)
        rows = self.store.query(sql, params)
        items = [self._record(r) for r in rows[:limit]]
        next_cursor = encode_cursor(digest, [int(rows[limit - 1]["rid"])]) if len(rows) > limit else None
        return FixPage(items=items, next_cursor=next_cursor)
