"""The rich `Console` every CLI command prints tables and progress with.

rich answers a closed pipe (`secaudit audit . | head`) by exiting 1, which a script reads as
"findings at or above --fail-on". This console raises BrokenPipeError instead, so the CLI's own
handler (server/cli/__init__.py) ends such a run with 141 like every other output format.
"""

from __future__ import annotations

import errno

from rich.console import Console

__all__ = ["PipeConsole"]


class PipeConsole(Console):
    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more is written: the reader is gone
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")
