"""A project's own audit policy: `[tool.secaudit]` in `.secaudit.toml` or `pyproject.toml`.

Read from the audited root through the confined reader (a link leading out of the root is refused),
at most `MAX_CONFIG_BYTES`, parsed with tomllib and validated by strict models: an unknown key, a
wrong type or value is a `ProjectConfigError` naming the file and the key
(`.secaudit.toml: tool.secaudit.rules[0].action: ...`), never a silent default.

Which file: `.secaudit.toml` when it exists (its `[tool.secaudit]` table, the only table it may
hold), else `pyproject.toml`'s `[tool.secaudit]` when present. When both hold one, `.secaudit.toml`
wins and the run's notes say the other was ignored.

Policy, applied by the audit engine (`tools/audit/engine.py`) whichever face started the audit:
- `exclude`: gitignore-style patterns handed to the one walker (`tools/walker.py`, `PathGlobs`).
- `scanners`: the default scanner set when the caller names none.
- `fail_on`: the CLI's gate threshold when `--fail-on` is not given.
- `rules`: per path glob, findings of some rule ids (or all) turned off (dropped from the run and
  counted in its notes, never silently) or re-rated (severity replaced, the original kept in the
  finding's properties as `original_severity`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from secaudit.tools.confined_io import FileRefused, read_bytes
from secaudit.tools.errors import ConfigError
from secaudit.tools.findings.gate import FAIL_ON_CHOICES
from secaudit.tools.findings.model import ORIGINAL_SEVERITY, SEVERITY_RULE, Finding
from secaudit.tools.severity import Severity
from secaudit.tools.text import first_few
from secaudit.tools.walker import PathGlobs

__all__ = [
    "CONFIG_FILE",
    "MAX_CONFIG_BYTES",
    "PYPROJECT_FILE",
    "PathRule",
    "ProjectConfig",
    "ProjectConfigError",
    "ProjectPolicy",
    "RuleOutcome",
    "load_config",
]

CONFIG_FILE = ".secaudit.toml"
PYPROJECT_FILE = "pyproject.toml"
MAX_CONFIG_BYTES = 1024 * 1024
_MAX_PATTERNS = 500
_MAX_RULES = 200

FailOn = Literal["critical", "high", "medium", "low", "info", "none"]
assert set(FailOn.__args__) == set(FAIL_ON_CHOICES)  # type: ignore[attr-defined]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00\\]+$")]
RuleId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00\s]+$")]
ScannerName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


class ProjectConfigError(ConfigError):
    """The project's `.secaudit.toml`, `[tool.secaudit]` or `.secaudit/baseline.json` is invalid."""

    code = "project_config_error"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PathRule(_Strict):
    """Findings under `paths` (of rules `ids`, or every rule) turned off or re-rated."""

    paths: list[Pattern] = Field(min_length=1, max_length=_MAX_PATTERNS)
    ids: list[RuleId] | None = Field(default=None, min_length=1, max_length=_MAX_PATTERNS)
    action: Literal["off"] | None = None
    severity: Severity | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_text(cls, value: Any) -> Any:
        # Strict mode takes no string for an enum: the TOML value is text, checked here by name.
        if isinstance(value, str):
            try:
                return Severity(value)
            except ValueError:
                raise ValueError("expected one of " + ", ".join(repr(s.value) for s in Severity)) from None
        return value

    @model_validator(mode="after")
    def _one_effect(self) -> PathRule:
        if (self.action is None) == (self.severity is None):
            raise ValueError("give exactly one of action = 'off' and severity = '<level>'")
        return self

    def applies(self, finding: Finding, globs: PathGlobs) -> bool:
        if self.ids is not None and not any(
            i == finding.rule_id or i == f"{finding.scanner}/{finding.rule_id}" for i in self.ids
        ):
            return False
        return globs.matches(finding.path)

    def describe(self, index: int) -> str:
        what = "all rules" if self.ids is None else first_few(self.ids, 5)
        where = first_few(self.paths, 5)
        return f"rules[{index}] ({what} in {where})"


class ProjectConfig(_Strict):
    """The `[tool.secaudit]` table. Every key is optional; none means secaudit's defaults."""

    fail_on: FailOn | None = None
    exclude: list[Pattern] = Field(default_factory=list, max_length=_MAX_PATTERNS)
    scanners: list[ScannerName] | None = Field(default=None, min_length=1, max_length=20)
    rules: list[PathRule] = Field(default_factory=list, max_length=_MAX_RULES)


@dataclass(frozen=True)
class RuleOutcome:
    """What the per-path rules did to one run's findings."""

    kept: list[Finding]
    silenced: set[str]  # fingerprints of findings turned off
    notes: list[str]


@dataclass(frozen=True)
class ProjectPolicy:
    """A loaded configuration: where it came from (`source`, None: no file) and the matchers."""

    config: ProjectConfig = field(default_factory=ProjectConfig)
    source: str | None = None
    notes: tuple[str, ...] = ()
    exclude: PathGlobs = field(default_factory=lambda: PathGlobs(()))
    rule_globs: tuple[PathGlobs, ...] = ()

    @classmethod
    def of(cls, config: ProjectConfig, source: str | None, notes: Iterable[str] = ()) -> ProjectPolicy:
        return cls(
            config=config,
            source=source,
            notes=tuple(notes),
            exclude=PathGlobs(config.exclude),
            rule_globs=tuple(PathGlobs(r.paths) for r in config.rules),
        )

    def apply_rules(self, findings: Iterable[Finding]) -> RuleOutcome:
        """The first rule that applies to a finding decides (rules are read top to bottom)."""
        kept: list[Finding] = []
        silenced: set[str] = set()
        off: dict[int, int] = {}
        rerated: dict[int, int] = {}
        for finding in findings:
            index = next(
                (i for i, r in enumerate(self.config.rules) if r.applies(finding, self.rule_globs[i])), None
            )
            if index is None:
                kept.append(finding)
                continue
            rule = self.config.rules[index]
            if rule.action == "off":
                silenced.add(finding.fingerprint)
                off[index] = off.get(index, 0) + 1
                continue
            assert rule.severity is not None
            if rule.severity is not finding.severity:
                props = {**finding.properties, ORIGINAL_SEVERITY: finding.severity.value}
                finding = finding.model_copy(
                    update={
                        "severity": rule.severity,
                        "properties": props | {SEVERITY_RULE: f"rules[{index}]"},
                    }
                )
                rerated[index] = rerated.get(index, 0) + 1
            kept.append(finding)
        notes = [
            f"{count} findings silenced by project config rule {self.config.rules[i].describe(i)} "
            f"of {self.source}"
            for i, count in sorted(off.items())
        ]
        notes += [
            f"{count} findings re-rated {self.config.rules[i].severity} by project config rule "
            f"{self.config.rules[i].describe(i)} of {self.source} (original severity in their properties)"
            for i, count in sorted(rerated.items())
        ]
        return RuleOutcome(kept=kept, silenced=silenced, notes=notes)


def _where(loc: Iterable[int | str]) -> str:
    out = "tool.secaudit"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _problem(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key; known keys: " + ", ".join(
            ProjectConfig.model_fields if len(error["loc"]) == 1 else PathRule.model_fields
        )
    if kind == "literal_error":
        return "expected " + str(error["ctx"].get("expected", "one of the listed values"))
    msg = str(error["msg"]).removeprefix("Value error, ")
    return msg


def validate_config(data: Any, source: str) -> ProjectConfig:
    """`data` (the `[tool.secaudit]` table) as a ProjectConfig; ProjectConfigError naming each problem."""
    if not isinstance(data, dict):
        raise ProjectConfigError(f"{source}: tool.secaudit: expected a table")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:10]:
            loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            problems.append(f"{source}: {_where(loc)}: {_problem(error)}")
        raise ProjectConfigError("invalid project configuration: " + "; ".join(problems)) from None


def _read_toml(root: Path, name: str) -> dict[str, Any] | None:
    """The parsed file, or None when there is none. ProjectConfigError for one that cannot be used."""
    if not os.path.lexists(root / name):
        return None
    try:
        raw = read_bytes(root, name, MAX_CONFIG_BYTES)
    except FileRefused as exc:
        raise ProjectConfigError(f"{name}: {exc.reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProjectConfigError(f"{name}: not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        # The pyproject of a project that never configured secaudit is not ours to refuse.
        if name == PYPROJECT_FILE and "tool.secaudit" not in text and "secaudit" not in text:
            return None
        detail = str(exc).splitlines()[0][:200] if str(exc) else "parse error"
        raise ProjectConfigError(f"{name}: not valid TOML ({detail})") from None


def _table(doc: dict[str, Any], name: str) -> Any | None:
    tool = doc.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ProjectConfigError(f"{name}: tool: expected a table")
    return tool.get("secaudit")


def load_config(root: Path, *, known_scanners: Collection[str]) -> ProjectPolicy:
    """The project policy of audited folder `root` (a real path): defaults when it has none."""
    own = _read_toml(root, CONFIG_FILE)
    pyproject = _read_toml(root, PYPROJECT_FILE)
    from_pyproject = None if pyproject is None else _table(pyproject, PYPROJECT_FILE)
    notes: list[str] = []
    if own is not None:
        extra = sorted(k for k in own if k != "tool")
        if extra:
            raise ProjectConfigError(
                f"{CONFIG_FILE}: {extra[0][:60]}: unknown table or key; "
                "put the settings under [tool.secaudit]"
            )
        table = _table(own, CONFIG_FILE)
        tool = own.get("tool", {})
        others = sorted(k for k in tool if k != "secaudit") if isinstance(tool, dict) else []
        if others:
            raise ProjectConfigError(
                f"{CONFIG_FILE}: tool.{others[0][:60]}: unknown table; this file holds [tool.secaudit] only"
            )
        source = CONFIG_FILE
        if from_pyproject is not None:
            notes.append(f"{PYPROJECT_FILE} [tool.secaudit] ignored: {CONFIG_FILE} takes precedence")
        data = table if table is not None else {}
    elif from_pyproject is not None:
        source, data = PYPROJECT_FILE, from_pyproject
    else:
        return ProjectPolicy()
    config = validate_config(data, source)
    for i, name in enumerate(config.scanners or ()):
        if name not in known_scanners:
            raise ProjectConfigError(
                f"invalid project configuration: {source}: tool.secaudit.scanners[{i}]: unknown scanner "
                f"{name!r}; available: {', '.join(sorted(known_scanners))}"
            )
    summary = (
        f"project config: {source} ({len(config.exclude)} exclude patterns, {len(config.rules)} path rules"
        + (f", scanners {', '.join(config.scanners)}" if config.scanners else "")
        + ")"
    )
    return ProjectPolicy.of(config, source, [summary, *notes])
