"""npm `package.json` as a dependency source of its own, for a project without a lockfile.

A manifest declares ranges (`^1.2.3`, `~1.2`, `>=2`, `*`, dist-tags); only an exact version
(`1.2.3`, `=1.2.3`, `v1.2.3`) names one release, and npm installs exactly that. Everything else is
reported unpinned: resolving a range would need the registry, and this audit never asks it. When a
`package-lock.json` or `npm-shrinkwrap.json` sits beside the manifest, the audit takes versions from
the lockfile instead (see `audit._drop_superseded`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from secaudit.tools.advisories.names import NPM, name_notes, normalize_name
from secaudit.tools.advisories.versions import SEMVER
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ._common import LineIndex, load_json

__all__ = ["PackageJsonSource"]

_SECTIONS = (
    ("dependencies", ()),
    ("devDependencies", ("dev",)),
    ("optionalDependencies", ("optional",)),
    ("peerDependencies", ("peer",)),
)
# Specifiers that are not registry ranges: git, tarball URLs, local folders, links, workspaces and
# GitHub shorthands ("user/repo"). None of them is followed.
_NON_REGISTRY = re.compile(
    r"^(?:git\+|git:|github:|gitlab:|bitbucket:|gist:|file:|link:|portal:|workspace:|https?:|\.{0,2}/|~/"
    r"|[A-Za-z0-9][\w.-]*/[\w.-]+(?:#.*)?$)"
)
_MAX_DEPS = 50_000
_UNPINNED = "a range, not one version: only an exact version can be checked against advisories"


def _exact(spec: str) -> str | None:
    """The version an npm specifier names exactly, else None (`1.2` is the range 1.2.x in npm)."""
    text = spec.strip()
    if not text or " " in text or SEMVER.parse(text) is None:
        return None
    return text[1:] if text[:1] in ("v", "V", "=") else text


class PackageJsonSource(DependencySource):
    name = "package.json"
    ecosystem = NPM

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] == "package.json"

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        data, text = load_json(ctx, rel)
        if not isinstance(data, Mapping):
            raise SourceError(f"{rel}: not an npm package.json (the top level is not an object)")
        result = SourceResult(files=[rel])
        lines = LineIndex(text)
        count = 0
        for section, groups in _SECTIONS:
            table = data.get(section)
            if table is None:
                continue
            if not isinstance(table, Mapping):
                result.notes.append(FileNote(rel, f"{section!r} is not an object; ignored"))
                continue
            anchor = lines.find(re.compile(r'"' + section + r'"\s*:')) or 1
            for raw_name, raw_spec in table.items():
                count += 1
                if count > _MAX_DEPS:
                    result.notes.append(FileNote(rel, f"over {_MAX_DEPS} dependencies; the rest not read"))
                    return result
                key = re.escape(json.dumps(str(raw_name), ensure_ascii=False))
                line = lines.find(re.compile(key + r"\s*:"), anchor)
                dep = self._make(rel, str(raw_name), raw_spec, line, groups)
                if dep is None:
                    result.notes.append(
                        FileNote(rel, f"{section}.{clean_line(str(raw_name), 214)}: the version is not a "
                                      "string; ignored")
                    )  # fmt: skip
                else:
                    result.dependencies.append(dep)
        return result

    def _make(
        self, rel: str, raw_name: str, raw_spec: Any, line: int | None, groups: tuple[str, ...]
    ) -> Dependency | None:
        if not isinstance(raw_spec, str):
            return None
        name = clean_line(raw_name, 214)
        spec = clean_line(raw_spec, 200)
        notes: list[str] = []
        target = spec
        if spec.startswith("npm:"):
            # An alias ("npm:real-name@^1.2"): the installed package is the real one.
            body = spec[4:]
            at = body.rfind("@")
            real, target = (body[:at], body[at + 1 :]) if at > 0 else (body, "")
            notes.append(f"installed under the alias {name!r}")
            name = clean_line(real, 214)
        notes.extend(name_notes(name))
        version: str | None = None
        if _NON_REGISTRY.match(target):
            notes.append("from git, a file, a link, a workspace or a URL, not a registry release: not read")
        else:
            version = _exact(target)
            if version is None:
                notes.append(_UNPINNED)
        return Dependency(
            ecosystem=NPM, name=name, normalized_name=normalize_name(NPM, name), version=version,
            specifier=spec or None, direct=True, manifest=rel, line=line, source=self.name,
            groups=groups, notes=tuple(notes),
        )  # fmt: skip
