"""The `semgrep` scanner plug-in: JavaScript/TypeScript (and, when the pack has them, Python) rules
run by semgrep, local rules only.

    scanner.py   the plug-in: engine discovery, invocation in chunks, per-file cache, cancellation
    ruleset.py   the rule pack in `rules/` and the user's folder: ids, languages, digest, refusals
    results.py   semgrep's JSON -> per-file results (cached) -> findings
"""

from secaudit.tools.scanners.semgrep.scanner import (
    JS_TS_EXTENSIONS,
    PLUGIN_VERSION,
    SemgrepOptions,
    SemgrepScanner,
)

__all__ = [
    "JS_TS_EXTENSIONS",
    "PLUGIN_VERSION",
    "SemgrepOptions",
    "SemgrepScanner",
]
