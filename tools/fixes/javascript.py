"""Mechanical fixes for JavaScript/TypeScript findings of the `semgrep` scanner (our rule pack).

| rule | rewrite |
| --- | --- |
| `js-express-x-powered-by` | `app.disable('x-powered-by')` on the line after `const app = express()` |
| `js-tls-reject-unauthorized-off` | `rejectUnauthorized: false` -> `rejectUnauthorized: true` |
| `js-jwt-verify-no-algorithms` | `jwt.verify(token, key, { algorithms: ['HS256'] })` |
| `js-math-random-secret` | `Math.random()` token -> `crypto.randomBytes(N).toString('hex')`, `randomInt` |

Every other semgrep rule is refused with the manual recipe its rule carries (`fix_recipe`), and so
is a fixable rule whose code has a form these rewrites do not handle.

These are text edits (there is no JS parser here), so each one is bounded: it re-locates the exact
shape it expects inside the span semgrep reported (`start_line`/`start_col` .. `end_line`/`end_col`,
semgrep's byte columns), reads the file through a lexer that knows comments, strings, templates and
regex literals (`jstext`), and refuses when the shape is not there: the file changed since the
audit, or the code is a form a person must handle. New code follows the file's quote and semicolon
habits and its indentation.

Why these choices:
- x-powered-by: `app.disable(...)` rather than adding helmet: no new dependency, one line, and the
  header is the only thing the rule is about. Inserted right after the app is created, so it runs
  before any route.
- TLS: `true` rather than deleting the option: the intent stays visible in review, and `ca:` beside
  it is the obvious next edit when a private CA was the reason.
- JWT algorithms, in this order: the options' own `algorithm` (singular: a common slip that verify
  ignores); the `algorithm` every `sign(...)` call in the same file uses (one family only: HMAC and
  public-key algorithms are never mixed, which would reopen algorithm confusion); `RS256` when the
  key's expression names a public key or certificate (`publicKey`, `PUBLIC_KEY`, `.pem`, `cert`);
  else `HS256`. The plan says which one and why, for the reviewer of the dry run. `none` never.
- Math.random: `randomBytes(32)` for secrets and tokens, `randomBytes(16)` when the name says it is
  an id or a nonce; a numeric `Math.floor(Math.random() * K)` becomes `crypto.randomInt(K)` (same
  range, uniform), a decimal `Math.random().toString().slice(2, 2 + d)` a zero-padded
  `crypto.randomInt(10 ** d)`. The import follows the module system (`import { randomBytes } from
  'node:crypto'` in ES modules and TypeScript, which needs no esModuleInterop; `const crypto =
  require('node:crypto')` in CommonJS), after the last top-level import or require.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.jstext import (
    Token,
    depths,
    imports_end,
    is_esm,
    line_bounds,
    mask_comments,
    next_code_char,
    prefers_semicolons,
    quote_habit,
    span_candidates,
    tokenize,
)
from secaudit.tools.fixes.model import (
    FileChange,
    Fixer,
    Generator,
    Proposal,
    RepoView,
    decode_text,
    dominant_eol,
    encode_text,
)
from secaudit.tools.text import clean_text

__all__ = [
    "JS_FIXES",
    "JWT_ALGORITHMS",
    "JsEdit",
    "add_jwt_algorithms",
    "disable_x_powered_by",
    "enable_tls_verification",
    "fix_semgrep",
    "manual_recipe",
    "refuse_semgrep",
    "replace_math_random",
]

_MAX_BYTES = 1_000_000  # larger files are bundles or generated code: not edited by hand either
_MAX_RECIPE = 1500
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_CHANGED = "{what} is not at the reported place; the file may have changed since the audit: run it again"


@dataclass(frozen=True)
class JsEdit:
    """A fix's result: the new file text, what it chose and why (notes), and what may break."""

    text: str
    summary: str
    notes: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)


# -- manual recipes ----------------------------------------------------------------------------

_DEFAULT_RECIPES = {
    "js-express-x-powered-by": (
        "call `app.disable('x-powered-by')` right after creating the Express app (or use helmet(), "
        "which removes the header)"
    ),
    "js-tls-reject-unauthorized-off": (
        "set `rejectUnauthorized: true` (or drop the option: true is the default); to trust a private "
        "CA, pass its certificate with the `ca` option instead of turning verification off"
    ),
    "js-jwt-verify-no-algorithms": (
        "pass the algorithms your tokens are signed with: `jwt.verify(token, key, { algorithms: "
        "['HS256'] })` for a shared secret, `['RS256']` or `['ES256']` for a public key; never "
        "'none', never HMAC and public-key algorithms together"
    ),
    "js-math-random-secret": (
        "make the value with node:crypto: `crypto.randomBytes(32).toString('hex')` for secrets and "
        "tokens, `crypto.randomUUID()` for ids, `crypto.randomInt(min, max)` for numeric codes "
        "(`crypto.getRandomValues` in browser code)"
    ),
}


def manual_recipe(finding: Finding) -> str:
    """The rule's manual recipe (untrusted text from the finding: cleaned and bounded), or ours."""
    recipe = finding.properties.get("fix_recipe")
    if isinstance(recipe, str) and recipe.strip():
        return clean_text(recipe.strip(), _MAX_RECIPE)
    return _DEFAULT_RECIPES.get(finding.rule_id, "")


def _by_hand(finding: Finding, reason: str) -> FixNotApplicable:
    recipe = manual_recipe(finding)
    return FixNotApplicable(f"{reason}; fix it by hand: {recipe}" if recipe else reason)


# -- shared pieces -----------------------------------------------------------------------------


@dataclass
class _Source:
    text: str
    tokens: list[Token]
    masked: str  # comments blanked, same offsets
    code: list[Token]  # tokens without comments
    deps: list[int]  # bracket depth before each code token

    @classmethod
    def of(cls, text: str) -> _Source:
        tokens = tokenize(text)
        code = [t for t in tokens if t.kind != "comment"]
        return cls(text, tokens, mask_comments(text, tokens), code, depths(code))

    def match(self, k: int) -> int | None:
        """Index of the bracket closing the one at code[k]."""
        depth = self.deps[k]
        for j in range(k + 1, len(self.code)):
            if self.deps[j] == depth and self.code[j].kind == "punct" and self.code[j].text in ")]}":
                return j
            if self.deps[j] < depth:
                return None
        return None

    def eol_at(self, line_end: int) -> str:
        if self.text.startswith("\r\n", line_end):
            return "\r\n"
        if self.text.startswith("\n", line_end):
            return "\n"
        return dominant_eol(self.text)


def _spans(finding: Finding, text: str) -> list[tuple[int, int]]:
    if finding.start_line is None:
        raise FixNotApplicable("the finding has no line number; run the audit again")

    def col(name: str) -> int | None:
        value = finding.properties.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None

    end_line = finding.end_line if finding.end_line is not None else finding.start_line
    spans = span_candidates(text, finding.start_line, col("start_col"), end_line, col("end_col"))
    if not spans:
        raise FixNotApplicable(_CHANGED.format(what="the reported code"))
    return spans


def _names_in(src: _Source, spans: Sequence[tuple[int, int]], name: str) -> bool:
    """Whether code in one of the spans uses the identifier `name` (the rule's subject is there,
    in a form the fix does not handle, rather than gone)."""
    return any(t.kind == "ident" and t.text == name and a <= t.start < b for a, b in spans for t in src.code)


def _indent(text: str, offset: int) -> str:
    start, _end = line_bounds(text, offset)
    line = text[start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


_HAZARD = frozenset("([`+-/*")  # a line starting with one of these continues a line without `;`


def _insert_line_after(src: _Source, offset: int, line: str, semicolon: bool) -> str:
    """`line` on a new line after the line holding `offset` (offset itself when more code follows
    it on that line), ended with `;` when the file's habit says so or the next line would otherwise
    continue it."""
    text = src.text
    _start, end = line_bounds(text, offset)
    rest_blank = not src.masked[offset:end].strip()
    at = end if rest_blank else offset
    eol = src.eol_at(end)
    if semicolon or next_code_char(text, src.tokens, at) in _HAZARD:
        line += ";"
    if rest_blank:
        return text[:at] + eol + line + text[at:]
    return text[:at] + eol + line + eol + text[at:].lstrip(" \t")


# -- js-tls-reject-unauthorized-off ------------------------------------------------------------

_REJECT = re.compile(r"""(?<![\w$.])(['"]?)rejectUnauthorized\1\s*:\s*(false|true)(?![\w$])""")


def enable_tls_verification(text: str, finding: Finding, *, package_type: str | None = None) -> JsEdit:
    """`rejectUnauthorized: false` -> `true`, only that literal, only within the reported span."""
    src = _Source.of(text)
    idents = {t.start for t in src.code if t.kind == "ident"}
    already = False
    for a, b in _spans(finding, text):
        hits = [m for m in _REJECT.finditer(src.masked, a, b) if m.start(2) in idents]
        off = [m for m in hits if m.group(2) == "false"]
        if len(off) > 1:
            raise _by_hand(finding, "the reported code sets rejectUnauthorized: false more than once")
        if off:
            m = off[0]
            return JsEdit(
                text=text[: m.start(2)] + "true" + text[m.end(2) :],
                summary="turn TLS certificate verification back on",
                notes=[
                    "if the server uses a private or self-signed CA, trust that CA with the `ca` "
                    "option (its PEM certificate) instead of turning verification off"
                ],
                risks=["connections to servers whose certificate does not verify now fail"],
            )
        already = already or bool(hits)
    if already:
        raise FixNotApplicable("rejectUnauthorized is already true at the reported place; nothing to change")
    spans = _spans(finding, text)
    if _names_in(src, spans, "rejectUnauthorized") or any(
        t.kind == "string" and t.text[1:-1] == "rejectUnauthorized" and a <= t.start < b
        for a, b in spans
        for t in src.code
    ):
        raise _by_hand(finding, "rejectUnauthorized is not the literal false here")
    raise FixNotApplicable(_CHANGED.format(what="`rejectUnauthorized: false`"))


# -- js-express-x-powered-by -------------------------------------------------------------------

_NAME = r"[A-Za-z_$][\w$]*"
_APP_CALL = rf"(?:require\s*\(\s*(?P<q>['\"])express(?P=q)\s*\)|{_NAME}(?:\s*\.\s*{_NAME})*)\s*\(\s*\)"
_DECL = rf"(?:export\s+)?(?:(?:const|let|var)\s+)?(?P<name>{_NAME})(?:\s*:\s*[^=;]+?)?\s*=\s*"
_STATEMENT = re.compile(rf"{_DECL}{_APP_CALL}\s*(?P<semi>;?)")
_CALL_ONLY = re.compile(rf"{_APP_CALL}\s*(?P<semi>;?)")
_HEAD = re.compile(rf"\s*{_DECL}")
_KEYWORDS = frozenset("const let var export new return await typeof void delete this".split())


def _app_statement(src: _Source, a: int, b: int) -> tuple[str, int, int, bool] | None:
    """(app name, start and end offsets of the statement, ends with `;`) when the span is `const
    app = express()` or the `express()` of such a statement; None otherwise."""
    masked = src.masked
    lead = len(masked[a:b]) - len(masked[a:b].lstrip())
    a += lead
    begin = a
    m = _STATEMENT.fullmatch(masked, a, b)
    if m is None:
        call = _CALL_ONLY.fullmatch(masked, a, b)
        if call is None:
            return None
        start, _end = line_bounds(masked, a)
        if not masked[start:a].strip() and start > 0:
            start, _end = line_bounds(masked, start - 1)
        head = _HEAD.fullmatch(masked, start, a)
        if head is None:
            return None
        name, m = head.group("name"), call
        begin = start + len(head.group(0)) - len(head.group(0).lstrip())
    else:
        name = m.group("name")
    if name in _KEYWORDS:
        return None
    end, semi = m.end(), bool(m.group("semi"))
    if not semi:
        after = re.match(r"[ \t]*;", masked[end:])
        if after:
            end, semi = end + after.end(), True
    return name, begin, end, semi


def disable_x_powered_by(text: str, finding: Finding, *, package_type: str | None = None) -> JsEdit:
    src = _Source.of(text)
    for a, b in _spans(finding, text):
        found = _app_statement(src, a, b)
        if found is None:
            continue
        name, begin, end, semi = found
        escaped = re.escape(name)
        if re.search(
            rf"(?<![\w$.]){escaped}\s*\.\s*(?:disable\s*\(\s*(['\"`])x-powered-by\1\s*\)"
            rf"|set\s*\(\s*(['\"`])x-powered-by\2\s*,\s*false\b)",
            src.masked,
        ):
            raise FixNotApplicable(f"{name} already disables x-powered-by; nothing to change")
        if re.search(r"(?<![\w$.])helmet\s*\(|\bhidePoweredBy\b", src.masked):
            raise FixNotApplicable("the file uses helmet, which removes X-Powered-By; nothing to change")
        _start, line_end = line_bounds(text, end)
        if src.masked[end:line_end].strip():
            raise _by_hand(finding, "more code follows the app's creation on the same line")
        q = quote_habit(src.tokens)
        line = f"{_indent(text, begin)}{name}.disable({q}x-powered-by{q})"
        return JsEdit(
            text=_insert_line_after(src, end, line, semi),
            summary="stop announcing Express in the X-Powered-By header",
            notes=[f"`{name}.disable('x-powered-by')` is added right after the app is created"],
        )
    spans = _spans(finding, text)
    if _names_in(src, spans, "express") or any("express" in src.masked[a:b] for a, b in spans):
        raise _by_hand(finding, "the Express app is not created as `const app = express()` here")
    raise FixNotApplicable(_CHANGED.format(what="the Express app's creation (`const app = express()`)"))


# -- js-jwt-verify-no-algorithms ---------------------------------------------------------------

JWT_ALGORITHMS = frozenset(
    f"{family}{bits}" for family in ("HS", "RS", "PS", "ES") for bits in ("256", "384", "512")
)
_PUBLIC_KEY = re.compile(r"public|pub_?key|\.pem\b|\.crt\b|cert|spki|jwks", re.IGNORECASE)


@dataclass(frozen=True)
class _Arg:
    first: int  # index in code of its first token
    last: int  # index of its last token
    kind: str  # object, function, nullish, name, other


def _args(src: _Source, open_k: int, close_k: int) -> list[_Arg]:
    code, deps = src.code, src.deps
    inner = deps[open_k] + 1
    bounds: list[tuple[int, int]] = []
    first = open_k + 1
    for j in range(open_k + 1, close_k):
        if deps[j] == inner and code[j].text == ",":
            bounds.append((first, j - 1))
            first = j + 1
    bounds.append((first, close_k - 1))
    if bounds and bounds[-1][0] > bounds[-1][1]:
        bounds.pop()  # trailing comma
    out: list[_Arg] = []
    for f, last in bounds:
        if f > last:
            return []  # an elided argument: not a call this fix understands
        toks = code[f : last + 1]
        body = src.text[toks[0].start : toks[-1].end]
        arrow = any(
            deps[f + i] == inner and t.text == "=" and i + 1 < len(toks) and toks[i + 1].text == ">"
            and toks[i + 1].start == t.end
            for i, t in enumerate(toks)
        )  # fmt: skip
        if toks[0].text == "{" and src.match(f) == last:
            kind = "object"
        elif arrow or toks[0].text in ("function", "async"):
            kind = "function"
        elif len(toks) == 1 and toks[0].text in ("null", "undefined"):
            kind = "nullish"
        elif re.fullmatch(rf"{_NAME}(?:\s*\??\.\s*{_NAME})*", body):
            kind = "name"
        else:
            kind = "other"
        out.append(_Arg(f, last, kind))
    return out


def _calls(src: _Source, name: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int, int]]:
    """(name index, `(` index, `)` index) of each call `name(...)` / `x.name(...)` starting in
    [lo, hi), leaving out definitions (`function name(`, a method `name(...) {`)."""
    code = src.code
    hi = len(src.text) if hi is None else hi
    out: list[tuple[int, int, int]] = []
    for k, tok in enumerate(code):
        if tok.start < lo or tok.start >= hi or tok.kind != "ident" or tok.text != name:
            continue
        if k + 1 >= len(code) or code[k + 1].text != "(":
            continue
        prev = code[k - 1].text if k else ""
        if prev in ("function", "async", "get", "set", "static"):
            continue
        close = src.match(k + 1)
        if close is None:
            continue
        if prev != "." and close + 1 < len(code) and code[close + 1].text == "{":
            continue  # a method definition
        out.append((k, k + 1, close))
    return out


def _object_keys(src: _Source, open_k: int, close_k: int) -> dict[str, int]:
    """Top-level keys of the object literal code[open_k..close_k] -> index of the key token."""
    code, deps = src.code, src.deps
    inner = deps[open_k] + 1
    keys: dict[str, int] = {}
    for j in range(open_k + 1, close_k):
        tok = code[j]
        if deps[j] != inner or tok.kind not in ("ident", "string") or code[j - 1].text not in ("{", ","):
            continue
        if code[j + 1].text in (":", ",", "}", "("):
            keys.setdefault(tok.text.strip("'\""), j)
    return keys


def _string_value(src: _Source, key_k: int) -> str | None:
    code = src.code
    if key_k + 2 < len(code) and code[key_k + 1].text == ":" and code[key_k + 2].kind == "string":
        return code[key_k + 2].text[1:-1]
    return None


def _family(alg: str) -> str:
    return "HMAC" if alg.startswith("HS") else "public-key"


def _choose_algorithms(src: _Source, options: tuple[int, int] | None, key_text: str) -> tuple[list[str], str]:
    """The algorithms list and the reason it was chosen (never `none`, never mixed families)."""
    if options is not None:
        keys = _object_keys(src, *options)
        if "algorithm" in keys and (value := _string_value(src, keys["algorithm"])) in JWT_ALGORITHMS:
            assert value is not None
            return [value], (
                f"the options already name algorithm '{value}' (singular, which jsonwebtoken's "
                "verify ignores)"
            )
    signed: list[str] = []
    for _k, open_k, close_k in _calls(src, "sign"):
        for j in range(open_k + 1, close_k):
            tok = src.code[j]
            if tok.kind in ("ident", "string") and tok.text.strip("'\"") == "algorithm":
                value = _string_value(src, j)
                if value in JWT_ALGORITHMS and value not in signed:
                    assert value is not None
                    signed.append(value)
    mixed = ""
    if signed and len({_family(s) for s in signed}) == 1:
        listed = ", ".join(signed)
        return signed, f"sign(...) in this file signs with {listed}"
    if signed:
        mixed = f" (sign(...) calls here use both HMAC and public-key algorithms: {', '.join(signed)})"
    # Only the matched word is quoted: the key expression itself may be a literal secret.
    if named := _PUBLIC_KEY.search(key_text):
        return ["RS256"], f"the key's expression says `{named.group(0)}`: a public key or certificate{mixed}"
    return ["HS256"], f"nothing in the file names the algorithm and the key looks like a shared secret{mixed}"


def add_jwt_algorithms(text: str, finding: Finding, *, package_type: str | None = None) -> JsEdit:
    src = _Source.of(text)
    call: tuple[int, int, int] | None = None
    for a, b in _spans(finding, text):
        found = _calls(src, "verify", a, b)
        if found:
            call = found[0]
            break
    if call is None:
        if _names_in(src, _spans(finding, text), "verify"):
            raise _by_hand(finding, "verify is not called directly here (promisified, or passed as a value)")
        raise FixNotApplicable(_CHANGED.format(what="a `jwt.verify(...)` call"))
    _k, open_k, close_k = call
    args = _args(src, open_k, close_k)
    if not 2 <= len(args) <= 4:
        raise _by_hand(
            finding, f"verify(...) here has {len(args)} arguments, not token, key[, options][, callback]"
        )
    third = args[2] if len(args) > 2 else None
    code = src.code
    options = (third.first, third.last) if third is not None and third.kind == "object" else None
    if options is not None and "algorithms" in _object_keys(src, *options):
        raise FixNotApplicable("verify(...) already has an algorithms list; nothing to change")
    key = args[1]
    key_text = text[code[key.first].start : code[key.last].end]
    algorithms, why = _choose_algorithms(src, options, key_text)
    q = quote_habit(src.tokens)
    listed = "[" + ", ".join(f"{q}{alg}{q}" for alg in algorithms) + "]"
    entry = f"algorithms: {listed}"
    if third is None:
        at = code[key.last].end
        new = text[:at] + f", {{ {entry} }}" + text[at:]
    elif third.kind == "object":
        new = _add_to_object(src, third.first, third.last, entry)
    elif third.kind == "nullish":
        new = text[: code[third.first].start] + f"{{ {entry} }}" + text[code[third.last].end :]
    elif third.kind == "function" and len(args) == 3:
        at = code[third.first].start
        new = text[:at] + f"{{ {entry} }}, " + text[at:]
    elif len(args) == 4 and third.kind in ("name", "other"):
        body = text[code[third.first].start : code[third.last].end]
        new = text[: code[third.first].start] + f"{{ {entry}, ...{body} }}" + text[code[third.last].end :]
    elif len(args) == 3 and third.kind == "name":
        body = text[code[third.first].start : code[third.last].end]
        role = _name_role(src, body)
        if role == "callback":
            at = code[third.first].start
            new = text[:at] + f"{{ {entry} }}, " + text[at:]
        elif role == "options":
            new = text[: code[third.first].start] + f"{{ {entry}, ...{body} }}" + text[code[third.last].end :]
        else:
            raise _by_hand(finding, f"the third argument `{body[:60]}` may be the options or the callback")
    else:
        raise _by_hand(finding, "verify(...)'s third argument is not an options object or a callback")
    shown = ", ".join(algorithms)
    return JsEdit(
        text=new,
        summary=f"verify JWTs only with {shown}",
        notes=[
            f"algorithms {listed} was chosen because {why}; if your tokens are signed with another "
            "algorithm, change the list in the diff before applying (HS* for a shared secret, "
            "RS*/PS*/ES* for a public key; never both kinds, never 'none')",
        ],
        risks=[f"tokens signed with any algorithm other than {shown} are now rejected"],
    )


def _name_role(src: _Source, name: str) -> str | None:
    """Whether a variable passed as verify's third argument holds a callback or an options object,
    from its declaration in the same file; None when the file does not say."""
    if not re.fullmatch(_NAME, name):
        return None
    n = re.escape(name)
    masked = src.masked
    if re.search(
        rf"\bfunction\s*\*?\s*{n}\s*\(|\b(?:const|let|var)\s+{n}\s*(?::[^=]+)?=\s*(?:async\b\s*)?"
        rf"(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|{_NAME}\s*=>)",
        masked,
    ):
        return "callback"
    if re.search(rf"\b(?:const|let|var)\s+{n}\s*(?::[^=]+)?=\s*\{{", masked):
        return "options"
    return None


def _add_to_object(src: _Source, open_k: int, close_k: int, entry: str) -> str:
    """`entry` as the object literal's first property (so a spread or later key still wins)."""
    text = src.text
    brace = src.code[open_k]
    if close_k == open_k + 1 and not text[brace.end : src.code[close_k].start].strip():
        return text[: brace.start] + f"{{ {entry} }}" + text[src.code[close_k].end :]
    first = next(t for t in src.tokens if t.start >= brace.end)  # comments included: they lead a key
    gap = text[brace.end : first.start]
    if "\n" in gap:
        _start, end = line_bounds(text, brace.end)
        return (
            text[: first.start]
            + f"{entry},{src.eol_at(end)}{_indent(text, first.start)}"
            + text[first.start :]
        )
    return text[: first.start] + f"{entry}, " + text[first.start :]


# -- js-math-random-secret ---------------------------------------------------------------------

_RANDOM = r"Math\s*\.\s*random\s*\(\s*\)"
_STR = (
    rf"{_RANDOM}\s*\.\s*toString\s*\(\s*(?P<radix>\d+)?\s*\)"
    r"(?:\s*\.\s*(?P<cut>slice|substring|substr)\s*\(\s*(?P<c1>-?\d+)\s*(?:,\s*(?P<c2>-?\d+)\s*)?\))?"
)
_STR_RE = re.compile(_STR)
_NUM = r"\d[\d_]*(?:\.\d*)?(?:[eE]\+?\d+)?"
_SIZE = rf"{_NUM}|{_NAME}(?:\s*\.\s*{_NAME})*\s*\.\s*length"
_FLOOR_RE = re.compile(
    rf"Math\s*\.\s*floor\s*\(\s*(?:(?P<a1>{_NUM})\s*\+\s*)?"
    rf"(?:{_RANDOM}\s*\*\s*(?P<k1>{_SIZE})|(?P<k2>{_SIZE})\s*\*\s*{_RANDOM})"
    rf"(?:\s*\+\s*(?P<a2>{_NUM}))?\s*\)"
)
_ANY_RANDOM = re.compile(_RANDOM)
_PLUS = re.compile(r"\s*\+\s*")
_SAFE = 2**53 - 1
_RANDOM_INT_SPAN = 2**48  # crypto.randomInt: max - min must be below this

_SECRET_WORDS = frozenset(
    "secret secrets key keys password passwd pwd pass token tokens auth session sid api apikey private "
    "signing hmac csrf xsrf otp reset invite verification credential credentials bearer cookie jwt "
    "code pin".split()
)
_ID_WORDS = frozenset(
    "id ids uuid guid nonce salt request trace correlation file filename name tmp temp".split()
)


def _words(code: str) -> set[str]:
    out: set[str] = set()
    for ident in re.findall(r"[A-Za-z][A-Za-z0-9]*", code):
        out.update(w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", ident))
    return out


def _secret_size(src: _Source, a: int) -> tuple[int, str]:
    """16 bytes when the surrounding names say id/nonce, else 32 (the size for secrets), and why."""
    start, _end = line_bounds(src.masked, a)
    for _ in range(5):
        context = src.masked[start:a]
        words = _words(context)
        if words & _SECRET_WORDS:
            named = sorted(words & _SECRET_WORDS)[0]
            return 32, f"the code around it says `{named}`: a secret gets 32 bytes"
        if words & _ID_WORDS:
            named = sorted(words & _ID_WORDS)[0]
            return 16, f"the code around it says `{named}`: an identifier or nonce gets 16 bytes"
        if start == 0 or re.search(r"[A-Za-z_$]", context.replace("return", "")):
            break
        start, _end = line_bounds(src.masked, start - 1)
    return 32, "nothing around it says what the value is, so it gets 32 bytes, the size for secrets"


def _int_value(literal: str) -> int | None:
    try:
        value = float(literal.replace("_", ""))
    except ValueError:
        return None
    return int(value) if value.is_integer() and 0 <= value <= _SAFE else None


@dataclass(frozen=True)
class _Rewrite:
    start: int
    end: int
    fn: str  # randomBytes or randomInt
    template: str  # with {fn} for the callee and {q} for the quote
    note: str


def _random_rewrites(src: _Source, a: int, b: int, size: int, why: str) -> list[_Rewrite]:
    """The rewrites of every Math.random form in [a, b); raises when one is not understood."""
    masked = src.masked
    idents = {t.start for t in src.code if t.kind == "ident"}
    out: list[_Rewrite] = []
    pos = a
    while True:
        m_str = next((m for m in _STR_RE.finditer(masked, pos, b) if m.start() in idents), None)
        m_floor = next((m for m in _FLOOR_RE.finditer(masked, pos, b) if m.start() in idents), None)
        if m_str is None and m_floor is None:
            break
        if m_floor is not None and (m_str is None or m_floor.start() < m_str.start()):
            out.append(_floor_rewrite(m_floor))
            pos = m_floor.end()
            continue
        assert m_str is not None
        radix = m_str.group("radix")
        if radix in (None, "10"):
            out.append(_digits_rewrite(m_str))
            pos = m_str.end()
            continue
        end = m_str.end()
        while True:  # `r1 + r2 + ...` of random strings: one value
            plus = _PLUS.match(masked, end, b)
            nxt = _STR_RE.match(masked, plus.end(), b) if plus else None
            if nxt is None or nxt.group("radix") in (None, "10"):
                break
            end = nxt.end()
        out.append(
            _Rewrite(
                m_str.start(),
                end,
                "randomBytes",
                f"{{fn}}({size}).toString({{q}}hex{{q}})",
                f"{size} random bytes, hex-encoded, because {why}",
            )
        )
        pos = end
    return out


_SAME_RANGE = "crypto.randomInt draws whole numbers from the same range as the Math.floor(...) it replaces"


def _floor_rewrite(m: re.Match[str]) -> _Rewrite:
    size_text = re.sub(r"\s+", "", m.group("k1") or m.group("k2"))
    if m.group("a1") and m.group("a2"):
        raise ValueError("Math.floor(...) with two offsets")
    offset_text = m.group("a1") or m.group("a2")
    size = _int_value(size_text) if re.fullmatch(_NUM, size_text) else None
    if re.fullmatch(_NUM, size_text) and (size is None or not 0 < size < _RANDOM_INT_SPAN):
        raise ValueError(f"Math.random() * {size_text} is not a whole range below 2**48")
    if offset_text is None:
        return _Rewrite(m.start(), m.end(), "randomInt", f"{{fn}}({size_text})", _SAME_RANGE)
    low = _int_value(offset_text)
    if low is None:
        raise ValueError(f"the offset {offset_text} is not a whole number")
    high = str(low + size) if size is not None else f"{low} + {size_text}"
    if size is not None and low + size > _SAFE:
        raise ValueError("the range is beyond JavaScript's safe integers")
    return _Rewrite(m.start(), m.end(), "randomInt", f"{{fn}}({low}, {high})", _SAME_RANGE)


def _digits_rewrite(m: re.Match[str]) -> _Rewrite:
    cut, c1, c2 = m.group("cut"), m.group("c1"), m.group("c2")
    if cut is None or c1 != "2" or c2 is None:
        raise ValueError("a decimal Math.random() string without a fixed digit count")
    digits = int(c2) if cut == "substr" else int(c2) - 2
    if not 1 <= digits <= 14:
        raise ValueError(f"{digits} decimal digits is outside what crypto.randomInt can draw")
    return _Rewrite(
        m.start(),
        m.end(),
        "randomInt",
        f"String({{fn}}({10**digits})).padStart({digits}, {{q}}0{{q}})",
        f"still a string of {digits} decimal digits (zero-padded), now uniformly drawn",
    )


_MODULE = r"(?P<q>['\"])(?:node:)?crypto(?P=q)"
_NAMESPACE_IMPORTS = (
    re.compile(rf"\bimport\s+\*\s*as\s+(?P<name>{_NAME})\s+from\s*{_MODULE}"),
    re.compile(
        rf"\bimport\s+(?!type\b)(?P<name>{_NAME})\s*(?:,\s*(?:\{{[^}}]*\}}|\*\s*as\s+{_NAME}))?\s*from\s*{_MODULE}"
    ),
    re.compile(rf"\bimport\s+(?P<name>{_NAME})\s*=\s*require\s*\(\s*{_MODULE}\s*\)"),
    re.compile(rf"\b(?:const|let|var)\s+(?P<name>{_NAME})\s*=\s*require\s*\(\s*{_MODULE}\s*\)(?!\s*[.\[(])"),
)
_NAMED_IMPORTS = (
    (re.compile(rf"\bimport\s+(?:{_NAME}\s*,\s*)?\{{(?P<names>[^}}]*)\}}\s*from\s*{_MODULE}"), " as "),
    (re.compile(rf"\b(?:const|let|var)\s*\{{(?P<names>[^}}]*)\}}\s*=\s*require\s*\(\s*{_MODULE}\s*\)"), ":"),
)


def _taken(src: _Source, name: str, *, member_use_ok: bool = False) -> bool:
    """Whether `name` is used as a variable in the file (so declaring it could clash). `x.name`
    never counts; with member_use_ok, `name.x` does not either (shadowing the global Web Crypto
    `crypto` with node:crypto keeps randomUUID, getRandomValues and subtle)."""
    code = src.code
    for k, tok in enumerate(code):
        if tok.kind != "ident" or tok.text != name or (k and code[k - 1].text == "."):
            continue
        if member_use_ok and k + 1 < len(code) and code[k + 1].text in (".", "?"):
            continue
        return True
    return False


def _crypto_access(
    src: _Source, needed: Sequence[str], esm: bool, q: str
) -> tuple[dict[str, str], str | None]:
    """How the code reaches each needed node:crypto function, and the import line to add (None: the
    file already has what it needs)."""
    for pattern in _NAMESPACE_IMPORTS:
        found = pattern.search(src.masked)
        if found:
            return {fn: f"{found.group('name')}.{fn}" for fn in needed}, None
    bound: dict[str, str] = {}
    for pattern, sep in _NAMED_IMPORTS:
        for found in pattern.finditer(src.masked):
            for part in found.group("names").split(","):
                piece = part.strip()
                if not piece or piece.startswith("type "):
                    continue
                original, _sep, local = piece.partition(sep)
                bound[original.strip()] = (local or original).strip()
    callees = {fn: bound[fn] for fn in needed if fn in bound}
    missing = [fn for fn in needed if fn not in bound]
    if not missing:
        return callees, None
    if not esm and not bound and not _taken(src, "crypto", member_use_ok=True):
        return {fn: f"crypto.{fn}" for fn in needed}, f"const crypto = require({q}node:crypto{q})"
    clash = [fn for fn in missing if _taken(src, fn)]
    if clash:
        raise ValueError(f"the file already uses the name {clash[0]}")
    callees.update({fn: fn for fn in missing})
    names = ", ".join(missing)
    if esm:
        return callees, f"import {{ {names} }} from {q}node:crypto{q}"
    return callees, f"const {{ {names} }} = require({q}node:crypto{q})"


def _module_kind(src: _Source, path: str, package_type: str | None) -> bool:
    """True for an ES module (decides the import syntax)."""
    said = is_esm(src.text, src.tokens)
    if said is not None:
        return said
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".mjs", ".mts", ".ts", ".tsx"):
        return True
    if suffix in (".cjs", ".cts"):
        return False
    return package_type == "module"


def _header_end(src: _Source) -> int | None:
    """End of the file's header: a shebang, directives ('use strict') and comments set off from the
    code by a blank line (a comment right above code documents that code and stays with it)."""
    tokens, text = src.tokens, src.text
    last: int | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        gap = text[tok.end : nxt.start] if nxt is not None else ""
        if tok.kind == "comment":
            if (
                (tok.start == 0 and tok.text.startswith("#!"))
                or re.search(r"\n[ \t\r]*\n", gap)
                or nxt is None
            ):
                last = tok.end
            i += 1
            continue
        if tok.kind == "string" and (nxt is None or nxt.text == ";" or "\n" in gap):
            if nxt is not None and nxt.text == ";":
                last, i = nxt.end, i + 2
            else:
                last, i = tok.end, i + 1
            continue
        break
    return last


def _add_import(src: _Source, line: str) -> str:
    found = imports_end(src.text, src.tokens)
    if found is not None:
        return _insert_line_after(src, found.offset, line, found.semicolon)
    semicolon = prefers_semicolons(src.text, src.tokens)
    header = _header_end(src)
    if header is not None:
        return _insert_line_after(src, header, line, semicolon)
    if semicolon or next_code_char(src.text, src.tokens, 0) in _HAZARD:
        line += ";"
    return line + dominant_eol(src.text) + src.text


def replace_math_random(text: str, finding: Finding, *, package_type: str | None = None) -> JsEdit:
    path = finding.path
    if PurePosixPath(path).suffix.lower() in (".jsx", ".tsx", ".vue", ".svelte"):
        raise _by_hand(finding, "this looks like browser code, where node:crypto does not exist")
    src = _Source.of(text)
    idents = {t.start for t in src.code if t.kind == "ident"}
    chosen: tuple[int, int] | None = None
    spans = _spans(finding, text)
    for a, b in spans:
        if any(m.start() in idents for m in _ANY_RANDOM.finditer(src.masked, a, b)):
            chosen = (a, b)
            break
    if chosen is None:
        first, last = line_bounds(text, spans[0][0])[0], line_bounds(text, spans[0][1])[1]
        if re.search(r"\brandom(?:Bytes|Int|UUID)\s*\(", src.masked[first:last]):
            raise FixNotApplicable("the reported code already uses node:crypto; nothing to change")
        raise FixNotApplicable(_CHANGED.format(what="a Math.random() expression"))
    a, b = chosen
    size, size_why = _secret_size(src, a)
    try:
        rewrites = _random_rewrites(src, a, b, size, size_why)
    except ValueError as exc:
        raise _by_hand(finding, str(exc)) from None
    rewritten = {r.start for r in rewrites}
    covered = [(r.start, r.end) for r in rewrites]
    left = [
        m.start()
        for m in _ANY_RANDOM.finditer(src.masked, a, b)
        if m.start() in idents and not any(s <= m.start() < e for s, e in covered)
    ]
    if left or not rewritten:
        raise _by_hand(finding, "Math.random() is used here in a form this fix does not rewrite")
    esm = _module_kind(src, path, package_type)
    needed = sorted({r.fn for r in rewrites})
    q = quote_habit(src.tokens)
    try:
        callees, import_line = _crypto_access(src, needed, esm, q)
    except ValueError as exc:
        raise _by_hand(finding, str(exc)) from None
    new = text
    for r in sorted(rewrites, key=lambda r: r.start, reverse=True):
        new = new[: r.start] + r.template.format(fn=callees[r.fn], q=q) + new[r.end :]
    if import_line is not None:
        new = _add_import(_Source.of(new), import_line)
    notes = list(dict.fromkeys(r.note for r in rewrites))
    risks = [
        "node:crypto exists only in Node.js: code that also runs in a browser needs crypto.getRandomValues"
    ]
    if "randomBytes" in needed:
        risks.append(
            f"the value is now {2 * size} hex characters: check column sizes, validation patterns "
            "and tests that expect the old length or alphabet"
        )
    if import_line is not None:
        notes.append(f"adds `{import_line}`")
    return JsEdit(
        text=new,
        summary="make the secret with a cryptographic random generator",
        notes=notes,
        risks=risks,
    )


# -- dispatch ----------------------------------------------------------------------------------


class JsFixFn(Protocol):
    def __call__(self, text: str, finding: Finding, *, package_type: str | None = None) -> JsEdit: ...


@dataclass(frozen=True)
class _JsFix:
    fn: JsFixFn
    kind: str


JS_FIXES: dict[str, _JsFix] = {
    "js-express-x-powered-by": _JsFix(disable_x_powered_by, "js-x-powered-by"),
    "js-tls-reject-unauthorized-off": _JsFix(enable_tls_verification, "js-tls-verify"),
    "js-jwt-verify-no-algorithms": _JsFix(add_jwt_algorithms, "js-jwt-algorithms"),
    "js-math-random-secret": _JsFix(replace_math_random, "js-crypto-random"),
}


def _package_type(view: RepoView, rel: str) -> str | None:
    """`type` of the nearest package.json above `rel` ("module" or "commonjs"), if any."""
    folder = PurePosixPath(rel).parent
    while True:
        manifest = "package.json" if str(folder) == "." else f"{folder}/package.json"
        data = view.read(manifest)
        if data is not None:
            try:
                value = json.loads(data.decode("utf-8-sig")).get("type")
            except (ValueError, UnicodeDecodeError, AttributeError):
                return None
            return value if isinstance(value, str) else None
        if str(folder) == ".":
            return None
        folder = folder.parent


def fix_semgrep(finding: Finding, view: RepoView) -> Proposal:
    spec = JS_FIXES.get(finding.rule_id)
    if spec is None:
        raise refuse_semgrep(finding)
    if not finding.path.endswith(_JS_SUFFIXES):
        raise _by_hand(finding, f"{finding.path} is not a JavaScript or TypeScript file")
    data = view.read(finding.path)
    if data is None:
        raise FixNotApplicable(f"{finding.path} no longer exists; run the audit again")
    if len(data) > _MAX_BYTES:
        raise _by_hand(finding, f"{finding.path} is over {_MAX_BYTES} bytes (generated or bundled code?)")
    package_type = _package_type(view, finding.path) if spec.fn is replace_math_random else None
    edit = spec.fn(decode_text(data), finding, package_type=package_type)
    new = encode_text(edit.text)
    if new == data:
        raise FixNotApplicable("the fix changes nothing")
    return Proposal(
        kind=spec.kind,
        summary=edit.summary,
        changes=[FileChange(finding.path, data, new)],
        notes=edit.notes,
        risks=edit.risks,
    )


def refuse_semgrep(finding: Finding) -> FixNotApplicable:
    """The refusal for a semgrep rule without a mechanical fix: its manual recipe."""
    recipe = manual_recipe(finding)
    supported = ", ".join(sorted(JS_FIXES))
    if recipe:
        return FixNotApplicable(
            f"no automatic fix for semgrep rule {finding.rule_id}; fix it by hand: {recipe}"
        )
    return FixNotApplicable(
        f"no automatic fix for semgrep rule {finding.rule_id} and the rule gives no recipe; "
        f"semgrep fixes exist for: {supported}"
    )


class SemgrepFixer(Fixer):
    """The mechanical JS/TS fixes; every other semgrep rule is refused with its manual recipe."""

    name = "semgrep"
    supported = tuple(sorted(JS_FIXES))

    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        if finding.rule_id in JS_FIXES:
            return fix_semgrep
        raise refuse_semgrep(finding)
