"""Detectors of the masking engine: each yields raw spans `(start, end, kind)` over the input.

Every regex here is built so that matching stays linear in the input size:

* each repetition is bounded (`{m,n}`) and possessive (`{m,n}+`), so a failed attempt never
  backtracks into it;
* every token pattern begins with a literal (which lets `re` skip non-candidate positions quickly)
  followed by a fixed-width look-behind that refuses to start inside a run of the characters the
  token itself is made of; so at most one attempt starts per maximal run, and the attempts scan
  disjoint stretches of text;
* alternations have branches that differ on their first character (no ambiguity to explore).

The Python-level checks (is this key secret-ish, is this value a placeholder) run only on the
rare candidates the regexes return, never per character.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator

__all__ = [
    "KIND_PRIORITY",
    "MIN_CONFIGURED_SECRET_LENGTH",
    "RawSpan",
    "find_spans",
    "is_placeholder",
    "is_secret_key",
    "secret_variants",
]

RawSpan = tuple[int, int, str]

# Configured secrets shorter than this are ignored: masking every "admin" or "12345" in a log
# would destroy the log while protecting nothing (such values are guessable anyway).
MIN_CONFIGURED_SECRET_LENGTH = 6

# Values of secret-ish keys shorter than this are not masked ("on", "yes", "1", "abc"): the key
# rules would otherwise fire on every flag; the config scanner reports weak values separately.
_MIN_KEYED_VALUE_LENGTH = 4

# Lower number wins when overlapping spans of different kinds are merged into one.
KIND_PRIORITY: dict[str, int] = {
    "private_key": 0,
    "aws_access_key_id": 0,
    "aws_secret_access_key": 0,
    "github_token": 0,
    "gitlab_token": 0,
    "slack_token": 0,
    "slack_webhook": 0,
    "stripe_key": 0,
    "stripe_webhook_secret": 0,
    "google_api_key": 0,
    "jwt": 0,
    "npm_token": 0,
    "pypi_token": 0,
    "sendgrid_key": 0,
    "twilio_api_key": 0,
    "openai_key": 0,
    "anthropic_key": 0,
    "huggingface_token": 0,
    "configured_secret": 1,
    "url_credentials": 2,
    "authorization_header": 2,
    "cookie_header": 2,
    "env_assignment": 3,
    "json_secret_value": 3,
    "yaml_secret_value": 3,
    "secret_assignment": 3,
    "high_entropy": 4,
}

# --------------------------------------------------------------------------------------------
# Known token formats: one regex per prefix. Each starts with a literal, which lets `re` jump
# from one occurrence of the prefix to the next (about 0.3 ms per MB), then `(?<!<class>...)`
# refuses to start when the character before the prefix belongs to the token alphabet, i.e.
# mid-token; the trailing `(?!...)` refuses a run longer than the format allows.
# --------------------------------------------------------------------------------------------

_B64URL = "A-Za-z0-9_-"

_TOKEN_PATTERNS: tuple[tuple[str, str], ...] = (
    ("aws_access_key_id", r"AKIA(?<![A-Za-z0-9]AKIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("aws_access_key_id", r"ASIA(?<![A-Za-z0-9]ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("github_token", r"gh[pousr]_(?<![A-Za-z0-9_]gh._)[A-Za-z0-9]{36,251}+(?![A-Za-z0-9_])"),
    ("github_token", r"github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{50,255}+(?![A-Za-z0-9_])"),
    (
        "gitlab_token",
        r"gl(?<![A-Za-z0-9_]gl)(?:pat|ptt|dt|rt|cbt|oas|ft|soat|imt)-[A-Za-z0-9_-]{20,255}+"
        r"(?![A-Za-z0-9_-])",
    ),
    ("slack_token", r"xox(?<![A-Za-z0-9_]xox)[abposre]-[A-Za-z0-9-]{10,255}+(?![A-Za-z0-9_-])"),
    ("slack_token", r"xapp-(?<![A-Za-z0-9_]xapp-)[A-Za-z0-9-]{10,255}+(?![A-Za-z0-9_-])"),
    ("slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{16,255}+"),
    ("stripe_key", r"sk_(?<![A-Za-z0-9_]sk_)(?:live|test)_[A-Za-z0-9]{10,247}+(?![A-Za-z0-9_])"),
    ("stripe_key", r"rk_(?<![A-Za-z0-9_]rk_)(?:live|test)_[A-Za-z0-9]{10,247}+(?![A-Za-z0-9_])"),
    ("stripe_webhook_secret", r"whsec_(?<![A-Za-z0-9_]whsec_)[A-Za-z0-9]{24,247}+(?![A-Za-z0-9_])"),
    ("google_api_key", rf"AIza(?<![{_B64URL}]AIza)[{_B64URL}]{{35}}(?![{_B64URL}])"),
    (
        "jwt",
        rf"eyJ(?<![.{_B64URL}]eyJ)[{_B64URL}]{{4,4096}}+\.eyJ[{_B64URL}]{{4,16384}}+"
        rf"\.[{_B64URL}]{{0,4096}}+",
    ),
    ("npm_token", r"npm_(?<![A-Za-z0-9_]npm_)[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),
    ("pypi_token", rf"pypi-(?<![{_B64URL}]pypi-)AgE[{_B64URL}]{{50,4096}}+(?![{_B64URL}])"),
    (
        "sendgrid_key",
        rf"SG\.(?<![.{_B64URL}]SG\.)[{_B64URL}]{{22}}\.[{_B64URL}]{{43}}(?![{_B64URL}])",
    ),
    ("twilio_api_key", r"SK(?<![A-Za-z0-9_]SK)[0-9a-fA-F]{32}(?![A-Za-z0-9_])"),
    ("anthropic_key", rf"sk-ant-(?<![{_B64URL}]sk-ant-)[{_B64URL}]{{20,255}}+(?![{_B64URL}])"),
    (
        "openai_key",
        rf"sk-(?<![{_B64URL}]sk-)(?:proj|svcacct|admin)-[{_B64URL}]{{20,255}}+(?![{_B64URL}])",
    ),
    ("huggingface_token", r"hf_(?<![A-Za-z0-9_]hf_)[A-Za-z]{34}(?![A-Za-z0-9_])"),
)
_TOKEN_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in _TOKEN_PATTERNS)
# One search over the alternation of every pattern answers "does any of them match anywhere": for a
# short text with no token (the common case: keys, names, ids in every tool call) that is one scan
# instead of one per pattern, whose fixed cost dominated the redaction. Only when it hits are the
# patterns run one by one, so the spans and kinds reported are exactly those of the per-pattern
# scans. Longer texts skip it: there the per-pattern scans' literal-prefix search is the faster one.
_TOKEN_ANY = re.compile("|".join(f"(?:{p})" for _, p in _TOKEN_PATTERNS))
_TOKEN_PREFILTER_MAX = 256
_SLACK_HOST_LEN = len("hooks.slack.com/")


def _token_spans(text: str) -> Iterator[RawSpan]:
    if len(text) <= _TOKEN_PREFILTER_MAX and _TOKEN_ANY.search(text) is None:
        return
    for kind, pattern in _TOKEN_RES:
        for m in pattern.finditer(text):
            start = m.start()
            if kind == "slack_webhook":
                start += _SLACK_HOST_LEN  # the host is public; the path is the credential
            yield start, m.end(), kind


# --------------------------------------------------------------------------------------------
# PEM private keys: found with str.find (no regex over the body), terminated or not.
# --------------------------------------------------------------------------------------------

# The word group is deliberately not possessive ("RSA PRIVATE KEY" must give "PRIVATE" back); it
# is bounded to 3 words of 20 characters, so backtracking is a few steps per BEGIN.
_PEM_BEGIN_RE = re.compile(r"-----BEGIN[ ]{1,2}+(?:[A-Z0-9]{1,20}+[ ]){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END_RE = re.compile(r"-----END[ ]{1,2}+(?:[A-Z0-9]{1,20}+[ ]){0,3}PRIVATE KEY(?: BLOCK)?-----")
# One line of an unterminated block: base64, a `Proc-Type: ...` header, or blank; the line break
# may be real or an escaped one (a key pasted into JSON / a Python string literal).
_PEM_LINE_RE = re.compile(
    r"(?:\r?\n|\\r\\n|\\n)(?:(?P<hdr>[A-Za-z][A-Za-z-]{0,39}+:[^\r\n\\]{0,256}+)"
    r"|(?P<b64>[A-Za-z0-9+/=]{1,4096}+)|[ \t]{0,16}+)"
)
_PEM_HEADERS_RE = re.compile(r"(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z][A-Za-z-]{0,39}+:[^\r\n\\]{0,256}+){0,8}+")
_PEM_BODY_RE = re.compile(r"[A-Za-z0-9+/=\s\\]{0,65536}+")
_PEM_MAX_BLOCK = 64 * 1024  # bytes of key body we follow; no real key comes close
_PEM_MIN_BODY = 16


def _pem_spans(text: str) -> Iterator[RawSpan]:
    pos = 0
    next_end = -2  # cached position of the next "-----END" at or after the current BEGIN
    n = len(text)
    while True:
        begin = text.find("-----BEGIN", pos)
        if begin < 0:
            return
        m = _PEM_BEGIN_RE.match(text, begin)
        if m is None:
            pos = begin + 10
            continue
        header_end = m.end()
        if next_end != -1 and next_end < header_end:
            # Search once per END marker: consecutive BEGINs share the cached answer, which keeps
            # a text made of thousands of BEGIN lines linear.
            next_end = text.find("-----END", header_end)
        end = -1
        if 0 <= next_end <= begin + _PEM_MAX_BLOCK:
            em = _PEM_END_RE.match(text, next_end)
            # Only a body of base64 lines (after optional `Proc-Type:` headers) makes a key;
            # BEGIN and END constants on two lines of code do not. The body class has no "-",
            # so each scan stops at the next marker: scans never overlap.
            hm = _PEM_HEADERS_RE.match(text, header_end, next_end)
            body_start = hm.end() if hm is not None else header_end
            bm = _PEM_BODY_RE.match(text, body_start, next_end)
            if em is not None and bm is not None and bm.end() == next_end:
                end = em.end()
        if end < 0:
            # Unterminated (truncated log line, partial paste): mask the header and the body lines
            # that follow it, up to the bound.
            # A blank line is part of the block only right after a header (encrypted PEM).
            # A header with no body at all (a constant in code) reveals nothing and is left alone.
            end = header_end
            limit = min(n, begin + _PEM_MAX_BLOCK)
            after_header = False
            body = 0
            while end < limit:
                lm = _PEM_LINE_RE.match(text, end, limit)
                if lm is None:
                    break
                if lm.group("b64") is None and lm.group("hdr") is None and not after_header:
                    break
                after_header = lm.group("hdr") is not None
                if lm.group("b64") is not None:
                    body += len(lm.group("b64"))
                end = lm.end()
            if body < _PEM_MIN_BODY:
                pos = header_end
                continue
        yield begin, end, "private_key"
        pos = end


# --------------------------------------------------------------------------------------------
# URL credentials, Authorization and Cookie headers.
# --------------------------------------------------------------------------------------------

# Starts at "://" (a literal: fast skip). The password is greedy up to the LAST "@" before a
# space or "/", so an unencoded "@" inside the password does not leave its tail visible; the
# bound keeps that backtracking to at most 256 steps per "://".
_URL_CRED_RE = re.compile(r"://[^\s:/@?#\"'<>]{0,256}+:(?P<pw>[^\s/?#\"'<>]{1,256})@")

# "authorization" / "cookie" are found on a lower-cased copy of the text (see `_Lowered`); the
# rest is matched, anchored, on the original.
_AUTH_TAIL_RE = re.compile(
    r"[\"']?+[ \t]{0,8}+[:=][ \t]{0,8}+[\"']?+"
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9_.-]{0,31}+)[ \t]{1,8}+)?"
    r"(?P<cred>[^\s\"'`,;)}\]]{1,4096}+)"
)
# For schemes whose credential is a list of parameters, the rest of the line after the scheme.
_AUTH_PARAMS_RE = re.compile(r"[^\r\n]{1,4096}+")
_AUTH_SCHEMES_WITH_PARAMS = frozenset({"digest", "hoba", "mutual", "aws4-hmac-sha256", "oauth"})
_AUTH_SCHEME_NAMES = _AUTH_SCHEMES_WITH_PARAMS | {
    "bearer", "basic", "token", "apikey", "api-key", "key", "jwt", "negotiate", "ntlm", "ssws", "sso",
}  # fmt: skip

_COOKIE_TAIL_RE = re.compile(r"[ \t]{0,8}+:[ \t]{0,8}+(?P<val>[^\r\n\"'`]{1,4096}+)")


def _url_credential_spans(text: str) -> Iterator[RawSpan]:
    for m in _URL_CRED_RE.finditer(text):
        pw = m.group("pw")
        if not is_placeholder(pw):
            yield m.start("pw"), m.end("pw"), "url_credentials"


def _at_word_start(text: str, pos: int) -> bool:
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")


def _authorization_spans(text: str, low: _Lowered) -> Iterator[RawSpan]:
    covered = 0
    for at in low.finditer("authorization"):
        if at < covered or not _at_word_start(text, at):
            continue  # inside a credential already masked: its text is gone anyway
        m = _AUTH_TAIL_RE.match(text, at + 13)
        if m is None:
            continue
        scheme = m.group("scheme")
        cred_start, cred_end = m.start("cred"), m.end("cred")
        if scheme is not None and scheme.lower() in _AUTH_SCHEMES_WITH_PARAMS:
            # `Digest username="..", response=".."`, AWS SigV4: the whole rest of the header.
            rest = _AUTH_PARAMS_RE.match(text, cred_start)
            if rest is not None:
                cred_end = cred_start + len(rest.group().rstrip())
        value = text[cred_start:cred_end]
        if not value or is_placeholder(value):
            continue
        if scheme is None and (value.lower() in _AUTH_SCHEME_NAMES or _looks_like_code_value(value)):
            continue  # a scheme name or a variable: the credential is elsewhere ('Authorization': auth)
        covered = cred_end
        yield cred_start, cred_end, "authorization_header"


def _cookie_spans(text: str, low: _Lowered) -> Iterator[RawSpan]:
    for at in low.finditer("cookie"):
        start = at - 4 if low.startswith("set-", at - 4) else at
        # A header: at a line start or just inside a quote (`-H "Cookie: ..."`), not the word
        # "cookie" anywhere in code (`def set_cookie(self, cookie: Cookie)`).
        before = text[start - 1 : start] if start > 0 else "\n"
        at_line_start = before in " \t" and _line_prefix(text, start) in ("", None)
        if before not in ("\n", '"', "'") and not at_line_start:
            continue
        m = _COOKIE_TAIL_RE.match(text, at + 6)
        if m is None:
            continue
        value = m.group("val").rstrip()
        if len(value) >= _MIN_KEYED_VALUE_LENGTH and not is_placeholder(value):
            yield m.start("val"), m.start("val") + len(value), "cookie_header"


# --------------------------------------------------------------------------------------------
# Values of secret-ish keys: env lines, JSON / YAML / dict entries, assignments, k=v log pairs.
# The regex is anchored on a keyword (rare in text, so few attempts); the key's start is found
# by a bounded scan back, and the key as a whole is judged in Python (word split).
# --------------------------------------------------------------------------------------------

_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")
_KEY_RUN_RE = re.compile(r"[A-Za-z0-9_.-]{0,64}+")
_KEYED_TAIL_RE = re.compile(
    r"(?P<kq>(?:\\?+[\"'`])?+)[ \t]{0,8}+"
    r"(?P<op>:=|=>|==?|:(?![:/]|\\(?!\")))"
    r"[ \t]{0,8}+"
    # JSON-escaped first: `{\"password\": \"v\"}` in a log line or a serialized result.
    # Inside, an escaped backslash takes the unit after it (`\\\"` is a quote of the inner string,
    # not the end of the value).
    r"(?P<val>\\\"(?:[^\"\\\r\n]|\\\\(?:\\[\\\"]|[^\\\"\r\n])|\\[^\\\"\r\n]){0,4096}+(?:\\\")?+"
    r"|\"(?:[^\"\\\r\n]|\\.){0,4096}+\"?+"
    r"|'(?:[^'\\\r\n]|\\.){0,4096}+'?+"
    r"|`[^`\r\n]{0,4096}+`?+"
    r"|[^\s\"'`,;&(){}\[\]<>]{1,4096}+)?+"
)
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_KEY_BACKSCAN = 64

_CAMEL_RE = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "passwort", "pwd", "pass", "secret",
        "token", "credential", "credentials", "creds", "auth", "authorization", "apikey",
        "privatekey", "accesskey", "secretkey", "authtoken", "accesstoken", "refreshtoken",
        "clientsecret", "masterkey", "signingkey", "encryptionkey", "accountkey", "sharedkey",
    }
)  # fmt: skip
# "<word> key" pairs that name a secret ("api key", "private key", ...); "key" alone does not.
_KEY_QUALIFIERS = frozenset(
    {
        "api", "private", "access", "secret", "signing", "sign", "encryption", "encrypt", "crypt",
        "master", "session", "auth", "account", "shared", "app", "client",
        "service", "webhook", "hmac", "jwt", "ssh", "deploy", "root", "storage", "subscription",
        "consumer", "admin", "write", "server", "fernet", "aes", "cipher", "sas",
        "instrumentation", "ingest", "ingestion", "sentry", "mailgun", "stripe",
    }
)  # fmt: skip
# A key whose LAST word is one of these names something about the secret, not the secret itself.
_NON_SECRET_LAST_WORDS = frozenset(
    {
        "url", "uri", "urls", "endpoint", "file", "files", "path", "paths", "dir", "name", "names",
        "id", "ids", "type", "types", "kind", "method", "methods", "mode", "length", "len", "size",
        "min", "max", "count", "expiry", "expires", "expiration", "expire", "ttl", "lifetime",
        "timeout", "header", "headers", "field", "fields", "param", "params", "env", "var", "vars",
        "enabled", "enable", "disabled", "required", "policy", "policies", "prompt", "label",
        "hint", "regex", "pattern", "format", "version", "scope", "scopes", "host", "port", "user",
        "username", "email", "hash", "hashed", "hasher", "hashers", "validator", "validators",
        "class", "cls", "backend", "backends", "store", "storage", "location", "source",
        "provider", "strategy", "algorithm", "algorithms", "alg", "prefix", "suffix", "rotation",
        "error", "errors", "message", "msg", "help", "description", "text", "title", "placeholder",
        "widget", "input", "form", "view", "schema", "model", "table", "column", "index",
        "reset", "changed", "updated", "created", "at", "date", "time", "age",
        "generator", "factory", "handler", "manager", "service", "client", "ref", "arn",
        "key", "keys", "template", "check", "checker", "valid", "invalid", "config", "settings",
        "option", "options", "flag", "retries", "attempts", "limit", "limits", "rate", "level",
        "bytes", "bits", "encoding", "charset", "server", "domain", "audience",
        "issuer", "region", "bucket", "cache", "loader", "test", "tests", "spec",
    }
)  # fmt: skip
_REFERENCE_WORDS = frozenset({"self", "this", "cls", "os", "env", "environ", "process", "settings", "config"})

_PLACEHOLDER_VALUES = frozenset(
    {
        "", "changeme", "change_me", "change-me", "changeit", "change_it", "replaceme", "replace_me",
        "none", "null", "nil", "true", "false", "undefined", "yes", "no", "on", "off", "password",
        "secret", "example", "dummy", "placeholder", "todo", "tbd", "fixme", "redacted", "hidden",
        "masked", "removed", "notset", "not_set", "unset", "empty", "required", "optional",
        "string", "str", "your_password", "yourpassword", "mypassword", "my_password", "token",
        "your_token", "your_api_key", "api_key", "apikey", "secret_key", "bearer", "basic",
        "passwd", "pass", "pwd", "pw", "secret key", "user:pass", "username:password",
    }
)  # fmt: skip
_PLACEHOLDER_PREFIXES = (
    "your_", "your-", "your ", "my_", "my-", "<", "${", "$(", "{{", "%(", "masked:", "redacted", "***",
    "os.environ", "os.getenv", "getenv(", "environ[", "environ.get", "process.env", "env[", "env(",
    "env.", "env:", "import.meta.env", "settings.", "config.", "!vault", "!secret", "!env", "vault:",
    "secret:", "sops:", "enc[", "ref+", "secretkeyref", "valuefrom", "lookup(", "<%", "@@",
)  # fmt: skip
_ENV_REF_RE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]{0,127}+|%[A-Za-z_][A-Za-z0-9_]{0,127}+%")
# An environment variable (upper case, as they are named) and a path below it.
_ENV_PATH_RE = re.compile(
    r"(?:\$\{?+[A-Z_][A-Z0-9_]{0,127}+\}?+|%[A-Za-z_][A-Za-z0-9_]{0,127}+%)[/\\](?P<rest>.{0,1024})"
)
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,255}+")
_PLAIN_IDENT_RE = re.compile(r"[A-Za-z_]{1,64}+")
# A bare (dotted) name between two operators: the `key` of `'a='+key+'/'`.
_CONCAT_EXPR_RE = re.compile(r"[$A-Za-z_][$\w]{0,64}+(?:\.[$A-Za-z_][$\w]{0,64}+){0,8}+")
# One part of a name in code: words in camel case (`credentialScope`, `HTTPHeader`, `apiKey2`).
_CAMEL_NAME_RE = re.compile(
    r"(?:[a-z]{1,32}+|[A-Z][a-z]{1,32}+|[A-Z]{2,8}+(?=[A-Z][a-z]|$))"
    r"(?:[A-Z][a-z]{1,32}+|[A-Z]{2,8}+(?=[A-Z][a-z]|$)|[0-9]{1,4}+(?![a-z]))*+"
)
_NAME_SPLIT_RE = re.compile(r"[._$]")
_SNAKE_RE = re.compile(r"[a-z][a-z0-9]{0,30}+(?:_[a-z0-9]{1,30}+){1,16}+")
_SCHEME_PREFIX_RE = re.compile(r"(?i:bearer|basic|token)[ \t]{1,8}+")
# Values that are never credentials: colours, dunder names.
_BENIGN_RE = re.compile(r"#[0-9A-Fa-f]{3,8}+|__[A-Za-z0-9_]{1,64}__")
_CONSTANT_RE = re.compile(r"[A-Z][A-Z_]{1,63}+")
# `types-auth0-python`, `private-key`, `session_cookie_name`: lower-case words joined, in code.
_KEBAB_WORDS_RE = re.compile(r"[a-z][a-z0-9]{0,30}+(?:[-_.][a-z][a-z0-9]{0,30}+){1,16}+")
_SQUASH_RE = re.compile(r"[^a-z0-9]")
_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,64}+(?:\.[0-9]{1,64}+)?+[a-zA-Z%]{0,3}+")
_PRINTF_RE = re.compile(
    r"%(?:\([^)\n]{0,64}+\))?+[-#0 +]{0,4}+[0-9]{0,4}+(?:\.[0-9]{1,4}+)?+[sdifrxXeEgGcouaAb]"
)
_NONSPACE_RUN_RE = re.compile(r"[^\s\"'`]{0,4096}+")
_DOTENV_GLUE = frozenset("&;<>,()[]{}")
_CODE_ENDINGS = frozenset(",()[]{}")
_AWS_SECRET_RE = re.compile(r"[A-Za-z0-9/+=]{40}")
_LINE_PREFIXES = frozenset(
    {"", "export", "env", "arg", "set", "setenv", "declare", "declare -x", "local", "readonly", "-"}
)


def _key_words(key: str) -> list[str]:
    words: list[str] = []
    for part in re.split(r"[_.\-]+", key):
        words.extend(w.lower() for w in _CAMEL_RE.findall(part))
    return words


def is_secret_key(key: str) -> bool:
    """True when `key` names a secret: `DB_PASSWORD`, `apiKey`, `aws_secret_access_key`, `auth`...

    Judged on words (snake, kebab, dotted and camel case are split), so `bypass`, `tokenizer` or
    `keyboard` are not secret-ish; a key whose last word qualifies the secret (`password_file`,
    `token_url`, `secret_name`, `max_tokens`) is not either.
    """
    # `token.info`, `self.cache_key`: an attribute is judged by its own name, not its owner's.
    words = _key_words(key[:128].rsplit(".", 1)[-1])
    if not words:
        return False
    hit = False
    for i, word in enumerate(words):
        if word == "pass" and i < len(words) - 1:
            continue  # pass_context, pass_through: "pass" names a password only at the end (DB_PASS)
        if word in _SECRET_WORDS:
            hit = True
        elif word == "key" and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            hit = True
        elif i > 0 and words[i - 1] + word in _SECRET_WORDS:
            hit = True
    if not hit:
        return False
    last = words[-1]
    qualified_key = last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS
    return qualified_key or last not in _NON_SECRET_LAST_WORDS


_is_secret_key_cached = functools.lru_cache(maxsize=4096)(is_secret_key)


_PREVIEW_RE = re.compile(r"[^\s]{4}\.\.\.[^\s]{4}")


def is_placeholder(value: str) -> bool:
    """True for values that stand for a secret instead of being one.

    Empty, `changeme`, `xxx`, `***`, `<your-token>`, `${VAR}`, `$VAR`, `{{ var }}`, `%(x)s`,
    `os.environ[...]`, `process.env.X`, `%s:%s`, one character repeated, a value already masked by us.
    """
    v = value.strip().strip("\"'`[]").strip()
    low = v.lower()
    if low in _PLACEHOLDER_VALUES:
        return True
    if low.startswith(_PLACEHOLDER_PREFIXES):
        return True
    if len(set(low)) <= 1 or set(low) <= {"x", "*", ".", "-", "_", " ", "?", "#", ":"}:
        return True
    if low.endswith(">") and "<" in low:
        return True
    if "{" in v and "}" in v:
        return True  # a template: f"{token}", "{0}", "${...}" inside a longer string
    if v.startswith(("$", "%")):
        if _ENV_REF_RE.fullmatch(v) is not None:
            return True  # `$TOKEN`, `%APPDATA%`
        under = _ENV_PATH_RE.fullmatch(v)
        if under is not None and _names_only(under["rest"].replace("/", ".").replace("\\", ".")):
            return True  # a path under an environment variable: `$HOME/.netrc`, `%HOMEPATH%\\`
    if "%" in v and not any(c.isalnum() for c in _PRINTF_RE.sub("", v)) and _PRINTF_RE.search(v):
        return True  # a format string of placeholders only: '%s:%s' % (user, password)
    if _PREVIEW_RE.fullmatch(v) is not None:
        return True  # our own preview (`abcd...wxyz`): masking it again would hide which secret it was
    return False


def _scan_key_start(text: str, pos: int) -> int:
    stop = max(0, pos - _MAX_KEY_BACKSCAN)
    i = pos
    while i > stop and text[i - 1] in _KEY_CHARS:
        i -= 1
    return i


def _line_prefix(text: str, key_start: int) -> str | None:
    """The text between the line start and the key, or None when the key is not near a line start."""
    line_start = text.rfind("\n", max(0, key_start - 64), key_start) + 1
    if line_start == 0 and key_start > 64:
        return None
    return text[line_start:key_start]


def _keyed_spans(text: str, low: _Lowered) -> Iterator[RawSpan]:
    pos = 0
    n = len(text)
    while pos < n:
        at = low.search_keyword(pos)
        if at < 0:
            return
        if low.startswith("authorization", at):
            pos = at + 13  # the Authorization rule owns these (and knows about schemes)
            continue
        run = _KEY_RUN_RE.match(text, at)  # matches always (it may be empty)
        run_end = run.end() if run is not None else at
        m = _KEYED_TAIL_RE.match(text, run_end)
        if m is None or not m.group("val"):
            # No assignment after this key: later keyword hits inside the same run would end at
            # the same place, so skip the whole run (this keeps "passpasspass..." linear).
            pos = max(run_end, at + 1)
            continue
        raw = m.group("val")
        quote = _opening_quote(raw)
        # A quoted value too short even with both quotes needs no look at its key: a JSON-escaped
        # `\"token\":\"\"` repeated would otherwise cost a full judgement per keyword. (Unquoted
        # YAML values run past the match to the end of the line: they are always judged.)
        too_short = bool(quote) and len(raw) - 2 * len(quote) < _MIN_KEYED_VALUE_LENGTH
        span = None if too_short else _judge_keyed(text, at, m)
        if span is not None:
            yield span
            pos = max(m.end(), span[1])
        else:
            # Re-search from the value: it may hold a key of its own (`bypass=token=abc...`).
            pos = max(m.start("val"), at + 1)


def _opening_quote(raw: str) -> str:
    """The quote a matched value opens with: `\\"` (JSON-escaped), `"`, `'` or a backtick; "" if
    it is unquoted."""
    if raw.startswith('\\"'):
        return '\\"'
    return raw[0] if raw[0] in "\"'`" else ""


def _judge_keyed(text: str, at: int, m: re.Match[str]) -> RawSpan | None:
    raw = m.group("val")
    key_end = m.start("kq")
    key_start = _scan_key_start(text, at)
    key = text[key_start:key_end]
    if not key or not (key[0].isalpha() or key[0] == "_") or not _is_secret_key_cached(key):
        return None
    op = m.group("op")
    kq = m.group("kq")
    quoted_key = bool(kq) and key_start >= len(kq) and text[key_start - len(kq) : key_start] == kq
    prefix = _line_prefix(text, key_start - (len(kq) if quoted_key else 0))
    line_start = prefix is not None and prefix.strip().lower() in _LINE_PREFIXES
    quote = _opening_quote(raw)
    quoted = bool(quote)
    if op == "==" and not quoted:
        return None  # comparison with a variable

    val_start, val_end = m.start("val"), m.end("val")
    spaced = text[m.end("kq") : m.start("op")] != "" or text[m.end("op") : m.start("val")] != ""
    if quoted:
        val_start += len(quote)
        if val_end - len(quote) < val_start or text[val_end - len(quote) : val_end] != quote:
            return None  # no closing quote on the line: likely the END of a string, not a value
        val_end -= len(quote)
    elif line_start and op == ":":
        # YAML / HTTP header: the value runs to the end of the line, minus a trailing comment.
        eol = text.find("\n", val_end, val_end + 4096)
        eol = min(len(text), val_start + 4096) if eol < 0 else eol
        line_rest = text[val_start:eol]
        hash_at = line_rest.find(" #")
        if hash_at >= 0:
            line_rest = line_rest[:hash_at]
        val_end = val_start + len(line_rest.rstrip())
    elif line_start and op == "=" and not spaced and text[val_end : val_end + 1] in _DOTENV_GLUE:
        # dotenv: an unquoted value is the whole word, `&;,()[]{}<>` inside included (generated
        # passwords hold them); a shell's `;` after it is not part of it. A word that ends in a
        # bracket or a comma is code (`password=get_password()`, `password=password,`): left as is.
        run = _NONSPACE_RUN_RE.match(text, val_start)  # matches always (it may be empty)
        end = run.end() if run is not None else val_end
        while end > val_start and text[end - 1] == ";":
            end -= 1
        if text[end - 1] not in _CODE_ENDINGS:
            val_end = end
    scheme = _SCHEME_PREFIX_RE.match(text, val_start, val_end)
    if scheme is not None:
        val_start = scheme.end()  # "Bearer <token>" under an auth key: the scheme is not secret
    value = text[val_start:val_end]
    if len(value) < _MIN_KEYED_VALUE_LENGTH or is_placeholder(value) or _BENIGN_RE.fullmatch(value):
        return None
    if _squash(value) == _squash(key.rsplit(".", 1)[-1]):
        return (
            None  # password=password, AUTH = "auth", SECRET_KEY = 'secret-key', X.CLIENT_AUTH: "clientAuth"
        )
    if op == ":" and not quoted_key and m.start("op") > m.end("kq"):
        return None  # `pass :data:` in prose; YAML and code put no space before the colon
    # A line-start `key: value` / `KEY=value` is a config literal, unless a comma after the value
    # shows a dict or an argument list in code.
    after_value = text[val_end + len(quote) : val_end + len(quote) + 1]
    literal_line = line_start and op in (":", "=") and not quoted_key and after_value != ","
    if (
        quoted
        and not literal_line
        and (_looks_like_prose(value) or _CONSTANT_RE.fullmatch(value) or _KEBAB_WORDS_RE.fullmatch(value))
    ):
        return None  # a message or a constant in code: {"MISSING_TOKEN": "Missing or invalid token"}
    if op == "==" and _PLAIN_IDENT_RE.fullmatch(value) is not None:
        return None  # comparing with a word: if token == "async"
    if quoted and _is_concatenation(value):
        return None  # between two literals: 'Credential=' + access_key + '/'

    if not quoted:
        after = text[val_end : val_end + 1]
        if after == "(":
            return None  # a call: password=get_password()

        if line_start and op == ":":
            if _looks_like_annotation(value):
                return None  # `password: str | None = None`, `auth: AuthTypes,`
        elif (
            line_start
            and op == "="
            and not spaced
            and not quoted_key
            and after not in (",", ")", "[")
            and value.split(".", 1)[0] not in _REFERENCE_WORDS
            and not ("." in value and _looks_like_code_value(value))
        ):
            pass  # dotenv / shell: an unquoted value is a literal
        elif _looks_like_code_value(value):
            return None

    if quoted_key:
        kind = "json_secret_value"
    elif line_start and op == "=" and not spaced:
        kind = "env_assignment"
    elif line_start and op == ":":
        kind = "yaml_secret_value"
    else:
        kind = "secret_assignment"
    low_key = key.lower()
    if ("aws" in low_key or "secret_access" in low_key) and _AWS_SECRET_RE.fullmatch(value):
        kind = "aws_secret_access_key"
    return val_start, val_end, kind


_TYPE_WORDS = frozenset(
    {
        "str", "int", "bool", "bytes", "float", "any", "optional", "union", "list", "dict", "tuple",
        "set", "final", "classvar", "callable", "type", "sequence", "mapping", "iterable", "literal",
        "annotated", "secretstr", "secretbytes", "object", "string", "number", "boolean",
    }
)  # fmt: skip
_CODE_LINE_RE = re.compile(r"\s=\s|\s\|\s|\s->\s|[\[({,]\s{0,8}+$|\)\s{0,8}+:|^\w{1,64}+\[")
_PLAIN_WORD_RE = re.compile(r"[(\"']?+[A-Za-z][a-z]{0,30}+(?:'[a-z]{1,3}+)?+[,.;:)\"']{0,2}+")


def _is_concatenation(value: str) -> bool:
    """The code between two literals, read as a quoted value: in `'Credential=' + access_key + '/'`
    the "value" of `Credential` is ` + access_key + `. Operators at both ends and code between them
    (spaced, or a bare dotted name); a base64 credential that only starts or ends with `+` or `/` is
    not this."""
    inner = value.strip()
    if len(inner) < 3 or inner[0] not in "+%.,)" or inner[-1] not in "+(,":
        return False
    expr = inner[1:-1].strip()
    if not expr:
        return False
    if inner != value or " " in inner:
        return True
    # Unspaced (`'a='+key+'/'`): names in snake or camel case, not a random `+AbC9xYz7Qw+`.
    return _CONCAT_EXPR_RE.fullmatch(expr) is not None and all(
        len(part) <= 3 or _CAMEL_NAME_RE.fullmatch(part) is not None for part in _NAME_SPLIT_RE.split(expr)
    )


def _looks_like_prose(value: str) -> bool:
    """Two or more words, most of them plain words: a message or documentation, not a credential.
    (A passphrase made of plain words looks the same; see docs/masking.md, limits.)"""
    words = value.split()
    if len(words) < 2:
        return False
    plain = sum(1 for w in words if _PLAIN_WORD_RE.fullmatch(w))
    return plain * 10 >= 6 * len(words)


def _looks_like_annotation(value: str) -> bool:
    """A line-start `key: value` that is a type annotation, code or prose, not a YAML literal.

    Unquoted multi-word prose (`password: The password to use.`) is taken for documentation;
    a YAML passphrase made of plain words therefore needs quotes to be masked.
    """
    first = value.split(None, 1)[0].rstrip(",")
    if first.lower() in _TYPE_WORDS or _CODE_LINE_RE.search(value) is not None:
        return True
    if _looks_like_prose(value):
        return True
    if " " not in value and _IDENTIFIER_RE.fullmatch(value):
        if "." in value and any(part[:1].isupper() for part in value.split(".")) and _names_only(value):
            return True  # module.ClassName
        if not any(c.isdigit() for c in value):
            return value[0].isupper() or "." in value  # a class name or a dotted reference
    return False


def _squash(value: str) -> str:
    return _SQUASH_RE.sub("", value.lower())


def _names_only(dotted: str) -> bool:
    """Every part of `a.b.c` reads as a name: short (`db`, `io`), a constant (`DB_PASSWORD`), a word
    and a number (`ed25519`, `sha256`), or holding a run of 3+ lower-case letters. The parts of a
    random `TGnhj.y9hGvL` mostly do not."""
    return all(
        len(part) <= 3
        or not any(c.islower() for c in part)
        or _WORDLIKE_RE.search(part) is not None
        or _WORD_NUMBER_RE.fullmatch(part) is not None
        for part in dotted.split(".")
    )


def _looks_like_code_value(value: str) -> bool:
    """A bare value in code or a log that is a variable, an attribute or a number, not a secret."""
    if _NUMBER_RE.fullmatch(value) is not None:
        return True
    if _IDENTIFIER_RE.fullmatch(value) is None:
        return False
    first = value.split(".", 1)[0].lower()
    if first in _REFERENCE_WORDS or not any(c.isdigit() for c in value):
        return True  # a name, or attribute access on a known object (self.token2)
    if "." in value and _names_only(value):
        return True  # attribute access (jinja2.pass_context, x25519.X25519PrivateKey)
    return _SNAKE_RE.fullmatch(value) is not None  # v4auth_header, token2_value


# --------------------------------------------------------------------------------------------
# High-entropy strings: mixed-case base64-ish runs of 32..1024 characters.
# Hex (digests, our own fingerprints, commit ids) and UUIDs are never mixed case, so they stay.
# --------------------------------------------------------------------------------------------

_ENTROPY_CANDIDATE_RE = re.compile(
    r"[A-Za-z0-9+/_-](?<![A-Za-z0-9+/_=-].)[A-Za-z0-9+/_-]{31,1023}+={0,2}+(?![A-Za-z0-9+/_=-])"
)
_ENTROPY_THRESHOLD = 4.2
# A string needs at least 2**3.9 (about 15) distinct characters to reach the lowest threshold: a
# set() is far cheaper than the entropy sum, so it rejects most candidates first.
_ENTROPY_MIN_DISTINCT = 16
_HAS_UPPER_RE = re.compile(r"[A-Z][^A-Z]{0,1024}+[A-Z]")
_HAS_LOWER_RE = re.compile(r"[a-z][^a-z]{0,1024}+[a-z]")
_HAS_DIGIT_RE = re.compile(r"[0-9]")
# Identifiers (CamelCaseNamesV2, snake_case_names) are mostly runs of 3+ lower-case letters;
# random strings almost never are.
_WORDLIKE_RE = re.compile(r"[a-z]{3,1024}+")
_WORD_NUMBER_RE = re.compile(r"[A-Za-z]{1,16}+[0-9]{1,8}+")
_C_LOG_C = [0.0] + [c * math.log2(c) for c in range(1, 1100)]


def _shannon(value: str) -> float:
    total = len(value)
    return math.log2(total) - sum(map(_C_LOG_C.__getitem__, Counter(value).values())) / total


_PIECE_SPLIT_RE = re.compile(r"[/_-]")
_WORD_PIECE_RE = re.compile(r"(?:[A-Z]?[a-z]{2,32}+){1,8}+|[A-Z]{2,64}+|[0-9]{1,8}+|[0-9a-f]{7,64}+")


def _looks_composed(value: str) -> bool:
    """A path (`owner/repo/blob/<sha>/LICENSE`), a SNAKE_or_kebab identifier made of words, or an
    alphabet listing (`ABC...xyz0123`): built by a person, not drawn at random."""
    pieces = _PIECE_SPLIT_RE.split(value)
    if len(pieces) > 1:
        wordy = sum(len(p) for p in pieces if _WORD_PIECE_RE.fullmatch(p))
        if wordy * 2 > len(value):
            return True
    if "abc" not in value and "ABC" not in value and "012" not in value:
        return False  # (the cheap test first: this runs on every high-entropy candidate)
    ascending = sum(1 for a, b in itertools.pairwise(value) if ord(b) - ord(a) == 1)
    return ascending * 2 > len(value)


def _entropy_spans(text: str) -> Iterator[RawSpan]:
    for m in _ENTROPY_CANDIDATE_RE.finditer(text):
        value = m.group()
        if "/" in value and m.start() > 0 and text[m.start() - 1] == ".":
            continue  # the path after a host name: github.com/owner/repo/blob/...
        if len(set(value)) < _ENTROPY_MIN_DISTINCT:
            continue  # too repetitive to be random
        if not (_HAS_UPPER_RE.search(value) and _HAS_LOWER_RE.search(value) and _HAS_DIGIT_RE.search(value)):
            continue  # hex digests, UUIDs and most identifiers lack one of the three classes
        if sum(len(w) for w in _WORDLIKE_RE.findall(value)) * 2 > len(value):
            continue  # made of words: a long identifier, not a random string
        if _looks_composed(value):
            continue
        # A short random string cannot reach the entropy of a long one (32 characters hold at
        # most 5 bits each), so the bar is lowered for lengths under about 40.
        if _shannon(value) >= min(_ENTROPY_THRESHOLD, math.log2(len(value)) - 1.1):
            yield m.start(), m.end(), "high_entropy"


# --------------------------------------------------------------------------------------------
# Configured secrets: literal search, every occurrence (overlapping ones too).
# --------------------------------------------------------------------------------------------


def secret_variants(value: str) -> list[str]:
    """The forms a configured secret takes in text: as is, URL-encoded, JSON- and repr-escaped."""
    from json import dumps
    from urllib.parse import quote, quote_plus

    forms = [value, quote(value, safe=""), quote_plus(value, safe=""), dumps(value)[1:-1], repr(value)[1:-1]]
    out: list[str] = []
    for form in forms:
        if form not in out and len(form) >= MIN_CONFIGURED_SECRET_LENGTH:
            out.append(form)
    return out


def _configured_spans(text: str, secrets: Iterable[str]) -> Iterator[RawSpan]:
    for secret in secrets:
        if len(secret) < MIN_CONFIGURED_SECRET_LENGTH:
            continue
        at = text.find(secret)
        while at >= 0:
            yield at, at + len(secret), "configured_secret"
            at = text.find(secret, at + 1)


class _Lowered:
    """Keyword search over a lower-cased copy of the text: `str.find` and a plain alternation run
    several times faster than case-insensitive matching. When lower-casing changes the length
    (a few non-ASCII characters do), offsets would not line up, so it falls back to IGNORECASE."""

    _KEYWORDS_RE = re.compile("|".join(_KEYWORDS))
    _KEYWORDS_RE_I = re.compile("|".join(_KEYWORDS), re.IGNORECASE)

    def __init__(self, text: str) -> None:
        lowered = text.lower()
        self._exact = len(lowered) == len(text)
        self._text = lowered if self._exact else text

    def finditer(self, word: str) -> Iterator[int]:
        if self._exact:
            at = self._text.find(word)
            while at >= 0:
                yield at
                at = self._text.find(word, at + 1)
        else:
            for m in re.finditer(re.escape(word), self._text, re.IGNORECASE):
                yield m.start()

    def startswith(self, word: str, at: int) -> bool:
        if at < 0:
            return False
        if self._exact:
            return self._text.startswith(word, at)
        return self._text[at : at + len(word)].lower() == word

    def search_keyword(self, pos: int) -> int:
        m = (self._KEYWORDS_RE if self._exact else self._KEYWORDS_RE_I).search(self._text, pos)
        return -1 if m is None else m.start()


def find_spans(text: str, extra_secrets: Iterable[str] = (), *, entropy: bool = True) -> list[RawSpan]:
    """Every raw span the detectors report, unsorted and possibly overlapping."""
    low = _Lowered(text)
    spans: list[RawSpan] = []
    spans.extend(_configured_spans(text, extra_secrets))
    spans.extend(_pem_spans(text))
    spans.extend(_token_spans(text))
    spans.extend(_url_credential_spans(text))
    spans.extend(_authorization_spans(text, low))
    spans.extend(_cookie_spans(text, low))
    spans.extend(_keyed_spans(text, low))
    if entropy:
        spans.extend(_entropy_spans(text))
    return spans
