"""Secrets fix: move a hardcoded secret out of Python code into the environment.

The string literal at the finding's line (in a value position: an assignment, a keyword argument,
a dict value or a default) becomes `os.environ["NAME"]` (and `import os` is added when missing,
via libcst). `NAME` comes from the finding (`properties["env_name"]`) or from what the value is
assigned to (`api_key = "..."` -> `API_KEY`, `password="..."` -> `PASSWORD`). The same plan adds
`NAME=` (no value) to `.env.example` at the root and makes sure the root `.gitignore` ignores `.env`.

`os.environ[...]` (not `.get`) on purpose: a missing secret fails loudly at start instead of running
with an empty credential. The secret is never written anywhere by this module; the plan's diff has
it masked, and the plan marks it sensitive so stored backups are encrypted (see docs/fixes.md).
Refused: non-Python files (a config file holding a secret needs a person), bytes and f-strings,
several candidate literals on the line, and a literal used as something other than a value.

Which literal. The secrets scanner never stores the value: a finding carries the line, the kind, a
masked `preview` (`sk_l…3456`, or `***` for short values) and `secret_id`, the first 16 hex digits
of HMAC-SHA256(store key, value). The fix re-reads the file at that line and, given the key,
replaces only a literal whose value is the secret or contains it (credentials inside a URL): a
literal whose keyed hash does not match means the file changed since the audit, and the fix is
refused. Without a key or a `secret_id` the preview and the assigned name choose.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.config import add_env_key, ensure_env_ignored
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
from secaudit.tools.scanners.contracts import SecretProperties, read_properties

__all__ = ["SecretsFixer", "env_name_for", "fix_secret", "move_secret_to_env", "secret_matcher"]

_FALLBACK = "APP_SECRET"


def env_name_for(hint: str | None) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", hint or "").strip("_").upper()
    if not name:
        return _FALLBACK
    if name[0].isdigit():
        name = "SECRET_" + name
    return name[:100]


class _Find(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(self, line: int) -> None:
        self.line = line
        self.found: list[tuple[cst.SimpleString, str | None]] = []
        self.refused: list[str] = []

    def _hint(self, node: cst.CSTNode) -> tuple[bool, str | None]:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Assign) and parent.value is node:
            target = parent.targets[-1].target
        elif isinstance(parent, cst.AnnAssign) and parent.value is node:
            target = parent.target
        elif isinstance(parent, cst.Arg) and parent.value is node and parent.keyword is not None:
            return True, parent.keyword.value
        elif isinstance(parent, cst.Param) and parent.default is node:
            return True, parent.name.value
        elif isinstance(parent, cst.DictElement) and parent.value is node:
            key = parent.key
            return True, key.evaluated_value if isinstance(key, cst.SimpleString) else None  # type: ignore[return-value]
        else:
            return False, None
        if isinstance(target, cst.Name):
            return True, target.value
        if isinstance(target, cst.Attribute):
            return True, target.attr.value
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                return True, str(index.value.evaluated_value)
        return True, None

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self.get_metadata(PositionProvider, node).start.line != self.line:
            return
        if "b" in node.prefix.lower():
            self.refused.append("the secret is a bytes literal")
            return
        ok, hint = self._hint(node)
        if ok:
            self.found.append((node, hint))

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        if self.get_metadata(PositionProvider, node).start.line == self.line:
            self.refused.append("the secret is inside an f-string")


class _Swap(cst.CSTTransformer):
    def __init__(self, target: cst.SimpleString, replacement: cst.BaseExpression) -> None:
        self.target = target
        self.replacement = replacement

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        return self.replacement if original_node is self.target else updated_node


_SECRET_HINT = re.compile(r"pass|pwd|secret|token|key|auth|cred|private|api", re.IGNORECASE)
_MASK = re.compile(r"\*+|…|\.\.\.")


def _matches_preview(node: cst.SimpleString, preview: str) -> bool:
    """A masked preview (`sk_l…3456`, `sk_l***3456`) names the literal by its first and last chars."""
    parts = _MASK.split(preview, maxsplit=1)
    if len(parts) != 2 or not (parts[0] or parts[1]):
        return False
    value = node.evaluated_value
    return isinstance(value, str) and value.startswith(parts[0]) and value.endswith(parts[1])


def _choose(
    found: list[tuple[cst.SimpleString, str | None]], preview: str | None
) -> list[tuple[cst.SimpleString, str | None]]:
    if len(found) <= 1:
        return found
    if preview:
        by_preview = [c for c in found if _matches_preview(c[0], preview)]
        if len(by_preview) == 1:
            return by_preview
    by_name = [c for c in found if c[1] and _SECRET_HINT.search(c[1])]
    return by_name if len(by_name) == 1 else found


_MIN_PREVIEW_LEN = 16  # the scanner shows first/last 4 characters only from this length on
_MAX_SEARCH_CHARS = 4096


def secret_matcher(secret_id: str, key: bytes, preview: str | None) -> Callable[[str], bool]:
    """Whether a literal's value is, or contains, the value whose keyed hash starts with `secret_id`.

    Only substrings the preview allows are hashed: those starting and ending like `ab…yz` (16+
    characters) or, for a `***` preview, those shorter than 16 characters; so the search stays small.
    """
    want = secret_id.lower()

    def mac(text: str) -> str:
        return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[: len(want)]

    def matches(value: str) -> bool:
        if hmac.compare_digest(mac(value), want):
            return True
        if len(value) > _MAX_SEARCH_CHARS:
            return False
        parts = _MASK.split(preview, maxsplit=1) if preview else []
        if len(parts) == 2 and parts[0] and parts[1]:
            head, tail = parts
            starts = [m.start() for m in re.finditer(re.escape(head), value)]
            ends = [m.start() + len(tail) for m in re.finditer(f"(?={re.escape(tail)})", value)]
            return any(
                hmac.compare_digest(mac(value[i:j]), want)
                for i in starts
                for j in ends
                if j - i >= _MIN_PREVIEW_LEN
            )
        return any(
            hmac.compare_digest(mac(value[i : i + n]), want)
            for n in range(1, min(_MIN_PREVIEW_LEN, len(value) + 1))
            for i in range(len(value) - n + 1)
        )

    return matches


def move_secret_to_env(
    source: str,
    line: int,
    env_name: str | None = None,
    *,
    preview: str | None = None,
    matcher: Callable[[str], bool] | None = None,
) -> tuple[str, str, str]:
    """Return (new source, env var name, the raw literal text that was removed).

    With a `matcher` (the keyed-hash check) only literals holding the secret are candidates. With
    several literals left on the line, the one matching the scanner's masked `preview`, else the
    only one assigned to a secret-sounding name, is chosen; otherwise the fix is refused.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        raise FixNotApplicable("the file does not parse as Python; fix its syntax first") from None
    wrapper = cst.MetadataWrapper(module)
    finder = _Find(line)
    wrapper.visit(finder)
    if matcher is not None and finder.found:
        held = [c for c in finder.found if isinstance(v := c[0].evaluated_value, str) and matcher(v)]
        if not held:
            raise FixNotApplicable(
                f"no string literal on line {line} holds the secret the audit found (its keyed hash "
                "differs): the file changed since the audit; run the audit again"
            )
        finder.found = held
    finder.found = _choose(finder.found, preview)
    if len(finder.found) != 1:
        if finder.refused and not finder.found:
            raise FixNotApplicable(f"{finder.refused[0]} (line {line}); move it to the environment by hand")
        why = "no string literal used as a value" if not finder.found else "several string literals"
        raise FixNotApplicable(
            f"{why} at line {line}; the fix needs exactly one "
            "(the file may have changed: run the audit again)"
        )
    node, hint = finder.found[0]
    name = env_name or env_name_for(hint)
    replacement = cst.Subscript(
        value=cst.Attribute(value=cst.Name("os"), attr=cst.Name("environ")),
        slice=[cst.SubscriptElement(slice=cst.Index(value=cst.SimpleString(f'"{name}"')))],
    )
    new_module = wrapper.module.visit(_Swap(node, replacement))
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "os")
    new_module = new_module.visit(AddImportsVisitor(context))
    return new_module.code, name, node.value


def _literal_body(raw: str) -> str:
    """The text between the quotes of a Python string literal as written."""
    body = raw.lstrip("rRuU")
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    return body[len(quote) : len(body) - len(quote)]


def fix_secret(finding: Finding, view: RepoView, *, secret_key: bytes | None = None) -> Proposal:
    if not finding.path.endswith((".py", ".pyi")):
        raise FixNotApplicable(
            "secrets are moved to the environment automatically only in Python code; for this file, "
            "replace the value by hand with a reference your tool reads from the environment"
        )
    if finding.start_line is None:
        raise FixNotApplicable("the finding has no line number; run the audit again")
    data = view.read(finding.path)
    if data is None:
        raise FixNotApplicable(f"{finding.path} no longer exists; run the audit again")
    props = read_properties(SecretProperties, finding)
    preview, secret_id = props.preview, props.secret_id
    matcher = (
        secret_matcher(secret_id, secret_key, preview)
        if secret_key and secret_id is not None and re.fullmatch(r"[0-9a-fA-F]{8,64}", secret_id)
        else None
    )
    new_source, name, raw = move_secret_to_env(
        decode_text(data),
        finding.start_line,
        env_name_for(props.env_name) if props.env_name is not None else None,
        preview=preview,
        matcher=matcher,
    )
    changes = [FileChange(finding.path, data, encode_text(new_source))]
    example = view.read(".env.example")
    new_example = add_env_key(None if example is None else decode_text(example), name)
    if new_example is not None:
        changes.append(FileChange(".env.example", example, encode_text(new_example)))
    gitignore = view.read(".gitignore")
    new_gitignore = ensure_env_ignored(None if gitignore is None else decode_text(gitignore))
    if new_gitignore is not None:
        changes.append(FileChange(".gitignore", gitignore, encode_text(new_gitignore)))
    body = _literal_body(raw)
    return Proposal(
        kind="secret-to-env",
        summary=f"read the secret from the environment variable {name}",
        changes=changes,
        notes=[
            f"set {name} in the environment (or in .env, which git ignores) before running the code",
            "the secret is still in the git history: rotate it with its issuer",
        ],
        risks=[f"the code now fails at start with KeyError when {name} is not set"],
        sensitive=[s for s in {raw, body} if s],
    )


class SecretsFixer(Fixer):
    """The fix checks, with the store's key, that the literal it replaces is the secret the scanner
    hashed (`secret_id`), so a file edited since the audit is never "fixed" at the wrong string;
    that is why it takes the key."""

    name = "secrets"
    supported = ("every secrets.* rule, for a string literal in Python code",)

    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        if not finding.rule_id.startswith("secrets."):
            return None
        return functools.partial(fix_secret, secret_key=secret_key)
