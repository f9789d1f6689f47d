"""Code fixes through libcst (formatting and comments kept), for bandit rules with a mechanical fix.

Each rewrite touches only the call bandit reported (found by its line; names resolved through the
module's imports, so `import yaml as y` or `from hashlib import md5` work) and refuses when the
code there does not have the expected shape.

| rule | code | rewrite |
| --- | --- | --- |
| B506 yaml_load | `yaml.load(x)` | `yaml.safe_load(x)`; with an unsafe `Loader=`: `Loader=yaml.SafeLoader` |
| B501 request_with_no_cert_validation | `requests.get(u, verify=False)` | `verify=True` |
| B306 mktemp_q | `tempfile.mktemp(...)` | `tempfile.NamedTemporaryFile(delete=False, ...).name` |
| B201 flask_debug_true | `app.run(debug=True)` | `debug=False` |
| B324 / B303 weak hash | `hashlib.md5(x)`, `hashlib.new("sha1", x)` | `..., usedforsecurity=False` |

Why these choices:
- `verify=True` rather than dropping the argument: the intent stays visible in review and a
  `verify=` pointing to a CA bundle is the obvious next edit if a private CA was the reason.
- mktemp: `mkstemp` returns `(fd, path)`, which changes every caller; `NamedTemporaryFile(
  delete=False).name` returns a path like `mktemp` did, but the file is created atomically (O_EXCL,
  mode 0600), which closes the race. It does exist now: code that needs the name to be free
  (mkfifo, mkdir, symlink, socket bind, a tool that refuses to overwrite) is refused, and the plan
  says so.
- Flask: `debug=False` (not an environment lookup) so the fix cannot be undone by a stray variable
  in production; a note suggests `flask --debug run` for local work.
- weak hashes: `usedforsecurity=False` is only honest when the digest is a checksum or cache key. A
  call near names that smell of security (password, token, secret, signature, salt, hmac, auth...)
  is refused: that needs a real algorithm change (sha256, or a password hash), which a person
  must choose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
)

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    FileChange,
    Fixer,
    Generator,
    Proposal,
    RepoView,
    decode_text,
    encode_text,
)

__all__ = ["BANDIT_FIXES", "BanditFixer", "CallRewrite", "fix_bandit", "rewrite_calls"]

Imports = list[tuple[str, str | None]]  # (module, name or None for `import module`)


@dataclass
class CallRewrite:
    """What a rule does to one matching call: the new node, extra imports, notes."""

    node: cst.BaseExpression
    imports: Imports = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# A rule looks at one call (with the qualified names of its callee and a helper) and returns a
# rewrite, None when the call is not its shape, or raises FixNotApplicable with a reason.
Rule = Callable[[cst.Call, set[str], "_Site"], CallRewrite | None]


@dataclass
class _Site:
    source: str
    line_text: str
    scopes: list[str]  # enclosing function and class names, innermost first
    targets: list[str]  # names the call's value is assigned to
    module_calls: list[tuple[set[str], cst.Call]]
    qualnames: Callable[[cst.CSTNode], set[str]]


class _Collector(cst.CSTVisitor):
    """Gathers every call with its lines, callee names and context while metadata is available
    (libcst only answers metadata queries during the visit)."""

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self) -> None:
        self.calls: list[tuple[cst.Call, int, int, set[str]]] = []
        self.context: dict[int, tuple[list[str], list[str]]] = {}
        self.names: dict[int, set[str]] = {}

    def _qualnames(self, node: cst.CSTNode) -> set[str]:
        names: set[QualifiedName] = self.get_metadata(
            QualifiedNameProvider,  # type: ignore[arg-type]  # libcst's provider generic is too narrow
            node,
            set(),
        )
        return {q.name for q in names}

    def visit_Name(self, node: cst.Name) -> None:
        self.names[id(node)] = self._qualnames(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.names[id(node)] = self._qualnames(node)

    def visit_Call(self, node: cst.Call) -> None:
        pos = self.get_metadata(PositionProvider, node)
        self.calls.append((node, pos.start.line, pos.end.line, self._qualnames(node.func)))
        scopes: list[str] = []
        targets: list[str] = []
        cur: cst.CSTNode | None = node
        while cur is not None:
            parent = self.get_metadata(ParentNodeProvider, cur, None)
            if isinstance(parent, cst.FunctionDef | cst.ClassDef):
                scopes.append(parent.name.value)
            elif isinstance(parent, cst.Assign):
                for t in parent.targets:
                    targets.extend(n.value for n in m.findall(t.target, m.Name()) if isinstance(n, cst.Name))
            elif isinstance(parent, cst.AnnAssign | cst.AugAssign):
                targets.extend(n.value for n in m.findall(parent.target, m.Name()) if isinstance(n, cst.Name))
            cur = parent
        self.context[id(node)] = (scopes, targets)

    def qualnames(self, node: cst.CSTNode) -> set[str]:
        return self.names.get(id(node), set())


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.BaseExpression]) -> None:
        self.replacements = replacements

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self.replacements.get(id(original_node), updated_node)


def rewrite_calls(source: str, line: int, rule: Rule, what: str) -> tuple[str, list[str]]:
    """Apply `rule` to the call(s) bandit reported at `line`; return (new source, notes)."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        raise FixNotApplicable("the file does not parse as Python; fix its syntax first") from None
    wrapper = cst.MetadataWrapper(module)
    collector = _Collector()
    wrapper.visit(collector)
    starting = [c for c in collector.calls if c[1] == line]
    covering = sorted((c for c in collector.calls if c[1] <= line <= c[2]), key=lambda c: c[2] - c[1])
    candidates = starting or covering
    lines = source.splitlines()
    line_text = lines[line - 1] if 0 < line <= len(lines) else ""
    module_calls = [(names, call) for call, _s, _e, names in collector.calls]
    replacements: dict[int, cst.BaseExpression] = {}
    imports: Imports = []
    notes: list[str] = []
    for call, _start, _end, names in candidates:
        scopes, targets = collector.context[id(call)]
        site = _Site(source, line_text, scopes, targets, module_calls, collector.qualnames)
        result = rule(call, names, site)
        if result is None:
            continue
        replacements[id(call)] = result.node
        imports.extend(result.imports)
        notes.extend(result.notes)
        if starting:
            continue
        break  # from the covering fallback, only the innermost matching call
    if not replacements:
        raise FixNotApplicable(
            f"no {what} at line {line}; the file may have changed since the audit: run it again"
        )
    new_module = wrapper.module.visit(_Replace(replacements))
    if imports:
        context = CodemodContext()
        for module_name, obj in dict.fromkeys(imports):
            AddImportsVisitor.add_needed_import(context, module_name, obj)
        new_module = new_module.visit(AddImportsVisitor(context))
    return new_module.code, list(dict.fromkeys(notes))


# -- helpers ------------------------------------------------------------------------------------


def _kwarg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def _is_name(node: cst.BaseExpression, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def _set_kwarg_value(call: cst.Call, arg: cst.Arg, value: cst.BaseExpression) -> cst.Call:
    return call.with_changes(args=[a.with_changes(value=value) if a is arg else a for a in call.args])


def _append_kwarg(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """Add `name=value` after the last argument, in the call's own layout (one line or one per line)."""
    new = cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # A trailing comma: the call is laid out one argument per line. The new argument takes the
        # last one's comma (and so the newline before ')'); the last gets the opening layout.
        between = cst.Comma(whitespace_after=call.whitespace_before_args)
        if isinstance(call.whitespace_before_args, cst.SimpleWhitespace):
            between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args[-1] = last.with_changes(comma=between)
        args.append(new.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new)
    return call.with_changes(args=args)


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None]


def _refuse_stars(call: cst.Call, what: str) -> None:
    if any(a.star for a in call.args):
        raise FixNotApplicable(
            f"{what} is called with *args/**kwargs; its arguments cannot be rewritten safely"
        )


# -- rules ----------------------------------------------------------------------------------------

_SAFE_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.CBaseLoader"}


def _yaml_rule(call: cst.Call, names: set[str], site: _Site) -> CallRewrite | None:
    kind = "load" if "yaml.load" in names else "load_all" if "yaml.load_all" in names else None
    if kind is None:
        return None
    _refuse_stars(call, f"yaml.{kind}")
    loader = _kwarg(call, "Loader")
    positional = _positional(call)
    if loader is None and len(positional) >= 2:
        loader = positional[1]
    if loader is not None:
        if site.qualnames(loader.value) & _SAFE_LOADERS:
            return None
        value = loader.value
        if isinstance(value, cst.Attribute):
            safe: cst.BaseExpression = value.with_changes(attr=cst.Name("SafeLoader"))
            return CallRewrite(_set_kwarg_value(call, loader, safe))
        return CallRewrite(
            _set_kwarg_value(call, loader, cst.Name("SafeLoader")), imports=[("yaml", "SafeLoader")]
        )
    safe_name = "safe_" + kind
    if isinstance(call.func, cst.Attribute):
        return CallRewrite(call.with_changes(func=call.func.with_changes(attr=cst.Name(safe_name))))
    return CallRewrite(call.with_changes(func=cst.Name(safe_name)), imports=[("yaml", safe_name)])


def _verify_rule(call: cst.Call, names: set[str], site: _Site) -> CallRewrite | None:
    arg = _kwarg(call, "verify")
    if arg is None or not _is_name(arg.value, "False"):
        return None
    return CallRewrite(
        _set_kwarg_value(call, arg, cst.Name("True")),
        notes=["if verification was off for a private CA, pass verify='/path/to/ca-bundle.pem' instead"],
    )


def _flask_rule(call: cst.Call, names: set[str], site: _Site) -> CallRewrite | None:
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "run"):
        return None
    arg = _kwarg(call, "debug")
    if arg is None:
        return None
    if not _is_name(arg.value, "True"):
        raise FixNotApplicable("debug= is not the literal True here; set it from configuration by hand")
    return CallRewrite(
        _set_kwarg_value(call, arg, cst.Name("False")),
        notes=["for local debugging run `flask --app <module> run --debug` instead of hardcoding debug=True"],
    )


_NEEDS_FREE_NAME = {
    "os.mkfifo",
    "os.mkdir",
    "os.makedirs",
    "os.symlink",
    "os.link",
    "os.mknod",
    "os.rename",
    "shutil.copytree",
    "shutil.move",
    "os.replace",
}


def _mktemp_rule(call: cst.Call, names: set[str], site: _Site) -> CallRewrite | None:
    if "tempfile.mktemp" not in names:
        return None
    _refuse_stars(call, "tempfile.mktemp")
    positional = _positional(call)
    if len(positional) > 3:
        raise FixNotApplicable(
            "tempfile.mktemp takes at most three positional arguments; this call is unusual"
        )
    for target in site.targets:
        for cnames, other in site.module_calls:
            uses = any(_is_name(a.value, target) for a in other.args)
            binds = isinstance(other.func, cst.Attribute) and other.func.attr.value in ("bind", "mkfifo")
            if uses and (cnames & _NEEDS_FREE_NAME or binds):
                raise FixNotApplicable(
                    f"the name from mktemp ({target}) is later used where the path must not exist yet "
                    "(mkdir/mkfifo/symlink/bind...); use tempfile.mkdtemp() and a name inside it, by hand"
                )
    keywords = ["suffix", "prefix", "dir"]
    args: list[cst.Arg] = [
        cst.Arg(
            keyword=cst.Name("delete"),
            value=cst.Name("False"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
        )
    ]
    for i, arg in enumerate(call.args):
        if arg.keyword is None:
            arg = arg.with_changes(
                keyword=cst.Name(keywords[i]),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
        args.append(arg)
    if len(args) > 1:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    else:
        args[0] = args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    imports: Imports = []
    if isinstance(call.func, cst.Attribute):
        func: cst.BaseExpression = call.func.with_changes(attr=cst.Name("NamedTemporaryFile"))
    else:
        func = cst.Attribute(value=cst.Name("tempfile"), attr=cst.Name("NamedTemporaryFile"))
        imports.append(("tempfile", None))
    new_call = call.with_changes(func=func, args=args)
    return CallRewrite(
        cst.Attribute(value=new_call, attr=cst.Name("name")),
        imports=imports,
        notes=[
            "the temporary file now exists (empty, mode 0600) when its name is returned, which removes "
            "the race; delete it when done (os.unlink), as before"
        ],
    )


_WEAK = {"md4", "md5", "sha", "sha1", "ripemd160"}
_SECURITY_WORDS = re.compile(
    r"pass(wd|word)?|pwd|secret|token|sign|auth|cred|salt|nonce|hmac|session|csrf|otp|api_?key|private",
    re.IGNORECASE,
)


def _hash_rule(call: cst.Call, names: set[str], site: _Site) -> CallRewrite | None:
    direct = {n for n in names if n.startswith("hashlib.") and n.split(".", 1)[1] in _WEAK}
    via_new = False
    if "hashlib.new" in names:
        first = _positional(call)[:1]
        algo = first[0].value if first else None
        if isinstance(algo, cst.SimpleString) and algo.evaluated_value.lower() in _WEAK:
            via_new = True
    if not direct and not via_new:
        return None
    _refuse_stars(call, "the hash constructor")
    existing = _kwarg(call, "usedforsecurity")
    if existing is not None:
        if _is_name(existing.value, "False"):
            return None
        raise FixNotApplicable("usedforsecurity= is already set here; the author declared a security use")
    context = " ".join([site.line_text, *site.scopes, *site.targets])
    hit = _SECURITY_WORDS.search(context)
    if hit:
        raise FixNotApplicable(
            f"this weak hash looks security-related (the code mentions {hit.group(0)!r}); "
            "replace it with hashlib.sha256, or a password hash (hashlib.scrypt, argon2, bcrypt), by hand"
        )
    return CallRewrite(
        _append_kwarg(call, "usedforsecurity", cst.Name("False")),
        notes=[
            "usedforsecurity=False states the digest is a checksum or cache key, not a security control; "
            "if it protects anything, switch to hashlib.sha256 instead"
        ],
    )


@dataclass(frozen=True)
class _BanditFix:
    rule: Rule
    what: str
    summary: str


BANDIT_FIXES: dict[str, _BanditFix] = {
    "B506": _BanditFix(_yaml_rule, "yaml.load(...) call", "use the safe YAML loader"),
    "B501": _BanditFix(_verify_rule, "call with verify=False", "turn TLS certificate verification back on"),
    "B306": _BanditFix(_mktemp_rule, "tempfile.mktemp(...) call", "create the temporary file atomically"),
    "B201": _BanditFix(_flask_rule, "Flask app.run(debug=True) call", "turn the Flask debugger off"),
    "B324": _BanditFix(_hash_rule, "weak hashlib call", "mark the weak hash as not used for security"),
    "B303": _BanditFix(_hash_rule, "weak hashlib call", "mark the weak hash as not used for security"),
}


def _rule_key(rule_id: str) -> str:
    match = re.match(r"B\d{3}", rule_id.strip().upper())
    return match.group(0) if match else rule_id


def fix_bandit(finding: Finding, view: RepoView) -> Proposal:
    fix = BANDIT_FIXES.get(_rule_key(finding.rule_id))
    if fix is None:
        raise FixNotApplicable(
            f"bandit rule {finding.rule_id} has no mechanical fix here; "
            f"supported: {', '.join(sorted(BANDIT_FIXES))}"
        )
    if finding.start_line is None:
        raise FixNotApplicable("the finding has no line number; run the audit again")
    data = view.read(finding.path)
    if data is None:
        raise FixNotApplicable(f"{finding.path} no longer exists; run the audit again")
    source = decode_text(data)
    new_source, notes = rewrite_calls(source, finding.start_line, fix.rule, fix.what)
    return Proposal(
        kind=f"bandit-{_rule_key(finding.rule_id)}",
        summary=fix.summary,
        changes=[FileChange(finding.path, data, encode_text(new_source))],
        notes=notes,
    )


class BanditFixer(Fixer):
    name = "bandit"
    supported = tuple(sorted(BANDIT_FIXES))

    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        return fix_bandit if finding.rule_id in BANDIT_FIXES else None
