"""Setting up the one redaction layer (`secaudit.tools.masking.Redactor`) for this process.

It is installed in front of every log handler, used by error translation, applied to every tool
result and to caller text before it is stored. It masks the process's own configured secrets and
every known secret pattern; the entropy heuristic stays off here (it would mangle legitimate data
such as ids), and is used only when a caller asks `mask_secrets` for it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from secaudit.server.errors import set_text_redactor
from secaudit.server.settings import Settings
from secaudit.tools.masking import Redactor, install_redactor

__all__ = ["configured_secrets", "setup_redaction"]


def _raw_tokens(text: str) -> list[str]:
    """The token of each `name:scopes:token` entry of SECAUDIT_HTTP_TOKENS (its syntax is checked,
    with proper messages, where the HTTP face parses it). `sha256:` digests are not secrets."""
    tokens = []
    for part in re.split(r"[;\n]", text):
        pieces = part.strip().split(":", 2)
        if len(pieces) == 3 and pieces[2] and not pieces[2].startswith("sha256:"):
            tokens.append(pieces[2])
    return tokens


def configured_secrets(settings: Settings) -> list[str]:
    """The process's own secret values: the Redis URL's password (raw and URL-decoded) and the
    HTTP tokens. For `mask_text(extra_secrets=...)`; never shown or logged."""
    values: list[str] = []
    if settings.redis_url is not None:
        try:
            password = urlsplit(settings.redis_url.get_secret_value()).password
        except ValueError:
            password = None
        if password:
            values += [password, unquote(password)]
    if settings.http_tokens is not None:
        values += _raw_tokens(settings.http_tokens.get_secret_value())
    return list(dict.fromkeys(values))


def setup_redaction(settings: Settings) -> Redactor:
    redactor = Redactor(entropy=False)
    for value in configured_secrets(settings):
        redactor.add_secret(value)
    install_redactor(redactor)
    set_text_redactor(redactor.redact)
    return redactor
