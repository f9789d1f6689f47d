"""An installed Python environment (a virtualenv or a site-packages folder), read from its
`*.dist-info/METADATA` and `*.egg-info/PKG-INFO` files. Nothing is imported or executed: the files are
parsed as RFC 822 headers, and `.pth` files are never looked at.

Not found by file name: the audit reads an environment only when the caller names it.
"""

from __future__ import annotations

import os
import stat
from email.parser import HeaderParser
from pathlib import Path

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ..safe_io import safe_relpath
from ._common import exact_pin, pypi_name

__all__ = ["InstalledEnvironmentSource", "site_packages_dirs"]

_MAX_METADATA_HEAD = 256 * 1024
_MAX_DISTRIBUTIONS = 20_000


def _is_dir_nofollow(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def site_packages_dirs(root: Path, rel: str) -> list[str]:
    """Repo-relative site-packages folders of the environment at `rel` (or `rel` itself)."""
    base = root / rel if rel not in ("", ".") else root
    if not _is_dir_nofollow(base):
        return []
    if base.name in ("site-packages", "dist-packages"):
        return [rel]
    found: list[str] = []
    for lib in ("lib", "lib64", "Lib"):
        lib_dir = base / lib
        if not _is_dir_nofollow(lib_dir):
            continue
        if lib == "Lib" and _is_dir_nofollow(lib_dir / "site-packages"):
            found.append((lib_dir / "site-packages").relative_to(root).as_posix())
            continue
        with os.scandir(lib_dir) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith("python") and entry.is_dir(follow_symlinks=False):
                    sp = Path(entry.path) / "site-packages"
                    if _is_dir_nofollow(sp):
                        found.append(sp.relative_to(root).as_posix())
    return found


class InstalledEnvironmentSource(DependencySource):
    name = "installed"
    ecosystem = PYPI

    def matches(self, rel: str) -> bool:
        return False  # only when the caller names an environment

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        rel = safe_relpath(rel) if rel not in ("", ".") else "."
        dirs = site_packages_dirs(ctx.root, rel)
        if not dirs:
            raise SourceError(
                f"{rel}: no site-packages folder found (give a virtualenv folder or its site-packages)"
            )
        result = SourceResult()
        count = 0
        for sp in dirs:
            with os.scandir(ctx.root / sp) as entries:
                names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
            for dirname in names:
                if dirname.endswith(".dist-info"):
                    meta = f"{sp}/{dirname}/METADATA"
                elif dirname.endswith(".egg-info"):
                    meta = f"{sp}/{dirname}/PKG-INFO"
                else:
                    continue
                count += 1
                if count > _MAX_DISTRIBUTIONS:
                    note = f"more than {_MAX_DISTRIBUTIONS} distributions; the rest was skipped"
                    result.notes.append(FileNote(sp, note))
                    return result
                self._read_one(ctx, sp, dirname, meta, result)
        return result

    def _read_one(self, ctx: SourceContext, sp: str, dirname: str, meta: str, result: SourceResult) -> None:
        try:
            text = ctx.read_text(meta)
        except SourceError as exc:
            result.notes.append(FileNote(meta, exc.message))
            return
        headers = HeaderParser().parsestr(text[:_MAX_METADATA_HEAD], headersonly=True)
        raw_name, raw_version = headers.get("Name"), headers.get("Version")
        if not raw_name:
            result.notes.append(FileNote(meta, "no Name header; skipped"))
            return
        name, normalized, notes = pypi_name(str(raw_name))
        version = clean_line(str(raw_version), 100) if raw_version else None
        all_notes = list(notes)
        if version:
            all_notes.extend(exact_pin(f"=={version}")[1])
        else:
            all_notes.append("no Version header: not checked against advisories")
        # pip and uv write REQUESTED for what the user asked for; its absence does not prove the
        # opposite for every installer, so only "direct" is asserted.
        requested = ctx.exists(f"{sp}/{dirname}/REQUESTED")
        result.files.append(meta)
        result.dependencies.append(
            Dependency(
                ecosystem=PYPI, name=name, normalized_name=normalized, version=version,
                specifier=f"=={version}" if version else None, direct=True if requested else None,
                manifest=meta, line=None, source=self.name, notes=tuple(all_notes),
            )
        )  # fmt: skip
