"""Installing the hook entries into the clients' settings files, and taking them out again.

The files are the user's: we merge, never clobber. Existing hooks and every unrelated key stay as
they are (order included); our entries are recognised by their command (`<secaudit> hook <client>
<event> ...`), so a re-run replaces them in place of adding copies (idempotent) and `uninstall`
removes exactly them. A container emptied by the removal (an event's list, `hooks`) goes with
them; a file left holding nothing (`{}`, or Cursor's bare `{"version": 1}`) is removed. Writes are
atomic and confined to the folder the file lives in (tools/confined_io.py); a file that is not
valid JSON is refused, untouched.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.tools import boundedjson
from secaudit.tools.confined_io import LinkRefused, open_parent, read_current, write_atomic
from secaudit.tools.errors import InvalidInput
from secaudit.tools.hooks.payloads import MAX_JSON_DEPTH

__all__ = [
    "CLIENTS",
    "ClientLayout",
    "InstallReport",
    "ensure_git_ignored",
    "entries_in",
    "install",
    "is_our_command",
    "settings_file",
    "uninstall",
]

_MAX_SETTINGS_BYTES = 4 * 1024 * 1024
_EDIT_TOOLS = "Edit|Write|MultiEdit"


@dataclass(frozen=True)
class Hook:
    event: str  # the client's event name
    action: str  # our `secaudit hook <client> <action>`
    matcher: str | None = None
    timeout: int | None = None


@dataclass(frozen=True)
class ClientLayout:
    name: str
    rel: str  # the settings file, relative to the project or the home folder
    hooks: tuple[Hook, ...]
    # The project's personal settings file (not committed), where the client has one: the entries
    # name this machine's paths, so a team that commits `rel` installs here instead.
    local_rel: str | None = None


CLIENTS: dict[str, ClientLayout] = {
    "claude": ClientLayout(
        "claude",
        ".claude/settings.json",
        (
            Hook("PreToolUse", "pre-tool-use", _EDIT_TOOLS, 30),
            Hook("PostToolUse", "post-tool-use", _EDIT_TOOLS, 30),
            Hook("Stop", "stop", None, 120),
        ),
        ".claude/settings.local.json",
    ),
    "cursor": ClientLayout(
        "cursor",
        ".cursor/hooks.json",
        (
            Hook("afterFileEdit", "after-file-edit"),
            Hook("stop", "stop"),
            Hook("beforeShellExecution", "before-shell-execution"),
        ),
    ),
}


@dataclass
class InstallReport:
    client: str
    file: Path
    changed: bool
    entries: list[str] = field(default_factory=list)  # "event: command"
    removed_file: bool = False


def _rel(client: str, local: bool) -> str:
    layout = CLIENTS[client]
    if not local:
        return layout.rel
    if layout.local_rel is None:
        raise InvalidInput(f"{client} has no personal project settings file; install without --local")
    return layout.local_rel


def settings_file(client: str, base: Path, *, local: bool = False) -> Path:
    return base / _rel(client, local)


def is_our_command(command: object, client: str) -> bool:
    """A command string is ours when it runs secaudit's `hook <client> ...` entry point."""
    if not isinstance(command, str):
        return False
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if not argv:
        return False
    program = os.path.basename(argv[0])
    runs_us = program.startswith("secaudit") or (
        len(argv) > 2 and argv[1] == "-m" and argv[2].startswith("secaudit")
    )
    pairs = itertools.pairwise(argv)
    return runs_us and any(a == "hook" and b == client for a, b in pairs)


def _load(base: Path, rel: str) -> tuple[dict[str, Any], bytes | None, int | str]:
    """(document, current bytes or None when absent, indent to write back with)."""
    try:
        with open_parent(base, rel) as (dir_fd, name):
            current = read_current(dir_fd, name, rel)
    except LinkRefused:
        raise  # a settings file or folder that is a link: said so, never "not installed"
    except InvalidInput:
        current = None  # the folder does not exist yet: nothing installed
    content = current.content if current is not None else None
    if content is None:
        return {}, None, 2
    if len(content) > _MAX_SETTINGS_BYTES:
        raise InvalidInput(f"{rel} is larger than {_MAX_SETTINGS_BYTES} bytes; not changed")
    try:
        doc = boundedjson.loads(content.decode("utf-8"), MAX_JSON_DEPTH)
    except boundedjson.TooDeep:
        raise InvalidInput(
            f"{rel} is nested deeper than {MAX_JSON_DEPTH} levels; fix it by hand first, nothing was written"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"{rel} is not valid JSON; fix it by hand first, nothing was written") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{rel} must hold a JSON object; nothing was written")
    return doc, content, _indent_of(content)


def _indent_of(content: bytes) -> int | str:
    for line in content.decode("utf-8", "replace").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def _save(base: Path, rel: str, doc: dict[str, Any] | None, before: bytes | None, indent: int | str) -> None:
    try:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # A dangling link, or a file, where the settings folder should be.
        raise InvalidInput(
            f"{Path(rel).parent} is not a folder (a file or a dangling link); nothing was written"
        ) from None
    data = None if doc is None else (json.dumps(doc, indent=indent, ensure_ascii=False) + "\n").encode()
    with open_parent(base, rel) as (dir_fd, name):
        current = read_current(dir_fd, name, rel)
        if data is None and current.content is None:
            return
        write_atomic(
            dir_fd,
            name,
            rel,
            data,
            expected_sha256=current.sha256 if before is not None else None,
            expect_absent=before is None,
            default_mode=0o644,
        )


def _hooks_of(doc: dict[str, Any], rel: str) -> dict[str, Any]:
    hooks = doc.get("hooks")
    if hooks is None:
        return {}
    if not isinstance(hooks, dict):
        raise InvalidInput(f"{rel}: `hooks` is not a JSON object; fix it by hand, nothing was written")
    return hooks


def _strip(client: str, entries: list[Any]) -> list[Any]:
    """`entries` (one event's list) without ours; a Claude group emptied by that is dropped."""
    kept: list[Any] = []
    for entry in entries:
        if not isinstance(entry, dict):
            kept.append(entry)
        elif client == "cursor":
            if not is_our_command(entry.get("command"), client):
                kept.append(entry)
        else:
            inner = entry.get("hooks")
            if not isinstance(inner, list):
                kept.append(entry)
                continue
            rest = [
                h for h in inner if not (isinstance(h, dict) and is_our_command(h.get("command"), client))
            ]
            if len(rest) == len(inner):
                kept.append(entry)
            elif rest:
                kept.append({**entry, "hooks": rest})
    return kept


def _entry(client: str, hook: Hook, command: str) -> dict[str, Any]:
    if client == "cursor":
        return {"command": command}
    inner: dict[str, Any] = {"type": "command", "command": command}
    if hook.timeout is not None:
        inner["timeout"] = hook.timeout
    return {**({"matcher": hook.matcher} if hook.matcher else {}), "hooks": [inner]}


def install(
    client: str, base: Path, program: Sequence[str], options: Sequence[str], *, local: bool = False
) -> InstallReport:
    """Merge our entries into the client's settings file under `base` (a project or the home
    folder; `local`: the project's personal file). `program` runs secaudit; `options` follow the
    action on every command line."""
    layout = CLIENTS[client]
    rel = _rel(client, local)
    doc, before, indent = _load(base, rel)
    hooks = dict(_hooks_of(doc, rel))
    report = InstallReport(client, base / rel, changed=False)
    for hook in layout.hooks:
        command = shlex.join([*program, "hook", client, hook.action, *options])
        existing = hooks.get(hook.event, [])
        if not isinstance(existing, list):
            raise InvalidInput(f"{rel}: hooks.{hook.event} is not a list; nothing was written")
        hooks[hook.event] = [*_strip(client, existing), _entry(client, hook, command)]
        report.entries.append(f"{hook.event}: {command}")
    new = dict(doc)
    if client == "cursor" and before is None:
        new["version"] = 1
    new["hooks"] = hooks
    if new != doc or before is None:
        _save(base, rel, new, before, indent)
        report.changed = True
    return report


def uninstall(client: str, base: Path, *, local: bool = False) -> InstallReport:
    """Remove our entries (only them) from the client's settings file under `base`."""
    rel = _rel(client, local)
    doc, before, indent = _load(base, rel)
    report = InstallReport(client, base / rel, changed=False)
    if before is None:
        return report
    hooks = _hooks_of(doc, rel)
    if not hooks:
        return report
    new_hooks: dict[str, Any] = {}
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            new_hooks[event] = entries
            continue
        kept = _strip(client, entries)
        if len(kept) != len(entries) or kept != entries:
            report.entries.extend(f"{event}: removed" for _ in range(1))
            if kept:
                new_hooks[event] = kept
        else:
            new_hooks[event] = entries
    if new_hooks == hooks:
        return report
    new = dict(doc)
    if new_hooks:
        new["hooks"] = new_hooks
    else:
        del new["hooks"]
    empty = not new or (client == "cursor" and new == {"version": 1})
    _save(base, rel, None if empty else new, before, indent)
    report.changed = True
    report.removed_file = empty
    return report


def entries_in(client: str, base: Path, *, local: bool = False) -> list[str]:
    """Our entries found in the client's settings file under `base`, as "event: command"."""
    rel = _rel(client, local)
    try:
        doc, _before, _indent = _load(base, rel)
        hooks = _hooks_of(doc, rel)
    except InvalidInput as exc:
        return [f"(unreadable: {exc})"]
    found: list[str] = []
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            commands = (
                [entry.get("command")]
                if client == "cursor"
                else [h.get("command") for h in entry.get("hooks", []) if isinstance(h, dict)]
            )
            found.extend(f"{event}: {c}" for c in commands if is_our_command(c, client))
    return found


_GIT_TIMEOUT = 10.0


def ensure_git_ignored(base: Path, rel: str) -> str | None:
    """Make git ignore the personal settings file `rel` under `base` (what Claude Code does when it
    creates one itself): a line in the repository's `info/exclude`, never in a committed
    `.gitignore`. What was done, or None when nothing was needed or possible (not a git work tree,
    already ignored, git missing)."""
    from secaudit.tools.gitdiff import GitError, GitRepo

    try:
        repo = GitRepo(base, timeout=_GIT_TIMEOUT)
        if repo.is_ignored(rel):
            return None
        exclude = repo.git_path("info/exclude")
    except GitError:
        return None
    pattern = "/" + repo.prefix + Path(rel).as_posix()
    try:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: one short write, never a rewrite of the user's lines; O_NOFOLLOW: not through a link.
        fd = os.open(exclude, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            lead = b"" if exclude.stat().st_size == 0 or exclude.read_bytes().endswith(b"\n") else b"\n"
            os.write(fd, lead + pattern.encode() + b"\n")
        finally:
            os.close(fd)
    except OSError as exc:
        return f"could not make git ignore {rel} ({exc.strerror or type(exc).__name__}); do not commit it"
    return f"added {pattern} to {exclude} so that git ignores it"
