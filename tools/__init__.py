"""Plain-Python services of secaudit: audit, findings, fixes, tasks, masking, scanners, store.

Nothing here imports `secaudit.server` or `mcp`.
"""

__all__: list[str] = []
