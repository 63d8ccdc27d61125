"""The generated client: request models and code lists, operation tables, `Client` and `AsyncClient`.

Every decision is taken here from the model (which fields a model has, their Python types and
converters, which fields the client fills, how each operation answers); the templates
`models.py.j2`, `operations.py.j2` and `client.py.j2` only lay the plans out. The hand-written
engine they rely on is hand-written in scforhis/client (session, wire, replies, settings).
"""

from __future__ import annotations

import builtins
import dataclasses
import keyword
import re
from dataclasses import dataclass

from scforhis.client.settings import Settings

from .model import Enum, Field, Operation, Response, Spec
from .naming import constant_name, pascal_case
from .render import render_template

# Methods whose repetition has the effect of one call: retried on timeouts and 5xx.
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})
# A field whose Python name is that of a client setting takes the setting's value when absent.
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))
# The Python name of the request field that carries the token the client obtains itself.
TOKEN_FIELD = "token"
# Pattern formats with a Python type of their own, by format key: (converter, annotation).
PATTERN_CONVERTERS = {"boolean": ("boolean", "bool | str")}
# Between a letter and a digit, for enum member names: Within5Minutes -> WITHIN_5_MINUTES.
_DIGIT_BOUNDARY = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


@dataclass(frozen=True)
class EnumPlan:
    """A code list as a StrEnum."""

    enum: Enum
    name: str
    labels_const: str
    members: list[tuple[str, str, str, str]]  # (member, code, label, label_en)


@dataclass(frozen=True)
class FieldPlan:
    """One field of an operation: how it is named, typed, converted and filled."""

    field: Field
    wire: str
    python: str
    converter: str
    annotation: str  # without None
    required: bool
    filled: str | None
    noqa: bool

    @property
    def model_annotation(self) -> str:
        """The model attribute's type: None allowed unless the field must be given."""
        return self.annotation if self.required else f"{self.annotation} | None"

    @property
    def doc(self) -> str:
        """The attribute's docstring: labels, format, and where its value may come from."""
        what = (
            self.field.enum.choices
            if self.field.enum
            else self.field.format.label
            if self.field.format
            else ""
        )
        text = f"{self.field.label} / {self.field.label_en} (`{self.wire}`): {what}"
        if self.filled and self.filled != TOKEN_FIELD:
            text += f"; defaults to the client's `{self.filled}` setting"
        return text.replace('"""', "'''").replace("\\", "\\\\")


@dataclass(frozen=True)
class OperationPlan:
    """One operation: its constant, model, method, response shape and result kind."""

    operation: Operation
    const: str
    model: str | None
    fields: list[FieldPlan]
    keywords: list[FieldPlan]
    aliases: dict[str, str]
    foreign: list[str]
    idempotent: bool
    needs_token: bool
    shape: dict[str, object]
    result: str  # token | eligibility | api_result
    validator: str
    # Operations with the same fields (Update is Save's twin) share them: the first twin's
    # constant holds the field table, and `fields_class` (a private base) the model's fields.
    twin_const: str | None = None
    fields_class: str | None = None
    emits_fields_class: bool = False

    @property
    def sensitive(self) -> dict[str, str]:
        """Python name -> sensitivity, for the model's masked repr."""
        return {p.python: p.field.sensitive for p in self.fields if p.field.sensitive}


class ClientEmitter:
    """Plans and renders the client modules for a spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.enums = {key: self.enum_plan(enum) for key, enum in spec.enums.items()}
        self.outcome = self.outcome_fields()
        self.operations = [self.operation_plan(op) for op in spec.operations]
        self.check_foreign()
        self.operations = self.share_twins(self.operations)

    def enum_plan(self, enum: Enum) -> EnumPlan:
        members = [
            (constant_name(_DIGIT_BOUNDARY.sub("_", v.name)), v.code, v.label, v.label_en)
            for v in enum.values
        ]
        names = [m[0] for m in members]
        if len(set(names)) != len(names):
            raise ValueError(f"enum {enum.key}: member names collide: {names}")
        return EnumPlan(
            enum, pascal_case(enum.key), "_" + constant_name("LABELS", enum.key), members
        )

    def outcome_fields(self) -> tuple[Field, Field] | None:
        """The outcome code and message fields the JSON answers share (MSG_CODE, MSG_INFO)."""
        for op in self.spec.operations:
            code = next((f for f in op.response.fields if f.enum), None)
            info = next(
                (f for f in op.response.fields if f is not code and not f.sensitive and not f.enum),
                None,
            )
            if code is not None and info is not None:
                return code, info
        return None

    def converter(self, field: Field) -> tuple[str, str]:
        """(runtime converter, Python annotation without None) for a field."""
        if field.enum is not None:
            return "text", f"{self.enums[field.enum.key].name} | str"
        fmt = field.format
        if fmt is None or fmt.kind == "text":
            return "text", "str"
        if fmt.kind == "date":
            return ("gregorian_date" if fmt.calendar == "gregorian" else "roc_date"), "date | str"
        if fmt.kind == "integer":
            if fmt.calendar == "roc":
                return "roc_year", "int | date | str"
            return "integer", "int | str"
        if fmt.kind == "decimal":
            return "decimal", "float | str"
        if fmt.kind == "list":
            item = self.spec.formats[fmt.item] if fmt.item else None
            if item is not None and item.kind in ("integer", "decimal"):
                return "number_list", "Sequence[float | str] | str"
            return "code_list", "Sequence[str] | str"
        return PATTERN_CONVERTERS.get(fmt.key, ("text", "str"))

    def field_plan(self, field: Field) -> FieldPlan:
        converter, annotation = self.converter(field)
        if field.python_name == TOKEN_FIELD:
            filled: str | None = TOKEN_FIELD
        elif field.python_name in SETTING_NAMES:
            filled = field.python_name
        else:
            filled = None
        required = field.always_required and filled is None
        name = field.python_name
        if keyword.iskeyword(name) or not name.isidentifier():
            raise ValueError(f"field {field.key}: {name!r} is not a usable Python name")
        return FieldPlan(
            field=field,
            wire=field.wire,
            python=name,
            converter=f"wire.{converter}",
            annotation=annotation,
            required=required,
            filled=filled,
            noqa=name in dir(builtins),
        )

    def aliases(self, op: Operation) -> dict[str, str]:
        """Every accepted name, lower-cased, to its canonical wire name; collisions are errors."""
        found: dict[str, str] = {}
        for field in op.fields:
            names: tuple[str, ...] = (
                field.wire,
                field.key,
                field.python_name,
                field.table_name.replace(" ", ""),
            )
            names += (field.alias,) if field.alias else ()
            for name in names:
                lowered = name.lower()
                if found.setdefault(lowered, field.wire) != field.wire:
                    raise ValueError(f"{op.name}: the name {name!r} is ambiguous")
        return dict(sorted(found.items()))

    def shape(self, response: Response) -> dict[str, object]:
        """The `ResponseShape` arguments of an answer, from its fields and the success condition."""
        code, info = self.outcome if self.outcome else (None, None)
        if response.fields:
            code = next((f for f in response.fields if f.enum), None)
            info = next(
                (f for f in response.fields if f is not code and not f.sensitive and not f.enum),
                None,
            )
        token = next((f for f in response.fields if f.sensitive == "secret"), None)
        success = ""
        if code is not None:
            success = next(c.equals for c in self.spec.conditions.values() if c.field == code.key)
        return {
            "kind": response.kind,
            "code": code.wire.lower() if code else None,
            "info": info.wire.lower() if info else None,
            "token": token.wire.lower() if token else None,
            "success": success,
            "codes": sorted(code.enum.codes) if code and code.enum else [],
            "success_messages": tuple(response.success_messages),
            "token_shape": response.token_shape,
            "replies": [
                (reply.text, reply.contains, reply.outcome, reply.reserved)
                for reply in response.replies
            ],
        }

    def operation_plan(self, op: Operation) -> OperationPlan:
        fields = [self.field_plan(f) for f in op.fields]
        keywords = [p for p in fields if p.filled != TOKEN_FIELD]
        token_response = any(f.sensitive == "secret" for f in op.response.fields)
        result = (
            "token"
            if token_response
            else "eligibility"
            if op.response.kind == "text"
            else "api_result"
        )
        return OperationPlan(
            operation=op,
            const=constant_name(op.python_name),
            model=f"{pascal_case(op.name)}Request" if any(not p.filled for p in keywords) else None,
            fields=fields,
            keywords=keywords,
            aliases=self.aliases(op),
            foreign=[],
            idempotent=op.method in IDEMPOTENT_METHODS,
            needs_token=any(p.filled == TOKEN_FIELD for p in fields),
            shape=self.shape(op.response),
            result=result,
            validator=f"validate_{op.python_name}",
        )

    def check_foreign(self) -> None:
        """Fill each plan's `foreign`: names of the other JSON operations' fields (a record)."""
        for plan in self.operations:
            if plan.operation.input != "json":
                continue
            others: set[str] = set()
            for other in self.operations:
                if other is not plan and other.operation.input == "json":
                    others |= set(other.aliases)
            plan.foreign.extend(sorted(others - set(plan.aliases)))

    def share_twins(self, plans: list[OperationPlan]) -> list[OperationPlan]:
        """The plans with twins marked: operations whose fields, names and models are alike."""
        groups: dict[tuple[object, ...], list[int]] = {}
        for index, plan in enumerate(plans):
            shape = (
                plan.operation.input,
                tuple(
                    (p.wire, p.python, p.converter, p.annotation, p.required, p.filled, p.doc)
                    for p in plan.fields
                ),
                tuple(plan.aliases.items()),
                tuple(plan.foreign),
                plan.model is not None,
            )
            groups.setdefault(shape, []).append(index)
        shared = list(plans)
        for indexes in groups.values():
            if len(indexes) < 2:
                continue
            first = plans[indexes[0]]
            fields_class = f"_{first.model}Fields" if first.model else None
            for position, index in enumerate(indexes):
                shared[index] = dataclasses.replace(
                    plans[index],
                    twin_const=first.const if position else None,
                    fields_class=fields_class,
                    emits_fields_class=position == 0,
                )
        return shared

    def secret_names(self) -> list[str]:
        """Lower-cased names of every secret field, request or response, for redaction."""
        names = set()
        for op in self.spec.operations:
            for field in (*op.fields, *op.response.fields):
                if field.sensitive == "secret":
                    names |= {field.wire.lower(), field.key.lower()}
        return sorted(names)

    def client_names(self) -> set[str]:
        """The names the client's method signatures use (enums, `date`, `Sequence`), to import."""
        names: set[str] = set()
        for plan in self.operations:
            if plan.result == "eligibility":
                for field in plan.keywords:
                    names |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", field.annotation))
        return names

    def render(self, template: str) -> str:
        return render_template(
            template,
            spec=self.spec,
            enums=list(self.enums.values()),
            operations=self.operations,
            models=[p for p in self.operations if p.model],
            record_models=[
                p.model for p in self.operations if p.model and p.operation.input == "json"
            ],
            service_env={s.key: s.env for s in self.spec.services},
            secret_names=self.secret_names(),
            token_operation=next(p for p in self.operations if p.result == "token"),
            client_names=self.client_names(),
        )


def check_services(spec: Spec) -> None:
    """Every service of the spec has its URL setting in the runtime's `Settings`."""
    for service in spec.services:
        if f"{service.key}_url" not in SETTING_NAMES:
            raise ValueError(f"service {service.key!r} has no `{service.key}_url` client setting")


def emit_client(spec: Spec) -> dict[str, str]:
    """The client modules of the generated package, keyed by their path under generated/."""
    check_services(spec)
    emitter = ClientEmitter(spec)
    return {
        "models.py": emitter.render("models.py.j2"),
        "operations.py": emitter.render("operations.py.j2"),
        "client.py": emitter.render("client.py.j2"),
    }
