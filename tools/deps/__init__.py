"""Dependency audit: manifests and lockfiles read by source plug-ins, matched against the offline
advisory database (`secaudit.tools.advisories`).

The audit's names are loaded on first use (PEP 562): a source plug-in or the scanner's selection
imports `secaudit.tools.deps.interface` without pulling in version matching.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from secaudit.tools.deps.interface import (
    AdvisoryBackendUnavailable,
    Dependency,
    DependencySource,
    FileNote,
    SourceContext,
    SourceError,
    SourceResult,
)

if TYPE_CHECKING:
    from secaudit.tools.deps.audit import (
        DepAuditResult,
        VulnerableDependency,
        audit_dependencies,
        discover_manifests,
    )

__all__ = [
    "AdvisoryBackendUnavailable",
    "DepAuditResult",
    "Dependency",
    "DependencySource",
    "FileNote",
    "SourceContext",
    "SourceError",
    "SourceResult",
    "VulnerableDependency",
    "audit_dependencies",
    "discover_manifests",
]

_LAZY = frozenset({"DepAuditResult", "VulnerableDependency", "audit_dependencies", "discover_manifests"})


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.audit"), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value
