"""OpenAPI 3.1 for all operations, built from the same model and schema code as the JSON Schemas.

Formats, enums, and each request and response object are components; query parameters of the
two GETs reference the same components; DELETE carries a JSON body as the manual says. The
operations with a JSON body also list the 4xx statuses of a body that cannot be read.
"""

from __future__ import annotations

from typing import Any

from .emit_sandbox import endpoint_plan
from .emit_schemas import Defs, render_json, request_body, response_body
from .model import Operation, Spec

COMPONENTS = "#/components/schemas/"
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


def _parameters(operation: Operation, defs: Defs) -> list[dict[str, Any]]:
    parameters = []
    for field in operation.fields:
        schema = defs.value(field) if field.always_required else defs.optional(field)
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


def _refusal(spec: Spec, operation: Operation, response: dict[str, Any]) -> dict[str, Any]:
    """The schema of a refused body: the operation's answer with its failure code."""
    plan = endpoint_plan(spec, operation)
    if plan.code is None or plan.failure_code is None:
        return response
    failed = {"properties": {plan.code: {"const": plan.failure_code}}, "required": [plan.code]}
    return {"allOf": [response, failed]}


def _operation(spec: Spec, operation: Operation, defs: Defs) -> dict[str, Any]:
    request_name = _component_name(operation, "request")
    response_name = _component_name(operation, "response")
    defs.ref(request_name, request_body(spec, operation, defs))
    response = defs.ref(response_name, response_body(operation, defs))
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
        "tags": [operation.service.label],
        "servers": [
            {
                "url": "{baseUrl}",
                "description": f"{operation.service.label} / {operation.service.label_en}",
                "variables": {
                    "baseUrl": {
                        "default": SANDBOX_URL,
                        "description": f"{operation.service.env}; {operation.service.production_note_en or ''}".strip(
                            "; "
                        ),
                    }
                },
            }
        ],
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
        refused = {"schema": _refusal(spec, operation, response)}
        for status, (reason, reason_en) in BODY_REFUSALS.items():
            document["responses"][status] = {
                "description": f"{reason} / {reason_en}. {REFUSAL_BODY_NOTE}",
                "content": {media: refused},
            }
    return document


def openapi_document(spec: Spec) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    defs = Defs(COMPONENTS)
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
            "title": f"{api.name}：{api.system}",
            "version": api.manual_version,
            "summary": api.title_en,
            "description": f"{api.description}\n\n{api.description_en}\n\n{api.publisher} / {api.publisher_en}. "
            f"Manual {api.manual_version}, {api.manual_date.isoformat()}.",
        },
        "servers": [
            {"url": SANDBOX_URL, "description": "scforhis sandbox（本機測試 / local sandbox）"}
        ],
        "tags": [{"name": s.label, "description": s.label_en} for s in spec.services],
        "paths": paths,
        "components": {"schemas": dict(sorted(defs.defs.items()))},
    }


def emit_openapi(spec: Spec) -> dict[str, str]:
    """`openapi.json`, keyed by its path under generated/."""
    return {"openapi.json": render_json(openapi_document(spec))}
