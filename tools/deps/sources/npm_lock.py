"""npm `package-lock.json` (lockfileVersion 1, 2 and 3) and `npm-shrinkwrap.json`.

v2/v3 read the flat `packages` map (keys are install paths such as `node_modules/a/node_modules/b`);
v1 the nested `dependencies` tree. Direct dependencies are those the root package (or, for v1, the
`package.json` beside the lockfile) declares, installed at the top level. Workspace links, git,
file and URL versions are reported as not index releases, never fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from secaudit.tools.advisories.names import NPM, name_notes, normalize_name
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ._common import LineIndex, load_json, sibling

__all__ = ["NpmLockSource"]

_DEP_KEYS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_KEY_LINE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:\s*\{')
_NON_REGISTRY = re.compile(r"^(?:git\+|git:|github:|gitlab:|bitbucket:|file:|link:|https?:|[./~])")
_MAX_DEPTH = 200


def _key_lines(text: str) -> dict[str, int]:
    """First line of each `"key": {` in the file (lockfile keys are unique in v2/v3)."""
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        m = _KEY_LINE.match(line)
        if m:
            try:
                key = json.loads(f'"{m.group(1)}"')
            except ValueError:
                continue
            out.setdefault(key, number)
    return out


def _root_deps(manifest: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in _DEP_KEYS:
        table = manifest.get(key)
        if isinstance(table, Mapping):
            names.update(str(n) for n in table)
    return names


_Manifest = tuple[str, LineIndex, set[str]]


def _package_json(ctx: SourceContext, rel: str, result: SourceResult) -> _Manifest | None:
    manifest = sibling(rel, "package.json")
    if not ctx.exists(manifest):
        return None
    try:
        data, text = load_json(ctx, manifest)
    except SourceError as exc:
        result.notes.append(FileNote(rel, f"direct dependencies from package.json unknown: {exc.message}"))
        return None
    if not isinstance(data, Mapping):
        return None
    result.files.append(manifest)
    return manifest, LineIndex(text), _root_deps(data)


def _declared_line(index: LineIndex, name: str) -> int | None:
    anchor = index.find(r'^\s*"(?:dependencies|devDependencies|optionalDependencies|peerDependencies)"\s*:')
    return index.find(re.compile(r'^\s*"' + re.escape(name) + r'"\s*:'), anchor or 1)


def _v1_entries(tree: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[str, Mapping[str, Any], int]]:
    if depth > _MAX_DEPTH:
        return
    for name, entry in tree.items():
        if isinstance(entry, Mapping):
            yield str(name), entry, depth
            nested = entry.get("dependencies")
            if isinstance(nested, Mapping):
                yield from _v1_entries(nested, depth + 1)


class NpmLockSource(DependencySource):
    name = "package-lock.json"
    ecosystem = NPM
    is_lockfile = True

    def matches(self, rel: str) -> bool:
        return rel.rsplit("/", 1)[-1] in ("package-lock.json", "npm-shrinkwrap.json")

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        data, text = load_json(ctx, rel)
        if not isinstance(data, Mapping):
            raise SourceError(f"{rel}: not an npm lockfile (the top level is not an object)")
        result = SourceResult(files=[rel])
        lines = _key_lines(text)
        manifest = _package_json(ctx, rel, result)
        packages = data.get("packages")
        if isinstance(packages, Mapping):
            self._v2(rel, packages, lines, manifest, result)
        elif isinstance(data.get("dependencies"), Mapping):
            self._v1(rel, data["dependencies"], lines, manifest, result)
        elif data.get("lockfileVersion") is None:
            raise SourceError(f"{rel}: no lockfileVersion, packages or dependencies; not an npm lockfile")
        return result

    def _make(
        self,
        rel: str,
        raw_name: str,
        raw_version: object,
        line: int | None,
        direct: bool | None,
        manifest: _Manifest | None,
        groups: tuple[str, ...],
        extra: list[str],
    ) -> Dependency:
        name = clean_line(raw_name, 214)
        notes = [*name_notes(name), *extra]
        version: str | None = None
        if isinstance(raw_version, str) and raw_version.strip():
            text = clean_line(raw_version, 200)
            if _NON_REGISTRY.match(text):
                notes.append("from git, a file, a link or a URL, not a registry release: not checked")
            else:
                version = text
        else:
            notes.append("no version recorded in the lockfile: not checked against advisories")
        declared_in = declared_line = None
        if direct and manifest is not None:
            declared_in, declared_line = manifest[0], _declared_line(manifest[1], raw_name)
        return Dependency(
            ecosystem=NPM, name=name, normalized_name=normalize_name(NPM, name), version=version,
            specifier=None, direct=direct, manifest=rel, line=line, source=self.name,
            declared_in=declared_in, declared_line=declared_line, groups=groups, notes=tuple(notes),
        )  # fmt: skip

    def _v2(
        self,
        rel: str,
        packages: Mapping[str, Any],
        lines: dict[str, int],
        manifest: _Manifest | None,
        result: SourceResult,
    ) -> None:
        root = packages.get("")
        root_deps = _root_deps(root) if isinstance(root, Mapping) else (manifest[2] if manifest else None)
        for key, entry in packages.items():
            if key == "" or not isinstance(entry, Mapping):
                continue
            if "node_modules/" not in key:
                continue  # a workspace folder's own entry: the audited code, not a dependency
            if entry.get("link"):
                continue  # points at a workspace folder, which has its own entry
            install_name = key.rsplit("node_modules/", 1)[1]
            raw_name = entry.get("name") if isinstance(entry.get("name"), str) else install_name
            extra: list[str] = []
            if raw_name != install_name:
                extra.append(f"installed under the alias {clean_line(install_name, 214)!r}")
            top_level = key == f"node_modules/{install_name}"
            direct = None if root_deps is None else (top_level and install_name in root_deps)
            groups = tuple(g for g in ("dev", "optional", "peer") if entry.get(g))
            result.dependencies.append(
                self._make(rel, str(raw_name), entry.get("version"), lines.get(key), direct, manifest,
                           groups, extra)
            )  # fmt: skip

    def _v1(
        self,
        rel: str,
        tree: Mapping[str, Any],
        lines: dict[str, int],
        manifest: _Manifest | None,
        result: SourceResult,
    ) -> None:
        root_deps = manifest[2] if manifest else None
        for name, entry, depth in _v1_entries(tree):
            raw_version = entry.get("version")
            raw_name = name
            extra: list[str] = []
            if isinstance(raw_version, str) and raw_version.startswith("npm:"):
                # An alias: "npm:real-name@1.2.3".
                target = raw_version[4:]
                at = target.rfind("@")
                if at > 0:
                    raw_name, raw_version = target[:at], target[at + 1 :]
                    extra.append(f"installed under the alias {clean_line(name, 214)!r}")
            direct = None if root_deps is None else (depth == 0 and name in root_deps)
            groups = tuple(g for g in ("dev", "optional") if entry.get(g))
            result.dependencies.append(
                self._make(rel, raw_name, raw_version, lines.get(name), direct, manifest, groups, extra)
            )
