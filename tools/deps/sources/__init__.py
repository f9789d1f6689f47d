"""Dependency-source plug-ins, one per manifest or lockfile format, and their registry.

A new source is a `DependencySource` subclass (`secaudit.tools.deps.interface`) and one
`SOURCES.register` line here; the registration order is the order results are listed in.
`InstalledEnvironmentSource` reads a virtualenv named by the caller, not a file found by name, so
the audit builds it itself and it is not registered.
"""

from __future__ import annotations

from secaudit.tools.plugins import Registry

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
    "SOURCES",
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

SOURCES: Registry[DependencySource] = Registry("dependency source", DependencySource)
SOURCES.register("requirements", RequirementsSource)
SOURCES.register("pyproject", PyprojectSource)
SOURCES.register("poetry.lock", PoetryLockSource)
SOURCES.register("uv.lock", UvLockSource)
SOURCES.register("Pipfile.lock", PipfileLockSource)
SOURCES.register("pylock.toml", PylockSource)
SOURCES.register("package-lock.json", NpmLockSource)
SOURCES.register("package.json", PackageJsonSource)


def default_sources() -> list[DependencySource]:
    """One instance of every registered source (found by file name), in registration order."""
    return [source() for source in SOURCES.all()]
