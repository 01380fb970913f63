"""The stack file reference in Markdown, generated from the stack file's JSON Schema, so the
documentation can never drift from what ``validate`` accepts (``fishnet-stack schema
--markdown``; docs/stackfile.md embeds the output and a test keeps it current)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["BEGIN", "END", "reference_markdown"]

BEGIN = "<!-- generated reference: begin (fishnet-stack schema --markdown) -->"
END = "<!-- generated reference: end -->"


def _type(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        return f"[{spec['$ref'].rsplit('/', 1)[-1]}](#{spec['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"map of {_type(spec['additionalProperties'])}"
    return str(kind)


def _limits(spec: Mapping[str, Any]) -> str:
    parts = []
    for key, label in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"),
                       ("minLength", "length >="), ("maxLength", "length <=")):
        if key in spec:
            parts.append(f"{label} {spec[key]}")
    if "pattern" in spec:
        parts.append(f"pattern `{spec['pattern']}`")
    if "enum" in spec:
        parts.append("one of " + ", ".join(f"`{v}`" for v in spec["enum"]))
    return "; ".join(parts)


def _table(schema: Mapping[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| key | type | required | default | notes |", "|---|---|---|---|---|"]
    for name, spec in schema.get("properties", {}).items():
        default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
        notes = " ".join(p for p in (spec.get("description", ""), _limits(spec)) if p)
        rows.append(f"| `{name}` | {_type(spec)} | {'yes' if name in required else ''} | "
                    f"{default} | {notes.replace('|', '/')} |")
    return rows


def reference_markdown(schema: Mapping[str, Any]) -> str:
    """Every object of the schema as a table: the top level, then each definition."""
    lines = [BEGIN, "", "### Top level", "", *_table(schema)]
    for name, definition in sorted(schema.get("$defs", {}).items()):
        lines += ["", f"### {name}", ""]
        if definition.get("description"):
            lines += [definition["description"].strip(), ""]
        lines += _table(definition)
    return "\n".join([*lines, "", END])
