"""The typed model (IR) built from a checked spec; every emitter reads only this."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .naming import aspnet_camel_case, snake_case
from .semantics import operation_fields, resolve_entry, wire_name

# Evidence that makes a failed check an error: the service refuses the value (the manual says
# so) or cannot store it (a known column size). Any other evidence makes it a warning.
ERROR_EVIDENCE = frozenset({"manual", "storage"})
EVIDENCE_KINDS = ("manual", "storage", "programme", "plausibility")


@dataclass(frozen=True)
class Evidence:
    """Where a check comes from: the manual's words, a column size, the programme, or judgement."""

    kind: str
    says: str
    says_en: str
    source: str | None = None
    # Why the check follows from what the evidence says, where that is not plain.
    why: str | None = None
    why_en: str | None = None

    @property
    def severity(self) -> str:
        """`error` for manual and storage evidence, `warning` for programme and plausibility."""
        return "error" if self.kind in ERROR_EVIDENCE else "warning"


@dataclass(frozen=True)
class SoftRange:
    """A plausible range inside what the service takes: outside it is a warning, with a hint."""

    minimum: float
    maximum: float
    hint: str
    hint_en: str
    evidence: Evidence


@dataclass(frozen=True)
class Advice:
    """A pattern a value should match though the service may take others: a warning."""

    pattern: str
    label: str
    label_en: str
    hint: str
    hint_en: str
    evidence: Evidence


@dataclass(frozen=True)
class Absence:
    """What to say when an optional field that should not be left out is missing: a warning."""

    message: str
    message_en: str
    evidence: Evidence


@dataclass(frozen=True)
class EnumValue:
    """One code of an enum with its identifier name and labels."""

    code: str
    name: str
    label: str
    label_en: str


@dataclass(frozen=True)
class Enum:
    """A closed set of codes (`SMOKE_FIRST`'s 1-4, `CURE_TYPE`'s 1-2)."""

    key: str
    label: str
    label_en: str
    values: tuple[EnumValue, ...]
    evidence: Evidence | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in the manual's order."""
        return tuple(value.code for value in self.values)

    @property
    def choices(self) -> str:
        """The codes with their zh-TW labels, for messages and docs: `1:5 分鐘以內、2:…`."""
        return "、".join(f"{value.code}:{value.label}" for value in self.values)

    @property
    def choices_en(self) -> str:
        """The codes with their English labels."""
        return ", ".join(f"{value.code} ({value.label_en})" for value in self.values)


@dataclass(frozen=True)
class Format:
    """How a value is written: kind, pattern, calendar, check."""

    key: str
    kind: str
    label: str
    label_en: str
    pattern: str | None = None
    check: str | None = None
    calendar: str | None = None
    item: str | None = None
    decimals: int = 0
    example: str | None = None
    source: str | None = None
    max_length: int | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True)
class Condition:
    """`field == equals`, named (first_visit: CURE_AGREE = Y)."""

    key: str
    field: str
    equals: str
    label: str
    label_en: str
    evidence: Evidence | None = None


@dataclass(frozen=True)
class Dependent:
    """An enum that applies to a field while a condition holds (CURE_WEEK 1-4 for medication)."""

    condition: Condition
    enum: Enum
    evidence: Evidence


@dataclass(frozen=True)
class Field:
    """One field of a request or response, with everything the manual says about it."""

    key: str
    wire: str
    table_name: str
    python_name: str
    label: str
    label_en: str
    description: str
    format: Format | None
    enum: Enum | None
    required: str
    condition: Condition | None
    minimum: float | None
    maximum: float | None
    sensitive: str | None
    depends: tuple[Dependent, ...]
    example: str | None
    erratum: str | None
    since: str | None
    source: str | None
    # The operation that defines this field inline; None for a field of the shared dictionary.
    origin: str | None = None
    # Evidence of the hard range (minimum, maximum); None when the field has none.
    range_evidence: Evidence | None = None
    plausible: SoftRange | None = None
    advice: tuple[Advice, ...] = ()
    absent: Absence | None = None
    # Another name the operation's field goes by in the manual (`examyyear`): accepted by the
    # validator as this field and sent beside it by the client.
    alias: str | None = None

    @property
    def value_evidence(self) -> Evidence | None:
        """The evidence of the value's own check (enum codes, format, or number range)."""
        if self.enum is not None:
            return self.enum.evidence
        if self.format is not None and self.format.kind in ("integer", "decimal"):
            if self.range_evidence is not None:
                return self.range_evidence
            return self.plausible.evidence if self.plausible else None
        return self.format.evidence if self.format else None

    @property
    def value_severity(self) -> str:
        """Whether a value failing its own check is an error or a warning."""
        evidence = self.value_evidence
        return evidence.severity if evidence is not None else "error"

    @property
    def digit_bound(self) -> float | None:
        """The largest number the value's digit pattern must allow (the hard range, else the
        plausible one)."""
        if self.maximum is not None:
            return self.maximum
        return self.plausible.maximum if self.plausible else None

    @property
    def kind(self) -> str:
        """The value kind: enum, or the format's kind."""
        return "enum" if self.enum else self.format.kind if self.format else "text"

    @property
    def always_required(self) -> bool:
        """Required in every request."""
        return self.required == "always"


@dataclass(frozen=True)
class Response:
    """What the service answers: a JSON object of fields, or plain text."""

    kind: str
    fields: tuple[Field, ...]
    success_messages: tuple[str, ...]
    # The replies whose meaning is known (GetSCDataB's texts): any other text is "unknown".
    replies: tuple[KnownReply, ...] = ()
    # The shape of a token answered bare (a regular expression), for GetTokenID.
    token_shape: str | None = None


@dataclass(frozen=True)
class KnownReply:
    """A reply text whose meaning is known: the whole `text`, or any text that `contains` a phrase
    (refusals only: a yes is only ever a known whole text)."""

    outcome: str
    source: str
    note: str
    note_en: str
    text: str | None = None
    contains: str | None = None
    reserved: bool = False


@dataclass(frozen=True)
class Example:
    """A request (and response) from the manual, corrected as the errata say."""

    name: str
    summary: str
    summary_en: str
    errata: tuple[str, ...]
    request: dict[str, str]
    as_printed: str | None
    response: str | dict[str, str] | None
    response_as_printed: str | None
    response_errata: tuple[str, ...]
    # The request exactly as the manual prints it, and the outcome it gets.
    request_as_printed: dict[str, str] | None = None
    outcome_as_printed: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    """A cross-field check or programme rule, bound to one operation's fields."""

    id: str
    check: str
    field: Field
    args: tuple[tuple[str, Field], ...]
    params: tuple[tuple[str, int | str], ...]
    when: tuple[Condition, ...]
    code: str
    message: str
    message_en: str
    evidence: Evidence

    @property
    def severity(self) -> str:
        """Follows the evidence: error for manual and storage, warning otherwise."""
        return self.evidence.severity

    @property
    def source(self) -> str | None:
        """Where the evidence comes from, for comments and docs."""
        return self.evidence.source


@dataclass(frozen=True)
class Score:
    """A score summed from coded answers (Fagerström)."""

    key: str
    label: str
    label_en: str
    source: str | None
    points: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


@dataclass(frozen=True)
class Service:
    """One of the manual's two services, each with its own base URL."""

    key: str
    label: str
    label_en: str
    env: str
    test_url: str | None
    production_note: str | None
    production_note_en: str | None


@dataclass(frozen=True)
class Operation:
    """One API operation: how it is called, its fields, rules, response and examples."""

    name: str
    service: Service
    method: str
    path: str
    summary: str
    summary_en: str
    heading: str | None
    input: str
    input_note: str | None
    input_note_en: str | None
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...]
    response: Response
    examples: tuple[Example, ...]
    erratum: str | None

    @property
    def python_name(self) -> str:
        """`GetSCDataB` -> `get_sc_data_b`, `GetTokenID` -> `get_token_id`."""
        return snake_case(self.name.replace("SCD", "ScD").replace("ID", "Id"))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every condition the operation's fields and rules refer to, in first-use order."""
        found: dict[str, Condition] = {}
        for item in self.fields:
            if item.condition:
                found.setdefault(item.condition.key, item.condition)
            for dependent in item.depends:
                found.setdefault(dependent.condition.key, dependent.condition)
        for rule in self.rules:
            for condition in rule.when:
                found.setdefault(condition.key, condition)
        return tuple(found.values())

    def field(self, key: str) -> Field:
        """The field with key `key`."""
        for item in self.fields:
            if item.key == key:
                return item
        raise KeyError(key)


@dataclass(frozen=True)
class Erratum:
    """A place where the manual contradicts itself, with the decision taken and why."""

    key: str
    where: str
    where_en: str
    manual: str
    manual_en: str
    decision: str
    decision_en: str
    why: str
    why_en: str


@dataclass(frozen=True)
class Revision:
    """A row of the manual's revision table."""

    version: str
    date: str
    note: str
    note_en: str
    author: str | None
    added_fields: tuple[str, ...]


@dataclass(frozen=True)
class Api:
    """The API as a whole."""

    name: str
    title: str
    title_en: str
    publisher: str
    publisher_en: str
    system: str
    system_en: str
    manual_version: str
    manual_date: date
    description: str
    description_en: str
    revisions: tuple[Revision, ...]
    # Why every text of a request must be encodable as UTF-8 (the validator's `encoding` check;
    # specs of older manuals may leave it out, and have it as the manual's Content-Type).
    text_encoding: Evidence = Evidence(
        "manual", "Content-Type: application/json", "Content-Type: application/json"
    )
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """The whole spec, resolved."""

    api: Api
    services: tuple[Service, ...]
    formats: dict[str, Format]
    enums: dict[str, Enum]
    conditions: dict[str, Condition]
    operations: tuple[Operation, ...]
    scores: tuple[Score, ...]
    errata: tuple[Erratum, ...]
    # Wire names of the fields that identify a visit record.
    record_key: tuple[str, ...] = ()

    def operation(self, name: str) -> Operation:
        """The operation called `name`."""
        for operation in self.operations:
            if operation.name == name:
                return operation
        raise KeyError(name)


def evidence(data: dict[str, Any] | None) -> Evidence | None:
    """The evidence written in the spec, or None where there is none."""
    if not data:
        return None
    return Evidence(
        data["kind"],
        data["says"],
        data["says_en"],
        data.get("source"),
        data.get("why"),
        data.get("why_en"),
    )


def _evidence(data: dict[str, Any]) -> Evidence:
    found = evidence(data)
    assert found is not None  # the spec schema requires it here
    return found


def _enum(key: str, data: dict[str, Any]) -> Enum:
    values = tuple(
        EnumValue(str(v["code"]), v["name"], v["label"], v["label_en"]) for v in data["values"]
    )
    return Enum(key, data["label"], data["label_en"], values, evidence(data.get("evidence")))


def _format(key: str, data: dict[str, Any]) -> Format:
    return Format(
        key=key,
        kind=data["kind"],
        label=data["label"],
        label_en=data["label_en"],
        pattern=data.get("pattern"),
        check=data.get("check"),
        calendar=data.get("calendar"),
        item=data.get("item"),
        decimals=int(data.get("decimals", 0)),
        example=data.get("example"),
        source=data.get("source"),
        max_length=data.get("max_length"),
        evidence=evidence(data.get("evidence")),
    )


class _Builder:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.formats = {k: _format(k, v) for k, v in data["formats"].items()}
        self.enums = {k: _enum(k, v) for k, v in data["enums"].items()}
        self.conditions = {
            k: Condition(
                k,
                v["field"],
                str(v["equals"]),
                v["label"],
                v["label_en"],
                evidence(v.get("evidence")),
            )
            for k, v in data["conditions"].items()
        }
        self.services = {
            k: Service(
                k,
                v["label"],
                v["label_en"],
                v["env"],
                v.get("test_url"),
                v.get("production_note"),
                v.get("production_note_en"),
            )
            for k, v in data["services"].items()
        }

    def field(
        self, key: str, definition: dict[str, Any], location: str, origin: str | None = None
    ) -> Field:
        required = definition["required"]
        bounds = definition.get("range") or {}
        plausible = definition.get("plausible")
        absent = definition.get("absent")
        return Field(
            key=key,
            wire=wire_name(key, definition, location),
            table_name=definition.get("table_name", key),
            python_name=definition.get("python", snake_case(key)),
            label=definition["label"],
            label_en=definition["label_en"],
            description=definition.get("description", definition["label"]),
            format=self.formats.get(definition.get("format", "")),
            enum=self.enums.get(definition.get("enum", "")),
            required=required,
            condition=self.conditions.get(required),
            minimum=bounds.get("min"),
            maximum=bounds.get("max"),
            sensitive=definition.get("sensitive"),
            depends=tuple(
                Dependent(
                    self.conditions[d["condition"]], self.enums[d["enum"]], _evidence(d["evidence"])
                )
                for d in definition.get("depends", ())
            ),
            example=definition.get("example"),
            erratum=definition.get("erratum"),
            since=definition.get("since"),
            source=definition.get("source"),
            origin=origin,
            range_evidence=evidence(bounds.get("evidence")),
            plausible=SoftRange(
                plausible["min"],
                plausible["max"],
                plausible["hint"],
                plausible["hint_en"],
                _evidence(plausible["evidence"]),
            )
            if plausible
            else None,
            advice=tuple(
                Advice(
                    a["pattern"],
                    a["label"],
                    a["label_en"],
                    a.get("hint", ""),
                    a.get("hint_en", ""),
                    _evidence(a["evidence"]),
                )
                for a in definition.get("advice", ())
            ),
            absent=Absence(absent["message"], absent["message_en"], _evidence(absent["evidence"]))
            if absent
            else None,
            alias=definition.get("alias"),
        )

    def operation(self, name: str, data: dict[str, Any]) -> Operation:
        location = data["input"]
        fields = []
        for _, entry in operation_fields(self.data, name):
            resolved = resolve_entry(self.data, entry)
            assert resolved is not None  # the semantic check guarantees it
            fields.append(self.field(*resolved, location, None if "use" in entry else name))
        by_key = {f.key: f for f in fields}
        shared = self.data["fields"]
        response = Response(
            kind=data["response"]["kind"],
            fields=tuple(
                self.field(k, shared[k], "json") for k in data["response"].get("fields", ())
            ),
            success_messages=tuple(data["response"]["success_messages"]),
            replies=tuple(KnownReply(**reply) for reply in data["response"].get("replies", ())),
            token_shape=data["response"].get("token_shape"),
        )
        rules = tuple(
            Rule(
                id=rule["id"],
                check=rule["check"],
                field=by_key[rule["field"]],
                args=tuple((role, by_key[key]) for role, key in rule["args"].items()),
                params=tuple(sorted(rule.get("params", {}).items())),
                when=tuple(self.conditions[c] for c in rule.get("when", ())),
                code=rule.get("code", "cross_field"),
                message=rule["message"],
                message_en=rule["message_en"],
                evidence=_evidence(rule["evidence"]),
            )
            for rule in self.data["rules"]
            if name in rule["operations"]
        )
        examples = tuple(
            Example(
                name=e["name"],
                summary=e["summary"],
                summary_en=e["summary_en"],
                errata=tuple(e.get("errata", ())),
                request={str(k): str(v) for k, v in e["request"].items()},
                as_printed=e.get("as_printed"),
                response=e.get("response"),
                response_as_printed=e.get("response_as_printed"),
                response_errata=tuple(e.get("response_errata", ())),
                request_as_printed={str(k): str(v) for k, v in e["request_as_printed"].items()}
                if "request_as_printed" in e
                else None,
                outcome_as_printed=e.get("outcome_as_printed"),
            )
            for e in data.get("examples", ())
        )
        return Operation(
            name=name,
            service=self.services[data["service"]],
            method=data["method"],
            path=data["path"],
            summary=data["summary"],
            summary_en=data["summary_en"],
            heading=data.get("heading"),
            input=location,
            input_note=data.get("input_note"),
            input_note_en=data.get("input_note_en"),
            fields=tuple(fields),
            rules=rules,
            response=response,
            examples=examples,
            erratum=data.get("erratum"),
        )

    def build(self) -> Spec:
        api = self.data["api"]
        revisions = tuple(
            Revision(
                r["version"],
                r["date"],
                r["note"],
                r["note_en"],
                r.get("author"),
                tuple(r.get("added_fields", ())),
            )
            for r in api["revisions"]
        )
        return Spec(
            api=Api(
                name=api["name"],
                title=api["title"],
                title_en=api["title_en"],
                publisher=api.get("publisher", ""),
                publisher_en=api.get("publisher_en", ""),
                system=api.get("system", ""),
                system_en=api.get("system_en", ""),
                manual_version=api["manual_version"],
                manual_date=date.fromisoformat(api["manual_date"]),
                description=api.get("description", ""),
                description_en=api.get("description_en", ""),
                revisions=revisions,
                text_encoding=evidence(api.get("text_encoding")) or Api.text_encoding,
                raw=api,
            ),
            services=tuple(self.services.values()),
            formats=self.formats,
            enums=self.enums,
            conditions=self.conditions,
            operations=tuple(self.operation(n, d) for n, d in self.data["operations"].items()),
            scores=tuple(
                Score(
                    key,
                    s["label"],
                    s["label_en"],
                    s.get("source"),
                    tuple(
                        (f, tuple((str(c), int(p)) for c, p in pts.items()))
                        for f, pts in s["points"].items()
                    ),
                )
                for key, s in self.data.get("scores", {}).items()
            ),
            errata=tuple(Erratum(key, **value) for key, value in self.data["errata"].items()),
            record_key=tuple(aspnet_camel_case(key) for key in self.data.get("record_key", ())),
        )


def build_model(data: dict[str, Any]) -> Spec:
    """Build the typed model from a spec that `load_spec` has checked."""
    return _Builder(data).build()
