"""`uv.lock`: registry, git and URL packages; the workspace's own projects (editable, virtual,
directory sources) are the audited code itself and not looked up. Direct dependencies are those the
root projects list in the lockfile (or, failing that, the sibling `pyproject.toml` declares)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from secaudit.tools.advisories.names import PYPI, normalize_name

from ..interface import DependencySource, FileNote, SourceContext, SourceResult
from ._lockbase import direct_from_pyproject
from .poetry_lock import locked_packages, make_dependency

__all__ = ["UvLockSource"]

_LOCAL = ("editable", "virtual", "directory", "path")


def _names(value: object) -> set[str]:
    out: set[str] = set()
    items: list[object] = []
    if isinstance(value, list):
        items = list(value)
    elif isinstance(value, Mapping):
        for group in value.values():
            if isinstance(group, list):
                items.extend(group)
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            out.add(normalize_name(PYPI, item["name"]))
    return out


class UvLockSource(DependencySource):
    name = "uv.lock"
    ecosystem = PYPI
    is_lockfile = True

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] == "uv.lock"

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        packages, result = locked_packages(ctx, rel, "uv", "package")
        manifest = direct_from_pyproject(ctx, rel, result)
        local: set[str] = set()
        roots_direct: set[str] = set()
        for pkg, _line in packages:
            src = pkg.get("source")
            if isinstance(src, Mapping) and any(k in src for k in _LOCAL):
                if isinstance(pkg.get("name"), str):
                    local.add(normalize_name(PYPI, str(pkg["name"])))
                for key in ("dependencies", "dev-dependencies", "optional-dependencies"):
                    roots_direct |= _names(pkg.get(key))
        for pkg, line in packages:
            raw = pkg.get("name")
            if isinstance(raw, str) and normalize_name(PYPI, raw) in local:
                continue
            notes: tuple[str, ...] = ()
            src = pkg.get("source")
            if isinstance(src, Mapping) and any(k in src for k in ("git", "url")):
                notes = ("installed from git or a URL, not an index release",)
            dep = make_dependency(rel, line, self.name, raw, pkg.get("version"), None, (None, None),
                                  extra_notes=notes)  # fmt: skip
            if isinstance(dep, FileNote):
                result.notes.append(dep)
                continue
            dep = manifest.apply(dep)
            if local:
                # The lockfile's own record of what the root projects require is authoritative.
                dep = replace(dep, direct=dep.normalized_name in roots_direct)
            result.dependencies.append(dep)
        return result
