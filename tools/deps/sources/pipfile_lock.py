"""`Pipfile.lock` (pipenv): the `default` and `develop` sections; direct dependencies are those the
`Pipfile` beside it lists."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping

from secaudit.tools.advisories.names import PYPI, normalize_name
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ._common import LineIndex, exact_pin, load_json, pypi_name, sibling

__all__ = ["PipfileLockSource"]


def _pipfile_direct(ctx: SourceContext, rel: str, result: SourceResult) -> dict[str, int | None] | None:
    pipfile = sibling(rel, "Pipfile")
    if not ctx.exists(pipfile):
        return None
    try:
        text = ctx.read_text(pipfile)
        data = tomllib.loads(text)
    except (SourceError, tomllib.TOMLDecodeError):
        result.notes.append(FileNote(rel, "the Pipfile beside it cannot be read: direct or not is unknown"))
        return None
    result.files.append(pipfile)
    lines = LineIndex(text)
    out: dict[str, int | None] = {}
    for section in ("packages", "dev-packages"):
        table = data.get(section)
        if not isinstance(table, Mapping):
            continue
        start = lines.table_start(section) or 1
        for name in table:
            line = lines.find(re.compile(r"^\s*[\"']?" + re.escape(name) + r"[\"']?\s*="), start)
            out.setdefault(normalize_name(PYPI, name), line)
    return out


class PipfileLockSource(DependencySource):
    name = "Pipfile.lock"
    ecosystem = PYPI
    is_lockfile = True

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] == "Pipfile.lock"

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        data, text = load_json(ctx, rel)
        if not isinstance(data, Mapping):
            raise SourceError(f"{rel}: not a Pipfile.lock (the top level is not an object)")
        result = SourceResult(files=[rel])
        direct = _pipfile_direct(ctx, rel, result)
        lines = LineIndex(text)
        pipfile = sibling(rel, "Pipfile")
        for section, group in (("default", ()), ("develop", ("dev",))):
            entries = data.get(section)
            if not isinstance(entries, Mapping):
                continue
            anchor = lines.find(re.compile(r'^\s*"' + section + r'"\s*:')) or 1
            for raw_name, entry in entries.items():
                line = lines.find(re.compile(r'^\s*"' + re.escape(raw_name) + r'"\s*:'), anchor)
                if not isinstance(entry, Mapping):
                    result.notes.append(FileNote(rel, f"line {line or '?'}: malformed entry; skipped"))
                    continue
                name, normalized, notes = pypi_name(raw_name)
                spec = entry.get("version")
                version: str | None = None
                all_notes = list(notes)
                if isinstance(spec, str):
                    version, pin_notes = exact_pin(spec)
                    all_notes.extend(pin_notes)
                if any(k in entry for k in ("git", "path", "file", "editable")):
                    all_notes.append("from git, a URL or a local path: not followed")
                if version is None:
                    all_notes.append("no pinned version in the lockfile: not checked against advisories")
                is_direct = None if direct is None else normalized in direct
                markers = entry.get("markers")
                result.dependencies.append(
                    Dependency(
                        ecosystem=PYPI, name=name, normalized_name=normalized, version=version,
                        specifier=clean_line(spec, 100) if isinstance(spec, str) else None,
                        direct=is_direct, manifest=rel, line=line, source=self.name,
                        declared_in=pipfile if is_direct else None,
                        declared_line=direct.get(normalized) if direct and is_direct else None,
                        marker=clean_line(markers, 200) if isinstance(markers, str) else None,
                        hashed=bool(entry.get("hashes")), groups=group, notes=tuple(all_notes),
                    )
                )  # fmt: skip
        return result
