"""`secaudit mask`: stdin to stdout with every secret masked (`--json`: the spans too)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secaudit.server.cli.common import emit_json, settings_from_args
from secaudit.server.redaction import configured_secrets
from secaudit.tools.masking import mask_text

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mask", parents=parents)
    p.add_argument("--no-entropy", action="store_true", help="do not mask random-looking strings")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Our own configured secrets (Redis password, HTTP tokens) match no pattern: named explicitly,
    # as the mask_secrets tool does, so piping a log through `secaudit mask` masks them too.
    own = configured_secrets(settings_from_args(args))
    text = sys.stdin.read()
    result = mask_text(text, extra_secrets=own, entropy=not args.no_entropy)
    if args.json:
        emit_json(
            {
                "masked": result.masked,
                "count": len(result.matches),
                "matches": [
                    {"kind": m.kind, "start": m.start, "end": m.end, "line": m.line, "preview": m.preview}
                    for m in result.matches
                ],
            }
        )
    else:
        sys.stdout.write(result.masked)
        if result.matches:
            print(f"secaudit: masked {len(result.matches)} secret(s)", file=sys.stderr)
    return 0
