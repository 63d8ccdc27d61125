"""OpenAPI 3.1 for all operations, built from the same model and schema code as the JSON Schemas.

Formats, enums, and each request and response object are components; query parameters of the
two GETs reference the same components; DELETE carries a JSON body as the manual says.
"""

from __future__ import annotations

from typing import Any

from .emit_schemas import Defs, render_json, request_body, response_body
from .model import Operation, Spec

COMPONENTS = "#/components/schemas/"
SANDBOX_URL = "http://127.0.0.1:8000"


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
