"""What fix generators produce and what the fix service returns.

A generator is pure: given a finding and read-only access to the repository it returns a
`Proposal` (old bytes -> new bytes per file, with notes), or raises `FixNotApplicable` with the
reason. Nothing is written by a generator; the service turns a proposal into a stored `FixPlan`
and applies it under the safe-write rules.

A `Fixer` is the fix-generator plug-in of one scanner: registered under that scanner's name in
`secaudit.tools.fixes.generators.FIXERS`, it picks the generator for each of the scanner's rules.
A generator reads a finding's `properties` only through its scanner's contract model
(`secaudit.tools.scanners.contracts`), so a scanner change that breaks a fix fails loudly.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from secaudit.tools.findings.model import Finding

__all__ = [
    "FileChange",
    "FixPlan",
    "FixRecord",
    "FixStatus",
    "Fixer",
    "Generator",
    "PlannedFile",
    "Proposal",
    "RepoView",
    "Verification",
    "decode_text",
    "dominant_eol",
    "encode_text",
    "eol_of",
    "split_lines",
]


class RepoView(Protocol):
    """Read-only access to the repository being fixed (never through a link)."""

    root: Path

    def read(self, rel: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""


@dataclass(frozen=True)
class FileChange:
    rel: str
    before: bytes | None  # None: the plan creates the file
    after: bytes


@dataclass
class Proposal:
    kind: str
    summary: str
    changes: list[FileChange]
    notes: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    relock: list[str] = field(default_factory=list)
    # Values that must never appear in a diff shown or stored (the secret a secrets fix removes).
    sensitive: list[str] = field(default_factory=list)


Generator = Callable[[Finding, RepoView], Proposal]


class Fixer(abc.ABC):
    """The fix generators for one scanner's findings."""

    name: ClassVar[str]  # the scanner whose findings it fixes
    # What it fixes, one entry per rule or family of rules: listed in refusals and in docs/fixes.md.
    supported: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        """The generator for `finding`'s rule; None when the rule has none; `FixNotApplicable`
        with what to do by hand when the remedy is not an edit of the working tree."""


class FixStatus(enum.StrEnum):
    PLANNED = "planned"
    APPLYING = "applying"  # journal state: files may be half written; recovery rolls it back
    APPLIED = "applied"  # written, verification inconclusive or not configured
    VERIFIED = "verified"  # written and the verifier saw the finding gone, nothing new
    ROLLED_BACK = "rolled_back"  # written, then restored because verification failed
    REVERTING = "reverting"  # journal state of revert_fix
    REVERTED = "reverted"
    FAILED = "failed"  # nothing (left) written: an error or an interrupted apply


class PlannedFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str = Field(description="repository-relative POSIX path")
    before_sha256: str | None = Field(description="content hash the file must still have; null: created")
    after_sha256: str
    created: bool = False


class FixPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan_id: str
    kind: str
    summary: str
    root: str
    finding_fingerprint: str
    scanner: str
    rule_id: str
    files: list[PlannedFile]
    diff: str = Field(description="unified diff with repository-relative a/ b/ paths (secrets masked)")
    notes: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    relock_commands: list[str] = Field(default_factory=list)
    created_at: str

    confirm_digest: str = Field(
        default="",
        description="digest of what this plan writes (root, kind, finding, files with their before and "
        "after hashes): pass it to "
        "apply_fix as `confirm_digest` to apply exactly this plan on a client without elicitation. "
        "Always computed from the plan itself; a given value is ignored",
    )

    @model_validator(mode="after")
    def _set_confirm_digest(self) -> Self:
        # The content, not the plan id: planning the same finding again over the same files gives
        # the same digest, so a confirmation shown for one plan holds for its identical re-plan.
        content = {
            "root": self.root,
            "kind": self.kind,
            "finding": self.finding_fingerprint,
            # The after-hashes pin exactly the bytes written; the diff (a masked rendering of the
            # same change, which the redaction layer may touch again on its way out) is left out.
            "files": [[f.path, f.before_sha256, f.after_sha256] for f in self.files],
        }
        raw = json.dumps(content, sort_keys=True, separators=(",", ":"))
        data = b"secaudit-fix-plan-v1\x00" + raw.encode("utf-8", "surrogateescape")
        object.__setattr__(self, "confirm_digest", hashlib.sha256(data).hexdigest())  # frozen model
        return self


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: str = Field(
        description="gone, still_present, broke_parsing, new_findings, inconclusive, skipped"
    )
    detail: str = ""
    parse_errors: list[str] = Field(default_factory=list)
    new_findings: list[dict[str, Any]] = Field(default_factory=list)


class FixRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    fix_id: str
    plan_id: str
    status: FixStatus
    kind: str
    root: str
    files: list[PlannedFile]
    finding_fingerprint: str
    message: str = ""
    verification: Verification | None = None
    backup_available: bool = False
    created_at: str
    updated_at: str


# -- text helpers shared by generators ----------------------------------------------------------

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def decode_text(data: bytes) -> str:
    """UTF-8 with undecodable bytes kept (surrogateescape), so encode_text gives the same bytes back."""
    return data.decode("utf-8", "surrogateescape")


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; only '\\n' ends a line, so '\\r\\n' stays on its line and form feeds
    or Unicode separators inside a line never split it (unlike str.splitlines)."""
    return _LINE.findall(text)


def eol_of(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith("\n"):
        return "\n"
    return ""


def dominant_eol(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"
