"""The one redaction layer: every log line, error text and tool result goes through a `Redactor`.

A `Redactor` knows the process's own configured secrets (HTTP tokens, the Redis URL's password,
webhook secrets: registered at start with `add_secret`) and applies every pattern of
`mask_text` as well. `RedactingFilter` puts it in front of logging handlers; `get_redactor()`
returns the process-wide instance that handlers, error paths and tool results share.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from secaudit.tools.masking.engine import apply_spans, merge_spans, replacement
from secaudit.tools.masking.patterns import (
    MIN_CONFIGURED_SECRET_LENGTH,
    find_spans,
    is_placeholder,
    is_secret_key,
    secret_variants,
)

__all__ = [
    "RedactingFilter",
    "Redactor",
    "get_redactor",
    "install_redactor",
]

_T = TypeVar("_T")

# Nested structures deeper than this are replaced whole rather than walked (a cycle, or a
# hostile payload): refusing to show them is the safe failure.
_MAX_DEPTH = 100
# Redacted short texts are remembered: a re-audit builds every finding again from cached results,
# and their titles, rule ids, messages and property values repeat (the same few per rule).
_MEMO_MAX_CHARS = 512
_MEMO_ENTRIES = 8192


class Redactor:
    """Masks configured secrets and detected secret patterns in text and in nested data.

    Configured values shorter than 6 characters are ignored by `add_secret` (they would mask
    common words and numbers all over the logs; anything that short is guessable anyway).
    Thread-safe: secrets may be added while other threads redact.
    """

    def __init__(self, secrets: Iterable[str] = (), *, entropy: bool = True) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        # Every form (raw, URL-encoded, escaped) of every secret, longest first so that the
        # merged span covers the longest form; replaced as a whole tuple so readers need no lock.
        self._forms: tuple[str, ...] = ()
        self._entropy = entropy
        # (forms, memo) replaced together when a secret is added: a result computed with the old
        # forms can only land in the old memo, never be served after the secret was registered.
        self._memo: tuple[tuple[str, ...], dict[str, str]] = ((), {})
        self.generation = 0  # moves with every secret added: what was redacted before may differ now
        for value in secrets:
            self.add_secret(value)

    def add_secret(self, value: str | None) -> bool:
        """Register a secret to mask wherever it appears. Returns False (and registers nothing)
        for None, placeholders such as `changeme`, and values shorter than 6 characters."""
        if not value or len(value) < MIN_CONFIGURED_SECRET_LENGTH or is_placeholder(value):
            return False
        with self._lock:
            if value in self._values:
                return True
            self._values.add(value)
            forms = set(self._forms)
            forms.update(secret_variants(value))
            self._forms = tuple(sorted(forms, key=len, reverse=True))
            self._memo = (self._forms, {})
            self.generation += 1
        return True

    def add_secret_from_url(self, url: str | None) -> bool:
        """Register the password (and only it) of a URL such as `redis://:pw@host:6379/0`."""
        if not url:
            return False
        try:
            password = urlsplit(url).password
        except ValueError:
            return False
        if password is None:
            return False
        added = self.add_secret(password)
        decoded = unquote(password)
        if decoded != password:
            added = self.add_secret(decoded) or added
        return added

    @property
    def secret_count(self) -> int:
        """How many distinct configured secrets are registered (never the values)."""
        return len(self._values)

    def redact(self, text: str) -> str:
        """`text` with configured secrets and detected secrets replaced by `[MASKED:<kind>]`."""
        if not text:
            return text
        forms, memo = self._memo
        short = len(text) <= _MEMO_MAX_CHARS
        if short:
            known = memo.get(text)
            if known is not None:
                return known
        out = apply_spans(text, merge_spans(find_spans(text, forms, entropy=self._entropy)))
        if short:
            if len(memo) >= _MEMO_ENTRIES:
                memo.clear()
            memo[text] = out
        return out

    def redact_obj(self, obj: _T) -> _T:
        """A redacted deep copy of dicts, lists, tuples, sets and strings (keys too).

        A string value under a secret-ish key (`password`, `api_key`, `clientSecret`...) is masked
        whole, whatever it looks like. bytes are redacted when they decode as UTF-8. Other objects
        are returned as they are: dump models (`model_dump()`) before redacting them.
        """
        return cast(_T, self._walk(obj, 0))

    def _walk(self, obj: Any, depth: int) -> Any:
        if isinstance(obj, str):
            return self.redact(obj)
        if depth >= _MAX_DEPTH:
            return replacement("depth_limit")
        if isinstance(obj, dict):
            out: dict[Any, Any] = {}
            for key, value in obj.items():
                new_key = self._walk(key, depth + 1)
                if (
                    isinstance(key, str)
                    and isinstance(value, str)
                    and is_secret_key(key)
                    and len(value) >= 4
                    and not is_placeholder(value)
                ):
                    out[new_key] = replacement("json_secret_value")
                else:
                    out[new_key] = self._walk(value, depth + 1)
            return out
        if isinstance(obj, list):
            return [self._walk(item, depth + 1) for item in obj]
        if isinstance(obj, tuple):
            items = [self._walk(item, depth + 1) for item in obj]
            if hasattr(obj, "_fields"):  # a namedtuple takes positional fields
                return type(obj)(*items)
            return tuple(items)
        if isinstance(obj, (set, frozenset)):
            return type(obj)(self._walk(item, depth + 1) for item in obj)
        if isinstance(obj, (bytes, bytearray)):
            try:
                decoded = bytes(obj).decode("utf-8")
            except UnicodeDecodeError:
                return obj
            redacted = self.redact(decoded)
            return obj if redacted == decoded else type(obj)(redacted.encode("utf-8"))
        return obj

    def logging_filter(self) -> RedactingFilter:
        """A filter bound to this redactor (rather than to the process-wide one)."""
        return RedactingFilter(self)


_STANDARD_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_REDACTED_MARK = "_secaudit_redacted"


class RedactingFilter(logging.Filter):
    """Redacts a log record in place before any handler formats it.

    The message is formatted first (`msg % args`) and the result redacted, so a secret passed as
    a %-argument is caught; the exception traceback is rendered, redacted and stored in
    `exc_text` (and `exc_info` cleared so no formatter renders it raw again); `stack_info` and
    `extra=` attributes are redacted too. Attach it to handlers (a logger's filters do not see
    records propagated from child loggers); `install_redactor` does that.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self._redactor = redactor

    @property
    def redactor(self) -> Redactor:
        return self._redactor if self._redactor is not None else get_redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _REDACTED_MARK, False):
            return True
        redactor = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken %-format or __str__ must not let args through raw
            message = f"{record.msg!r} (unformattable arguments: {record.args!r})"
        record.msg = redactor.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        for attr, value in list(record.__dict__.items()):
            if attr not in _STANDARD_RECORD_ATTRS:
                record.__dict__[attr] = redactor.redact_obj(value)
        setattr(record, _REDACTED_MARK, True)
        return True


_default_lock = threading.Lock()
_default: Redactor | None = None


def get_redactor() -> Redactor:
    """The process-wide redactor (created empty on first use)."""
    global _default
    current = _default
    if current is not None:
        return current
    with _default_lock:
        if _default is None:
            _default = Redactor()
        return _default


def install_redactor(
    redactor: Redactor | None = None,
    *,
    handlers: Iterable[logging.Handler] | None = None,
) -> Redactor:
    """Make `redactor` (or the current default) the process-wide one and put a `RedactingFilter`
    in front of `handlers`: by default every handler of the root logger and `logging.lastResort`.

    Installing twice adds no second filter. Handlers created later need
    `handler.addFilter(RedactingFilter())` (the filter follows the process-wide redactor).
    """
    global _default
    with _default_lock:
        if redactor is not None:
            _default = redactor
        elif _default is None:
            _default = Redactor()
        chosen = _default
    if handlers is None:
        targets = list(logging.getLogger().handlers)
        if logging.lastResort is not None:
            targets.append(logging.lastResort)
    else:
        targets = list(handlers)
    for handler in targets:
        if not any(isinstance(f, RedactingFilter) and f._redactor is None for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return chosen
