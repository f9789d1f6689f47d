"""The AI agent's own setup in the repository: MCP server lists, agent settings and hooks.

Files: `.mcp.json`, `.cursor/mcp.json`, `.vscode/mcp.json`, `.cursor/hooks.json`,
`.claude/settings.json`, `.claude/settings.local.json`, `.gemini/settings.json` (at any depth: a
monorepo's packages carry their own). They decide what runs on the developer's machine with the
agent's rights, so the rules look for:

- a literal credential in an MCP server's `env` or `headers` (a `${VAR}` / `${env:VAR}` /
  `${input:id}` reference is fine), judged by the masking detectors (`secaudit.tools.masking`),
  reported masked;
- a server started through a package runner (`npx`, `bunx`, `pnpm dlx`, `yarn dlx`, `uvx`,
  `pipx run`) without an exact version: the next start runs whatever the registry serves then;
- a command (hook or server) that pipes a download into an interpreter (`curl … | sh`);
- a permission allowlist that lets every shell command run (`Bash`, `Bash(*)`, `*`), or a default
  mode that skips the prompts (`bypassPermissions`);
- a remote MCP server over plain `http://` (loopback is fine);
- such a file readable by every user of the machine while it holds a credential.

JSON is read with bounds (size, nesting depth) and with the comments and trailing commas VS Code
and Cursor accept (JSONC): stripping them costs one pass over at most 256 KiB.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from secaudit.tools import boundedjson
from secaudit.tools.masking import is_placeholder, mask_text

from .common import Hit, Skip, read_text

__all__ = ["MAX_AGENT_CONFIG_BYTES", "MAX_JSON_DEPTH", "is_agent_config", "parse_jsonc", "scan_agent_config"]

MAX_AGENT_CONFIG_BYTES = 256 * 1024  # these files are a few KiB; anything bigger is not one
MAX_JSON_DEPTH = 32
_MAX_SERVERS = 200
_MAX_HOOK_COMMANDS = 500

# (parent folder, file name) of the files this module reads, besides `.mcp.json` anywhere.
_AGENT_FILES = frozenset(
    {
        (".cursor", "mcp.json"),
        (".vscode", "mcp.json"),
        (".cursor", "hooks.json"),
        (".claude", "settings.json"),
        (".claude", "settings.local.json"),
        (".gemini", "settings.json"),
    }
)
_RUNNERS = {"npx", "bunx"}  # the first non-option argument is the package
_DLX_RUNNERS = {"pnpm", "yarn"}  # `pnpm dlx pkg`, `yarn dlx pkg`
_NPX_VALUE_OPTIONS = {"-p", "--package", "-c", "--call", "--cache", "--registry", "--userconfig"}
_UV_VALUE_OPTIONS = {
    "--from",
    "--with",
    "-w",
    "--python",
    "-p",
    "--index",
    "--index-url",
    "--extra-index-url",
}
_PIPX_VALUE_OPTIONS = {"--spec", "--python", "--index-url", "--pip-args"}
_EXACT_NPM_VERSION = re.compile(r"^v?\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.-]+)?$")
_EXACT_PY_PIN = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?(?:===?|@)\s*v?\d+(?:\.\d+)*[0-9A-Za-z.+!-]*$"
)
# A downloader in command position (not an argument: `echo curl | sh`; `sh -c` starts one) piped
# into an interpreter.
_PIPE_TO_SHELL = re.compile(
    r"(?:^|[;&|(`'\"]\s*|\$\(\s*|\s-c\s+)(?:sudo\s+(?:-\S+\s+)*)?(?:\S*/)?(?:curl|wget|fetch)\b[^|;&\n]*"
    r"\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:\S*/)?(?:(?:ba|z|da|k|fi)?sh|python[0-9.]*|node|perl|ruby)\b",
    re.IGNORECASE,
)
_ALLOW_ALL = re.compile(r"^\s*(?:\*|bash|bash\(\s*\*{0,2}\s*\)|bash\(\s*:?\*{1,2}\s*\))\s*$", re.IGNORECASE)
_BYPASS_MODES = {"bypasspermissions"}
_CLOSER_AHEAD = re.compile(r"\s*[}\]]")


def is_agent_config(rel: str) -> bool:
    parts = rel.split("/")
    parent = parts[-2] if len(parts) >= 2 else ""
    return parts[-1] == ".mcp.json" or (parent, parts[-1]) in _AGENT_FILES


# -- bounded JSONC --------------------------------------------------------------------------------


def _strip_jsonc(text: str) -> str:
    """Comments and trailing commas removed (outside strings); line breaks kept for line numbers."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            chunk = text[i : n if end < 0 else end + 2]
            out.append("\n" * chunk.count("\n"))
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return _drop_trailing_commas("".join(out))


def _drop_trailing_commas(text: str) -> str:
    """`[1, 2,]` -> `[1, 2]`, outside strings only (comments are gone by now)."""
    out: list[str] = []
    in_string = escaped = False
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "," and _CLOSER_AHEAD.match(text, i + 1):
            continue
        out.append(c)
    return "".join(out)


def parse_jsonc(text: str) -> Any:
    """JSON with comments and trailing commas; Skip when nested deeper than MAX_JSON_DEPTH or invalid."""
    try:
        return boundedjson.loads(_strip_jsonc(text), MAX_JSON_DEPTH)
    except boundedjson.TooDeep as exc:
        raise Skip(str(exc)) from None
    except ValueError as exc:
        raise Skip(f"not valid JSON ({type(exc).__name__})") from None


# -- the rules ------------------------------------------------------------------------------------


def _line_of(text: str, *needles: str) -> int | None:
    """The first line holding the JSON-encoded needles in order (a key, then its value), if any."""
    lines = text.splitlines()
    encoded = [json.dumps(n)[1:-1] for n in needles if n]
    for number, line in enumerate(lines, 1):
        if encoded and encoded[-1] in line:
            return number
    for number, line in enumerate(lines, 1):
        if encoded and encoded[0] in line:
            return number
    return None


def _servers(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    count = 0
    for key in ("mcpServers", "servers"):
        table = doc.get(key)
        if not isinstance(table, dict):
            continue
        for name, server in table.items():
            if isinstance(server, dict) and count < _MAX_SERVERS:
                count += 1
                yield str(name)[:100], server


def _is_reference(value: str) -> bool:
    return is_placeholder(value) or bool(re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", value.strip()))


def _secret_hits(text: str, name: str, server: Mapping[str, Any]) -> list[Hit]:
    hits: list[Hit] = []
    for field in ("env", "headers"):
        table = server.get(field)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if not isinstance(value, str) or not value.strip() or _is_reference(value):
                continue
            found = mask_text(f"{key}={value}").matches
            if not found:
                continue
            shown = found[0].preview
            hits.append(
                Hit(
                    "config.agent-secret-in-config",
                    _line_of(text, str(key)),
                    f"MCP server {name!r} has a literal {found[0].kind} in {field}.{key} ({shown})",
                    f"{name}:{field}:{key}",
                    snippet=f'"{key}": "{shown}"',
                )
            )
    return hits


def _command_line(server: Mapping[str, Any]) -> list[str]:
    command = server.get("command")
    if not isinstance(command, str) or not command.strip():
        return []
    args = server.get("args")
    if not isinstance(args, list):
        return _split(command)  # the whole command line in `command`
    return [command, *(str(a) for a in args[:200] if isinstance(a, str | int | float))]


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _first_operand(args: list[str], value_options: set[str]) -> tuple[str | None, dict[str, str]]:
    """The first argument that is not an option, and the values of the options before it."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return (args[i + 1] if i + 1 < len(args) else None), values
        if arg.startswith("-"):
            option, eq, inline = arg.partition("=")
            if eq:
                values[option] = inline
            elif option in value_options and i + 1 < len(args):
                values[option] = args[i + 1]
                i += 1
            i += 1
            continue
        return arg, values
    return None, values


def _npm_pinned(spec: str) -> bool:
    name_and_version = spec[1:] if spec.startswith("@") else spec
    if "@" not in name_and_version:
        return False
    version = name_and_version.rsplit("@", 1)[1]
    return bool(_EXACT_NPM_VERSION.match(version))


def _unpinned_package(argv: list[str]) -> str | None:
    """The package a runner would fetch unpinned, or None (not a runner, or pinned)."""
    if not argv:
        return None
    tool = Path(argv[0]).name.lower().removesuffix(".cmd").removesuffix(".exe")
    args = argv[1:]
    if tool in _DLX_RUNNERS:
        if not args or args[0] != "dlx":
            return None
        tool, args = "npx", args[1:]
    if tool in _RUNNERS:
        operand, values = _first_operand(args, _NPX_VALUE_OPTIONS)
        spec = values.get("--package") or values.get("-p") or operand
        return None if spec is None or _npm_pinned(spec) or spec.startswith((".", "/")) else spec
    if tool == "uv" and args[:2] == ["tool", "run"]:
        tool, args = "uvx", args[2:]
    if tool == "uvx":
        operand, values = _first_operand(args, _UV_VALUE_OPTIONS)
        spec = values.get("--from") or operand
        return None if spec is None or _EXACT_PY_PIN.match(spec) or spec.startswith((".", "/")) else spec
    if tool == "pipx":
        if not args or args[0] != "run":
            return None
        operand, values = _first_operand(args[1:], _PIPX_VALUE_OPTIONS)
        spec = values.get("--spec") or operand
        return None if spec is None or _EXACT_PY_PIN.match(spec) or spec.startswith((".", "/")) else spec
    return None


def _server_hits(text: str, name: str, server: Mapping[str, Any]) -> list[Hit]:
    hits = _secret_hits(text, name, server)
    argv = _command_line(server)
    package = _unpinned_package(argv)
    if package is not None:
        shown = package[:100]
        hits.append(
            Hit(
                "config.agent-unpinned-server",
                _line_of(text, name, shown),
                f"MCP server {name!r} runs {Path(argv[0]).name} {shown} without an exact version: each start "
                "runs whatever the registry serves then",
                f"{name}:unpinned:{shown}",
                snippet=mask_text(" ".join(argv[:6])[:200]).masked,
            )
        )
    joined = " ".join(argv)
    if argv and _PIPE_TO_SHELL.search(joined):
        hits.append(_pipe_hit(text, f"MCP server {name!r}", joined, f"{name}:pipe"))
    for key in ("url", "serverUrl", "httpUrl"):
        url = server.get(key)
        if isinstance(url, str) and _plain_http_remote(url):
            host = urlsplit(url.strip()).hostname or "?"
            hits.append(
                Hit(
                    "config.agent-mcp-plain-http",
                    _line_of(text, url),
                    f"MCP server {name!r} is reached over plain http:// at {host[:100]}: its traffic, "
                    "tokens included, can be read and changed on the way",
                    f"{name}:http:{host[:100]}",
                    snippet=f"{key}: http://{host[:100]}/...",
                )
            )
    return hits


def _pipe_hit(text: str, where: str, command: str, context: str) -> Hit:
    shown = mask_text(command[:200]).masked
    return Hit(
        "config.agent-hook-pipes-download",
        _line_of(text, command[:60]),
        f"{where} pipes a download into an interpreter: whatever the server sends runs unchecked",
        context,
        snippet=shown,
    )


def _plain_http_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http" or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _hook_commands(node: Any, depth: int = 0) -> Iterator[str]:
    """Every string under a `command` key inside the `hooks` table (Claude Code, Cursor, Gemini)."""
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("command", "bash", "powershell") and isinstance(value, str):
                yield value
            else:
                yield from _hook_commands(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _hook_commands(item, depth + 1)


def _permission_hits(text: str, doc: Mapping[str, Any]) -> list[Hit]:
    perms = doc.get("permissions")
    if not isinstance(perms, dict):
        return []
    hits: list[Hit] = []
    allow = perms.get("allow")
    if isinstance(allow, list):
        for entry in allow[:1000]:
            if isinstance(entry, str) and _ALLOW_ALL.match(entry):
                hits.append(
                    Hit(
                        "config.agent-allow-all-commands",
                        _line_of(text, entry),
                        f"permissions.allow holds {entry[:40]!r}: the agent runs every shell command without "
                        "asking, including what injected text tells it to",
                        f"allow:{entry.strip().lower()}",
                        snippet=f'"allow": ["{entry[:40]}"]',
                    )
                )
    mode = perms.get("defaultMode")
    if isinstance(mode, str) and mode.strip().lower() in _BYPASS_MODES:
        hits.append(
            Hit(
                "config.agent-allow-all-commands",
                _line_of(text, mode),
                f"permissions.defaultMode is {mode[:40]!r}: every tool call runs without asking",
                "mode:bypass",
                snippet=f'"defaultMode": "{mode[:40]}"',
            )
        )
    return hits


def scan_agent_config(root: Path, rel: str, mode: int) -> list[Hit]:
    text = read_text(root, rel, MAX_AGENT_CONFIG_BYTES)
    doc = parse_jsonc(text)
    if not isinstance(doc, dict):
        raise Skip("not a JSON object")
    hits: list[Hit] = []
    for name, server in _servers(doc):
        hits.extend(_server_hits(text, name, server))
    hooks = doc.get("hooks")
    if hooks is not None:
        for index, command in enumerate(_hook_commands(hooks)):
            if index >= _MAX_HOOK_COMMANDS:
                break
            if _PIPE_TO_SHELL.search(command):
                hits.append(_pipe_hit(text, "a hook", command, "hook:" + mask_text(command[:120]).masked))
    hits.extend(_permission_hits(text, doc))
    secrets = [h for h in hits if h.rule == "config.agent-secret-in-config"]
    if secrets and mode & stat.S_IROTH:
        hits.append(
            Hit(
                "config.agent-config-world-readable",
                None,
                f"mode {stat.filemode(mode)} lets every user of the machine read the {len(secrets)} "
                "credential(s) this file holds",
                "world-readable",
                snippet=f"mode {stat.filemode(mode)}",
            )
        )
    return hits
