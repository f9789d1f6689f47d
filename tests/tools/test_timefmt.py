"""Stored-time formatting (`secaudit.tools.timefmt`): the shapes existing rows already have."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from secaudit.tools.timefmt import iso_ms, iso_us, now_ms, now_us, parse_time, sql_ms

AT = datetime(2026, 1, 31, 12, 0, 5, 123456, tzinfo=UTC)


def test_each_precision_keeps_the_shape_its_tables_hold() -> None:
    # The shapes the five former formatters wrote: rows already stored must keep comparing correctly.
    assert iso_ms(AT) == AT.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" == "2026-01-31T12:00:05.123Z"
    assert iso_us(AT) == AT.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == "2026-01-31T12:00:05.123456Z"
    assert sql_ms(AT) == "2026-01-31 12:00:05.123"
    whole = AT.replace(microsecond=0)
    assert (iso_ms(whole), iso_us(whole)) == ("2026-01-31T12:00:05.000Z", "2026-01-31T12:00:05.000000Z")


def test_zones_are_converted_and_naive_means_utc() -> None:
    plus2 = AT.astimezone(timezone(timedelta(hours=2)))
    assert iso_ms(plus2) == iso_ms(AT) and iso_us(plus2) == iso_us(AT) and sql_ms(plus2) == sql_ms(AT)
    assert iso_us(AT.replace(tzinfo=None)) == iso_us(AT)


def test_text_order_is_time_order_within_a_precision() -> None:
    times = [AT + timedelta(microseconds=n) for n in (0, 1, 999, 1000, 10**6, 86_400 * 10**6)]
    for fmt in (iso_ms, iso_us, sql_ms):
        texts = [fmt(t) for t in times]
        assert texts == sorted(texts)


def test_now_has_the_fixed_width_shape() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now_ms())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", now_us())
    assert abs(parse_time(now_us()) - datetime.now(UTC)) < timedelta(seconds=60)


def test_parse_time() -> None:
    assert parse_time("2026-01-31T12:00:05.123456Z") == AT
    assert parse_time(" 2026-01-31T14:00:05.123456+02:00 ") == AT
    assert parse_time("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_time(iso_ms(AT)) == AT.replace(microsecond=123000)
    with pytest.raises(ValueError):
        parse_time("yesterday")
