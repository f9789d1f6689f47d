"""The edited manifest must stay satisfiable.


A fix never leaves the manifest unsatisfiable: after the edit, every other requirement on the same
name in the edited requirements file and in the files it includes (`-r`, `-c`, recursively), or in
the edited pyproject.toml's PEP 621 lists, must still admit the target (`packaging` specifiers);
otherwise the fix is refused, naming the line (`django==1.11` beside `Django<2.0` never becomes
`django==2.2.28`). A requirement under a different environment marker is not compared (the two
may never apply together); a note says so. A UTF-8 byte order mark is kept and never stops a fix;
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from secaudit.tools.deps.safe_io import safe_relpath
from secaudit.tools.deps.sources.requirements import include_of, logical_lines, split_options
from secaudit.tools.errors import SecauditError
from secaudit.tools.fixes.deps.common import (
    _split_bom,
    _version,
)
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    RepoView,
    decode_text,
)
from secaudit.tools.text import clean_line

# -- the edited manifest must stay satisfiable ----------------------------------------------------

_MAX_SET_FILES = 64


@dataclass(frozen=True)
class _Declared:
    where: str  # "requirements.txt line 2"
    text: str
    requirement: Requirement


def _declared_in_requirements(
    view: RepoView, rel: str, text: str, want: str, seen: set[str], out: list[tuple[str, int, Requirement]]
) -> None:
    """Every requirement on `want` in `rel` and the files it includes (-r, -c), as pip reads them."""
    seen.add(rel)
    for line_no, line in logical_lines(_split_bom(text)[1]):
        included = include_of(line)
        if included is not None:
            try:
                child = safe_relpath(posixpath.join(posixpath.dirname(rel), included[0]))
                data = None if child in seen or len(seen) >= _MAX_SET_FILES else view.read(child)
            except SecauditError:
                continue  # outside the root or through a link: the audit did not read it either
            if data is not None:
                _declared_in_requirements(view, child, decode_text(data), want, seen, out)
            continue
        if line.startswith("-"):
            continue
        try:
            req = Requirement(split_options(line)[0])
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == want:
            out.append((rel, line_no, req))


def _declared_in_pyproject(text: str, want: str) -> list[tuple[str, int, Requirement]]:
    """The PEP 621 / dependency-group requirement strings on `want` (Poetry tables are edited whole)."""
    try:
        doc = tomlkit.parse(_split_bom(text)[1]).unwrap()
    except Exception:  # noqa: BLE001 - tomlkit raises several unrelated types
        return []
    raw = doc.get("project")
    project: dict[str, Any] = raw if isinstance(raw, dict) else {}
    arrays: list[tuple[str, Any]] = [("project.dependencies", project.get("dependencies"))]
    for group, items in (project.get("optional-dependencies") or {}).items():
        arrays.append((f"project.optional-dependencies.{group}", items))
    for group, items in (doc.get("dependency-groups") or {}).items():
        arrays.append((f"dependency-groups.{group}", items))
    out: list[tuple[str, int, Requirement]] = []
    for where, items in arrays:
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, str):
                continue
            try:
                req = Requirement(item)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == want:
                out.append((f"pyproject.toml {where}", index + 1, req))
    return out


def _check_satisfiable(
    declared: Sequence[tuple[str, int, Requirement]],
    package: str,
    target: str,
    edited_marker: str | None,
    *,
    item: str = "line",
) -> list[str]:
    """Refuse when a requirement that applies together with the edited one excludes `target`;
    returns notes for those under another marker (not compared)."""
    version = _version(target)
    conflicts: list[str] = []
    notes: list[str] = []
    for where, number, req in declared:
        if req.url or req.specifier.contains(version, prereleases=True):
            continue
        shown = clean_line(str(req), 120)
        marker = str(req.marker) if req.marker is not None else None
        if marker is not None and edited_marker is not None and marker != edited_marker:
            notes.append(
                f"{where} {item} {number} ({shown!r}) excludes {target} under another environment "
                "marker; not compared with the edited requirement, check it applies elsewhere"
            )
            continue
        conflicts.append(f"{where} {item} {number} ({shown!r})")
    if conflicts:
        raise FixNotApplicable(
            f"{package}: moving it to {target} would leave the requirements unsatisfiable: "
            f"{'; '.join(conflicts[:5])} {'excludes' if len(conflicts) == 1 else 'exclude'} {target}. "
            "Raise or remove that constraint by hand (then audit and plan again); nothing was planned."
        )
    return notes


def _satisfiable_requirements(
    view: RepoView, manifest: str, new_text: str, package: str, target: str, line: int | None
) -> list[str]:
    found: list[tuple[str, int, Requirement]] = []
    _declared_in_requirements(view, manifest, new_text, canonicalize_name(package), set(), found)
    edited = [req for rel, number, req in found if rel == manifest and (line is None or number == line)]
    marker = str(edited[0].marker) if edited and edited[0].marker is not None else None
    return _check_satisfiable(found, package, target, marker)
