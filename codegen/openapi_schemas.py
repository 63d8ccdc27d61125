"""The OpenAPI document's schemas, shaped for the code generators vendors use.

The JSON Schemas (emit_schemas.py) say exactly what the service refuses. This module says the
same things in the forms OpenAPI Generator (C#, Java, PHP, Python, TypeScript) and
openapi-typescript turn into working clients, and moves what they cannot carry into
descriptions and `x-` keys:

- an optional or first-visit field is a plain string whose type list admits null and whose
  pattern admits a blank (`^\\s*$|<value>`), never an `anyOf` (generators make a wrapper model
  of each);
- titles are English identifiers (`SmokeFirst`, `SaveRequest`); zh-TW labels go to
  descriptions and `x-label` (generators name classes and packages after titles);
- enum member names are legal identifiers in every target language (naming.enum_member_name);
- first-visit requirements and enums that depend on another field (`if`/`then`, which every
  generator drops) are listed under `x-conditional-rules` and said in the description;
- a request object has no `additionalProperties: true` (typescript-fetch then copies every
  field a second time under its camelCase name); its any-case `patternProperties` stay;
- a reply requires no name (the manual prints three spellings, every generated reader matches
  names case-sensitively) and admits other members, so that a reply in any spelling still reads.
"""

from __future__ import annotations

import re
from typing import Any

from .emit_schemas import Defs, any_case, field_annotations, format_schema
from .model import Condition, Enum, Field, Format, Operation, Spec
from .naming import enum_member_name, pascal_case

COMPONENTS = "#/components/schemas/"
# "Not blank" as a pattern every generator's regex engine applies alike: Python's `re.match`
# anchors at the start and Java's `matches()` at both ends, so an unanchored `\S` would refuse
# a value with a leading space there.
NOT_BLANK = "^\\s*\\S[\\s\\S]*$"
BLANK = "^\\s*$"
NOT_CHECKED = (
    "產生的用戶端不檢查此規則：請自行檢查，或以 generated/schemas 的 JSON Schema 或測試向量驗證 / "
    "generated clients do not check this rule: check it yourself, or validate with the JSON "
    "Schema in generated/schemas or the test vectors"
)
ANY_CASE_NAMES = (
    "服務（ASP.NET）不分大小寫比對欄位名稱，並忽略不認得的名稱 / the service (ASP.NET) matches "
    "member names ignoring letter case and ignores names it does not know"
)


def _label(zh: str, en: str) -> str:
    return f"{en}（{zh}）"


def enum_component(enum: Enum) -> dict[str, Any]:
    """An enum: English title, identifier-safe member names, zh-TW labels beside."""
    return {
        "title": pascal_case(enum.key),
        "description": _label(enum.label, enum.label_en),
        "x-label": enum.label,
        "type": "string",
        "enum": list(enum.codes),
        "x-enum-varnames": [enum_member_name(value.name) for value in enum.values],
        "x-enum-descriptions": [f"{value.label} ({value.label_en})" for value in enum.values],
    }


def _generator_pattern(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with the JSON Schemas' unanchored "not blank" written as NOT_BLANK."""
    if schema.get("pattern") == "\\S":
        return {**schema, "pattern": NOT_BLANK}
    return schema


def format_component(fmt: Format) -> dict[str, Any]:
    """A named format: the JSON Schema's, with an English title and NOT_BLANK."""
    schema = _generator_pattern(format_schema(fmt))
    return {
        **schema,
        "title": f"{pascal_case(fmt.key)}Format",
        "description": _label(fmt.label, fmt.label_en),
        "x-label": fmt.label,
    }


def _codes(enum: Enum) -> str:
    return "; ".join(f"{v.code}: {v.label} ({v.label_en})" for v in enum.values)


class GeneratorDefs(Defs):
    """Defs for the OpenAPI document: formats and enums as components, blanks without `anyOf`."""

    def __init__(self) -> None:
        super().__init__(COMPONENTS)

    def value(self, field: Field, enum: Enum | None = None) -> dict[str, Any]:
        """A present, non-blank value: an enum or format component, or an inline string."""
        enum = enum or field.enum
        if enum is not None:
            return self.ref(enum.key, enum_component(enum))
        assert field.format is not None
        if field.format.kind in ("integer", "decimal"):
            return _generator_pattern(Defs().value(field))
        # `_format`: a component named `boolean` or `text` clashes with a type of the
        # generated language (OpenAPI Generator renames it, with a warning).
        return self.ref(f"{field.format.key}_format", format_component(field.format))

    def optional(self, field: Field, enum: Enum | None = None) -> dict[str, Any]:
        """A value or a blank, as one plain string schema: null by type, blank by pattern."""
        enum = enum or field.enum
        schema: dict[str, Any] = {"type": ["string", "null"]}
        if enum is not None:
            codes = "|".join(re.escape(code) for code in enum.codes)
            schema["pattern"] = f"{BLANK}|^(?:{codes})$"
            # The codes as data, for people and tools: an `enum` here would make generators
            # write an enum type that cannot hold the blank.
            schema["x-codes"] = list(enum.codes)
            schema["x-code-descriptions"] = [f"{v.label} ({v.label_en})" for v in enum.values]
            return schema
        assert field.format is not None
        if field.format.kind in ("integer", "decimal"):
            value = Defs().value(field)
        else:
            value = format_schema(field.format)
        if value["pattern"] != "\\S":
            schema["pattern"] = f"{BLANK}|{value['pattern']}"
        for key in ("x-pattern", "maxLength"):
            if key in value:
                schema[key] = value[key]
        return schema


def _property(field: Field, body: dict[str, Any]) -> dict[str, Any]:
    """A field's annotations for generators: no title, the zh-TW label in `x-label`."""
    notes = field_annotations(field)
    label = notes.pop("title")
    described = f"{label}：{notes['description']}"
    enum = field.enum
    if enum is not None and "$ref" not in body:
        described += f" 代碼 codes: {_codes(enum)}"
    if field.condition is not None:
        described += f" {NOT_CHECKED}"
    return {**notes, "description": described, "x-label": label, **body}


def _when(condition: Condition, fields: tuple[Field, ...]) -> dict[str, str]:
    wire = next(f.wire for f in fields if f.key == condition.field)
    return {wire: condition.equals}


def conditional_rules(fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    """The JSON Schemas' `if`/`then` rules, as data a generator passes over and a person reads."""
    rules: list[dict[str, Any]] = []
    conditions: dict[str, Condition] = {}
    for field in fields:
        if field.condition is not None:
            conditions.setdefault(field.condition.key, field.condition)
    for condition in conditions.values():
        rules.append(
            {
                "description": f"{condition.label}必填 / required for a {condition.label_en}",
                "when": _when(condition, fields),
                "required": [f.wire for f in fields if f.condition == condition],
            }
        )
    for field in fields:
        for dependent in field.depends:
            rules.append(
                {
                    "description": (
                        f"{dependent.condition.label}時{field.label}為{dependent.enum.label} "
                        f"{'、'.join(dependent.enum.codes)} / for {dependent.condition.label_en}, "
                        f"{field.wire} is one of {', '.join(dependent.enum.codes)} "
                        f"({dependent.enum.label_en.lower()})"
                    ),
                    "when": _when(dependent.condition, fields),
                    "field": field.wire,
                    "enum": list(dependent.enum.codes),
                    "x-enum-descriptions": [
                        f"{v.label} ({v.label_en})" for v in dependent.enum.values
                    ],
                }
            )
    return rules


def _object(fields: tuple[Field, ...], defs: GeneratorDefs) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in fields:
        body = defs.value(field) if field.always_required else defs.optional(field)
        properties[field.wire] = _property(field, body)
        if field.alias:
            properties[field.alias] = {
                "description": f"{field.label}（別名）: another name of {field.wire} in the manual's examples; send the same value under both.",
                "x-alias-of": field.wire,
                **defs.optional(field),
            }
    return {"type": "object", "properties": properties}


def request_component(spec: Spec, operation: Operation, defs: GeneratorDefs) -> dict[str, Any]:
    """An operation's JSON body for generators."""
    rules = conditional_rules(operation.fields)
    description = (
        f"{operation.summary} / {operation.summary_en} ({operation.method} {operation.path}, "
        f"JSON body). {spec.api.name} {spec.api.manual_version}. {ANY_CASE_NAMES}."
    )
    if rules:
        rules_text = "; ".join(rule["description"] for rule in rules)
        description += f" x-conditional-rules: {rules_text}. {NOT_CHECKED}."
    schema: dict[str, Any] = {
        "title": f"{operation.name}Request",
        "description": description,
        "x-label": f"{operation.name} {operation.summary} 請求",
        "x-operation": {
            "method": operation.method,
            "path": operation.path,
            "service": operation.service.key,
        },
        **_object(operation.fields, defs),
        "required": [f.wire for f in operation.fields if f.always_required],
    }
    # Every spelling of a field's name must carry a string (the JSON Schemas say why). Without
    # `additionalProperties: true` beside it: typescript-fetch reads that as "spread the whole
    # object into the body" and sends each field twice (its camelCase copy beside the wire name).
    spellings = [f.wire for f in operation.fields] + [f.alias for f in operation.fields if f.alias]
    names = "|".join(any_case(name)[1:-1] for name in spellings)
    schema["patternProperties"] = {f"^(?:{names})$": {"type": ["string", "null"]}}
    schema["x-names-any-case"] = True
    if rules:
        schema["x-conditional-rules"] = rules
    if operation.examples:
        schema["examples"] = [example.request for example in operation.examples]
    return schema


def reply_component(operation: Operation, defs: GeneratorDefs) -> dict[str, Any]:
    """An operation's reply for generators: canonical names, none required, others admitted.

    The service writes the names System.Text.Json's camelCase policy gives its C# properties
    (`msG_CODE`, `tokenid`); the manual prints `MSG_CODE`, `msg_CODE` and `TOKENID` too. A
    generated reader matches names case-sensitively, so a required name it cannot find would
    make it refuse a reply the service may well send: requirements stay in `x-required-any-case`.
    """
    response = operation.response
    schema: dict[str, Any] = {
        "title": f"{operation.name}Response",
        "x-label": f"{operation.name} {operation.summary} 回應",
        "x-success-messages": list(response.success_messages),
    }
    if response.kind == "text":
        schema["description"] = (
            f"The service's answer to {operation.name}, as plain text. "
            f"成功訊息 success: {'、'.join(response.success_messages)}"
        )
        schema["type"] = "string"
    else:
        properties: dict[str, Any] = {}
        for field in response.fields:
            body = defs.value(field) if field.enum is not None else {"type": ["string", "null"]}
            properties[field.wire] = _property(field, body)
        schema["description"] = (
            f"The service's answer to {operation.name}. 成功訊息 success: "
            f"{'、'.join(response.success_messages)}. 服務依 .NET 的 camelCase 規則命名 "
            f"({', '.join(properties)}); 手冊也印出其他大小寫；請讓 JSON 讀取器不分大小寫比對名稱 / "
            "the service names members by .NET's camelCase rule; the manual also prints other "
            "letter cases: have your JSON reader match names ignoring case (Newtonsoft.Json does "
            "by default; System.Text.Json with PropertyNameCaseInsensitive; Jackson with "
            "ACCEPT_CASE_INSENSITIVE_PROPERTIES)."
        )
        schema.update(
            {
                "type": "object",
                "properties": properties,
                "additionalProperties": True,
                "x-names-any-case": True,
                "x-required-any-case": [f.wire for f in response.fields if f.always_required],
            }
        )
        rules = conditional_rules(response.fields)
        if rules:
            schema["x-conditional-rules"] = rules
    examples = [e.response for e in operation.examples if e.response is not None]
    if examples:
        schema["examples"] = examples
    return schema


def query_parameter_schema(field: Field, defs: GeneratorDefs) -> dict[str, Any]:
    """A query parameter's schema."""
    return defs.value(field) if field.always_required else defs.optional(field)
