"""JSON Schemas (draft 2020-12), one per request and response of every operation.

Semantics: property names are canonical wire names; every value is a string, or null where
optional; required means present, not null and not blank; unknown properties are allowed, as
the service ignores them. First-visit requirements and dependent enums become `if`/`then`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .model import Condition, Enum, Evidence, Field, Format, Operation, Spec
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


def evidence_note(evidence: Evidence) -> dict[str, Any]:
    """Evidence as an annotation: its kind, what it says, and its source."""
    note: dict[str, Any] = {
        "kind": evidence.kind,
        "says": evidence.says,
        "says_en": evidence.says_en,
    }
    if evidence.why:
        note["why"], note["why_en"] = evidence.why, evidence.why_en
    if evidence.source:
        note["source"] = evidence.source
    return note


def format_schema(fmt: Format) -> dict[str, Any]:
    """A named format as a string schema; text formats only require something not blank.

    A format whose evidence is judgement (plausibility) only warns in the Python validator, so
    the schema, which says what the service refuses, carries its pattern as `x-pattern` only.
    """
    schema: dict[str, Any] = {"title": fmt.label, "description": fmt.label_en, "type": "string"}
    refusing = fmt.evidence is None or fmt.evidence.severity == "error"
    if fmt.pattern and refusing:
        schema["pattern"] = fmt.pattern
    else:
        schema["pattern"] = "\\S"
    if fmt.pattern and not refusing:
        schema["x-pattern"] = fmt.pattern
    if fmt.max_length is not None:
        schema["maxLength"] = fmt.max_length
    if fmt.evidence is not None:
        schema["x-evidence"] = evidence_note(fmt.evidence)
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
            if field.value_severity == "error":
                return {"type": "string", "pattern": value_pattern(field)}
            # No limit the service is known to enforce: any text; the number is advice.
            return {"type": "string", "pattern": "\\S", "x-pattern": value_pattern(field)}
        return self.ref(field.format.key, format_schema(field.format))

    def optional(self, field: Field, enum: Enum | None = None) -> dict[str, Any]:
        """A value of `field`, or blank."""
        return {"anyOf": [self.value(field, enum), self.ref(BLANK, blank_schema())]}


def field_annotations(field: Field) -> dict[str, Any]:
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
    # Plausible ranges and advice only warn: annotations, never constraints.
    if field.plausible is not None:
        notes["x-minimum"] = field.plausible.minimum
        notes["x-maximum"] = field.plausible.maximum
    elif field.minimum is not None:
        notes["x-minimum"] = field.minimum
        notes["x-maximum"] = field.maximum
    checks: dict[str, Any] = {}
    if field.value_evidence is not None:
        checks["value"] = evidence_note(field.value_evidence)
    if field.plausible is not None:
        checks["plausible"] = {
            **evidence_note(field.plausible.evidence),
            "hint": field.plausible.hint,
            "hint_en": field.plausible.hint_en,
        }
    if field.advice:
        checks["advice"] = [
            {"pattern": a.pattern, **evidence_note(a.evidence)} for a in field.advice
        ]
    if field.absent is not None:
        checks["absent"] = evidence_note(field.absent.evidence)
    if checks:
        notes["x-evidence"] = checks
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


def _dependent_rules(
    fields: tuple[Field, ...],
    defs: Defs,
    condition_test: Callable[[Condition], dict[str, Any]],
    value_test: Callable[[Field, dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """`if`/`then` for each enum that applies while a condition holds (CURE_WEEK 1-4 for
    medication); the two tests say how a condition and a value are found in the object."""
    rules = []
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
                    "if": condition_test(dependent.condition),
                    "then": value_test(field, body),
                }
            )
    return rules


def object_schema(fields: tuple[Field, ...], defs: Defs) -> dict[str, Any]:
    """`properties`, `required` and `allOf` (conditional rules) for a set of fields."""
    properties: dict[str, Any] = {}
    for field in fields:
        body = defs.value(field) if field.always_required else defs.optional(field)
        properties[field.wire] = {**field_annotations(field), **body}
        if field.alias:
            # The manual's other name for the field (erratum examyyear): send the same value.
            properties[field.alias] = {
                "title": f"{field.label}（別名）",
                "description": f"Another name of {field.wire} in the manual's examples; send the same value under both.",
                "x-alias-of": field.wire,
                **defs.optional(field),
            }
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
    rules += _dependent_rules(
        fields,
        defs,
        lambda condition: _when(condition, fields),
        lambda field, body: {"properties": {field.wire: body}},
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
    # One alternation rather than one pattern per field: a validator tests each name once,
    # not once per field (`python -m bench.schemas`: Ajv 7x faster on a Save with it merged).
    spellings = [f.wire for f in operation.fields] + [f.alias for f in operation.fields if f.alias]
    names = "|".join(any_case(name)[1:-1] for name in spellings)
    schema["patternProperties"] = {f"^(?:{names})$": {"type": ["string", "null"]}}
    if operation.examples:
        schema["examples"] = [example.request for example in operation.examples]
    return schema


def any_case(name: str) -> str:
    """An ECMA-262 pattern matching exactly `name` in any letter case (`id` -> `^[iI][dD]$`)."""
    letters = (f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
    return "^" + "".join(letters) + "$"


def _spelled(wire: str, value: dict[str, Any] | None = None) -> dict[str, Any]:
    """Some member is named `wire` in any letter case (and every such spelling holds `value`).

    "Not every name fails the pattern": `required` would name only one spelling.
    """
    pattern = any_case(wire)
    test: dict[str, Any] = {"not": {"propertyNames": {"not": {"pattern": pattern}}}}
    if value is not None:
        test["patternProperties"] = {pattern: value}
    return test


def _reply_object(fields: tuple[Field, ...], defs: Defs) -> dict[str, Any]:
    """`object_schema` for a reply, whose member names may come in any letter case.

    The manual prints `msg_CODE` (Update) and `MSG_CODE` (GetTokenID), the serializer writes
    `msG_CODE`, and the client reads names ignoring case (scforhis/client/replies.py). `properties`
    keep the canonical names for documentation; `patternProperties` hold every spelling to the
    value schema, and each requirement (always, or under a condition) accepts any spelling.
    """
    wires = {f.key: f.wire for f in fields}
    rules: list[dict[str, Any]] = [
        {
            "description": f"{f.table_name} 必填（名稱不分大小寫）/ required, in any letter case",
            **_spelled(f.wire),
        }
        for f in fields
        if f.always_required
    ]
    conditions: dict[str, Condition] = {}
    for field in fields:
        if field.condition is not None:
            conditions.setdefault(field.condition.key, field.condition)
    for condition in conditions.values():
        when = _spelled(wires[condition.field], {"const": condition.equals})
        needed = [_spelled(f.wire, defs.value(f)) for f in fields if f.condition == condition]
        rules.append(
            {
                "description": f"{condition.label}必填 / required for a {condition.label_en}",
                "if": when,
                "then": needed[0] if len(needed) == 1 else {"allOf": needed},
            }
        )
    rules += _dependent_rules(
        fields,
        defs,
        lambda condition: _spelled(wires[condition.field], {"const": condition.equals}),
        lambda field, body: {"patternProperties": {any_case(field.wire): body}},
    )
    schema: dict[str, Any] = {
        "type": "object",
        "properties": object_schema(fields, defs)["properties"],
        "patternProperties": {
            any_case(f.wire): defs.value(f) if f.always_required else defs.optional(f)
            for f in fields
        },
    }
    if rules:
        schema["allOf"] = rules
    schema["additionalProperties"] = True
    return schema


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
        schema.update(_reply_object(response.fields, defs))
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
