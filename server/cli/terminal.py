"""What the CLI writes for a human: untrusted text made inert for a terminal, and argument errors
that never show a secret.

File names, finding text, task prompts and event details come from scanned repositories or other
programs. Written raw, `ESC[2J` clears the screen, U+202E reverses what follows, a carriage return
overwrites the line and a newline splits a table row. `for_terminal` shows each such character as
a visible escape instead (`\\x1b`, `\\u202e`, `\\r`, `\\n`); `--json` output keeps the exact text.
Rich markup is not interpreted in what passes through here: the CLI prints such text with markup
and emoji codes off (or as `rich.text.Text`), so `[bold]` in a file name prints literally.
"""

from __future__ import annotations

import argparse
import unicodedata
from typing import NoReturn

__all__ = ["Parser", "for_terminal"]

# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width characters),
# lone surrogates (undecodable file-name bytes) and the Unicode line and paragraph separators.
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_line(line: str, keep_tabs: bool) -> str:
    if line.isprintable():
        return line
    out: list[str] = []
    for ch in line:
        if ch.isprintable() or (keep_tabs and ch == "\t") or unicodedata.category(ch) not in _ESCAPED:
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def for_terminal(value: object, *, lines: bool = False) -> str:
    """`value` as text that cannot steer a terminal: control, bidi and format characters escaped.

    A single-line field (the default) also escapes newlines and tabs, so a table row stays one row.
    With `lines=True` (a message, a code snippet, a diff) newlines and tabs are kept as such.
    """
    text = value if isinstance(value, str) else str(value)
    if not lines:
        return _escape_line(text, keep_tabs=False)
    return "\n".join(_escape_line(line, keep_tabs=True) for line in text.split("\n"))


class Parser(argparse.ArgumentParser):
    """The CLI's argument parser: a usage error shows a rejected value masked and escaped.

    argparse quotes the value it refused (`invalid int value: 'ghp_...'`); a token pasted into the
    wrong place must not be echoed to the terminal, or into a CI log.
    """

    def error(self, message: str) -> NoReturn:
        from secaudit.tools.masking import get_redactor  # only on this path: keeps start-up light

        super().error(for_terminal(get_redactor().redact(message)))
