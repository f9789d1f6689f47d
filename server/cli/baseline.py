"""`secaudit baseline write [PATH]`: commit the local triage decisions as `.secaudit/baseline.json`;
`secaudit baseline key`: print the secrets fingerprint key, for CI.

The file carries, per decided finding, its fingerprint, scanner, rule id, path, status, reason,
expiry, author and time: never a snippet or message (tools/project/baseline.py). Every audit of
the folder, on any machine, applies it. `--include-open` also baselines every finding still open
in the folder's latest audit (adopting secaudit on a repository with a backlog).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from secaudit.server.cli.common import emit_json, path_as_root, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import fingerprint_key, open_store
from secaudit.server.settings import Settings
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings import MIGRATIONS, FindingsService, TriageStatus
from secaudit.tools.findings.baseline import open_decisions
from secaudit.tools.keys import key_to_text
from secaudit.tools.paths import confine_dir
from secaudit.tools.project.baseline import BASELINE_FILE, load_baseline, merge_decisions, render_baseline
from secaudit.tools.project.baseline import write_baseline as write_file
from secaudit.tools.text import clean_text
from secaudit.tools.timefmt import iso_ms, parse_time

__all__ = ["register"]

_ADOPT_REASON = "open when secaudit was adopted (secaudit baseline write --include-open)"
_ACTOR = "cli"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("baseline")
    bsub = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    w = bsub.add_parser(
        "write",
        parents=parents,
        help=f"write the folder's triage decisions to {BASELINE_FILE} (commit it)",
        description=f"Write the triage decisions of the local store for PATH to {BASELINE_FILE}, merged "
        "with the file's existing entries (per finding the newest decision wins; open and expired ones "
        "are left out). Every audit of PATH, on any machine, applies it.",
    )
    w.add_argument("path", nargs="?", default=".", help="repository folder (default: the current one)")
    w.add_argument(
        "--include-open",
        action="store_true",
        help="also baseline every finding open in the folder's latest audit (adopting secaudit on a "
        "repository with a backlog); they get --status and --reason",
    )
    w.add_argument(
        "--status",
        choices=[s.value for s in TriageStatus if s is not TriageStatus.OPEN],
        default=TriageStatus.ACCEPTED_RISK.value,
        help="with --include-open: the status given to open findings (default accepted_risk)",
    )
    w.add_argument("--reason", help=f"with --include-open: why (default: '{_ADOPT_REASON}')")
    w.add_argument("--expires-at", help="with --include-open: ISO 8601 time after which they count again")
    w.set_defaults(handler=_write)
    k = bsub.add_parser(
        "key",
        parents=parents,
        help="print the secrets fingerprint key, for a CI secret (SECAUDIT_FINGERPRINT_KEY)",
        description="Print the key the secrets findings' fingerprints are made with (the store's "
        "key file, or SECAUDIT_FINGERPRINT_KEY when set) as one line of base64. Give it to CI as the "
        "secret SECAUDIT_FINGERPRINT_KEY: the baseline's secrets entries then match there too. Anyone "
        "holding it can test guesses against those fingerprints: keep it a secret.",
    )
    k.set_defaults(handler=_key)


def _key(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    text = key_to_text(fingerprint_key(settings))
    if args.json:
        emit_json({"fingerprint_key": text, "from": _key_origin(settings)})
        return 0
    print(text)
    print(
        f"the secrets fingerprint key ({_key_origin(settings)}); store it as the CI secret "
        "SECAUDIT_FINGERPRINT_KEY, never in the repository",
        file=sys.stderr,
    )
    return 0


def _key_origin(settings: Settings) -> str:
    if settings.fingerprint_key is not None:
        return "from SECAUDIT_FINGERPRINT_KEY"
    return f"from {settings.store_path.name}.hmackey beside the store"


def _write(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.path)
    path_as_root(args, path)
    settings = settings_from_args(args)
    root = confine_dir(path, settings.allowed_roots)
    now = datetime.now(UTC)
    expires = None
    if args.expires_at is not None:
        try:
            when = parse_time(args.expires_at)
        except ValueError:
            raise InvalidInput(
                "--expires-at must be an ISO 8601 date-time, e.g. 2026-12-31T00:00:00Z"
            ) from None
        if when <= now:
            raise InvalidInput("--expires-at must be in the future")
        expires = iso_ms(when)
    if not args.include_open and (args.reason is not None or args.expires_at is not None):
        raise InvalidInput("--reason and --expires-at apply to --include-open only")
    existing = load_baseline(root)  # an invalid file stops here, naming the entry
    findings = FindingsService(
        open_store(settings, write=False, schema=MIGRATIONS), runs_kept=settings.runs_kept
    )
    stored = findings.stored_decisions(str(root))
    adopted = []
    if args.include_open:
        run_id = findings.latest_run(str(root))
        if run_id is None:
            raise InvalidInput(
                f"--include-open: {root} has no audit in the store yet; run secaudit audit first"
            )
        reason = clean_text(args.reason or _ADOPT_REASON, 2000).strip()
        if not reason:
            raise InvalidInput("--reason must not be empty")
        adopted = open_decisions(
            findings.store, run_id, now=iso_ms(now), status=TriageStatus(args.status), reason=reason,
            who=_ACTOR, expires_at=expires,
        )  # fmt: skip
    decisions = merge_decisions(existing.entries if existing else (), stored, now=now, extra=adopted)
    changed = write_file(root, render_baseline(decisions))
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.status.value] = counts.get(d.status.value, 0) + 1
    if args.json:
        emit_json({"file": BASELINE_FILE, "root": str(root), "entries": len(decisions), "changed": changed,
                   "by_status": counts, "adopted_open": len(adopted)})  # fmt: skip
        return 0
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no decisions"
    verb = "wrote" if changed else "unchanged:"
    print(for_terminal(f"{verb} {root}/{BASELINE_FILE}: {len(decisions)} entries ({summary})"))
    if adopted:
        print(f"  {len(adopted)} open findings of the latest audit included as {args.status}")
    secret_entries = sum(1 for d in decisions if d.scanner == "secrets")
    if secret_entries and settings.fingerprint_key is None:
        print(
            f"  {secret_entries} secrets entries match only where the fingerprint key is this store's: "
            "give CI `secaudit baseline key` as the secret SECAUDIT_FINGERPRINT_KEY",
            file=sys.stderr,
        )
    return 0
