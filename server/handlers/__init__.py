"""One thin handler module per tool area; each exports `TOOLS: list[ToolSpec]`."""

from __future__ import annotations

from secaudit.server.handlers import advisories, audit, findings, fixes, masking, tasks
from secaudit.server.toolkit import ToolSpec

__all__ = ["all_tools"]


def all_tools() -> list[ToolSpec]:
    # Areas append their module here, one line each.
    return [
        *tasks.TOOLS,
        *masking.TOOLS,
        *advisories.TOOLS,
        *audit.TOOLS,
        *findings.TOOLS,
        *fixes.TOOLS,
    ]
