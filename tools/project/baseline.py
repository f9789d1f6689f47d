"""The committed triage baseline, `.secaudit/baseline.json` under the audited root.

It carries people's triage decisions to every machine that audits the repository: per finding its
fingerprint, scanner, rule id, relative path, status, reason, expiry, who and when. Never a
snippet, message or title (any of them could quote a secret); the reason, a person's text, went
through the redaction layer when it was stored and goes through it again here.

The file is deterministic (entries sorted by path, scanner, rule, fingerprint; keys sorted; two
spaces; a trailing newline), so re-writing an unchanged baseline changes no byte and a review diff
shows exactly the decisions that changed. It is written atomically and never through a link
(`tools/confined_io.py`). An invalid file is a `ProjectConfigError` naming the entry.

Writing merges: per fingerprint, the newest decision of the existing file and the local store
wins (so a decision made on another machine is kept, and a local re-triage, even back to `open`,
replaces it); `open` and expired decisions are left out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from secaudit.tools.confined_io import FileRefused, open_parent, read_bytes, read_current, write_atomic
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.baseline import Decision
from secaudit.tools.findings.records import TriageStatus
from secaudit.tools.masking import get_redactor
from secaudit.tools.paths import check_relpath
from secaudit.tools.project.config import ProjectConfigError
from secaudit.tools.text import clean_line, clean_text
from secaudit.tools.timefmt import iso_ms, parse_time

__all__ = [
    "BASELINE_DIR",
    "BASELINE_FILE",
    "MAX_BASELINE_BYTES",
    "LoadedBaseline",
    "load_baseline",
    "merge_decisions",
    "render_baseline",
    "write_baseline",
]

BASELINE_DIR = ".secaudit"
BASELINE_FILE = f"{BASELINE_DIR}/baseline.json"
MAX_BASELINE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 100_000
_MAX_REASON = 2000
_FORMAT_VERSION = 1
_HEX = re.compile(r"[0-9a-f]{64}")

Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Status = Literal["false_positive", "accepted_risk", "wont_fix"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class BaselineEntry(_Strict):
    fingerprint: Fingerprint
    scanner: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    rule_id: Name
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    status: Status
    reason: Annotated[str, StringConstraints(min_length=1, max_length=_MAX_REASON)]
    expires_at: str | None = None
    who: Name
    at: str

    @field_validator("path")
    @classmethod
    def _relpath(cls, value: str) -> str:
        try:
            check_relpath(value, "path")
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("expires_at", "at")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return iso_ms(parse_time(value))
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time, e.g. 2026-12-31T00:00:00Z") from None


class BaselineFile(_Strict):
    version: Literal[1]
    entries: list[BaselineEntry] = Field(max_length=MAX_ENTRIES)


@dataclass(frozen=True)
class LoadedBaseline:
    source: str
    entries: tuple[Decision, ...]

    def live(self, now: datetime) -> list[Decision]:
        stamp = iso_ms(now)
        return [d for d in self.entries if d.expires_at is None or d.expires_at > stamp]

    def expired(self, now: datetime) -> list[Decision]:
        stamp = iso_ms(now)
        return [d for d in self.entries if d.expires_at is not None and d.expires_at <= stamp]


def _entry_name(raw: object, index: int) -> str:
    fp = raw.get("fingerprint") if isinstance(raw, dict) else None
    short = f" (fingerprint {fp[:12]})" if isinstance(fp, str) and _HEX.fullmatch(fp) else ""
    return f"entries[{index}]{short}"


def load_baseline(root: Path) -> LoadedBaseline | None:
    """The baseline of `root`, or None when it has none; ProjectConfigError for an invalid one."""
    if not os.path.lexists(root / BASELINE_FILE):
        return None
    try:
        raw = read_bytes(root, BASELINE_FILE, MAX_BASELINE_BYTES)
        data = json.loads(raw.decode("utf-8"))
    except FileRefused as exc:
        raise ProjectConfigError(f"{BASELINE_FILE}: {exc.reason}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProjectConfigError(
            f"{BASELINE_FILE}: not valid UTF-8 JSON; restore it from version control or write it again "
            "with `secaudit baseline write`"
        ) from None
    try:
        parsed = BaselineFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:10]:
            loc = list(error["loc"])
            where = ".".join(str(p) for p in loc) or "the file"
            if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
                entries = data.get("entries") if isinstance(data, dict) else None
                item = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
                where = ".".join([_entry_name(item, loc[1]), *(str(p) for p in loc[2:])])
            msg = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{where}: {msg}")
        raise ProjectConfigError(f"invalid baseline {BASELINE_FILE}: " + "; ".join(problems)) from None
    seen: set[str] = set()
    for i, entry in enumerate(parsed.entries):
        if entry.fingerprint in seen:
            raise ProjectConfigError(
                f"invalid baseline {BASELINE_FILE}: entries[{i}] (fingerprint {entry.fingerprint[:12]}): "
                "the fingerprint appears twice"
            )
        seen.add(entry.fingerprint)
    return LoadedBaseline(
        source=BASELINE_FILE,
        entries=tuple(
            Decision(
                fingerprint=e.fingerprint,
                scanner=e.scanner,
                rule_id=e.rule_id,
                path=e.path,
                status=TriageStatus(e.status),
                reason=e.reason,
                expires_at=e.expires_at,
                who=e.who,
                at=e.at,
            )
            for e in parsed.entries
        ),
    )


def merge_decisions(
    *sources: Iterable[Decision], now: datetime, extra: Iterable[Decision] = ()
) -> list[Decision]:
    """Per fingerprint the newest decision of `sources`; then `extra` for fingerprints with none.
    Decisions `open` or expired are dropped. Sorted as the file lists them."""
    stamp = iso_ms(now)
    newest: dict[str, Decision] = {}
    for source in sources:
        for d in source:
            held = newest.get(d.fingerprint)
            # On a tie the later source wins: the store's copy of an applied entry is the same decision.
            if held is None or d.at >= held.at:
                newest[d.fingerprint] = d
    live = {
        fp: d
        for fp, d in newest.items()
        if d.status is not TriageStatus.OPEN and (d.expires_at is None or d.expires_at > stamp)
    }
    for d in extra:
        if d.fingerprint not in newest:
            live.setdefault(d.fingerprint, d)
    return sorted(live.values(), key=_order)


def _order(d: Decision) -> tuple[str, str, str, str]:
    return (d.path, d.scanner, d.rule_id, d.fingerprint)


def _entry(d: Decision) -> dict[str, object]:
    redact = get_redactor().redact
    return {
        "fingerprint": d.fingerprint,
        "scanner": clean_line(d.scanner, 40),
        "rule_id": clean_line(redact(d.rule_id), 300),
        "path": d.path,
        "status": d.status.value,
        "reason": clean_text(redact(d.reason), _MAX_REASON).strip() or "(no reason recorded)",
        "expires_at": d.expires_at,
        "who": clean_line(redact(d.who), 300) or "unknown",
        "at": d.at,
    }


def render_baseline(decisions: Sequence[Decision]) -> bytes:
    """The file's bytes: stable JSON, sorted keys and entries, a trailing newline."""
    if len(decisions) > MAX_ENTRIES:
        raise ProjectConfigError(f"{BASELINE_FILE}: at most {MAX_ENTRIES} entries")
    ordered = sorted(decisions, key=_order)
    doc = {"version": _FORMAT_VERSION, "entries": [_entry(d) for d in ordered]}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_baseline(root: Path, data: bytes) -> bool:
    """Write `.secaudit/baseline.json` atomically (no link followed); False when unchanged."""
    _make_folder(root, BASELINE_DIR)
    with open_parent(root, BASELINE_FILE) as (dir_fd, name):
        current = read_current(dir_fd, name, BASELINE_FILE)
        if current.content == data:
            return False
        write_atomic(
            dir_fd,
            name,
            BASELINE_FILE,
            data,
            expected_sha256=current.sha256,
            expect_absent=current.content is None,
        )
    return True


def _make_folder(root: Path, name: str) -> None:
    """Create folder `name` directly under `root`, never through a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=fd)
        except FileExistsError:
            pass  # an existing link or file is refused by the link-refusing walk that follows
    finally:
        os.close(fd)
