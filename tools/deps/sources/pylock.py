"""`pylock.toml` / `pylock.NAME.toml` (PEP 751). The format does not say which packages are direct,
so `direct` is unknown; a package without a version (VCS, directory) is reported unpinned."""

from __future__ import annotations

import re
from collections.abc import Mapping

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from ..interface import DependencySource, FileNote, SourceContext, SourceResult
from .poetry_lock import locked_packages, make_dependency

__all__ = ["PylockSource"]

_NAME = re.compile(r"^pylock\.(?:[^.]+\.)?toml$")


class PylockSource(DependencySource):
    name = "pylock.toml"
    ecosystem = PYPI
    is_lockfile = True

    def matches(self, rel: str) -> bool:
        return bool(_NAME.match(rel.rsplit("/", 1)[-1]))

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        packages, result = locked_packages(ctx, rel, "PEP 751", "packages")
        for pkg, line in packages:
            notes: tuple[str, ...] = ()
            if any(isinstance(pkg.get(k), Mapping) for k in ("vcs", "directory", "archive")):
                notes = ("from a VCS, a directory or an archive URL, not an index release",)
            marker = pkg.get("marker")
            dep = make_dependency(
                rel, line, self.name, pkg.get("name"), pkg.get("version"), None, (None, None),
                extra_notes=notes, marker=clean_line(marker, 200) if isinstance(marker, str) else None,
            )  # fmt: skip
            if isinstance(dep, FileNote):
                result.notes.append(dep)
            else:
                result.dependencies.append(dep)
        return result
