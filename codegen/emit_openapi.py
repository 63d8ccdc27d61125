"""OpenAPI 3.1 for all operations, from the same model as the JSON Schemas, shaped for generators.

Formats, enums, and each JSON body and reply are components (openapi_schemas.py says how they
differ from the JSON Schemas, and why); query parameters of the two GETs reference the format
and enum components; DELETE carries a JSON body as the manual says. The operations with a JSON
body also list the 4xx statuses of a body that cannot be read. One top-level server list and
none per operation: a generated client's configured base URL is then the one it calls.
"""

from __future__ import annotations

from typing import Any

from .emit_sandbox import endpoint_plan
from .emit_schemas import render_json
from .model import Operation, Spec
from .naming import pascal_case
from .openapi_schemas import (
    COMPONENTS,
    GeneratorDefs,
    query_parameter_schema,
    reply_component,
    request_component,
)

SANDBOX_URL = "http://127.0.0.1:8000"
# A JSON body that cannot be read never reaches the service's own checks: ASP.NET Core refuses it
# with an HTTP error status, not with MSG_CODE N in a 200 (domain-facts.md), and the sandbox does
# the same in the service's answer format (sandbox_app.py). Documented so that a client generated
# from this document expects these statuses, and so that schemathesis holds the sandbox to them.
# Every other refusal (credentials, validation, programme rules) is a 200 with MSG_CODE N. The
# manual shows no error body; the real service's may be ASP.NET's own (unconfirmed), hence the
# note in each description.
BODY_REFUSALS = {
    "400": (
        "本文無法讀取：空白、JSON 格式錯誤、不是 JSON 物件、不是 UTF-8，或欄位值不是 JSON 字串",
        "the body cannot be read: empty, malformed JSON, not a JSON object, not UTF-8, or a "
        "field's value is not a JSON string (a number, say)",
    ),
    "413": ("本文過大", "the body is larger than the service accepts"),
    "415": (
        "Content-Type 不是 application/json，或 charset 不是 UTF-8",
        "the Content-Type is not application/json, or its charset is not UTF-8",
    ),
}
REFUSAL_BODY_NOTE = (
    "沙盒以 MSG_CODE N 回答；正式服務此時的本文格式手冊未載 / the sandbox answers with MSG_CODE N; "
    "the manual does not show the real service's body here"
)


def _component_name(operation: Operation, part: str) -> str:
    return f"{operation.name}{part.capitalize()}"


def _tag(operation: Operation) -> str:
    """A service's tag: an identifier, as generators name an API class after it (`QueryApi`)."""
    return pascal_case(operation.service.key)


def _parameters(operation: Operation, defs: GeneratorDefs) -> list[dict[str, Any]]:
    parameters = []
    for field in operation.fields:
        schema = query_parameter_schema(field, defs)
        parameter: dict[str, Any] = {
            "name": field.wire,
            "in": "query",
            "required": field.always_required,
            "description": f"{field.label} ({field.label_en}). {field.description}",
            "schema": schema,
        }
        if field.example is not None and not field.sensitive:
            parameter["example"] = field.example
        parameters.append(parameter)
    return parameters


def _refusal_note(spec: Spec, operation: Operation) -> str:
    """What a refused body's answer holds: the operation's reply with its failure code.

    Said in words rather than as `allOf` with a `const`: generators make a model of each such
    composition, and the reply component already reads the answer.
    """
    plan = endpoint_plan(spec, operation)
    if plan.code is None or plan.failure_code is None:
        return ""
    return f" {plan.code} = {plan.failure_code}."


def _operation(spec: Spec, operation: Operation, defs: GeneratorDefs) -> dict[str, Any]:
    request_name = _component_name(operation, "request")
    response_name = _component_name(operation, "response")
    if operation.input != "query":
        defs.ref(request_name, request_component(spec, operation, defs))
    response = defs.ref(response_name, reply_component(operation, defs))
    media = "text/plain" if operation.response.kind == "text" else "application/json"
    answer: dict[str, Any] = {"schema": response}
    examples = [e for e in operation.examples if e.response is not None]
    if examples:
        answer["examples"] = {e.name: {"summary": e.summary, "value": e.response} for e in examples}
    described = f"{operation.summary} / {operation.summary_en}"
    if operation.heading:
        described += f"（手冊標題 manual heading: {operation.heading}）"
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": described,
        "tags": [_tag(operation)],
    }
    if operation.input == "query":
        document["parameters"] = _parameters(operation, defs)
    else:
        body: dict[str, Any] = {"schema": {"$ref": f"{COMPONENTS}{request_name}"}}
        body["examples"] = {
            e.name: {"summary": e.summary, "value": e.request} for e in operation.examples
        }
        document["requestBody"] = {"required": True, "content": {"application/json": body}}
    document["responses"] = {
        "200": {
            "description": f"服務的回應 / the service's answer: {'、'.join(operation.response.success_messages)}",
            "content": {media: answer},
        }
    }
    if operation.input != "query":
        refused = {"schema": response}
        for status, (reason, reason_en) in BODY_REFUSALS.items():
            document["responses"][status] = {
                "description": f"{reason} / {reason_en}. {REFUSAL_BODY_NOTE}{_refusal_note(spec, operation)}",
                "content": {media: refused},
            }
    return document


def _server_note(spec: Spec) -> str:
    """The one server: the sandbox, and how to reach each real service instead."""
    services = "; ".join(f"{s.label_en} ({pascal_case(s.key)}): {s.env}" for s in spec.services)
    note = next((s.production_note_en for s in spec.services if s.production_note_en), "")
    return (
        "scforhis sandbox（本機測試 / local sandbox, both services）. 正式與測試服務的網址隨測試帳號發給；"
        f"在產生的用戶端設定 base URL / the real services' base URLs come with the test account: "
        f"set them as the generated client's base URL, one per service ({services}). {note}"
    ).strip()


def openapi_document(spec: Spec) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    defs = GeneratorDefs()
    paths: dict[str, Any] = {}
    for operation in spec.operations:
        paths.setdefault(f"/{operation.path}", {})[operation.method.lower()] = _operation(
            spec, operation, defs
        )
    api = spec.api
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            # Generators name a package after the title (openapi-python-client): an identifier.
            "title": api.name,
            "x-label": f"{api.name}：{api.system}",
            "version": api.manual_version,
            "summary": f"{api.system_en}（{api.system}）",
            "description": f"{api.description}\n\n{api.description_en}\n\n{api.publisher} / {api.publisher_en}. "
            f"Manual {api.manual_version}, {api.manual_date.isoformat()}.",
        },
        "servers": [{"url": SANDBOX_URL, "description": _server_note(spec)}],
        "tags": [
            {
                "name": pascal_case(s.key),
                "description": f"{s.label} / {s.label_en}. Base URL: {s.env}",
                "x-label": s.label,
                "x-base-url-env": s.env,
            }
            for s in spec.services
        ],
        "paths": paths,
        "components": {"schemas": dict(sorted(defs.defs.items()))},
    }


def emit_openapi(spec: Spec) -> dict[str, str]:
    """`openapi.json`, keyed by its path under generated/."""
    return {"openapi.json": render_json(openapi_document(spec))}
