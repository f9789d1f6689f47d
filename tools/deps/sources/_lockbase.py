"""What the Python lockfile sources share: direct-vs-transitive from the sibling manifest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..interface import Dependency, FileNote, SourceContext, SourceError, SourceResult
from ._common import sibling
from .pyproject import Declared, declared_dependencies, load_toml

__all__ = ["DirectInfo", "direct_from_pyproject"]


@dataclass
class DirectInfo:
    """Direct dependencies by normalised name, and the manifest that declares them; `known` is
    False when there is no readable manifest (then direct/transitive is unknown, not guessed)."""

    manifest: str | None = None
    declared: dict[str, Declared] = field(default_factory=dict)
    known: bool = False

    def direct(self, normalized_name: str) -> bool | None:
        if not self.known:
            return None
        return normalized_name in self.declared

    def where(self, normalized_name: str) -> tuple[str | None, int | None]:
        decl = self.declared.get(normalized_name)
        if decl is None:
            return None, None
        return self.manifest, decl.line

    def apply(self, dep: Dependency) -> Dependency:
        declared_in, declared_line = self.where(dep.normalized_name)
        return replace(
            dep,
            direct=self.direct(dep.normalized_name),
            declared_in=declared_in,
            declared_line=declared_line,
        )


def direct_from_pyproject(ctx: SourceContext, rel: str, result: SourceResult) -> DirectInfo:
    """The lockfile's sibling pyproject.toml, read into `result` too: its path joins the files
    read, or a note says why direct dependencies are unknown."""
    manifest = sibling(rel, "pyproject.toml")
    info = DirectInfo()
    if not ctx.exists(manifest):
        return info
    try:
        data, lines = load_toml(ctx, manifest)
    except SourceError as exc:
        result.notes.append(FileNote(rel, f"direct dependencies unknown: {exc.message}"))
        return info
    info.manifest = manifest
    result.files.append(manifest)
    info.known = True
    for decl in declared_dependencies(data, lines):
        if decl.normalized_name:
            info.declared.setdefault(decl.normalized_name, decl)
    return info
