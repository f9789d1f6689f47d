"""One reading of the SECAUDIT_HTTP_TOKENS syntax: the parser and the redactor agree on it."""

from __future__ import annotations

import hashlib

import pytest

from secaudit.tools.auth import parse_token_env, raw_tokens
from secaudit.tools.errors import ConfigError

A, B = "a" * 40, "b" * 40
DIGEST = hashlib.sha256(b"c" * 40).hexdigest()


def test_the_redactor_sees_exactly_the_tokens_the_parser_accepts() -> None:
    text = f" ci:read:{A} ;\n deploy:read,fix:{B}\n\n ops:admin:sha256:{DIGEST} ;"
    entries = parse_token_env(text)
    assert [e.name for e in entries] == ["ci", "deploy", "ops"]
    assert [e.digest for e in entries[:2]] == [hashlib.sha256(t.encode()).digest() for t in (A, B)]
    assert raw_tokens(text) == [A, B]  # a sha256: digest is no secret


def test_a_token_with_colons_is_one_field() -> None:
    token = "x:y:" + "z" * 40
    (entry,) = parse_token_env(f"ci:read:{token}")
    assert entry.digest == hashlib.sha256(token.encode()).digest()
    assert raw_tokens(f"ci:read:{token}") == [token]


def test_an_entry_the_parser_refuses_still_has_its_token_masked() -> None:
    text = f"ci:read:{A};bad entry;ci2:nope:{B}"
    with pytest.raises(ConfigError, match="entry 2"):
        parse_token_env(text)
    assert raw_tokens(text) == [A, B]
    assert raw_tokens("ci:read:") == [] and raw_tokens("") == []
