"""JavaScript/TypeScript source as text, for the JS fixes (`tools/fixes/javascript.py`).

There is no JS parser in the Python environment, so those fixes edit text. What makes such edits
safe lives here: a small lexer that knows where comments, strings, template literals and regular
expression literals are (a comma, brace or `Math.random` inside them is never taken for code), the
reported span as character offsets, the file's quote and semicolon habits, and where a module's
top-level imports end.

The lexer is deliberately forgiving: on text it does not understand (JSX text, a stray quote) it
makes a short, local token and goes on, and every fix re-checks the exact shape it edits, so a
misread never turns into a wrong edit, only into a refusal.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from secaudit.tools.fixes.model import decode_text, encode_text, split_lines

__all__ = [
    "ImportsEnd",
    "Token",
    "depths",
    "imports_end",
    "is_esm",
    "line_bounds",
    "mask_comments",
    "next_code_char",
    "prefers_semicolons",
    "quote_habit",
    "span_candidates",
    "tokenize",
]


@dataclass(frozen=True)
class Token:
    # comment, string, template (one chunk: "`...${", "}...${", "}...`" or a whole "`...`"),
    # regex, ident, number, punct (one character)
    kind: str
    start: int
    end: int
    text: str


_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")
_IDENT = re.compile(r"(?:[^\W\d]|\$)[\w$]*")
_NUMBER = re.compile(r"0[xXoObB][0-9a-fA-F_]+n?|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?")
_REGEX_AFTER_WORD = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)


def _regex_allowed(prev: Token | None) -> bool:
    """Whether a `/` here starts a regular expression literal rather than a division."""
    if prev is None:
        return True
    if prev.kind in ("number", "string", "regex"):
        return False
    if prev.kind == "template":
        return prev.text.endswith("${")
    if prev.kind == "ident":
        return prev.text in _REGEX_AFTER_WORD
    # After `)` or `]` a slash divides; after `}` (usually a block) it starts a literal.
    return prev.text not in (")", "]")


def _scan_quoted(text: str, i: int, quote: str) -> int:
    """End of the string literal opened at i (exclusive); an unterminated one stops at the line end."""
    n = len(text)
    j = i + 1
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            return j + 1
        if c == "\n":
            return j
        j += 1
    return n


def _scan_template(text: str, i: int) -> tuple[int, bool]:
    """From just inside a template literal: (end of this chunk, whether it ended with `${`)."""
    n = len(text)
    j = i
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "`":
            return j + 1, False
        if c == "$" and text.startswith("${", j):
            return j + 2, True
        j += 1
    return n, False


def _scan_regex(text: str, i: int) -> int | None:
    """End of the regular expression literal opened at i (with flags), None if it is not one."""
    n = len(text)
    j = i + 1
    in_class = False
    while j < n:
        c = text[j]
        if c == "\n":
            return None
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "/":
            flags = _IDENT.match(text, j + 1)
            return flags.end() if flags else j + 1
        j += 1
    return None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    n = len(text)
    i = 0
    # One entry per open `{` or template substitution `${`: a `}` closing a substitution resumes
    # the template literal instead of being punctuation.
    braces: list[bool] = []
    prev: Token | None = None

    def emit(kind: str, start: int, end: int) -> None:
        nonlocal prev
        tok = Token(kind, start, end, text[start:end])
        tokens.append(tok)
        if kind != "comment":
            prev = tok

    if text.startswith("#!"):
        end = text.find("\n")
        i = n if end < 0 else end
        emit("comment", 0, i)
    while i < n:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            emit("comment", i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            emit("comment", i, end)
            i = end
        elif c in "'\"":
            end = _scan_quoted(text, i, c)
            emit("string", i, end)
            i = end
        elif c == "`" or (c == "}" and braces and braces[-1]):
            if c == "}":
                braces.pop()
            end, opened = _scan_template(text, i + 1)
            if opened:
                braces.append(True)
            emit("template", i, end)
            i = end
        elif c == "/" and _regex_allowed(prev) and (end_re := _scan_regex(text, i)) is not None:
            emit("regex", i, end_re)
            i = end_re
        elif (m := _IDENT.match(text, i)) is not None:
            emit("ident", i, m.end())
            i = m.end()
        elif (m := _NUMBER.match(text, i)) is not None:
            emit("number", i, m.end())
            i = m.end()
        else:
            if c == "{":
                braces.append(False)
            elif c == "}" and braces:
                braces.pop()
            emit("punct", i, i + 1)
            i += 1
    return tokens


def depths(tokens: Sequence[Token]) -> list[int]:
    """Bracket depth before each token (`(`, `[`, `{` and template substitutions)."""
    out: list[int] = []
    depth = 0
    for tok in tokens:
        if tok.kind == "template":
            if tok.text.startswith("}"):
                depth -= 1
            out.append(depth)
            if tok.text.endswith("${"):
                depth += 1
            continue
        if tok.kind == "punct" and tok.text in ")]}":
            depth -= 1
        out.append(depth)
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
    return out


def mask_comments(text: str, tokens: Sequence[Token]) -> str:
    """The text with every comment blanked (newlines kept), so offsets stay the same."""
    parts: list[str] = []
    last = 0
    for tok in tokens:
        if tok.kind == "comment":
            parts.append(text[last : tok.start])
            parts.append(re.sub(r"[^\n]", " ", tok.text))
            last = tok.end
    parts.append(text[last:])
    return "".join(parts)


def line_bounds(text: str, offset: int) -> tuple[int, int]:
    """(start, end) of the line holding `offset`; end is before the line's '\\r\\n' or '\\n'."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    if end > start and text[end - 1] == "\r":
        end -= 1
    return start, end


def span_candidates(
    text: str, start_line: int, start_col: int | None, end_line: int, end_col: int | None
) -> list[tuple[int, int]]:
    """Character offsets (start, end) for a scanner's 1-based line/column span, end exclusive.

    semgrep counts columns in bytes; a scanner that converted them to characters is read too. Each
    reading is a candidate the caller checks against the shape it expects. Without columns the span
    is the whole lines."""
    lines = split_lines(text)
    if not (1 <= start_line <= end_line <= len(lines)):
        return []
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    if start_col is None or end_col is None:
        end = starts[end_line - 1] + len(lines[end_line - 1].rstrip("\r\n"))
        return [(starts[start_line - 1], end)]
    out: list[tuple[int, int]] = []
    for as_bytes in (True, False):

        def at(line: int, col: int, as_bytes: bool = as_bytes) -> int | None:
            body = lines[line - 1]
            if as_bytes:
                raw = encode_text(body)
                if col - 1 > len(raw):
                    return None
                return starts[line - 1] + len(decode_text(raw[: col - 1]))
            if col - 1 > len(body):
                return None
            return starts[line - 1] + col - 1

        a, b = at(start_line, start_col), at(end_line, end_col)
        if a is not None and b is not None and a < b and (a, b) not in out:
            out.append((a, b))
    return out


def quote_habit(tokens: Sequence[Token]) -> str:
    """The file's string quote: the more common of ' and " (' on a tie)."""
    single = sum(1 for t in tokens if t.kind == "string" and t.text.startswith("'"))
    double = sum(1 for t in tokens if t.kind == "string" and t.text.startswith('"'))
    return '"' if double > single else "'"


_CONTINUES = frozenset(".?:,+-*/%&|=<>([`")


def prefers_semicolons(text: str, tokens: Sequence[Token]) -> bool:
    """Whether statements in the file end with `;` (standard style has none): line ends after a
    statement-like token are compared with line ends on `;`."""
    code = [t for t in tokens if t.kind != "comment"]
    semi = bare = 0
    for tok, nxt in itertools.pairwise(code):
        if "\n" not in text[tok.end : nxt.start]:
            continue
        if tok.text == ";":
            semi += 1
        elif (tok.kind in ("ident", "number", "string", "regex") or tok.text in (")", "]")) and (
            nxt.text[:1] not in _CONTINUES
        ):
            bare += 1
        elif tok.kind == "template" and tok.text.endswith("`") and nxt.text[:1] not in _CONTINUES:
            bare += 1
    if code and code[-1].text == ";":
        semi += 1
    elif code and (code[-1].kind in ("ident", "number", "string", "regex") or code[-1].text in (")", "]")):
        bare += 1
    return semi >= bare


def next_code_char(text: str, tokens: Sequence[Token], offset: int) -> str:
    """The first character of the first code token at or after `offset` ('' at the end)."""
    for tok in tokens:
        if tok.start >= offset and tok.kind != "comment":
            return tok.text[:1]
    return ""


@dataclass(frozen=True)
class ImportsEnd:
    offset: int  # end of the last top-level import or require statement
    semicolon: bool  # whether that statement ends with `;`


_STATEMENT_BREAK_AFTER = frozenset(",=.([{+-*/%&|?:!<>")


def _statement_end(text: str, code: Sequence[Token], deps: Sequence[int], k: int) -> int:
    """Index of the last token of the statement holding code[k] (ended by `;`, a closing brace of
    the enclosing block, or a line break that automatic semicolon insertion would end it at)."""
    base = deps[k]
    j = k
    while j + 1 < len(code):
        tok, nxt = code[j], code[j + 1]
        if deps[j + 1] < base or (tok.text == ";" and deps[j] == base):
            break
        if (
            deps[j + 1] == base
            and "\n" in text[tok.end : nxt.start]
            and tok.text[:1] not in _STATEMENT_BREAK_AFTER
            and nxt.text[:1] not in _CONTINUES
        ):
            break
        j += 1
    return j


def _module_string(tok: Token) -> bool:
    return tok.kind == "string" and len(tok.text) >= 2 and tok.text[0] == tok.text[-1]


def imports_end(text: str, tokens: Sequence[Token]) -> ImportsEnd | None:
    """Where the module's top-level import declarations and `require(...)` statements end."""
    code = [t for t in tokens if t.kind != "comment"]
    deps = depths(code)
    best: ImportsEnd | None = None
    k = 0
    while k < len(code):
        tok = code[k]
        end: int | None = None
        if deps[k] == 0 and tok.kind == "ident" and tok.text == "import" and k + 1 < len(code):
            nxt = code[k + 1]
            first_on_line = (
                k == 0 or code[k - 1].text in (";", "}") or "\n" in text[code[k - 1].end : tok.start]
            )
            if first_on_line and nxt.text not in ("(", "."):
                j = k + 1
                while j < len(code) and not (_module_string(code[j])) and code[j].text != ";":
                    j += 1
                if j < len(code) and _module_string(code[j]):
                    if j + 1 < len(code) and code[j + 1].text == ")":  # TS `import x = require('y')`
                        j += 1
                    if (
                        j + 2 < len(code)
                        and code[j + 1].text in ("with", "assert")
                        and code[j + 2].text == "{"
                    ):
                        j += 2
                        while j < len(code) and code[j].text != "}":
                            j += 1
                    if j + 1 < len(code) and code[j + 1].text == ";":
                        j += 1
                    end = j
        elif (
            deps[k] == 0
            and tok.kind == "ident"
            and tok.text == "require"
            and k + 3 < len(code)
            and code[k + 1].text == "("
            and _module_string(code[k + 2])
            and code[k + 3].text == ")"
            and (k == 0 or code[k - 1].text != ".")
        ):
            end = _statement_end(text, code, deps, k)
        if end is not None and end < len(code):
            stop = code[end]
            found = ImportsEnd(stop.end, stop.text == ";")
            if best is None or found.offset > best.offset:
                best = found
            k = end + 1
            continue
        k += 1
    return best


_ESM_WORD = re.compile(
    r"^[ \t]*(?:import(?:[ \t]+[\w$]|[ \t]*[{*'\"])|export(?:[ \t]+[\w$*{]|[ \t]*[{*]))", re.MULTILINE
)


def is_esm(text: str, tokens: Sequence[Token]) -> bool | None:
    """True for an ES module (top-level import/export), False for CommonJS (require), None if
    the file says neither."""
    masked = mask_comments(text, tokens)
    code = [t for t in tokens if t.kind != "comment"]
    starts = {t.start for t in code if t.kind == "ident"}
    for m in _ESM_WORD.finditer(masked):
        word = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        if word in starts:
            return True
    if any(t.kind == "ident" and t.text == "require" for t in code):
        return False
    return None
