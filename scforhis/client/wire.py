"""Records as the service takes them: canonical wire names, every value a string.

Generated code describes each operation with an `OperationSpec`: its fields (`WireField`: wire
name, converter, sensitivity, which client setting fills it) and the names it accepts. The
converters turn Python values into the text each field's format wants: a `date` becomes
Gregorian `YYYY/MM/DD`, ROC `YYY/MM/DD` or a ROC year as the field says, a `bool` becomes
`true`/`false`, a sequence a comma-separated list, a `StrEnum` its code. A value a converter does
not understand is passed on unchanged, for the validator to report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from scforhis.redaction import shown_value
from scforhis.validation.dates import format_gregorian, format_roc
from scforhis.validation.dates import roc_year as roc_year_of
from scforhis.validation.issues import ValidationResult

from .replies import ResponseShape

Converter = Callable[[object], object]


def text(value: object) -> object:
    """A string (a `StrEnum` gives its code); anything else unchanged."""
    return str(value) if isinstance(value, str) else value


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def gregorian_date(value: object) -> object:
    """A `date` (or `datetime`) as Gregorian `YYYY/MM/DD`."""
    day = _day(value)
    return format_gregorian(day) if day is not None else text(value)


def roc_date(value: object) -> object:
    """A `date` (or `datetime`) as ROC `YYY/MM/DD` (`109/08/10`, `50/01/01`)."""
    day = _day(value)
    return format_roc(day) if day is not None else text(value)


def roc_year(value: object) -> object:
    """A `date` as its ROC year (`2022-10-03` -> `111`); an `int` is taken as the ROC year."""
    day = _day(value)
    if day is not None:
        return str(roc_year_of(day))
    return integer(value)


def integer(value: object) -> object:
    """An `int` as decimal digits (a `bool` is not a number here)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value)


def decimal(value: object) -> object:
    """An `int`, `float` or `Decimal` without exponent or trailing zeros (`170.0` -> `170`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return value
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else value
            shown = format(number.normalize(), "f")
        except (InvalidOperation, ValueError):
            return value
        return shown
    return text(value)


def boolean(value: object) -> object:
    """A `bool` as `true` or `false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return text(value)


def _joined(value: object, item: Converter) -> object:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return text(value)
    items = [item(element) for element in value]
    if not all(isinstance(element, str) for element in items):
        return value
    return ",".join(str(element) for element in items)


def code_list(value: object) -> object:
    """A sequence of codes as a comma-separated list (`B022538129,B024431100`)."""
    return _joined(value, text)


def number_list(value: object) -> object:
    """A sequence of numbers as a comma-separated list (`10,20`)."""
    return _joined(value, decimal)


@dataclass(frozen=True, slots=True)
class WireField:
    """One field of one operation as the client sends it.

    `filled` names what supplies the value when the record leaves it out: a client setting
    (`account`, `password`, `hosp_id`, `hosp_seq_no`) or `token`, which the client always supplies.
    `also_as` is a second name the value is sent under (see the spec's erratum `examyyear`).
    """

    wire: str
    python: str
    convert: Converter
    sensitive: str | None = None
    filled: str | None = None
    # Another name the manual gives the field (`examyyear`): the value is sent under both.
    also_as: str | None = None


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation as the client calls it; generated from the spec.

    `aliases` maps every accepted name, lower-cased (wire name, the manual's name, Python name),
    to the canonical wire name; `foreign` holds the names of other operations' fields, which a
    record may carry (a Save record passed to Delete) and which are left out without a warning.
    """

    name: str
    method: str
    path: str
    service: str
    input: str
    fields: tuple[WireField, ...]
    aliases: Mapping[str, str]
    foreign: frozenset[str]
    validator: Callable[[object], ValidationResult]
    response: ResponseShape
    idempotent: bool
    needs_token: bool
    # Fields by wire name, built once: payloads look fields up for every key they carry.
    by_wire: Mapping[str, WireField] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_wire", {item.wire: item for item in self.fields})

    def field(self, wire: str) -> WireField:
        """The field with canonical wire name `wire`."""
        return self.by_wire[wire]


def is_record(record: object) -> bool:
    """True for what the client takes as a record: a mapping or a dataclass instance."""
    return isinstance(record, Mapping) or (
        dataclasses.is_dataclass(record) and not isinstance(record, type)
    )


def record_items(record: object) -> Iterable[tuple[object, object]]:
    """The (name, value) pairs of a mapping or a dataclass instance (None gives none)."""
    if record is None:
        return ()
    if isinstance(record, Mapping):
        return record.items()
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return ((item.name, getattr(record, item.name)) for item in dataclasses.fields(record))
    raise TypeError(f"a record must be a mapping or a request model, not {type(record).__name__}")


def build_payload(
    operation: OperationSpec, *records: object
) -> tuple[dict[str, object], dict[object, object]]:
    """The records merged (later ones win) and split into (known, unknown).

    `known` is keyed by canonical wire names with values converted; `unknown` keeps names that
    no operation knows, as given, so that the validator can warn about them (did you mean...?).
    A None value counts as absent.
    """
    known: dict[str, object] = {}
    unknown: dict[object, object] = {}
    for record in records:
        for key, value in record_items(record):
            if value is None:
                continue
            wire = operation.aliases.get(key.lower()) if isinstance(key, str) else None
            if wire is not None:
                known[wire] = operation.by_wire[wire].convert(value)
            elif not (isinstance(key, str) and key.lower() in operation.foreign):
                unknown[key] = value
    return known, unknown


def wire_payload(operation: OperationSpec, record: object) -> dict[str, object]:
    """`record` keyed by the operation's canonical wire names, values converted; nothing filled in."""
    return build_payload(operation, record)[0]


def model_repr(record: Any, sensitive: Mapping[str, str]) -> str:
    """A request model's repr: fields that are set, with secrets hidden and ID numbers masked."""
    parts = []
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if value is not None:
            parts.append(f"{item.name}={shown_value(value, sensitive.get(item.name))}")
    return f"{type(record).__name__}({', '.join(parts)})"
