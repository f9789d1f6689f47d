"""Setting up the one redaction layer (`secaudit.tools.masking.Redactor`) for this process.

It is installed in front of every log handler, used by error translation, applied to every tool
result and to caller text before it is stored. It masks the process's own configured secrets and
every known secret pattern; the entropy heuristic stays off here (it would mangle legitimate data
such as ids), and is used only when a caller asks `mask_secrets` for it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from secaudit.server.errors import set_text_redactor
from secaudit.server.settings import Settings
from secaudit.tools.auth import raw_tokens
from secaudit.tools.masking import Redactor, install_redactor

__all__ = ["configured_secrets", "setup_redaction"]


def configured_secrets(settings: Settings) -> list[str]:
    """The process's own secret values: the Redis URL's password (raw and URL-decoded), the
    HTTP tokens and the fingerprint key's text. For `mask_text(extra_secrets=...)`; never shown or logged."""
    values: list[str] = []
    if settings.redis_url is not None:
        try:
            password = urlsplit(settings.redis_url.get_secret_value()).password
        except ValueError:
            password = None
        if password:
            values += [password, unquote(password)]
    if settings.http_tokens is not None:
        values += raw_tokens(settings.http_tokens.get_secret_value())
    if settings.fingerprint_key is not None:
        values.append(settings.fingerprint_key.get_secret_value().strip())
    return list(dict.fromkeys(values))


def setup_redaction(settings: Settings) -> Redactor:
    redactor = Redactor(entropy=False)
    for value in configured_secrets(settings):
        redactor.add_secret(value)
    install_redactor(redactor)
    set_text_redactor(redactor.redact)
    return redactor
