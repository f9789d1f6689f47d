"""Secret masking and the one redaction layer of secaudit.

`mask_text` finds secrets in a text (PEM private keys, URL credentials, Authorization headers,
secret-ish `KEY=value` / JSON / YAML entries, known token formats, high-entropy strings and
configured values) and returns the masked text plus what was masked, never a raw value.
`Redactor` is the single layer every log handler, error message and tool result goes through.
"""

from secaudit.tools.masking.engine import (
    PREVIEW_MIN_LENGTH,
    MaskMatch,
    MaskResult,
    keyed_hash,
    mask_text,
    preview,
)
from secaudit.tools.masking.patterns import MIN_CONFIGURED_SECRET_LENGTH, is_placeholder, is_secret_key
from secaudit.tools.masking.redactor import RedactingFilter, Redactor, get_redactor, install_redactor

__all__ = [
    "MIN_CONFIGURED_SECRET_LENGTH",
    "PREVIEW_MIN_LENGTH",
    "MaskMatch",
    "MaskResult",
    "RedactingFilter",
    "Redactor",
    "get_redactor",
    "install_redactor",
    "is_placeholder",
    "is_secret_key",
    "keyed_hash",
    "mask_text",
    "preview",
]
