"""The one stored time format, and reading it back."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_ms", "now_iso", "parse_time"]


def iso_ms(at: datetime) -> str:
    """The one stored time format: UTC, milliseconds, `Z`; stamps compare correctly as strings."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_iso() -> str:
    return iso_ms(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
