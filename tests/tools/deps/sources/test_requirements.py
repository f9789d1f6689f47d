"""The requirements source reads lines exactly as pip does (issue 11 item 5)."""

from __future__ import annotations

from secaudit.tools.deps.sources.requirements import logical_lines

# What pip 23.2's `parse_requirements` reads from TEXT, checked against pip itself when written.
TEXT = (
    "requests==2.0  # pinned \\\n"  # a trailing comment ending in `\` swallows the next line
    "django==1.11\n"
    "# full-line comment \\\n"  # a comment line continues nothing
    "flask==1.0\n"
    "idna==2.0 \\\n"  # a comment line ends a continuation
    "  # c\n"
    "six==1\n"
    "urllib3>=1.0,\\\n"
    "<2\n"
)


def test_item5_comment_ending_in_backslash_continues_as_pip_reads_it() -> None:
    assert logical_lines(TEXT) == [
        (1, "requests==2.0"),
        (4, "flask==1.0"),
        (5, "idna==2.0"),
        (7, "six==1"),
        (8, "urllib3>=1.0,<2"),
    ]
