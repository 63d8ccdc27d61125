"""JSON Schemas (draft 2020-12), one per request and response of every operation.

Semantics: property names are canonical wire names; every value is a string, or null where
optional; required means present, not null and not blank; unknown properties are allowed, as
the service ignores them. First-visit requirements and dependent enums become `if`/`then`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import Condition, Enum, Field, Format, Operation, Spec
from .patterns import value_pattern

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BLANK = "blank"


def schema_id(spec: Spec, operation: str, part: str) -> str:
    """The `$id` of one generated schema."""
    return f"urn:scforhis:{spec.api.name}:{spec.api.manual_version}:{operation}.{part}"


def schema_file_name(operation: str, part: str) -> str:
    """`Save.request.schema.json`."""
    return f"{operation}.{part}.schema.json"


def enum_schema(enum: Enum) -> dict[str, Any]:
    """An enum as a string schema with the labels other-language generators read."""
    return {
        "title": enum.label,
        "description": enum.label_en,
        "type": "string",
        "enum": list(enum.codes),
        "x-enum-varnames": [value.name for value in enum.values],
        "x-enum-descriptions": [f"{value.label} ({value.label_en})" for value in enum.values],
    }


def format_schema(fmt: Format) -> dict[str, Any]:
    """A named format as a string schema; text formats only require something not blank."""
    schema: dict[str, Any] = {"title": fmt.label, "description": fmt.label_en, "type": "string"}
    schema["pattern"] = fmt.pattern if fmt.pattern else "\\S"
    if fmt.example is not None:
        schema["examples"] = [fmt.example]
    return schema


def blank_schema() -> dict[str, Any]:
    """What an optional field may hold instead of a value: null, empty, or only spaces."""
    return {
        "title": "空白",
        "description": "No value: null, empty, or only white space",
        "type": ["string", "null"],
        "pattern": "^\\s*$",
    }


class Defs:
    """Collects the definitions a document uses, so each format and enum is written once.

    `prefix` is where they live: `#/$defs/` in a JSON Schema, `#/components/schemas/` in OpenAPI.
    """

    def __init__(self, prefix: str = "#/$defs/") -> None:
        self.prefix = prefix
        self.defs: dict[str, dict[str, Any]] = {}

    def ref(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """A reference to the definition `name`, recording `schema` as it the first time."""
        self.defs.setdefault(name, schema)
        return {"$ref": f"{self.prefix}{name}"}

    def value(self, field: Field, enum: Enum | None = None) -> dict[str, Any]:
        """The schema of a present, non-blank value of `field` (with `enum` overriding its own)."""
        enum = enum or field.enum
        if enum is not None:
            return self.ref(enum.key, enum_schema(enum))
        assert field.format is not None
        if field.format.kind in ("integer", "decimal"):
            return {"type": "string", "pattern": value_pattern(field)}
        return self.ref(field.format.key, format_schema(field.format))

    def optional(self, field: Field, enum: Enum | None = None) -> dict[str, Any]:
        """A value of `field`, or blank."""
        return {"anyOf": [self.value(field, enum), self.ref(BLANK, blank_schema())]}


def _annotations(field: Field) -> dict[str, Any]:
    text = f"{field.label_en}."
    if field.description != field.label:
        text += f" 手冊說明：{field.description}"
    if field.format is not None and field.format.kind != "text":
        text += f" 格式 format：{field.format.label} ({field.format.label_en})"
    if field.condition is not None:
        text += f" {field.condition.label}必填 (required for a {field.condition.label_en})"
    notes: dict[str, Any] = {"title": field.label, "description": text.strip()}
    notes["x-manual-name"] = field.table_name
    notes["x-required"] = field.required
    if field.minimum is not None:
        notes["x-minimum"] = field.minimum
        notes["x-maximum"] = field.maximum
    if field.sensitive:
        notes["x-sensitive"] = field.sensitive
    if field.since:
        notes["x-since"] = field.since
    if field.example is not None and not field.sensitive:
        notes["examples"] = [field.example]
    return notes


def _when(condition: Condition, fields: tuple[Field, ...]) -> dict[str, Any]:
    wire = next(f.wire for f in fields if f.key == condition.field)
    return {"properties": {wire: {"const": condition.equals}}, "required": [wire]}


def object_schema(fields: tuple[Field, ...], defs: Defs) -> dict[str, Any]:
    """`properties`, `required` and `allOf` (conditional rules) for a set of fields."""
    properties: dict[str, Any] = {}
    for field in fields:
        body = defs.value(field) if field.always_required else defs.optional(field)
        properties[field.wire] = {**_annotations(field), **body}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = [f.wire for f in fields if f.always_required]
    rules: list[dict[str, Any]] = []
    conditions: dict[str, Condition] = {}
    for field in fields:
        if field.condition is not None:
            conditions.setdefault(field.condition.key, field.condition)
    for condition in conditions.values():
        needed = [f for f in fields if f.condition == condition]
        rules.append(
            {
                "description": f"{condition.label}必填 / required for a {condition.label_en}",
                "if": _when(condition, fields),
                "then": {
                    "required": [f.wire for f in needed],
                    "properties": {f.wire: defs.value(f) for f in needed},
                },
            }
        )
    for field in fields:
        for dependent in field.depends:
            body = (
                defs.value(field, dependent.enum)
                if field.always_required
                else defs.optional(field, dependent.enum)
            )
            rules.append(
                {
                    "description": f"{dependent.condition.label}時{field.label}為{dependent.enum.label}",
                    "if": _when(dependent.condition, fields),
                    "then": {"properties": {field.wire: body}},
                }
            )
    if rules:
        schema["allOf"] = rules
    # The service ignores unknown properties, so a payload may carry them.
    schema["additionalProperties"] = True
    return schema


def request_body(spec: Spec, operation: Operation, defs: Defs) -> dict[str, Any]:
    """An operation's request (its JSON body, or its query-string mapping), refs through `defs`."""
    carried = "查詢字串 query string" if operation.input == "query" else "JSON 本文 JSON body"
    schema: dict[str, Any] = {
        "title": f"{operation.name} {operation.summary} 請求",
        "description": (
            f"{operation.summary_en} ({operation.method} {operation.path}, {carried}). "
            f"{spec.api.name} {spec.api.manual_version}"
        ),
        "x-operation": {
            "method": operation.method,
            "path": operation.path,
            "service": operation.service.key,
        },
        **object_schema(operation.fields, defs),
    }
    # The service binds names in any letter case (ASP.NET), so `HOSP_ID` is hosP_ID too, and
    # System.Text.Json refuses a value that is not a string for it (400): say so for every
    # spelling, since `properties` names only the canonical one.
    schema["patternProperties"] = {
        any_case(field.wire): {"type": ["string", "null"]} for field in operation.fields
    }
    if operation.examples:
        schema["examples"] = [example.request for example in operation.examples]
    return schema


def any_case(name: str) -> str:
    """An ECMA-262 pattern matching exactly `name` in any letter case (`id` -> `^[iI][dD]$`)."""
    letters = (f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
    return "^" + "".join(letters) + "$"


def response_body(operation: Operation, defs: Defs) -> dict[str, Any]:
    """An operation's response: a JSON object, or plain text; refs through `defs`."""
    response = operation.response
    schema: dict[str, Any] = {
        "title": f"{operation.name} {operation.summary} 回應",
        "description": f"The service's answer to {operation.name}. 成功訊息 success: {'、'.join(response.success_messages)}",
        "x-success-messages": list(response.success_messages),
    }
    if response.kind == "text":
        schema.update({"type": "string", "contentMediaType": "text/plain"})
    else:
        schema.update(object_schema(response.fields, defs))
    examples = [e.response for e in operation.examples if e.response is not None]
    if examples:
        schema["examples"] = examples
    return schema


def standalone(spec: Spec, operation: Operation, part: str) -> dict[str, Any]:
    """A self-contained schema file: dialect, `$id`, the body, and the `$defs` it uses."""
    defs = Defs()
    body = (
        request_body(spec, operation, defs) if part == "request" else response_body(operation, defs)
    )
    schema = {"$schema": DIALECT, "$id": schema_id(spec, operation.name, part), **body}
    if defs.defs:
        schema["$defs"] = dict(sorted(defs.defs.items()))
    return schema


def render_json(document: Any) -> str:
    """Deterministic JSON text: UTF-8 as is, two-space indent, trailing newline."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def emit_schemas(spec: Spec) -> dict[str, str]:
    """Every schema file, keyed by its path under generated/."""
    files: dict[str, str] = {}
    for operation in spec.operations:
        for part in ("request", "response"):
            files[f"schemas/{schema_file_name(operation.name, part)}"] = render_json(
                standalone(spec, operation, part)
            )
    return files
