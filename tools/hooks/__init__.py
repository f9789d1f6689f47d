"""Agent hooks (Claude Code, Cursor): session state, the stop decision, the install check, and
the merging of our entries into the clients' settings files. Modules are imported where used:
`install` needs no scanner, the hook entry points need no settings-file code."""

from secaudit.tools.hooks.schema import MIGRATIONS

__all__ = ["MIGRATIONS"]
