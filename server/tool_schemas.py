"""Lean JSON Schemas for `tools/list`: what pydantic emits, minus what tells a client nothing.

Every tool's input and output schema is sent to the client (and usually to the model) on every
session; pydantic's schemas spend most of their bytes on things a client cannot use:

- a `title` on every property and model, derived from the name it already sits under;
- `anyOf: [{type: X}, {type: "null"}]` for every optional field, where `type: [X, "null"]` says the
  same in a third of the bytes;
- in output schemas, `default` values (the server always sends every field, so a default never
  applies) and `additionalProperties: true` (the JSON Schema default);
- a property's description repeated from the model it refers to;
- in input schemas, the `null` of an optional field whose default is null: leaving the field out
  says the same (the server still accepts an explicit null, so every call the schema allows works);
- the 64-bit integer bounds of ids and orders (the storage's range, not a choice a caller makes;
  the server still refuses a larger number).

Output schemas are lean by default in one more way: the result's own fields are typed, and a record
nested in them is `{"type": "object"}` (its fields are documented in docs/tools.md). Full nested
definitions (`$defs`) cost ~50 KB over all tools, more than twice the whole lean list; clients that
want them set `SECAUDIT_OUTPUT_SCHEMAS=full`.

The result is still a valid Draft 2020-12 schema accepting exactly the same instances (tests check
both with `jsonschema`). Only schema positions are rewritten: a property *named* `title` or
`default` is left alone, and `enum`, `const`, `default` and `examples` values are never entered.
"""

from __future__ import annotations

from typing import Any

__all__ = ["lean_schema"]

# Keywords whose value is one schema, a list of schemas, or a name -> schema map.
_ONE: tuple[str, ...] = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_ONE += ("propertyNames", "unevaluatedItems", "unevaluatedProperties")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# What a non-null branch may hold to be merged with a null branch into one `type` list; anything
# else (a `$ref`, `const`, nested combinators) keeps its `anyOf`.
_MERGEABLE = frozenset(
    {
        "type",
        "description",
        "format",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "required",
        "additionalProperties",
    }
)
_NULL = {"type": "null"}
_LOCAL = "#/$defs/"


_INT64 = (2**63 - 1, -(2**63))


def lean_schema(schema: dict[str, Any], *, output: bool, nested: bool = True) -> dict[str, Any]:
    """A copy of `schema`, leaner and equivalent; `output` also drops defaults (see the module doc).

    `nested=False` (outputs only) keeps the root's fields and makes every nested record a plain object.
    """
    schema = _inline_root_ref(schema)
    defs = schema.get("$defs", {})
    descriptions = {
        _LOCAL + name: d["description"]
        for name, d in defs.items()
        if isinstance(d, dict) and isinstance(d.get("description"), str)
    }
    result: dict[str, Any] = _node(schema, output=output, descriptions=descriptions)
    if not nested:
        result.pop("$defs", None)
        result = _flatten_refs(result)
    return result


def _inline_root_ref(schema: dict[str, Any]) -> dict[str, Any]:
    # A self-referential model's schema is a bare `$ref`; a tool schema needs an object root.
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith(_LOCAL):
        return schema
    definition: dict[str, Any] = schema["$defs"][ref.removeprefix(_LOCAL)]
    return {**definition, **{k: v for k, v in schema.items() if k != "$ref"}}


def _flatten_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_flatten_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        flat = {k: v for k, v in node.items() if k != "$ref"}
        flat["type"] = "object"
        return flat
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ONE:
            out[key] = _flatten_refs(value)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_flatten_refs(v) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {k: _flatten_refs(v) for k, v in value.items()}
        else:
            out[key] = value
    _merge_nullable(out)
    return out


def _node(schema: Any, *, output: bool, descriptions: dict[str, str]) -> Any:
    if not isinstance(schema, dict):
        return schema  # `true` / `false` schemas
    if not output and isinstance(schema.get("properties"), dict):
        required = set(schema.get("required", ()))
        schema = dict(schema)
        schema["properties"] = {
            name: _without_null(prop) if name not in required and _defaults_to_null(prop) else prop
            for name, prop in schema["properties"].items()
        }
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and (output or value is None)):
            continue
        if key in ("maximum", "minimum") and value in _INT64:
            continue
        if key in _ONE:
            out[key] = _node(value, output=output, descriptions=descriptions)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_node(v, output=output, descriptions=descriptions) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {k: _node(v, output=output, descriptions=descriptions) for k, v in value.items()}
        else:
            out[key] = value
    if output and out.get("additionalProperties") is True:
        del out["additionalProperties"]
    _merge_nullable(out)
    _drop_repeated_description(out, descriptions)
    return out


def _defaults_to_null(prop: Any) -> bool:
    return isinstance(prop, dict) and "default" in prop and prop["default"] is None


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    branches = prop.get("anyOf")
    if not isinstance(branches, list) or _NULL not in branches:
        return prop
    rest = [b for b in branches if b != _NULL]
    out = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    if len(rest) != 1 or not isinstance(rest[0], dict):
        return {**out, "anyOf": rest}
    branch = dict(rest[0])
    if "description" in out:
        branch.pop("description", None)  # the field's own description says more than its type's
    if any(key in out for key in branch):
        return {**out, "anyOf": rest}
    return {**out, **branch}


def _merge_nullable(node: dict[str, Any]) -> None:
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or _NULL not in branches:
        return
    other = branches[0] if branches[1] == _NULL else branches[1]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or not set(other) <= _MERGEABLE:
        return
    merged = dict(other)
    if "description" in node:
        merged.pop("description", None)  # the field's own description says more than its type's
    if any(key in node for key in merged):
        return  # a sibling keyword would be overwritten

    merged["type"] = [other["type"], "null"]
    if "enum" in merged and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    del node["anyOf"]
    node.update(merged)


def _drop_repeated_description(node: dict[str, Any], descriptions: dict[str, str]) -> None:
    # `{"$ref": X, "description": D}` or `{"anyOf": [{"$ref": X}, null], "description": D}` where D
    # is X's own description: the client reads it once, in `$defs`.
    description = node.get("description")
    if description is None:
        return
    refs = [node.get("$ref")] + [b.get("$ref") for b in node.get("anyOf", []) if isinstance(b, dict)]
    if any(isinstance(ref, str) and descriptions.get(ref) == description for ref in refs):
        del node["description"]
