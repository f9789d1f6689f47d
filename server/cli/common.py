"""What every command shares: the settings flags and turning them into Settings, `--version`, JSON
output. Imported to parse any command line, so it imports nothing heavy at module level."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from secaudit.server.settings import Settings

__all__ = [
    "VersionAction",
    "add_sarif_options",
    "emit_json",
    "global_options",
    "settings_from_args",
]


def global_options(*, suppress: bool = False) -> argparse.ArgumentParser:
    """The settings flags. Given twice: on the top-level parser (`secaudit --store S findings list`)
    with real defaults, and on every action with `suppress=True`, so an action sets them only when
    they are typed there (argparse would otherwise overwrite the top-level value with its default).
    """
    quiet: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("settings (each overrides its SECAUDIT_* variable)")
    g.add_argument("--store", type=Path, help="SQLite store file (SECAUDIT_STORE)", **quiet)
    g.add_argument(
        "--tasks-db", type=Path, help="database holding the shared tasks table (SECAUDIT_TASKS_DB)", **quiet
    )
    g.add_argument(
        "--root",
        type=Path,
        action="append",
        dest="roots",
        help="allowed root folder; repeat for several (SECAUDIT_ALLOWED_ROOTS)",
        **quiet,
    )
    g.add_argument(
        "--allow-broad-root",
        action="store_true",
        help="accept a root of /, your home folder or a folder holding it (SECAUDIT_ALLOW_BROAD_ROOT)",
        **({"default": argparse.SUPPRESS} if suppress else {"default": None}),
    )
    g.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], **quiet)
    g.add_argument(
        "--runs-kept",
        type=int,
        metavar="N",
        help="each root's newest N runs keep their findings; 0 keeps all (SECAUDIT_RUNS_KEPT)",
        **quiet,
    )
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout", **quiet)
    return p


class VersionAction(argparse.Action):
    """argparse's `version` action, reading the installed version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from secaudit.server.version import package_version

        sys.stdout.write(f"{parser.prog} {package_version()}\n")
        parser.exit()


def add_paging(parser: argparse.ArgumentParser, *, default: int) -> None:
    """The paging flags of a keyset-paginated listing (tools/pagination.py), one wording everywhere."""
    from secaudit.tools.pagination import MAX_LIMIT

    parser.add_argument(
        "--limit", type=int, default=default, help=f"items per page, 1 to {MAX_LIMIT} (default {default})"
    )
    parser.add_argument(
        "--cursor", help="the next page: the value the previous page printed after `(more: --cursor`"
    )


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """The settings, with logging to stderr and the redaction layer (this process's own secrets
    included) in place for whatever the command logs or reports."""
    from secaudit.server.logging_setup import configure_logging
    from secaudit.server.redaction import setup_redaction
    from secaudit.server.settings import load_settings

    settings = load_settings(
        store_path=args.store,
        tasks_db_path=args.tasks_db,
        allowed_roots=tuple(args.roots) if args.roots else None,
        log_level=args.log_level,
        allow_broad_root=getattr(args, "allow_broad_root", None) or None,
        runs_kept=getattr(args, "runs_kept", None),
        **extra,
    )
    configure_logging(settings.log_level if args.log_level else "WARNING")
    setup_redaction(settings)
    return settings


def path_as_root(args: argparse.Namespace, path: str) -> None:
    """A command given a repository folder (`audit PATH`, `baseline write PATH`, `init PATH`): when
    neither --root nor SECAUDIT_ALLOWED_ROOTS is set, the folder the user named is the allowed root
    (naming it on the command line is the authority to read it)."""
    from secaudit.tools.errors import InvalidInput

    if not args.roots and "SECAUDIT_ALLOWED_ROOTS" not in os.environ:
        target = Path(path).expanduser()
        if not target.exists():
            raise InvalidInput(f"the path {path} does not exist")
        if not target.is_dir():
            raise InvalidInput(f"the path {path} is not a folder; give the repository folder")
        args.roots = [target]


def _sarif_category(text: str) -> str:
    from secaudit.tools.errors import InvalidInput
    from secaudit.tools.findings.sarif import check_sarif_category

    try:
        return check_sarif_category(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_sarif_options(parser: argparse.ArgumentParser) -> None:
    """`--sarif-category` and `--sarif-root`, for the commands that write SARIF."""
    group = parser.add_argument_group("SARIF output")
    group.add_argument(
        "--sarif-category",
        metavar="CATEGORY",
        type=_sarif_category,
        help="code scanning category: automationDetails.id becomes CATEGORY/<run id> (default "
        "secaudit/run/<run id>, i.e. category secaudit/run); letters, digits, '.', '_', '-', '/'. "
        "GitHub's upload-sarif ignores its own category input when the log has one",
    )
    group.add_argument(
        "--sarif-root",
        metavar="DIR",
        help="make URIs relative to DIR (a folder holding the audited one, e.g. the repository's top "
        "folder: `git rev-parse --show-toplevel`) instead of the audited folder; %%SRCROOT%% becomes "
        "DIR. GitHub code scanning needs repository-relative paths when a subfolder is audited",
    )


def emit_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    payload = data if isinstance(data, dict | list) else data.model_dump(mode="json")
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
