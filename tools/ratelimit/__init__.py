"""Per-identity, per-class rate limits with the `limits` library (in-process or Redis storage)."""

from secaudit.tools.ratelimit.limiter import COST_CLASSES, RateLimiter, parse_rule, redacted_url

__all__ = ["COST_CLASSES", "RateLimiter", "parse_rule", "redacted_url"]
