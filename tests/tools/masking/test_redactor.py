"""The one redaction layer: Redactor, redact_obj, RedactingFilter on real logging, the default."""

from __future__ import annotations

import io
import json
import logging
import random
import string
from collections import namedtuple
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from secaudit.tools.masking import RedactingFilter, Redactor, get_redactor, install_redactor
from secaudit.tools.masking import redactor as redactor_module

_RNG = random.Random(99)


def canary(tag: str = "canary") -> str:
    """A unique value no rule would find on its own (lower case, short): only configuration does."""
    return f"{tag}-" + "".join(_RNG.choice(string.ascii_lowercase) for _ in range(10))


def fake_github_token() -> str:
    alphabet = string.ascii_letters + string.digits
    return "gh" + "p_" + "".join(_RNG.choice(alphabet) for _ in range(36))


@pytest.fixture
def restore_default() -> Iterator[None]:
    saved = redactor_module._default
    yield
    redactor_module._default = saved


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s %(message)s %(detail)s", defaults={"detail": ""})
    )
    logger = logging.getLogger(f"secaudit.test.{_RNG.randrange(10**9)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, stream, handler
    logger.removeHandler(handler)


# ----------------------------------------------------------------------------------------------
# Redactor
# ----------------------------------------------------------------------------------------------


def test_add_secret_ignores_short_values_and_placeholders() -> None:
    r = Redactor()
    assert r.add_secret("abc12") is False  # shorter than 6
    assert r.add_secret("changeme") is False
    assert r.add_secret(None) is False
    assert r.add_secret("") is False
    assert r.secret_count == 0
    assert r.redact("abc12 changeme") == "abc12 changeme"
    value = canary()
    assert r.add_secret(value) is True
    assert r.add_secret(value) is True
    assert r.secret_count == 1


def test_redact_configured_secret_and_its_encoded_forms() -> None:
    secret = 'we"ird/' + canary() + " p@ss"
    r = Redactor([secret])
    text = f"a {secret} b {quote(secret, safe='')} c {json.dumps(secret)}"
    out = r.redact(text)
    assert secret not in out
    assert quote(secret, safe="") not in out
    assert json.dumps(secret)[1:-1] not in out
    assert out.count("[MASKED:configured_secret]") == 3


def test_redact_applies_detection_patterns_without_configuration() -> None:
    token = fake_github_token()
    out = Redactor().redact(f"push failed with {token}")
    assert token not in out and "[MASKED:github_token]" in out


def test_add_secret_from_url_registers_the_password_only() -> None:
    password = canary("redis") + "/@:"
    url = f"redis://default:{quote(password, safe='')}@127.0.0.1:6379/0"
    r = Redactor()
    assert r.add_secret_from_url(url) is True
    assert r.add_secret_from_url("redis://127.0.0.1:6379/0") is False
    assert r.add_secret_from_url("not a url") is False
    out = r.redact(f"connecting to {url}; auth with {password}")
    assert password not in out and quote(password, safe="") not in out
    assert "127.0.0.1:6379" in out


def test_redact_obj_deep_new_structure() -> None:
    secret = canary()
    token = fake_github_token()
    Point = namedtuple("Point", ["x", "y"])
    original = {
        "msg": f"using {secret}",
        secret: "the key itself is secret",
        "nested": [{"deep": (f"t={token}", {secret, "ok"})}, frozenset({secret})],
        "password": "short-but-keyed",
        "apiKey": "looks-harmless",
        "password_hint": "first pet",
        "token_count": 3,
        "raw": f"bytes {secret}".encode(),
        "point": Point(secret, 2),
        "empty_password": "",
    }
    r = Redactor([secret])
    out = r.redact_obj(original)
    dumped = repr(out)
    assert secret not in dumped and token not in dumped
    assert out["password"] == "[MASKED:json_secret_value]"
    assert out["apiKey"] == "[MASKED:json_secret_value]"
    assert out["password_hint"] == "first pet"
    assert out["token_count"] == 3
    assert out["empty_password"] == ""
    assert isinstance(out["point"], Point) and out["point"].y == 2
    assert isinstance(out["nested"][1], frozenset)
    assert out["raw"] == b"bytes [MASKED:configured_secret]"
    assert "[MASKED:configured_secret]" in out  # the key was redacted too
    # the original is untouched
    assert original["msg"] == f"using {secret}" and original["password"] == "short-but-keyed"


def test_redact_obj_survives_cycles_and_depth() -> None:
    secret = canary()
    loop: list[object] = [secret]
    loop.append(loop)
    out = Redactor([secret]).redact_obj(loop)
    assert secret not in repr(out)


def test_redact_obj_leaves_unknown_objects_alone() -> None:
    marker = object()
    assert Redactor().redact_obj({"x": marker})["x"] is marker


# ----------------------------------------------------------------------------------------------
# RedactingFilter on real logging
# ----------------------------------------------------------------------------------------------


def test_filter_redacts_message_args_extra_and_tracebacks(log_stream) -> None:  # type: ignore[no-untyped-def]
    logger, stream, handler = log_stream
    secret = canary()
    token = fake_github_token()
    handler.addFilter(RedactingFilter(Redactor([secret])))

    logger.info("plain %s", secret)
    logger.warning("dict %(k)s", {"k": secret})
    logger.info(f"f-string {secret} and {token}")
    logger.error("with extra", extra={"detail": f"extra={secret}"})
    try:
        raise ValueError(f"bad value {secret} / {token}")
    except ValueError:
        logger.exception("failed while handling %s", secret)
    try:
        try:
            raise KeyError(secret)
        except KeyError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        logger.error("chained", exc_info=True)
    logger.info("stack", stack_info=True)
    logger.info("%d broken format", secret)  # a TypeError inside getMessage

    text = stream.getvalue()
    assert secret not in text
    assert token not in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: bad value [MASKED:configured_secret] / [MASKED:github_token]" in text
    assert "KeyError" in text and "RuntimeError: wrapped" in text
    assert "plain [MASKED:configured_secret]" in text
    assert "broken format" in text


def test_filter_on_handler_sees_records_of_child_loggers(log_stream) -> None:  # type: ignore[no-untyped-def]
    logger, stream, handler = log_stream
    secret = canary()
    handler.addFilter(RedactingFilter(Redactor([secret])))
    child = logger.getChild("child.grandchild")
    child.warning("child says %s", secret)
    assert secret not in stream.getvalue()
    assert "child says [MASKED:configured_secret]" in stream.getvalue()


def test_two_handlers_both_filtered_stay_correct(log_stream) -> None:  # type: ignore[no-untyped-def]
    logger, stream, handler = log_stream
    second = io.StringIO()
    other = logging.StreamHandler(second)
    secret = canary()
    r = Redactor([secret])
    handler.addFilter(RedactingFilter(r))
    other.addFilter(RedactingFilter(r))
    logger.addHandler(other)
    try:
        logger.error("boom %s", secret)
    finally:
        logger.removeHandler(other)
    for out in (stream.getvalue(), second.getvalue()):
        assert secret not in out
        assert "boom [MASKED:configured_secret]" in out


# ----------------------------------------------------------------------------------------------
# Process-wide default
# ----------------------------------------------------------------------------------------------


def test_get_and_install_redactor(restore_default, log_stream) -> None:  # type: ignore[no-untyped-def]
    logger, stream, handler = log_stream
    mine = Redactor()
    assert install_redactor(mine, handlers=[handler]) is mine
    assert get_redactor() is mine
    install_redactor(handlers=[handler])  # again: no second filter
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1

    secret = canary()
    mine.add_secret(secret)  # registered after the filter was installed: still applies
    logger.info("late %s", secret)
    other_secret = canary("other")
    replacement = Redactor([other_secret])
    install_redactor(replacement, handlers=[handler])
    logger.info("swapped %s", other_secret)
    out = stream.getvalue()
    assert secret not in out and other_secret not in out
    assert out.count("[MASKED:configured_secret]") == 2


def test_install_redactor_covers_root_handlers_and_last_resort(restore_default) -> None:  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    saved_filters = {h: list(h.filters) for h in [*root.handlers, logging.lastResort] if h is not None}
    try:
        secret = canary()
        install_redactor(Redactor([secret]))
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        logging.getLogger("some.library").warning("leaking %s", secret)
        assert secret not in stream.getvalue()
        assert "[MASKED:configured_secret]" in stream.getvalue()
    finally:
        root.removeHandler(handler)
        for h, filters in saved_filters.items():
            h.filters[:] = filters


def test_remembered_redactions_never_outlive_a_new_secret() -> None:
    redactor = Redactor()
    text = "connect with hunter2-very-long-password now"
    assert redactor.redact(text) == text  # remembered as clean
    before = redactor.generation
    assert redactor.add_secret("hunter2-very-long-password")
    assert redactor.generation == before + 1
    assert "hunter2-very-long-password" not in redactor.redact(text)
    long_text = "x " * 400 + "hunter2-very-long-password"  # longer than what is remembered
    assert "hunter2-very-long-password" not in redactor.redact(long_text)
