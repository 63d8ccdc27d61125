"""A pydantic v2 model of a request with the same constraints as its JSON Schema, built from the model.

Fields: a pattern per value (enums as alternations, blank allowed where optional), extra fields
ignored, and an after-validator for the conditional rules (first-visit requirements, dependent enums).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pydantic
from pydantic import StringConstraints

from codegen.model import Enum, Field, Operation
from codegen.patterns import value_pattern


def _core(field: Field, enum: Enum | None = None) -> str:
    enum = enum or field.enum
    if enum is not None:
        return "|".join(re.escape(code) for code in enum.codes)
    pattern = value_pattern(field)
    return pattern[1:-1] if pattern else r"[\s\S]*\S[\s\S]*"


def _annotation(field: Field) -> tuple[Any, Any]:
    core = _core(field)
    if field.always_required:
        return Annotated[str, StringConstraints(pattern=f"^(?:{core})$")], ...
    return Annotated[str, StringConstraints(pattern=rf"^(?:{core})$|^\s*$")] | None, None


def pydantic_model(operation: Operation) -> type[pydantic.BaseModel]:
    """A model validating `operation`'s requests like its JSON Schema does."""
    conditional = [f for f in operation.fields if f.condition is not None]
    dependents = [(f, d) for f in operation.fields for d in f.depends]
    wire = {f.key: f.wire for f in operation.fields}
    compiled = {(f.key, d.enum.key): re.compile(f"(?:{_core(f, d.enum)})") for f, d in dependents}
    strict = {f.key: re.compile(f"(?:{_core(f)})") for f in conditional}

    def rules(model: pydantic.BaseModel) -> pydantic.BaseModel:
        errors = []
        for field in conditional:
            assert field.condition is not None
            if getattr(model, wire[field.condition.field]) == field.condition.equals:
                value = getattr(model, field.wire)
                if value is None or not strict[field.key].fullmatch(value):
                    errors.append(f"{field.wire} is required for a {field.condition.label_en}")
        for field, dependent in dependents:
            if getattr(model, wire[dependent.condition.field]) == dependent.condition.equals:
                value = getattr(model, field.wire)
                if value is not None and not compiled[(field.key, dependent.enum.key)].fullmatch(
                    value
                ):
                    errors.append(f"{field.wire} must be one of {dependent.enum.codes}")
        if errors:
            raise ValueError("; ".join(errors))
        return model

    fields = {f.wire: _annotation(f) for f in operation.fields}
    return pydantic.create_model(  # type: ignore[call-overload, no-any-return]
        f"{operation.name}Request",
        __config__=pydantic.ConfigDict(extra="ignore"),
        __validators__={"rules": pydantic.model_validator(mode="after")(rules)},
        **fields,
    )
