"""How a tool is declared and registered: one `ToolSpec` per tool, one wrapper for all.

The wrapper is the single path every call takes: validate the arguments against the tool's strict
input model, run the guards (rate limits, scopes, audit), call the handler, redact the result, and
translate any error. Handlers stay plain typed functions: `(app, args, call) -> OutputModel`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.errors import public_message
from secaudit.server.summaries import text_content
from secaudit.server.tool_schemas import lean_schema

__all__ = [
    "Cost",
    "OutputSchemas",
    "Scope",
    "StrictInput",
    "ToolSpec",
    "build_tool",
    "current_identity",
    "tool_spec",
]

log = logging.getLogger("secaudit.tools")

Scope = Literal["read", "write", "fix", "admin"]
Cost = Literal["read", "write", "audit"]
OutputSchemas = Literal["lean", "full"]


class StrictInput(BaseModel):
    """Base of every tool's input: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Handler = Callable[[AppContext, Any, CallInfo], Awaitable[BaseModel]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    input_model: type[StrictInput]
    output_model: type[BaseModel]
    handler: Handler
    scope: Scope
    cost: Cost
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False
    # The toolset the tool is served in (`SECAUDIT_TOOLSETS`); set by `handlers.all_tools`.
    toolset: str = ""


def tool_spec(
    name: str,
    title: str,
    description: str,
    inp: type[StrictInput],
    out: type[BaseModel],
    handler: object,
    *,
    read_only: bool,
    cost: Cost | None = None,
    idempotent: bool = False,
) -> ToolSpec:
    """A read or write tool's spec: scope and rate-limit class follow from `read_only` unless given."""
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_model=inp,
        output_model=out,
        handler=handler,  # type: ignore[arg-type]
        scope="read" if read_only else "write",
        cost=cost or ("read" if read_only else "write"),
        read_only=read_only,
        idempotent=idempotent,
    )


class _PassThrough(FuncMetadata):
    """Hands the raw arguments to our wrapper, which validates them itself.

    The SDK's own validation would echo rejected values in its error text and accept unknown
    fields; ours names fields only and refuses extras.
    """

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        return {"raw": dict(arguments_to_validate)}


# Transport layers (HTTP auth) set who is calling; stdio callers are the local user.
_identity_provider: Callable[[], tuple[str, str]] = lambda: ("local", "stdio")  # noqa: E731


def set_identity_provider(provider: Callable[[], tuple[str, str]]) -> None:
    global _identity_provider
    _identity_provider = provider


def current_identity() -> tuple[str, str]:
    return _identity_provider()


def build_tool(spec: ToolSpec, *, output_schemas: OutputSchemas = "lean") -> Tool:
    async def call(raw: dict[str, Any], ctx: Context[AppContext, Any]) -> CallToolResult:
        app: AppContext = ctx.request_context.lifespan_context
        identity, transport = current_identity()

        async def progress(done: float, total: float | None, message: str | None) -> None:
            await ctx.report_progress(done, total, message)

        info = CallInfo(
            tool=spec.name,
            identity=identity,
            scope=spec.scope,
            cost=spec.cost,
            transport=transport,
            progress=progress,
        )
        outcome = "error"
        try:
            for guard in app.guards:
                await guard.before(app, info, raw)
            try:
                args = spec.input_model.model_validate(raw)
            except ValidationError as exc:
                outcome = "invalid"
                raise ToolError(public_message(exc)) from None
            result = await spec.handler(app, args, info)
            outcome = "ok"
            redacted = app.redact_obj(result.model_dump(mode="json"))
            # Redaction keeps the shape; validating again proves it.
            data = spec.output_model.model_validate(redacted).model_dump(mode="json", by_alias=True)
            text = text_content(spec.name, data, app.settings.text_content)
            return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the one place every tool error is translated
            if outcome == "error" and hasattr(exc, "code"):
                outcome = str(exc.code)
            raise ToolError(public_message(exc, what=f"tool {spec.name}")) from None
        finally:
            for guard in reversed(app.guards):
                try:
                    await guard.after(app, info, raw, outcome)
                except Exception:
                    log.exception("call guard failed after %s", spec.name)

    # The title is the tool's own (not repeated here); a hint is left out where the spec's default
    # says the same: idempotent false, and destructive for a read-only tool (meaningless there).
    annotations = ToolAnnotations(
        read_only_hint=spec.read_only,
        destructive_hint=None if spec.read_only else spec.destructive,
        idempotent_hint=spec.idempotent or None,
        open_world_hint=spec.open_world,
    )
    output_schema = lean_schema(
        spec.output_model.model_json_schema(), output=True, nested=output_schemas == "full"
    )
    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=lean_schema(spec.input_model.model_json_schema(), output=False),
        # No output_model for the SDK: the wrapper validates the result itself, once (the SDK would
        # validate the same dict again); the schema is still published and clients check it.
        fn_metadata=_PassThrough(arg_model=ArgModelBase, output_schema=output_schema),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations,
    )
