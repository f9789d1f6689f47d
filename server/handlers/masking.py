"""mask_secrets: mask every secret in a text; report what was masked, never a raw value."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from pydantic import BaseModel, Field, StrictBool, StrictStr

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.redaction import configured_secrets
from secaudit.server.toolkit import StrictInput, ToolSpec
from secaudit.tools.masking import mask_text

__all__ = ["MAX_MASK_CHARS", "TOOLS"]

MAX_MASK_CHARS = 2 * 1024 * 1024


class MaskInput(StrictInput):
    text: Annotated[
        StrictStr, Field(max_length=MAX_MASK_CHARS, description="any text, up to 2 Mi characters")
    ]
    entropy: StrictBool = Field(
        default=True, description="also mask random-looking strings (may catch ids, hashes)"
    )


class MaskedSpan(BaseModel):
    kind: str = Field(description="what was found, e.g. private_key, github_token, url_credentials")
    start: int = Field(description="character offset in the input where the masked span starts")
    end: int = Field(description="character offset in the input where it ends (exclusive)")
    line: int = Field(description="1-based line of the start")
    preview: str = Field(description="first and last 4 characters when the value is long, else ***")


class MaskOutput(BaseModel):
    masked: str
    count: int
    matches: list[MaskedSpan]


async def mask_secrets(app: AppContext, args: MaskInput, call: CallInfo) -> MaskOutput:
    # The server's own secrets match no pattern: named, so they are counted and listed like the rest.
    own = configured_secrets(app.settings)
    result = await anyio.to_thread.run_sync(
        lambda: mask_text(args.text, extra_secrets=own, entropy=args.entropy)
    )
    spans = [
        MaskedSpan(kind=m.kind, start=m.start, end=m.end, line=m.line, preview=m.preview)
        for m in result.matches
    ]
    return MaskOutput(masked=result.masked, count=len(spans), matches=spans)


TOOLS = [
    ToolSpec(
        name="mask_secrets",
        title="Mask secrets",
        description=(
            "Replace every secret in a text (keys, tokens, credentials, high-entropy strings) with "
            "[MASKED:kind]; returns text and spans."
        ),
        input_model=MaskInput,
        output_model=MaskOutput,
        handler=mask_secrets,
        scope="read",
        cost="read",
        read_only=True,
        idempotent=True,
    )
]
