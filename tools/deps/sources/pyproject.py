"""`pyproject.toml`: PEP 621 `[project]` dependencies (and optional ones), PEP 735 dependency
groups, `tool.uv.dev-dependencies`, and Poetry's `[tool.poetry]` dependency tables.

Also used by the lockfile sources to tell direct dependencies from transitive ones and to point at
the line that declares a direct dependency.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ._common import LineIndex, parse_pep508, pypi_name

__all__ = ["Declared", "PyprojectSource", "declared_dependencies", "load_toml", "poetry_pin"]

_POETRY_EXACT = re.compile(r"^\s*(?:==?)?\s*([0-9][^\s,*|<>=!~^]*)\s*$")
_UNPINNED = "not pinned to one version: only an exact pin can be checked against advisories"


@dataclass(frozen=True)
class Declared:
    """A dependency as a manifest declares it."""

    name: str
    normalized_name: str
    specifier: str | None
    version: str | None
    line: int | None
    group: str | None
    extras: tuple[str, ...] = ()
    marker: str | None = None
    notes: tuple[str, ...] = ()


def load_toml(ctx: SourceContext, rel: str) -> tuple[dict[str, Any], LineIndex]:
    text = ctx.read_text(rel)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise SourceError(f"{rel}: not valid TOML ({clean_line(str(exc), 120)})") from None
    return data, LineIndex(text)


def poetry_pin(constraint: str) -> str | None:
    """Poetry reads a bare version ("1.2.3") as an exact pin, like "==1.2.3"."""
    m = _POETRY_EXACT.match(constraint)
    if not m:
        return None
    try:
        Version(m.group(1))
    except InvalidVersion:
        return None
    return m.group(1)


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    node: Any = data
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _pep508_list(values: object, lines: LineIndex, group: str | None, anchor: int | None) -> list[Declared]:
    out: list[Declared] = []
    if not isinstance(values, list):
        return out
    for value in values:
        if not isinstance(value, str):
            continue  # PEP 735 {include-group = ...} entries name groups, not packages
        line = lines.find_literal(f'"{value}"', anchor or 1) or lines.find_literal(f"'{value}'", anchor or 1)
        try:
            parsed = parse_pep508(value)
        except ValueError as exc:
            out.append(Declared(clean_line(value, 120), "", None, None, line, group, notes=(str(exc),)))
            continue
        out.append(
            Declared(
                parsed.name, parsed.normalized_name, parsed.specifier, parsed.version, line, group,
                parsed.extras, parsed.marker, tuple(parsed.notes),
            )
        )  # fmt: skip
    return out


def _poetry_table(
    table: Mapping[str, Any], lines: LineIndex, header: str, group: str | None
) -> list[Declared]:
    out: list[Declared] = []
    start = lines.table_start(header) or 1
    for raw_name, spec in table.items():
        if raw_name.lower() == "python":
            continue
        name, normalized, notes = pypi_name(raw_name)
        line = lines.find(re.compile(r"^\s*[\"']?" + re.escape(raw_name) + r"[\"']?\s*="), start)
        if line is None:
            line = lines.table_start(f"{header}.{raw_name}")
        note_list = list(notes)
        constraint: str | None = None
        if isinstance(spec, str):
            constraint = spec
        elif isinstance(spec, Mapping):
            if any(k in spec for k in ("git", "path", "url", "file")):
                note_list.append("from git, a URL or a local path: not followed, version unknown")
            elif isinstance(spec.get("version"), str):
                constraint = spec["version"]
        elif isinstance(spec, list):
            note_list.append("several conditional constraints: version depends on the environment")
        version = poetry_pin(constraint) if constraint else None
        out.append(
            Declared(
                name, normalized, clean_line(constraint, 120) if constraint else None, version, line,
                group, notes=tuple(note_list),
            )
        )  # fmt: skip
    return out


def declared_dependencies(data: Mapping[str, Any], lines: LineIndex) -> list[Declared]:
    project = _table(data, "project")
    out: list[Declared] = []
    anchor = lines.find(r"^\s*dependencies\s*=")
    out += _pep508_list(project.get("dependencies"), lines, None, anchor)
    for group, values in _table(project, "optional-dependencies").items():
        out += _pep508_list(values, lines, str(group), lines.find(r"^\s*\[\s*project\.optional-dependencies"))
    for group, values in _table(data, "dependency-groups").items():
        out += _pep508_list(values, lines, str(group), lines.table_start("dependency-groups"))
    uv_dev = _table(data, "tool", "uv").get("dev-dependencies")
    out += _pep508_list(uv_dev, lines, "dev", lines.find(r"^\s*dev-dependencies\s*="))
    poetry = _table(data, "tool", "poetry")
    out += _poetry_table(_table(poetry, "dependencies"), lines, "tool.poetry.dependencies", None)
    out += _poetry_table(_table(poetry, "dev-dependencies"), lines, "tool.poetry.dev-dependencies", "dev")
    for group, body in _table(poetry, "group").items():
        deps = _table(body, "dependencies") if isinstance(body, Mapping) else {}
        out += _poetry_table(deps, lines, f"tool.poetry.group.{group}.dependencies", str(group))
    return out


class PyprojectSource(DependencySource):
    name = "pyproject"
    ecosystem = PYPI

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] == "pyproject.toml"

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        data, lines = load_toml(ctx, rel)
        result = SourceResult(files=[rel])
        for decl in declared_dependencies(data, lines):
            if not decl.normalized_name:
                result.notes.append(FileNote(rel, f"line {decl.line or '?'}: {'; '.join(decl.notes)}"))
                continue
            notes = list(decl.notes)
            if decl.version is None and not any("not followed" in n for n in notes):
                notes.append(_UNPINNED)
            result.dependencies.append(
                Dependency(
                    ecosystem=PYPI, name=decl.name, normalized_name=decl.normalized_name,
                    version=decl.version, specifier=decl.specifier, direct=True, manifest=rel,
                    line=decl.line, source=self.name, extras=decl.extras, marker=decl.marker,
                    groups=(decl.group,) if decl.group else (), notes=tuple(notes),
                )
            )  # fmt: skip
        return result
