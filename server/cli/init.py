"""`secaudit init [PATH]`: write a starter `.secaudit.toml` (commented, secaudit's defaults).

In a pytest project the rule turning bandit's B101 (`assert`) off in test files is active; in
others it is there commented out (tools/project/init.py). An existing file is kept unless --force.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from secaudit.server.cli.common import emit_json, path_as_root, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.tools.paths import confine_dir
from secaudit.tools.project.config import CONFIG_FILE
from secaudit.tools.project.init import is_pytest_project, starter_config, write_starter

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        parents=parents,
        description=f"Write a starter {CONFIG_FILE} in PATH: commented defaults, and in a pytest project "
        "the rule that turns bandit's B101 (assert) off in test files. An existing file is kept unless "
        "--force.",
    )
    p.add_argument("path", nargs="?", default=".", help="repository folder (default: the current one)")
    p.add_argument("--force", action="store_true", help=f"replace an existing {CONFIG_FILE}")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.path)
    path_as_root(args, path)
    settings = settings_from_args(args)
    root = confine_dir(path, settings.allowed_roots)
    pytest = is_pytest_project(root)
    replaced = write_starter(root, starter_config(pytest=pytest), force=args.force)
    if args.json:
        emit_json({"file": str(root / CONFIG_FILE), "replaced": replaced, "pytest_rule": pytest})
        return 0
    print(for_terminal(f"{'replaced' if replaced else 'wrote'} {root / CONFIG_FILE}"))
    if pytest:
        print("  pytest project: bandit B101 (assert) is off in test files; see the rules in the file")
    return 0
