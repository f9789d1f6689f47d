"""The finding model every scanner produces.

A fingerprint identifies "the same problem" across runs: scanner, rule, repo-relative path and the
normalised code around the problem, never line numbers, so inserting lines above a finding keeps its
fingerprint and its triage.
"""

from __future__ import annotations

import enum
import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from secaudit.tools.masking import get_redactor
from secaudit.tools.severity import Severity
from secaudit.tools.text import clean_line, clean_text

__all__ = [
    "ORIGINAL_SEVERITY",
    "SEVERITY_RULE",
    "Confidence",
    "Finding",
    "Severity",
    "fingerprint",
    "normalise_context",
]

# The properties a project rule that re-rated a finding leaves on it (tools/project/config.py):
# the severity the scanner gave, and which rule changed it. SARIF carries them (sarif.py).
ORIGINAL_SEVERITY = "original_severity"
SEVERITY_RULE = "severity_rule"

MAX_TITLE = 300
MAX_MESSAGE = 4000
MAX_SNIPPET = 2000
MAX_REFERENCES = 20


class Confidence(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


_WS = re.compile(r"\s+")


def normalise_context(code: str) -> str:
    """Whitespace-insensitive code context: indentation and blank lines do not change identity."""
    return _WS.sub(" ", code).strip()


def fingerprint(scanner: str, rule_id: str, path: str, context: str, *, extra: str = "") -> str:
    """sha256 over (scanner, rule, path, normalised context[, extra]); hex, 64 chars."""
    h = hashlib.sha256()
    for part in (scanner, rule_id, path, normalise_context(context), extra):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


class Finding(BaseModel):
    """One problem in one place. Text fields are untrusted data from the scanned repository."""

    model_config = ConfigDict(frozen=True)

    scanner: str
    rule_id: str
    severity: Severity
    confidence: Confidence = Confidence.MEDIUM
    path: str = Field(description="repository-relative POSIX path")
    start_line: int | None = None
    end_line: int | None = None
    title: str
    message: str = ""
    snippet: str | None = None
    cwe: list[int] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    fingerprint: str
    suppressed_in_code: bool = False
    properties: dict[str, Any] = Field(
        default_factory=dict, description="scanner-specific, JSON-serialisable details"
    )

    # Text fields pass through the redaction layer: a finding is stored and shown, so whatever
    # secret a scanner quoted (a literal in bandit's text, a token on the snippet line) is masked.
    # Redacted before the final cut: a secret straddling the limit is still recognised whole
    # (cut first, its head would no longer match any pattern and would be kept).
    @field_validator("title", "rule_id")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return clean_line(get_redactor().redact(clean_line(value, MAX_TITLE * 2)), MAX_TITLE)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        return clean_text(get_redactor().redact(clean_text(value, MAX_MESSAGE * 2)), MAX_MESSAGE)

    @field_validator("snippet")
    @classmethod
    def _snippet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return clean_text(get_redactor().redact(clean_text(value, MAX_SNIPPET * 2)), MAX_SNIPPET)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Scanner details are stored and shown like the text fields: through the same redaction.
        redacted = get_redactor().redact_obj(value)
        return redacted if isinstance(redacted, dict) else {}

    @field_validator("references")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        return [clean_line(v, 500) for v in value[:MAX_REFERENCES]]
