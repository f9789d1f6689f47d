"""The MCP edge of secaudit: app, transports, CLI, settings, tool handlers, error translation.

This is the only package that imports `mcp`. It calls into `secaudit.tools` and never the
other way round.
"""

__all__: list[str] = []
