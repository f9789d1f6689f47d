"""`secaudit hook <client> <event>`: the entry points the agent clients run (installed by
`secaudit hooks install`). A light command: no MCP SDK, no handler, no fix machinery.

The client sends JSON on stdin; it is read bounded (1 MiB) and checked (tools/hooks/payloads.py).
Exit codes, chosen for what the clients make of them: 0 always when the hook did its job, whatever
it decided (decisions travel as JSON on stdout, never as exit 2: Claude Code would feed our stderr
to the model); 1 when the input was malformed or the hook failed (Claude Code and Cursor treat it as
a non-blocking error: the action goes on, stderr says why). A path outside the repository root or
the allowed roots is ignored (exit 0, a note on stderr), never scanned.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from secaudit.server.cli.common import settings_from_args
from secaudit.server.cli.hooks import add_policy_options
from secaudit.server.cli.terminal import for_terminal
from secaudit.tools.errors import InvalidInput, SecauditError
from secaudit.tools.hooks.payloads import ClaudeInput, CursorInput, parse_payload, read_bounded
from secaudit.tools.severity import Severity

__all__ = ["EXIT_HOOK_FAILED", "register"]

EXIT_HOOK_FAILED = 1
_EVENTS = {
    "claude": ("pre-tool-use", "post-tool-use", "stop"),
    "cursor": ("after-file-edit", "stop", "before-shell-execution"),
}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "hook",
        description="Entry points run by the agent clients' hooks (installed by `secaudit hooks "
        "install`); they read the client's JSON on stdin. Exit 0 ok (decisions are JSON on stdout), "
        "1 malformed input or a failed hook (non-blocking for the client).",
    )
    clients = p.add_subparsers(dest="client", metavar="CLIENT", required=True)
    for client, events in _EVENTS.items():
        c = clients.add_parser(client, help=f"{client} hook events")
        evs = c.add_subparsers(dest="event", metavar="EVENT", required=True)
        for event in events:
            e = evs.add_parser(event, parents=parents, help=f"the {event} hook")
            add_policy_options(e)
            e.set_defaults(handler=run, exit_without_teardown=True)


def _note(text: str) -> None:
    print(for_terminal(f"secaudit hook: {text}"), file=sys.stderr)


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def run(args: argparse.Namespace) -> int:
    if args.max_blocks < 0:
        _note("--max-blocks must be 0 or more")
        return EXIT_HOOK_FAILED
    try:
        raw = read_bounded(sys.stdin.buffer)
        payload: ClaudeInput | CursorInput = (
            parse_payload(raw, ClaudeInput) if args.client == "claude" else parse_payload(raw, CursorInput)
        )
    except InvalidInput as exc:
        _note(str(exc))
        return EXIT_HOOK_FAILED
    try:
        return _dispatch(args, payload)
    except SecauditError as exc:
        return _failed(args, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a hook never shows a traceback to the client
        return _failed(args, f"internal error ({type(exc).__name__}); rerun with --log-level DEBUG")


def _failed(args: argparse.Namespace, what: str) -> int:
    """The hook itself failed. At a stop with --on-error closed that is a block; else a note."""
    _note(f"the {args.event} hook failed: {what}")
    if args.event == "stop" and args.on_error == "closed":
        text = f"secaudit could not check the session's edits ({what}); the hook fails closed."
        _emit(
            {"decision": "block", "reason": text} if args.client == "claude" else {"followup_message": text}
        )
        return 0
    return EXIT_HOOK_FAILED


def _root_of(args: argparse.Namespace, payload: ClaudeInput | CursorInput) -> str | None:
    if isinstance(payload, ClaudeInput):
        # Claude Code sets CLAUDE_PROJECT_DIR for the hooks it runs: stable while `cwd` follows `cd`.
        return os.environ.get("CLAUDE_PROJECT_DIR") or payload.cwd
    candidates = list(payload.workspace_roots) or ([payload.cwd] if payload.cwd else [])
    if payload.file_path:
        for root in candidates:
            if os.path.isabs(payload.file_path) and Path(payload.file_path).is_relative_to(root):
                return root
    return candidates[0] if candidates else None


def _dispatch(args: argparse.Namespace, payload: ClaudeInput | CursorInput) -> int:
    from secaudit.tools.paths import confine, confine_dir, relative_to_root

    settings = settings_from_args(args)
    root_text = _root_of(args, payload)
    if root_text is None:
        _note("the input names no workspace root; nothing to do")
        return 0
    try:
        root = confine_dir(root_text, settings.allowed_roots)
    except InvalidInput:
        _note("the workspace is outside the allowed roots (SECAUDIT_ALLOWED_ROOTS / --root); ignored")
        _allow_shell(args)
        return 0
    if args.event == "before-shell-execution":
        assert isinstance(payload, CursorInput)
        return _shell(args, settings, payload)
    file_path: str | None = None
    if isinstance(payload, ClaudeInput) and payload.tool_input is not None:
        file_path = payload.tool_input.file_path
    elif isinstance(payload, CursorInput):
        file_path = payload.file_path
    rel: str | None = None
    if args.event != "stop":
        if not file_path:
            _note("the input names no file; nothing to do")
            return 0
        try:
            rel = relative_to_root(confine(file_path, [root], must_exist=False), root)
        except InvalidInput:
            _note("the edited file is outside the repository root; ignored, not scanned")
            return 0
    if args.event in ("post-tool-use", "after-file-edit") and rel is not None:
        _warm_scanners(args, settings, root, rel)
    service = _service(args, settings)
    session_id = payload.session_id if isinstance(payload, ClaudeInput) else payload.conversation_id
    if args.event == "pre-tool-use":
        assert rel is not None
        outcome = service.before_edit(args.client, session_id, root, rel)
        if outcome not in ("snapshot recorded", "already recorded"):
            _note(outcome)
        return 0
    if args.event in ("post-tool-use", "after-file-edit"):
        assert rel is not None
        run = service.after_edit(args.client, session_id, root, rel)
        if run is not None and run.status.value == "failed":
            _note(f"the scan of {rel} could not run: {run.error or 'see the run notes'}")
        if args.client == "cursor":
            _emit({})
        return 0
    if isinstance(payload, CursorInput) and payload.status in ("aborted", "error"):
        # The user stopped the agent, or it failed: no follow-up is sent into that.
        _emit({})
        return 0
    repeat = payload.stop_hook_active if isinstance(payload, ClaudeInput) else payload.loop_count > 0
    decision = service.stop(args.client, session_id, repeat_ok=repeat)
    for note in decision.notes:
        _note(note)
    if args.client == "claude":
        if decision.block:
            _emit({"decision": "block", "reason": decision.message})
        elif decision.new_findings or any("could not" in n for n in decision.notes):
            _emit({"systemMessage": "secaudit: " + "; ".join(decision.notes)[:1000]})
    else:
        _emit({"followup_message": decision.message} if decision.block else {})
    return 0


def _warm_scanners(args: argparse.Namespace, settings: Any, root: Path, rel: str) -> None:
    """The file was just edited, so its scan will need bandit's worker and a semgrep process (no
    cached result): start them now, to run while this process imports and opens the rest
    (docs/hooks.md, Speed). The scan takes them only if they match what it would start itself."""
    from secaudit.tools.scanners.bandit_scanner import selects_path, warm_workers

    wanted = {s.strip() for s in (args.scanners or "").split(",") if s.strip()}
    if not wanted or "semgrep" in wanted:
        from secaudit.server.context import semgrep_options
        from secaudit.tools.scanners.semgrep import SemgrepOptions, SemgrepScanner

        options = SemgrepOptions.parse("semgrep", semgrep_options(settings))
        SemgrepScanner.start_early(root, rel, options, workers=settings.audit_workers)
    if selects_path(rel) and (not wanted or "bandit" in wanted):
        warm_workers(1)


def _allow_shell(args: argparse.Namespace) -> None:
    if args.event == "before-shell-execution":
        _emit({"permission": "allow"})


def _service(args: argparse.Namespace, settings: Any) -> Any:
    from secaudit.server.context import open_audit
    from secaudit.tools.hooks.service import HookPolicy, HookService
    from secaudit.tools.hooks.sessions import HookSessions

    audit = open_audit(settings)
    policy = HookPolicy(
        max_blocks=args.max_blocks, min_severity=Severity(args.min_severity), on_error=args.on_error
    )
    scanners = tuple(s.strip() for s in (args.scanners or "").split(",") if s.strip()) or None
    return HookService(
        audit.store, audit, audit.findings, HookSessions(audit.store), policy, scanners=scanners
    )


def _shell(args: argparse.Namespace, settings: Any, payload: CursorInput) -> int:
    from secaudit.server.context import open_store
    from secaudit.tools.advisories import MIGRATIONS, AdvisoryDB
    from secaudit.tools.hooks.shell import check_command

    if not payload.command:
        _emit({"permission": "allow"})
        return 0
    store = open_store(settings, write=False, schema=MIGRATIONS)
    try:
        verdict = check_command(payload.command, AdvisoryDB(store), on_error=args.on_error)
    finally:
        store.close()
    for note in verdict.notes:
        _note(note)
    out: dict[str, Any] = {"permission": verdict.permission}
    if verdict.user_message:
        out["user_message"] = verdict.user_message
    if verdict.agent_message:
        out["agent_message"] = verdict.agent_message
    _emit(out)
    return 0
