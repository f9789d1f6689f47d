"""Per-file secret detection on detect-secrets' plugins: the part that runs inside worker processes.

detect-secrets spends its time in per-line Python overhead: for every line of every file it builds a
code snippet, injects arguments into every filter and into ~27 plugins by introspection. Almost no
line can match anything. So one compiled prefilter regex runs over the whole file text (C speed) and
only the lines it selects are handed to detect-secrets' own plugin objects (`analyze_string`) and
heuristic filters, called directly: no global settings are touched (safe beside other users of the
library in the same process) and no plugin's `verify` is ever called (it would send the secret over
the network).

What leaves this module never holds a raw secret: the value is turned into a keyed hash (HMAC), a
masked preview and a masked copy of its line before the record is returned.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from detect_secrets.filters import heuristic
from detect_secrets.filters.allowlist import is_line_allowlisted
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
    HighEntropyStringsPlugin,
)
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    REGEX_BY_FILETYPE,
    KeywordDetector,
)
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.util.code_snippet import get_code_snippet
from detect_secrets.util.filetype import FileType, determine_file_type

from secaudit.tools.masking import preview

__all__ = [
    "BASE64_LIMIT",
    "HEX_LIMIT",
    "KINDS",
    "MIN_PREVIEW_LEN",
    "DetectConfig",
    "FileOutcome",
    "SecretRecord",
    "detect_batch",
    "detect_in_file",
    "detect_in_text",
    "file_is_excluded",
    "is_test_path",
    "is_translation_catalogue",
    "key_id",
    "mask_value",
]

MIN_PREVIEW_LEN = 16
BASE64_LIMIT = 4.5  # detect-secrets' default
HEX_LIMIT = 3.0  # detect-secrets' default
MAX_SNIPPET_CHARS = 300
MAX_FINDINGS_PER_FILE = 200


@dataclass(frozen=True)
class Kind:
    rule_id: str
    title: str
    severity: str
    confidence: str
    specific: bool  # a token format with a fixed shape (vs keyword / entropy guesses)


GOOGLE_API_KEY = "Google API Key"
# Not preceded or followed by another key character, so a longer base64 run is not cut open.
_GOOGLE_API_KEY = re.compile(r"(?<![A-Za-z0-9_\-])AIza[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-])")


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google API keys (`AIza` + 35 URL-safe base64 characters): detect-secrets has no plugin."""

    secret_type = GOOGLE_API_KEY

    @property
    def denylist(self) -> list[re.Pattern[str]]:
        return [_GOOGLE_API_KEY]


# detect-secrets secret_type -> our stable rule. The ids are documented in docs/rules.md.
KINDS: dict[str, Kind] = {
    "AWS Access Key": Kind("secrets.aws-access-key", "AWS access key", "high", "high", True),
    "GitHub Token": Kind("secrets.github-token", "GitHub token", "high", "high", True),
    "GitLab Token": Kind("secrets.gitlab-token", "GitLab token", "high", "high", True),
    "Slack Token": Kind("secrets.slack-token", "Slack token or webhook", "high", "high", True),
    "Stripe Access Key": Kind("secrets.stripe-key", "Stripe live key", "critical", "high", True),
    "Private Key": Kind("secrets.private-key", "Private key", "high", "high", True),
    "JSON Web Token": Kind("secrets.jwt", "JSON Web Token", "medium", "medium", True),
    "Basic Auth Credentials": Kind("secrets.url-credentials", "Credentials in a URL", "high", "medium", True),
    "OpenAI Token": Kind("secrets.openai-key", "OpenAI API key", "high", "high", True),
    "PyPI Token": Kind("secrets.pypi-token", "PyPI upload token", "high", "high", True),
    "NPM tokens": Kind("secrets.npm-token", "npm token", "high", "high", True),
    "SendGrid API Key": Kind("secrets.sendgrid-key", "SendGrid API key", "high", "high", True),
    "Azure Storage Account access key": Kind(
        "secrets.azure-storage-key", "Azure storage account key", "high", "high", True
    ),
    GOOGLE_API_KEY: Kind("secrets.google-api-key", "Google API key", "high", "high", True),
    "Secret Keyword": Kind("secrets.keyword", "Hardcoded credential", "medium", "medium", False),
    "Base64 High Entropy String": Kind(
        "secrets.high-entropy-base64", "High-entropy secret-like string", "medium", "low", False
    ),
    "Hex High Entropy String": Kind(
        "secrets.high-entropy-hex", "High-entropy hex secret-like string", "medium", "low", False
    ),
}


def _plugins() -> list[BasePlugin]:
    return [
        AWSKeyDetector(),
        GitHubTokenDetector(),
        GitLabTokenDetector(),
        SlackDetector(),
        StripeDetector(),
        PrivateKeyDetector(),
        JwtTokenDetector(),
        BasicAuthDetector(),
        OpenAIDetector(),
        PypiTokenDetector(),
        NpmDetector(),
        SendGridDetector(),
        AzureStorageKeyDetector(),
        GoogleApiKeyDetector(),
        KeywordDetector(),
        Base64HighEntropyString(limit=BASE64_LIMIT),
        HexHighEntropyString(limit=HEX_LIMIT),
    ]


# The prefilter: a superset of what the plugins above can match on one line. It runs over the
# lower-cased text, so every alternative is the lower-cased literal core of one plugin's pattern
# (matching more than the case-sensitive original is fine: it only selects lines). A plain literal
# alternation lets the regex engine skip most positions by first character: about ten times faster
# than mixing case-insensitive groups. A line it does not select cannot yield a result.
_FORMAT_ANCHORS = (
    r"akia|asia|abia|acca|a3t|aws"  # AWS key id; the AWS secret key pattern needs "aws" nearby
    r"|gh[pousr]_"  # GitHub
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|gr1348941"  # GitLab
    r"|xox[aposbr]-|hooks\.slack\.com"  # Slack
    r"|[rs]k_live_"  # Stripe
    r"|private key|putty-user-key-file-2"  # private keys
    r"|eyj"  # JWT
    r"|://[^\s:/?#\[\]@!$&'()*+,;=]+:[^\s:/?#\[\]@!$&'()*+,;=]+@"  # basic auth (the plugin's own)
    r"|t3blbkfj|pypi-age|_authtoken|sg\.|accountkey="  # OpenAI, PyPI, npm, SendGrid, Azure
    r"|aiza"  # Google API keys
)
# Everything KeywordDetector's DENYLIST can match contains one of these ("key" covers api_key,
# auth_key, ...; "pass" covers password, passwd, db_pass, ...).
_KEYWORD_ANCHORS = r"key|pass|pwd|secret|contrase"
# In the tuned mode an entropy finding needs a secret-sounding name on its line (_ENTROPY_CONTEXT);
# these words make such lines reach the plugins.
_CONTEXT_ANCHORS = r"token|auth|cred"
# Raw mode (detect-secrets parity): any quoted run of >= 9 base64/hex characters, the shortest that
# can exceed the hex entropy limit of 3.0 (log2(9) > 3); base64 needs >= 23.
_ENTROPY_ANCHORS = r"""['"][a-z0-9+/\-_=]{9,}['"]"""

_PREFILTER_TUNED = re.compile(f"{_FORMAT_ANCHORS}|{_KEYWORD_ANCHORS}|{_CONTEXT_ANCHORS}")
_PREFILTER_RAW = re.compile(f"{_FORMAT_ANCHORS}|{_KEYWORD_ANCHORS}|{_ENTROPY_ANCHORS}")

# --- false-positive heuristics of the tuned mode (documented in docs/rules.md) -------------------

_ENTROPY_CONTEXT = re.compile(r"(?i)token|secret|key|passw|pwd|auth|credential|cred")
_HASH_CONTEXT = re.compile(
    r"(?i)hash|sha\d*|md5|digest|checksum|etag|integrity|fingerprint|nonce|uuid|commit|revision|"
    r"\bpk\b|\bid\b|_id\b|color|colour"
)
_PLACEHOLDER_PARTS = (
    "password",
    "passwd",
    "secret",
    "changeme",
    "change_me",
    "change-me",
    "example",
    "sample",
    "dummy",
    "fake",
    "test",
    "xxx",
    "placeholder",
    "your",
    "redacted",
    "insecure",
    "todo",
    "replace",
    "default",
    "mock",
    "demo",
    "12345",
    "qwerty",
    "letmein",
    "hunter2",
    "s3cr3t",
    "p@ss",
    "pass",
    "foobar",
    "lorem",
    "null",
    "none",
    "undefined",
    "admin",
    "token",
    "secret_key",
)
_TEMPLATE = re.compile(r"\{\{|\}\}|\$\{|\$\(|%\(|%s|<[^>]*>|^\*+$|^\.+$|^[xX]+$")
_EXAMPLE_HOST = re.compile(
    r"@(?:[^/\s:@]*\.)?(?:example\.(?:com|org|net)|[^/\s:@]+\.(?:example|test|invalid|localhost))(?:[:/]|$)",
    re.IGNORECASE,
)
_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|testing|spec|specs|__tests__|fixtures?|testdata|test_data|mocks?)/"
    r"|(?:^|/)(?:test_[^/]*|[^/]*_tests?\.[^/.]+|conftest\.py)$",
    re.IGNORECASE,
)
_REPEATED = re.compile(r"(.)\1{7,}")
_CATALOGUE_PATH = re.compile(
    r"(?:^|/)(?:i18n|l10n|locales?|translations?|lang|langs|messages)/[^/].*"
    r"\.(?:json|ya?ml|po|pot|properties|xliff|xlf|arb|strings|ftl)$",
    re.IGNORECASE,
)
_CATALOGUE_FILE = re.compile(r"\.(?:po|pot|xliff|xlf|arb|ftl)$", re.IGNORECASE)
_B64_BODY = re.compile(r"[A-Za-z0-9+/=]{40,}")
# `\n` / `\r\n` written out inside a string: the line breaks of a key stored on one line.
_ESCAPED_NEWLINE = re.compile(r"(?:\\r)?\\n")
_DOTENV = re.compile(r"(?:^|/)\.env(?:\.[^/]*)?$|\.env$")


@dataclass(frozen=True)
class DetectConfig:
    """What changes detection; hashed into every cache key."""

    tuned: bool = True  # False: detect-secrets' own behaviour (parity checks, benchmarks)
    include_tests: bool = False  # tuned: keep keyword/entropy guesses in test and fixture paths
    max_line_chars: int = 4000  # longer lines (minified code) are examined in windows this wide

    def digest(self) -> str:
        text = f"tuned={self.tuned};tests={self.include_tests};window={self.max_line_chars}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SecretRecord:
    """One detected secret, already masked: safe to cache, log or return."""

    secret_type: str
    line: int
    preview: str
    mac: str  # HMAC-SHA256(key, value), hex
    snippet: str  # the line with every detected value masked
    pragma: bool  # `pragma: allowlist secret` on the line (or nextline form above it)
    baseline: bool  # listed in the repository's .secrets.baseline

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.secret_type,
            "l": self.line,
            "p": self.preview,
            "m": self.mac,
            "s": self.snippet,
            "a": self.pragma,
            "b": self.baseline,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SecretRecord:
        return cls(
            secret_type=str(data["t"]),
            line=int(data["l"]),
            preview=str(data["p"]),
            mac=str(data["m"]),
            snippet=str(data["s"]),
            pragma=bool(data["a"]),
            baseline=bool(data["b"]),
        )


@dataclass
class FileOutcome:
    rel: str
    sha256: str = ""
    records: list[SecretRecord] | None = None
    skip: str | None = None  # reason, when the file could not be examined
    dismissed: dict[str, int] | None = None  # heuristic -> candidates it dismissed

    def to_json(self) -> dict[str, Any]:
        return {
            "records": [r.to_json() for r in self.records or []],
            "skip": self.skip,
            "dismissed": self.dismissed or {},
        }


def mask_value(value: str) -> str:
    """The one preview rule of secaudit (`secaudit.tools.masking.preview`): first and last 4
    characters when the value is long enough to keep most of it hidden, else `***`."""
    return preview(value)


def key_id(key: bytes) -> str:
    """Names a key without revealing it, so cached HMACs are never reused under another key."""
    return hmac.new(key, b"secaudit-secrets-key-id", hashlib.sha256).hexdigest()[:16]


_PLUGIN_CACHE: list[BasePlugin] = []


def _get_plugins() -> list[BasePlugin]:
    if not _PLUGIN_CACHE:
        _PLUGIN_CACHE.extend(_plugins())
    return _PLUGIN_CACHE


def _char_classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def _dismiss_reason(
    secret_type: str,
    value: str,
    line: str,
    next_lines: Sequence[str],
    in_test_path: bool,
    cfg: DetectConfig,
    in_catalogue: bool = False,
) -> str | None:
    """Why a candidate is not reported in the tuned mode (None: report it)."""
    kind = KINDS[secret_type]
    lowered = value.lower()
    if not kind.specific and in_test_path and not cfg.include_tests:
        return "test-path"
    if not kind.specific and in_catalogue:
        # "password": "Mot de passe" is a label to translate, not a credential; a token with a
        # fixed shape is still reported from a catalogue.
        return "translation-catalogue"
    if kind.specific and ("example" in lowered or _REPEATED.search(value)):
        # Documentation keys such as AWS's AKIA...EXAMPLE, or runs like XXXXXXXX / 00000000.
        return "placeholder"
    if kind.rule_id == "secrets.keyword":
        if len(value) < 8:
            return "short-value"
        if _TEMPLATE.search(value) or any(part in lowered for part in _PLACEHOLDER_PARTS):
            return "placeholder"
        if len(set(value)) <= 3:
            return "placeholder"
        if _char_classes(value) < 2:
            # One character class (all lowercase words, all digits) reads as a word or a number,
            # rarely as a generated credential.
            return "low-variety"
        return None
    if kind.rule_id.startswith("secrets.high-entropy"):
        before = line.split(value, 1)[0]
        if not _ENTROPY_CONTEXT.search(before):
            return "no-secret-context"
        if _HASH_CONTEXT.search(before):
            return "hash-context"
        return None
    if kind.rule_id == "secrets.url-credentials":
        if _EXAMPLE_HOST.search(line) or any(part in lowered for part in _PLACEHOLDER_PARTS):
            return "placeholder"
        if _TEMPLATE.search(value) or len(value) < 4:
            return "placeholder"
        return None
    if kind.rule_id == "secrets.private-key":
        # A header mentioned in prose or code is not a key: a real one has its base64 body next,
        # on the following lines (PEM file) or on the same line after the header (a key in a JSON
        # string or a .env value, its newlines written as `\n`).
        after = line.split(value, 1)[1] if value in line else ""
        if _B64_BODY.search(_ESCAPED_NEWLINE.sub(" ", after)):
            return None
        if not any(_B64_BODY.search(nxt) or "Proc-Type:" in nxt for nxt in next_lines[:3]):
            return "header-only"
        return None
    return None


def _filtered_by_detect_secrets(value: str, line: str, plugin: BasePlugin) -> bool:
    """detect-secrets' default per-secret heuristic filters, called directly."""
    return (
        heuristic.is_sequential_string(value)
        or heuristic.is_potential_uuid(value)
        or heuristic.is_likely_id_string(value, line, plugin)
        or heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_not_alphanumeric_string(value)
    )


def is_translation_catalogue(rel: str) -> bool:
    """Message catalogues (`i18n/*.json`, `locales/**`, gettext `.po`): UI text, not settings."""
    return bool(_CATALOGUE_PATH.search(rel) or _CATALOGUE_FILE.search(rel))


def is_test_path(rel: str) -> bool:
    """Test suites, fixtures and mocks: where example credentials are expected."""
    return bool(_TEST_PATH.search(rel))


def file_is_excluded(rel: str) -> bool:
    """detect-secrets' default per-file filters (binary extensions, lock files, swagger files)."""
    return heuristic.is_non_text_file(rel) or heuristic.is_lock_file(rel) or heuristic.is_swagger_file(rel)


# Plugins whose reported value is the secret itself; the other regex plugins report only a capture
# group for some tokens (the "ghp" of a GitHub token), which is useless for masking.
_JWT_TAIL = re.compile(r"[A-Za-z0-9\-_.+/=]+")
_VALUE_IS_SECRET = (AWSKeyDetector, BasicAuthDetector, NpmDetector)


def _candidates(
    plugin: BasePlugin, line: str, keyword_regexes: dict[re.Pattern[str], int]
) -> Iterator[tuple[str, str]]:
    """(value as detect-secrets reports it, whole secret to mask and hash) for one plugin."""
    if isinstance(plugin, KeywordDetector):
        for value in plugin.analyze_string(line, denylist_regex_to_group=keyword_regexes):
            yield value, value
    elif isinstance(plugin, RegexBasedDetector) and not isinstance(plugin, _VALUE_IS_SECRET):
        for regex in plugin.denylist:
            for match in regex.finditer(line):
                whole = match.group(0)
                if isinstance(plugin, JwtTokenDetector):
                    if not plugin.is_formally_valid(whole):
                        continue
                    # Its pattern ends lazily and stops before the signature: take the whole token.
                    tail = _JWT_TAIL.match(line, match.start())
                    whole = tail.group(0) if tail else whole
                for reported in [g for g in match.groups() if g] or [whole]:
                    yield reported, whole
    else:
        for value in plugin.analyze_string(line):
            yield value, value


def _candidate_lines(text: str, prefilter: re.Pattern[str]) -> list[int]:
    """0-based indexes of lines holding a prefilter match, found over the whole text at once."""
    out: list[int] = []
    pos = 0
    line_no = 0
    last = -1
    for match in prefilter.finditer(text):
        start = match.start()
        line_no += text.count("\n", pos, start)
        pos = start
        if line_no != last:
            out.append(line_no)
            last = line_no
    return out


_SEGMENT_OVERLAP = 512


def _segments(line: str, width: int, prefilter: re.Pattern[str]) -> Iterator[str]:
    """The line, or for a line longer than `width` (minified code, a one-line JSON document) a
    window of it around each prefilter match: every column is examined, with half the overlap of
    context before a match and room for a value of up to half the overlap after it."""
    if len(line) <= width:
        yield line
        return
    margin = _SEGMENT_OVERLAP // 2
    covered_until = -1
    for match in prefilter.finditer(line.lower()):
        if match.start() < covered_until:
            continue
        start = max(0, min(match.start() - margin, len(line) - width))
        yield line[start : start + width]
        covered_until = start + width - margin


def detect_in_text(
    rel: str,
    text: str,
    key: bytes,
    cfg: DetectConfig,
    baseline: Iterable[tuple[str, str]] = (),
) -> tuple[list[SecretRecord], dict[str, int]]:
    """Detect secrets in one file's text; return masked records and dismissal counts."""
    prefilter = _PREFILTER_TUNED if cfg.tuned else _PREFILTER_RAW
    indexes = _candidate_lines(text.lower(), prefilter)
    dismissed: dict[str, int] = {}
    if not indexes:
        return [], dismissed
    lines = text.splitlines()
    baseline_set = set(baseline)
    # Keyword regexes depend on the file type; a dotenv file is KEY=value config, which
    # detect-secrets would only reach through its eager INI transformer.
    filetype = determine_file_type(rel)
    if _DOTENV.search(rel):
        filetype = FileType.PROPERTIES
    keyword_regexes = REGEX_BY_FILETYPE.get(filetype, QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    in_test_path = is_test_path(rel)
    in_catalogue = is_translation_catalogue(rel)
    records: list[SecretRecord] = []
    for index in indexes:
        if index >= len(lines):
            continue
        # In the tuned mode one record per value on a line: the first, most specific plugin wins.
        seen: set[str] = set()
        emitted: set[tuple[str, str]] = set()
        for line in _segments(lines[index].rstrip(), cfg.max_line_chars, prefilter):
            found: list[tuple[str, str]] = []
            line_dismissed: list[str] = []
            ds_hashes: set[tuple[str, str]] = set()  # (type, value as detect-secrets reports it)
            for plugin in _get_plugins():
                if not cfg.tuned and isinstance(plugin, GoogleApiKeyDetector):
                    continue  # detect-secrets' own behaviour has no such plugin (parity mode)
                for ds_value, value in _candidates(plugin, line, keyword_regexes):
                    if not ds_value or _filtered_by_detect_secrets(ds_value, line, plugin):
                        continue
                    if isinstance(plugin, HighEntropyStringsPlugin) and not (
                        plugin.calculate_shannon_entropy(value) > plugin.entropy_limit
                    ):
                        continue
                    ds_hashes.add((str(plugin.secret_type), ds_value))
                    secret_type = str(plugin.secret_type)
                    if cfg.tuned:
                        if value in seen:
                            continue
                        reason = _dismiss_reason(
                            secret_type,
                            value,
                            line,
                            lines[index + 1 : index + 4],
                            in_test_path,
                            cfg,
                            in_catalogue,
                        )
                        if reason is not None:
                            line_dismissed.append(reason)
                            continue
                        seen.add(value)
                        found.append((secret_type, value))
                    elif (secret_type, value) not in found:
                        found.append((secret_type, value))
            # detect-secrets drops the whole line when it reads as an indirect reference
            # (`secret = get_secret()`); its regex is the costliest filter, so it runs last.
            if not (found or line_dismissed) or heuristic.is_indirect_reference(line):
                continue
            for reason in line_dismissed:
                dismissed[reason] = dismissed.get(reason, 0) + 1
            if not found:
                continue
            raw_values = [value for _, value in found]
            masked_line = line
            # Longest first, so a value that contains another is masked whole.
            for value in sorted(set(raw_values), key=len, reverse=True):
                masked_line = masked_line.replace(value, mask_value(value))
            masked_line = masked_line.strip()
            if len(masked_line) > MAX_SNIPPET_CHARS:
                masked_line = masked_line[: MAX_SNIPPET_CHARS - 1] + "…"
            pragma = is_line_allowlisted(rel, line, get_code_snippet(lines, index + 1))
            # A baseline lists sha1(value as detect-secrets reports it); for a few plugins that is only
            # a capture group (e.g. "ghp" of a GitHub token), so compare per type on this line.
            listed = {
                secret_type
                for secret_type, ds_value in ds_hashes
                if (secret_type, hashlib.sha1(ds_value.encode("utf-8"), usedforsecurity=False).hexdigest())
                in baseline_set
            }
            for secret_type, value in found:
                if (secret_type, value) in emitted:
                    continue  # the overlap of two windows of one long line
                emitted.add((secret_type, value))
                records.append(
                    SecretRecord(
                        secret_type=secret_type,
                        line=index + 1,
                        preview=mask_value(value),
                        mac=hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest(),
                        snippet=masked_line,
                        pragma=pragma,
                        baseline=secret_type in listed,
                    )
                )
                if len(records) >= MAX_FINDINGS_PER_FILE:
                    dismissed["file-cap"] = dismissed.get("file-cap", 0) + 1
                    return records, dismissed
    return records, dismissed


def detect_in_file(
    path: str,
    rel: str,
    key: bytes,
    cfg: DetectConfig,
    baseline: Iterable[tuple[str, str]] = (),
    max_bytes: int = 4 * 1024 * 1024,
) -> FileOutcome:
    """Read, hash and scan one file. Errors become a per-file skip with a reason."""
    outcome = FileOutcome(rel=rel)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        outcome.skip = f"unreadable: {exc.strerror or type(exc).__name__}"
        return outcome
    outcome.sha256 = hashlib.sha256(data).hexdigest()
    if len(data) > max_bytes:
        outcome.skip = f"larger than {max_bytes} bytes"
        return outcome
    if b"\x00" in data[:8192]:
        outcome.skip = "binary content (NUL bytes)"
        return outcome
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        outcome.skip = "not UTF-8 text"
        return outcome
    try:
        outcome.records, outcome.dismissed = detect_in_text(rel, text, key, cfg, baseline)
    except (RecursionError, MemoryError, ValueError, TypeError, re.error) as exc:
        # A plugin tripping over one odd file must not cost the other files of its batch; the
        # exception text is not kept, as it could quote the line.
        outcome.skip = f"detector error ({type(exc).__name__})"
    return outcome


def detect_batch(
    items: Sequence[tuple[str, str, tuple[tuple[str, str], ...]]],
    key: bytes,
    cfg: DetectConfig,
    max_bytes: int,
) -> list[FileOutcome]:
    """Worker entry point: one round trip per batch of files keeps the IPC cost small."""
    return [detect_in_file(path, rel, key, cfg, baseline, max_bytes) for path, rel, baseline in items]
