"""How a tool is declared and registered: one `ToolSpec` per tool, one wrapper for all.

The wrapper is the single path every call takes: validate the arguments against the tool's strict
input model, run the guards (rate limits, scopes, audit), call the handler, redact the result, and
translate any error. Handlers stay plain typed functions: `(app, args, call) -> OutputModel`; a long
one runs its work through `run_cancellable`, so that a caller's cancel stops it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve, build_resolver_plans, resolve_arguments
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, InputRequiredResult, ResourceLink, TextContent, ToolAnnotations
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.errors import public_message
from secaudit.server.summaries import text_content
from secaudit.server.tool_schemas import lean_schema
from secaudit.tools.errors import Cancelled
from secaudit.tools.walker import CancelToken

__all__ = [
    "CURSOR_NOTE",
    "NEXT_CURSOR_NOTE",
    "Cost",
    "LinksResources",
    "OutputSchemas",
    "Scope",
    "StrictInput",
    "ToolSpec",
    "build_tool",
    "current_identity",
    "guards_after",
    "guards_before",
    "run_cancellable",
    "tool_spec",
]

log = logging.getLogger("secaudit.tools")

Scope = Literal["read", "write", "fix", "admin"]
Cost = Literal["read", "write", "audit"]
OutputSchemas = Literal["lean", "full"]


# The paging fields' descriptions, one wording in every listing tool (each byte of the tool list
# is in every agent's context).
CURSOR_NOTE = "a page's next_cursor"
NEXT_CURSOR_NOTE = "next page's `cursor`; null at end"


class StrictInput(BaseModel):
    """Base of every tool's input: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LinksResources(BaseModel):
    """An output that also points at resources: each link goes into the result's content as a
    `resource_link` block (after the JSON text), beside the structured output."""

    def resource_links(self) -> list[ResourceLink]:
        return []


# From this protocol revision on, a tool asks through an input-required result, not a mid-call request.
_INPUT_REQUIRED_VERSION = "2026-07-28"


class _Confirm(BaseModel):
    """The form a confirmation shows: one yes/no field, which the user must tick to accept."""

    apply: bool = Field(title="Apply", description="write the changes listed above")


class _InputRequired(Exception):
    """Carries the SDK's input-required answer (protocol 2026-07-28) out of a handler."""

    def __init__(self, result: InputRequiredResult) -> None:
        super().__init__("input required")
        self.result = result


def _confirmer(ctx: Context[AppContext, Any]) -> Callable[[str], Awaitable[str]] | None:
    """A yes/no question for the client's user, on either protocol era: the SDK's resolver
    machinery sends `elicitation/create` mid-call (2025 revisions) or answers the call with an
    input-required result and finds the answer in the retry (2026-07-28). None when the client
    did not declare form elicitation: the tool must not ask then."""
    try:
        capabilities = ctx.client_capabilities
    except ValueError:  # no request (a direct call in a test): nobody to ask
        return None
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return None
    version = ctx.protocol_version
    modern = version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)
    if not modern and not ctx.session.can_send_request:
        return None  # a mid-call request could not reach the client on this channel

    async def confirm(message: str) -> str:
        def ask() -> Elicit[_Confirm]:
            return Elicit(message, _Confirm)

        wanted: dict[str, tuple[Resolve, bool]] = {"answer": (Resolve(ask), True)}
        resolved = await resolve_arguments(wanted, build_resolver_plans(wanted, set()), {}, ctx)
        if isinstance(resolved, InputRequiredResult):
            raise _InputRequired(resolved)
        outcome = resolved["answer"]
        if isinstance(outcome, AcceptedElicitation):
            # Accepting the form with the box unticked is a no.
            return "accept" if isinstance(outcome.data, _Confirm) and outcome.data.apply else "decline"
        return str(outcome.action)

    return confirm


Handler = Callable[[AppContext, Any, CallInfo], Awaitable[BaseModel]]


async def guards_before(app: AppContext, info: CallInfo, arguments: dict[str, Any]) -> None:
    """Every guard's check, in order (scope, rate limit, ...); the first refusal raises. Tool calls
    and resource reads pass the same guards."""
    for guard in app.guards:
        await guard.before(app, info, arguments)


async def guards_after(app: AppContext, info: CallInfo, arguments: dict[str, Any], outcome: str) -> None:
    """Every guard's record of the outcome, last first; a failing guard is logged, never raised, so
    it cannot change the caller's answer."""
    for guard in reversed(app.guards):
        try:
            await guard.after(app, info, arguments, outcome)
        except Exception:
            log.exception("call guard failed after %s", info.tool)


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


_T = TypeVar("_T")


async def run_cancellable(work: Callable[[], _T], token: CancelToken, *, grace: float) -> _T:
    """`work()` in a worker thread, stopped through `token` when the caller cancels the call.

    On cancellation the token is set, then this waits (shielded, at most `grace` seconds) for `work`
    to return, so what it does on the way out (a run recorded as cancelled, a batch in flight
    written) is done before the cancellation is re-raised. `work` must check the token.
    """
    started = threading.Event()
    finished = threading.Event()

    def tracked() -> _T:
        started.set()
        try:
            if token.is_cancelled():
                raise Cancelled("cancelled before it started")
            return work()
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(tracked, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        token.cancel()
        # A cancel while waiting for a worker thread (all busy) means `work` never started: nothing
        # to wait for. Else wait on a limiter of its own, which busy workers cannot hold up.
        if started.is_set():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(finished.wait, grace, limiter=anyio.CapacityLimiter(1))
        raise


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
    async def call(
        raw: dict[str, Any], ctx: Context[AppContext, Any]
    ) -> CallToolResult | InputRequiredResult:
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
            confirm=_confirmer(ctx),
        )
        outcome = "error"
        try:
            await guards_before(app, info, raw)
            try:
                args = spec.input_model.model_validate(raw)
            except ValidationError as exc:
                outcome = "invalid"
                raise ToolError(public_message(exc)) from None
            try:
                result = await spec.handler(app, args, info)
            except _InputRequired as asked:
                outcome = "input_required"
                return asked.result
            outcome = "ok"
            redacted = app.redact_obj(result.model_dump(mode="json"))
            # Redaction keeps the shape; validating again proves it.
            output = spec.output_model.model_validate(redacted)
            data = output.model_dump(mode="json", by_alias=True)
            text = text_content(spec.name, data, app.settings.text_content)
            links = output.resource_links() if isinstance(output, LinksResources) else []
            return CallToolResult(
                content=[TextContent(type="text", text=text), *links], structured_content=data
            )
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the one place every tool error is translated
            if outcome == "error" and hasattr(exc, "code"):
                outcome = str(exc.code)
            raise ToolError(public_message(exc, what=f"tool {spec.name}")) from None
        finally:
            await guards_after(app, info, raw, outcome)

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
