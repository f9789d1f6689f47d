"""Options every command shares, and turning them into Settings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from secaudit.server.app import package_version
from secaudit.server.logging_setup import configure_logging
from secaudit.server.settings import Settings, load_settings

__all__ = ["emit_json", "global_options", "package_version", "settings_from_args"]


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
    g.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], **quiet)
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout", **quiet)
    return p


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    settings = load_settings(
        store_path=args.store,
        tasks_db_path=args.tasks_db,
        allowed_roots=tuple(args.roots) if args.roots else None,
        log_level=args.log_level,
        **extra,
    )
    configure_logging(settings.log_level if args.log_level else "WARNING")
    return settings


def emit_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
