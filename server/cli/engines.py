"""`secaudit engines install|status`: the analysis engines secaudit runs as separate programs
(today semgrep, for the JavaScript/TypeScript rules). No store is opened: only settings are read."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secaudit.server.cli.common import emit_json, settings_from_args
from secaudit.tools.engines import EngineStatus, engine_status, install

__all__ = ["register"]

_ENGINES = ["semgrep"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("engines", help="install and inspect analysis engines (semgrep)")
    esub = p.add_subparsers(dest="engines_command", metavar="ACTION", required=True)

    inst = esub.add_parser(
        "install",
        parents=parents,
        help="install an engine into a private environment in the data folder",
        description="Install the pinned semgrep release into a private virtualenv under the engines "
        "folder (SECAUDIT_ENGINES_DIR), every package checked against pinned sha256 hashes. Needs the "
        "Python package index once; audits then run offline.",
    )
    inst.add_argument("engine", choices=_ENGINES)
    inst.add_argument("--force", action="store_true", help="reinstall even when the pinned release is there")
    inst.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds the whole install may take (default 1800)"
    )
    inst.set_defaults(handler=_install)

    st = esub.add_parser(
        "status",
        parents=parents,
        help="which engine each scanner would use, and why",
        description="Show which semgrep the semgrep scanner would run (SECAUDIT_SEMGREP, the private "
        "install, or PATH), its version, and what to do when none is usable.",
    )
    st.set_defaults(handler=_status)


def _install(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not args.json:
        print(
            f"installing semgrep into {settings.engines_dir / 'semgrep'} (hash-pinned; this takes a "
            "minute or two the first time)...",
            file=sys.stderr,
        )
    report = install(settings.engines_dir, force=args.force, timeout=args.timeout)
    m = report.manifest
    if args.json:
        emit_json({"already_installed": report.already_installed, "seconds": report.seconds, **m.to_json()})
    elif report.already_installed:
        print(f"semgrep {m.version} is already installed at {m.path} (since {m.installed_at})")
    else:
        print(f"installed semgrep {m.version} at {m.path} in {report.seconds:.0f}s")
    status = engine_status(explicit=settings.semgrep_path, engines_dir=settings.engines_dir)
    if status.engine is not None and status.engine.source != "private environment" and not args.json:
        print(
            f"note: the semgrep scanner uses {status.engine.executable} ({status.engine.source}) first; "
            "unset SECAUDIT_SEMGREP to use the private install",
            file=sys.stderr,
        )
    return 0


def _print(status: EngineStatus) -> None:
    if status.engine is not None:
        e = status.engine
        print(f"{status.name}: available, {e.version} ({e.source}) at {e.executable}")
    else:
        print(f"{status.name}: UNAVAILABLE: {status.reason}")
        fix = status.install_command
        print(f"  the semgrep scanner reports `unavailable` (audits are partial) until: {fix}")
    print(
        f"  discovery: SECAUDIT_SEMGREP ({status.explicit or 'not set'}), then the private install, then "
        f"semgrep on PATH (at least {status.minimum_version})"
    )
    if status.manifest is not None:
        m = status.manifest
        state = f"UNUSABLE: {status.manifest_problem}" if status.manifest_problem else "ok"
        print(f"  private install: {m.version} at {m.path}, installed {m.installed_at}; {state}")
        if m.version != status.pinned_version:
            print(f"  this secaudit pins {status.pinned_version}: `{status.install_command}` updates it")
    else:
        print(f"  private install: none (`{status.install_command}` installs {status.pinned_version})")


def _status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    status = engine_status(explicit=settings.semgrep_path, engines_dir=settings.engines_dir)
    if args.json:
        emit_json({"engines": [status.to_json()], "engines_dir": str(settings.engines_dir)})
    else:
        _print(status)
    return 0
