"""`secaudit token new`: create a bearer token and the line that registers its digest."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secaudit.tools.auth import ALL_SCOPES, hash_token, new_token, parse_token_env

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    new = tsub.add_parser("new", help="print a new token (once) and its token-file entry")
    new.add_argument("--name", required=True, help="who uses it (the identity in logs and limits)")
    new.add_argument("--scopes", required=True, help=f"comma-separated: {', '.join(sorted(ALL_SCOPES))}")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    token = new_token()
    # Validates name and scopes with the same rules as the server (raises ConfigError naming the flag).
    parse_token_env(f"{args.name}:{args.scopes}:sha256:{hash_token(token)}", "--name/--scopes")
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    print(token)
    print(
        "\n# Give the line above to the client (it is shown only now). Add this to the token file:\n"
        "[[token]]\n"
        f'name = "{args.name}"\n'
        f"scopes = [{', '.join(repr(s).replace(chr(39), chr(34)) for s in scopes)}]\n"
        f'sha256 = "{hash_token(token)}"',
        file=sys.stderr,
    )
    return 0
