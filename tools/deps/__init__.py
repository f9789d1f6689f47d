"""Dependency audit: manifests and lockfiles read by source plug-ins, matched against the offline
advisory database (`secaudit.tools.advisories`)."""

from secaudit.tools.deps.audit import (
    DepAuditResult,
    VulnerableDependency,
    audit_dependencies,
    discover_manifests,
)
from secaudit.tools.deps.interface import (
    AdvisoryBackendUnavailable,
    Dependency,
    DependencySource,
    FileNote,
    SourceContext,
    SourceError,
    SourceResult,
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
