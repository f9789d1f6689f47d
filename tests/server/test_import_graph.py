"""The import graph of `secaudit.server` and `secaudit.tools`, and what light commands load.

Read statically (ast over `server/` and `tools/`): every import that runs, at module level or
inside a function (an import under `if TYPE_CHECKING:` never runs and is left out). No cycle
between modules; none between packages at any level (a module's imports seen from each package
that holds both ends); `tools` never imports `server`; only `server` imports the MCP SDK.
Then real processes: light CLI commands load neither the SDK nor the heavy parts.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import cli_env

REPO = Path(__file__).resolve().parents[2]
TREES = {"server": "secaudit.server", "tools": "secaudit.tools"}
SDK = {"mcp", "mcp_types"}

# Package cycles that a change in flight will remove; each entry must still be a cycle, so a stale
# one fails here and is deleted. None is known.
KNOWN_PACKAGE_CYCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for folder, package in TREES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join([package, *parts])] = (path, is_package)
    return found


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(name: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        base = name if is_package else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    # `from package import module` imports the module; `from module import name` only the module.
    return {module} | {f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known}


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(internal edges, external top-level names) per module."""
    modules = _modules()
    known = set(modules)
    internal: dict[str, set[str]] = defaultdict(set)
    external: dict[str, set[str]] = defaultdict(set)
    for name, (path, is_package) in modules.items():
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(name, is_package, node, known):
                if not target.startswith("secaudit."):
                    external[name].add(target.split(".")[0])
                    continue
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    internal[name].add(target)
    return internal, external


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    nodes = set(edges) | {b for bs in edges.values() for b in bs}
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _package_edges(edges: dict[str, set[str]]) -> dict[str, dict[str, set[str]]]:
    """For each package, the edges between its direct members that the module edges imply:
    `a.b.c -> a.d` is `a.b -> a.d` inside package `a`. Edges between a package and what it holds
    are left out (a package's `__init__` gathering its modules is no cycle between siblings)."""
    levels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for source, targets in edges.items():
        a = source.split(".")
        for target in targets:
            b = target.split(".")
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            if common == len(a) or common == len(b):
                continue
            parent = ".".join(a[:common])
            levels[parent][".".join(a[: common + 1])].add(".".join(b[: common + 1]))
    return levels


def test_the_static_reader_sees_the_imports_it_must() -> None:
    internal, external = _graph()
    assert "secaudit.server.context" in internal["secaudit.server.app"]
    assert "secaudit.server.handlers" in internal["secaudit.server.app"]
    assert "mcp" in external["secaudit.server.app"]
    # Imports inside functions count (they run); those under TYPE_CHECKING do not.
    assert "secaudit.server.app" in internal["secaudit.server.cli.serve"]
    assert "secaudit.tools.masking" not in internal["secaudit.server.context"]
    assert "secaudit.tools.fixes.generators" in internal["secaudit.server.context"]
    # A cycle is found when there is one.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_imports_itself_back() -> None:
    internal, _external = _graph()
    assert _cycles(internal) == []


def test_no_package_cycle_at_any_level() -> None:
    internal, _external = _graph()
    found = {
        frozenset(cycle)
        for _parent, edges in sorted(_package_edges(internal).items())
        for cycle in _cycles(edges)
    }
    assert found - KNOWN_PACKAGE_CYCLES == set()
    assert KNOWN_PACKAGE_CYCLES - found == set(), "no longer a cycle: delete it from KNOWN_PACKAGE_CYCLES"


def test_tools_never_imports_server() -> None:
    internal, _external = _graph()
    leaks = {
        (source, target)
        for source, targets in internal.items()
        if source.startswith("secaudit.tools")
        for target in targets
        if target.startswith("secaudit.server")
    }
    assert leaks == set()


def test_only_server_imports_the_mcp_sdk() -> None:
    _internal, external = _graph()
    assert {
        name for name, tops in external.items() if tops & SDK and not name.startswith("secaudit.server")
    } == set()


# -- what a light command loads ------------------------------------------------------------------

_PROBE = """
import contextlib, io, json, sys
from secaudit.server.cli import main
code = 0
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[2:])
    except SystemExit as exc:
        code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

# Loaded by no light command: the SDK and the servers, the scanners and their parsers, the fix
# machinery, the audit engine, rich (the audit's progress bar), sqlite-utils.
HEAVY = (
    "mcp",
    "mcp_types",
    "anyio",
    "starlette",
    "uvicorn",
    "libcst",
    "bandit",
    "detect_secrets",
    "rich",
    "sqlite_utils",
    "redis",
    "limits",
    "secaudit.server.app",
    "secaudit.server.toolkit",
    "secaudit.server.handlers",
    "secaudit.server.http",
    "secaudit.tools.audit",
    "secaudit.tools.scanners",
    "secaudit.tools.fixes.service",
    "secaudit.tools.events",
)


def _loaded(settings: Settings, *argv: str, stdin: str = "") -> tuple[int, set[str]]:
    out = Path(settings.store_path).parent.parent / "modules.json"
    subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *argv],
        env=cli_env(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(out.read_text())
    return int(data["code"]), set(data["modules"])


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def _command_modules(modules: set[str]) -> set[str]:
    # common (settings, output) and terminal (the parser, escaping) serve every command and are light.
    shared = {"secaudit.server.cli.common", "secaudit.server.cli.terminal"}
    return {m for m in modules if m.startswith("secaudit.server.cli.") and m not in shared}


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_load_no_command_and_no_pydantic(settings: Settings, argv: list[str]) -> None:
    code, modules = _loaded(settings, *argv)
    assert code == 0
    assert _heavy(modules) == set()
    assert _command_modules(modules) == set()
    assert not any(
        m == "pydantic" or m.startswith("secaudit.tools.") for m in modules - {"secaudit.tools.errors"}
    )


@pytest.mark.parametrize(
    ("argv", "command", "expect"),
    [
        (["tasks", "list"], "tasks", 0),
        (["tasks", "show", "1"], "tasks", 2),  # no such task: a clean not_found
        (["findings", "list"], "findings", 0),
        (["findings", "runs"], "findings", 0),
        (["db", "status"], "db", 0),
        (["mask"], "mask", 0),
        (["hooks", "status"], "hooks", 0),
    ],
)
def test_light_commands_load_only_their_own_module(
    settings: Settings, argv: list[str], command: str, expect: int
) -> None:
    code, modules = _loaded(settings, *argv, stdin="password=correct-horse-battery-staple\n")
    assert code == expect
    assert _heavy(modules) == set()
    assert _command_modules(modules) == {f"secaudit.server.cli.{command}"}


# A hook entry point scans (so it loads the audit engine and the scanners), but never the SDK, a
# server, a handler or the fix machinery: it runs on every edit of an agent.
HOOK_HEAVY = (
    "mcp",
    "mcp_types",
    "anyio",
    "starlette",
    "uvicorn",
    "libcst",
    "rich",
    "redis",
    "secaudit.server.app",
    "secaudit.server.toolkit",
    "secaudit.server.handlers",
    "secaudit.server.http",
    "secaudit.tools.fixes.service",
)


@pytest.mark.parametrize(
    ("argv", "payload"),
    [
        (
            ["hook", "claude", "post-tool-use", "--scanners", "secrets"],
            {"session_id": "s", "cwd": "{root}", "hook_event_name": "PostToolUse", "tool_name": "Write",
             "tool_input": {"file_path": "{root}/a.py", "content": "x = 1"}},
        ),
        (
            ["hook", "claude", "stop", "--scanners", "secrets"],
            {"session_id": "s", "cwd": "{root}", "hook_event_name": "Stop", "stop_hook_active": False},
        ),
        (
            ["hook", "cursor", "before-shell-execution"],
            {"conversation_id": "c", "hook_event_name": "beforeShellExecution", "workspace_roots": ["{root}"],
             "command": "pip install requests==2.0.0", "cwd": "{root}"},
        ),
    ],
)  # fmt: skip
def test_hook_entry_points_load_no_sdk_server_or_fix_machinery(
    settings: Settings, argv: list[str], payload: dict[str, object]
) -> None:
    root = settings.allowed_roots[0]
    (root / "a.py").write_text("x = 1\n")
    stdin = json.dumps(payload).replace("{root}", str(root))
    code, modules = _loaded(settings, *argv, stdin=stdin)
    assert code == 0
    assert {m for m in modules if any(m == h or m.startswith(h + ".") for h in HOOK_HEAVY)} == set()
    assert _command_modules(modules) <= {"secaudit.server.cli.hook", "secaudit.server.cli.hooks"}


def test_an_edit_hook_on_a_source_file_loads_no_advisory_parsing_or_version_matching(
    settings: Settings,
) -> None:
    # Every scanner is loaded (all of them run), but the deps scanner only scans manifests: the
    # OSV parser, CVSS, version matching and the dependency audit wait until one is in scope.
    root = settings.allowed_roots[0]
    (root / "a.py").write_text("x = 1\n")
    payload = {"session_id": "s", "cwd": str(root), "hook_event_name": "PostToolUse", "tool_name": "Write",
               "tool_input": {"file_path": str(root / "a.py"), "content": "x = 1"}}  # fmt: skip
    code, modules = _loaded(
        settings, "hook", "claude", "post-tool-use", "--scanners", "secrets,deps", stdin=json.dumps(payload)
    )
    assert code == 0
    assert "secaudit.tools.scanners.deps" in modules  # the probe is not blind
    lazy = ("secaudit.tools.advisories.osv", "secaudit.tools.advisories.matching", "secaudit.tools.deps.audit",
            "cvss")  # fmt: skip
    assert {m for m in lazy if m in modules} == set()


def test_serving_is_what_loads_the_sdk(settings: Settings) -> None:
    # The probe's check is not blind: building the server does load the SDK and every handler.
    probe = (
        "import sys; from secaudit.server.app import build_server; from secaudit.server.settings import "
        "load_settings; build_server(load_settings()); print('mcp' in sys.modules, "
        "'secaudit.server.handlers.fixes' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert proc.stdout.split() == ["True", "True"]
