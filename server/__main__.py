"""`python -m secaudit.server` is the same as the `secaudit` command."""

from secaudit.server.cli import entry

entry()
