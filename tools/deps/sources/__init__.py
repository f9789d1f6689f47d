"""Dependency-source plug-ins, one per manifest or lockfile format."""

from __future__ import annotations

from ..interface import DependencySource
from .installed import InstalledEnvironmentSource
from .npm_lock import NpmLockSource
from .package_json import PackageJsonSource
from .pipfile_lock import PipfileLockSource
from .poetry_lock import PoetryLockSource
from .pylock import PylockSource
from .pyproject import PyprojectSource
from .requirements import RequirementsSource
from .uv_lock import UvLockSource

__all__ = [
    "InstalledEnvironmentSource",
    "NpmLockSource",
    "PackageJsonSource",
    "PipfileLockSource",
    "PoetryLockSource",
    "PylockSource",
    "PyprojectSource",
    "RequirementsSource",
    "UvLockSource",
    "default_sources",
]


def default_sources() -> list[DependencySource]:
    """The sources found by file name, in the order their results are listed."""
    return [
        RequirementsSource(),
        PyprojectSource(),
        PoetryLockSource(),
        UvLockSource(),
        PipfileLockSource(),
        PylockSource(),
        NpmLockSource(),
        PackageJsonSource(),
    ]
