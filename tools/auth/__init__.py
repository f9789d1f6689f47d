"""Bearer tokens for the HTTP face: held as hashes, compared in constant time, reloaded on change."""

from secaudit.tools.auth.tokens import (
    ALL_SCOPES,
    TOOL_SCOPES,
    Principal,
    TokenEntry,
    TokenRegistry,
    hash_token,
    identity_digest,
    new_token,
    parse_token_env,
    parse_token_file,
    raw_tokens,
)

__all__ = [
    "ALL_SCOPES",
    "TOOL_SCOPES",
    "Principal",
    "TokenEntry",
    "TokenRegistry",
    "hash_token",
    "identity_digest",
    "new_token",
    "parse_token_env",
    "parse_token_file",
    "raw_tokens",
]
