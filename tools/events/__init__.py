"""The security events table: auth failures, refusals, rate-limit hits and every tool call."""

from secaudit.tools.events.service import EVENT_KINDS, MIGRATIONS, EventLog, SecurityEvent, args_digest

__all__ = ["EVENT_KINDS", "MIGRATIONS", "EventLog", "SecurityEvent", "args_digest"]
