"""One thin handler module per tool area; each exports `TOOLS: list[ToolSpec]`."""

from __future__ import annotations

import dataclasses

from secaudit.server.handlers import advisories, audit, findings, fixes, masking, tasks
from secaudit.server.toolkit import ToolSpec

__all__ = ["TOOLSET_TOOLS", "all_tools"]

# Toolset (`secaudit.server.toolsets.TOOLSETS`) -> its tools. Areas add their module here, one line
# each; a tool added to a module's TOOLS joins that module's set.
TOOLSET_TOOLS: dict[str, list[ToolSpec]] = {
    "tasks": tasks.TOOLS,
    "masking": masking.TOOLS,
    "advisories": advisories.TOOLS,
    "audit": audit.TOOLS,
    "findings": findings.TOOLS,
    "fixes": fixes.TOOLS,
}


def all_tools() -> list[ToolSpec]:
    """Every tool, each marked with its toolset."""
    return [
        dataclasses.replace(spec, toolset=name) for name, specs in TOOLSET_TOOLS.items() for spec in specs
    ]
