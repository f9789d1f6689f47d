"""Prometheus metrics of the HTTP face, in a registry of its own (several apps per process in tests).

Label values come only from fixed sets (routes, known tool names, event kinds, status codes), never
from client text, so a client cannot blow up the series count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from secaudit.tools.events import SecurityEvent

__all__ = ["CONTENT_TYPE_LATEST", "HttpMetrics"]


class HttpMetrics:
    def __init__(self, tool_names: Iterable[str], sessions_open: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._tools = frozenset(tool_names)
        self.requests = Counter(
            "secaudit_http_requests",
            "HTTP requests answered, by route and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "secaudit_tool_calls",
            "Tool calls, by tool and outcome",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.tool_seconds = Histogram(
            "secaudit_tool_call_seconds", "Tool call duration", ["tool"], registry=self.registry
        )
        self.events = Counter(
            "secaudit_security_events", "Security events, by kind", ["kind"], registry=self.registry
        )
        self._request_children: dict[tuple[str, int], Counter] = {}
        self._tool_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        sessions = Gauge("secaudit_http_sessions_open", "Open MCP sessions", registry=self.registry)
        sessions.set_function(lambda: float(sessions_open()))

    def request_answered(self, route: str, status: int) -> None:
        # `labels()` takes a lock and rebuilds its key on every call; the children are looked up
        # once per label set here (the sets are small and fixed: see the module docstring).
        key = (route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, str(status))
        child.inc()

    def observe_event(self, event: SecurityEvent) -> None:
        self.events.labels(event.kind).inc()
        if event.kind == "tool_call":
            tool = event.tool if event.tool in self._tools else "unknown"
            outcome = event.outcome if event.outcome and len(event.outcome) <= 40 else "other"
            key = (tool, outcome)
            children = self._tool_children.get(key)
            if children is None:
                children = self._tool_children[key] = (
                    self.tool_calls.labels(tool, outcome),
                    self.tool_seconds.labels(tool),
                )
            children[0].inc()
            if event.duration_ms is not None:
                children[1].observe(event.duration_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
