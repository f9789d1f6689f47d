"""The key primitives: key files beside the store, and a key as one line of text (for CI secrets)."""

from __future__ import annotations

import base64
import os

import pytest

from secaudit.tools.keys import MIN_KEY_BYTES, key_from_text, key_to_text, load_or_create_key


def test_key_text_round_trips_in_every_accepted_form() -> None:
    key = os.urandom(32)
    text = key_to_text(key)
    assert "=" not in text and "\n" not in text and len(text) == 43
    assert key_from_text(text) == key
    assert key_from_text(f"  {text}\n") == key  # pasted with a newline
    assert key_from_text(key.hex()) == key
    assert key_from_text(key.hex().upper()) == key
    assert key_from_text(base64.b64encode(key).decode()) == key  # standard alphabet, padded
    assert key_from_text(key_to_text(key[:MIN_KEY_BYTES])) == key[:MIN_KEY_BYTES]


@pytest.mark.parametrize(
    "text",
    ["", "abc", "!" * 43, "00" * (MIN_KEY_BYTES - 1), key_to_text(b"k" * (MIN_KEY_BYTES - 1)), "a b" * 20],
)
def test_unusable_key_text_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(ValueError) as err:
        key_from_text(text)
    assert "at least 16 bytes" in str(err.value)
    if len(text) >= 4:
        assert text not in str(err.value)


def test_the_key_file_is_made_once_and_read_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.db.hmackey"
    first = load_or_create_key(path)
    assert len(first) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == first
