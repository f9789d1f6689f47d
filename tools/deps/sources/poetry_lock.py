"""`poetry.lock`: every locked package; direct ones are those `pyproject.toml` beside it declares."""

from __future__ import annotations

import re
from collections.abc import Mapping

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ._common import exact_pin, pypi_name
from ._lockbase import direct_from_pyproject
from .pyproject import load_toml

__all__ = ["PoetryLockSource", "locked_packages"]


def locked_packages(
    ctx: SourceContext, rel: str, source_name: str, table: str
) -> tuple[list[tuple[Mapping[str, object], int | None]], SourceResult]:
    """The `[[table]]` entries of a TOML lockfile, each with the line of its `name = ...` key."""
    data, lines = load_toml(ctx, rel)
    packages = data.get(table)
    if packages is None:
        packages = []
    if not isinstance(packages, list):
        raise SourceError(f"{rel}: `{table}` is not an array of tables; not a {source_name} lockfile")
    headers = lines.array_table_lines(table)
    out: list[tuple[Mapping[str, object], int | None]] = []
    name_re = re.compile(r"^\s*name\s*=")
    for i, pkg in enumerate(packages):
        if not isinstance(pkg, Mapping):
            continue
        line = None
        if i < len(headers):
            stop = headers[i + 1] - 1 if i + 1 < len(headers) else None
            line = lines.find(name_re, headers[i], stop) or headers[i]
        out.append((pkg, line))
    return out, SourceResult(files=[rel])


def make_dependency(
    rel: str,
    line: int | None,
    source: str,
    raw_name: object,
    raw_version: object,
    direct: bool | None,
    declared: tuple[str | None, int | None],
    groups: tuple[str, ...] = (),
    extra_notes: tuple[str, ...] = (),
    marker: str | None = None,
) -> Dependency | FileNote:
    if not isinstance(raw_name, str) or not raw_name.strip():
        return FileNote(rel, f"line {line or '?'}: a package entry without a name; skipped")
    name, normalized, notes = pypi_name(raw_name)
    version = clean_line(raw_version, 100) if isinstance(raw_version, str) and raw_version.strip() else None
    all_notes = [*notes, *extra_notes]
    if version is not None:
        _, pin_notes = exact_pin(f"=={version}")
        all_notes.extend(pin_notes)
    else:
        all_notes.append("no version recorded in the lockfile: cannot be checked against advisories")
    return Dependency(
        ecosystem=PYPI, name=name, normalized_name=normalized, version=version,
        specifier=f"=={version}" if version else None, direct=direct, manifest=rel, line=line,
        source=source, declared_in=declared[0], declared_line=declared[1], groups=groups,
        marker=marker, notes=tuple(all_notes),
    )  # fmt: skip


class PoetryLockSource(DependencySource):
    name = "poetry.lock"
    ecosystem = PYPI
    is_lockfile = True

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] == "poetry.lock"

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        packages, result = locked_packages(ctx, rel, "Poetry", "package")
        direct = direct_from_pyproject(ctx, rel, result)
        for pkg, line in packages:
            notes: tuple[str, ...] = ()
            src = pkg.get("source")
            if isinstance(src, Mapping) and src.get("type") in ("git", "directory", "file", "url"):
                notes = (f"installed from a {src.get('type')} source, not an index release",)
            groups_raw = pkg.get("groups")
            if not isinstance(groups_raw, list):
                groups_raw = [pkg.get("category")]
            groups = tuple(clean_line(g, 40) for g in groups_raw if isinstance(g, str))
            dep = make_dependency(
                rel, line, self.name, pkg.get("name"), pkg.get("version"),
                None, (None, None), groups, notes,
            )  # fmt: skip
            if isinstance(dep, FileNote):
                result.notes.append(dep)
                continue
            result.dependencies.append(direct.apply(dep))
        return result
