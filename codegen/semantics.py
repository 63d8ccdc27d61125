"""The spec's semantic rules: what its JSON Schema cannot say.

Every reference resolves (fields, formats, enums, conditions, errata, operations, check kinds),
wire names are unique within an operation ignoring case (as ASP.NET binds them), patterns stay
inside the ECMA-262 subset, and a rule's arguments match its check's parameters.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any

from scforhis.validation import rules as rule_checks

from .naming import aspnet_camel_case, snake_case

Report = Callable[[tuple[str | int, ...], str], None]

REQUIRED_MODES = ("always", "never")
# Evidence kinds that make a failed check an error, and those that make it a warning.
ERROR_EVIDENCE = ("manual", "storage")
WARNING_EVIDENCE = ("programme", "plausibility")
# Format kinds that check something beyond "not blank", and so must name their evidence.
CHECKING_KINDS = ("pattern", "date", "list")
# Constructs that Python's `re` accepts but ECMA-262 (JavaScript, .NET in ECMAScript mode) reads
# differently or not at all. Patterns stay in the shared subset so every vendor's validator agrees.
_NON_ECMA = re.compile(r"\(\?(?!:)|\\[AZzGhH]|\\[pP]\{|\[\[:|\*\+|\+\+|\?\+|\}\+")
RULE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: function
    for name, function in inspect.getmembers(rule_checks, inspect.isfunction)
    if not name.startswith("_") and function.__module__ == rule_checks.__name__
}
# Parameters that generated code supplies itself rather than the spec's args or params.
IMPLICIT_PARAMETERS = frozenset({"today"})


def check_parameters(check: str) -> tuple[str, ...]:
    """The parameter names of a check kind, in order (`today` among them when it needs the date)."""
    return tuple(inspect.signature(RULE_FUNCTIONS[check]).parameters)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> Iterable[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else ()


def _evidence_kind(
    evidence: Any,
    allowed: tuple[str, ...],
    where: tuple[str | int, ...],
    slot: str,
    report: Report,
) -> None:
    kind = _mapping(evidence).get("kind")
    if kind is not None and kind not in allowed:
        report(
            (*where, "evidence", "kind"),
            f"{slot} takes evidence of kind {' or '.join(allowed)}, not {kind!r}",
        )


def check_pattern(pattern: str) -> str | None:
    """Return why `pattern` is unusable, or None when it compiles and stays ECMA-262 compatible."""
    try:
        re.compile(pattern)
    except re.error as error:
        return f"pattern does not compile: {error}"
    if _NON_ECMA.search(pattern):
        return "pattern uses a construct outside the ECMA-262 subset (inline flags, \\A, \\Z, possessive)"
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return "pattern must be anchored with ^ and $"
    return None


def operation_fields(spec: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    """The raw field entries of operation `name`, following `fields_like`; (index, entry) pairs."""
    operations = _mapping(spec.get("operations"))
    seen = set()
    while name in operations and name not in seen:
        seen.add(name)
        operation = _mapping(operations[name])
        if "fields_like" in operation:
            name = operation["fields_like"]
            continue
        return [
            (i, entry) for i, entry in _items(operation.get("fields")) if isinstance(entry, dict)
        ]
    return []


def resolve_entry(spec: dict[str, Any], entry: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return (key, definition) for one field entry of an operation, or None when unresolvable."""
    shared = _mapping(spec.get("fields"))
    if "use" in entry:
        definition = shared.get(entry["use"])
        if not isinstance(definition, dict):
            return None
        merged = {**definition, **{k: v for k, v in entry.items() if k != "use"}}
        return str(entry["use"]), merged
    if "name" in entry:
        return str(entry["name"]), entry
    return None


def wire_name(key: str, definition: dict[str, Any], location: str) -> str:
    """The name a field has on the wire: camelCase of the property for JSON, the name for queries."""
    if "wire" in definition:
        return str(definition["wire"])
    return aspnet_camel_case(key) if location == "json" else key


def _check_field(
    spec: dict[str, Any], where: tuple[str | int, ...], definition: dict[str, Any], report: Report
) -> None:
    formats = _mapping(spec.get("formats"))
    enums = _mapping(spec.get("enums"))
    conditions = _mapping(spec.get("conditions"))
    errata = _mapping(spec.get("errata"))
    has_format, has_enum = "format" in definition, "enum" in definition
    if has_format == has_enum:
        report(where, "a field needs exactly one of format or enum")
    if has_format and definition["format"] not in formats:
        report((*where, "format"), f"unknown format {definition['format']!r}")
    if has_enum and definition["enum"] not in enums:
        report((*where, "enum"), f"unknown enum {definition['enum']!r}")
    required = definition.get("required")
    if required is not None and required not in REQUIRED_MODES and required not in conditions:
        report(
            (*where, "required"), f"required must be always, never or a condition, not {required!r}"
        )
    if "erratum" in definition and definition["erratum"] not in errata:
        report((*where, "erratum"), f"unknown erratum {definition['erratum']!r}")
    kind = _mapping(formats.get(str(definition.get("format")))).get("kind")
    bounds = _mapping(definition.get("range"))
    plausible = _mapping(definition.get("plausible"))
    for name, limits in (("range", bounds), ("plausible", plausible)):
        if limits and kind not in ("integer", "decimal"):
            report((*where, name), f"{name} applies only to integer and decimal formats")
        if limits and limits.get("min", 0) > limits.get("max", 0):
            report((*where, name), f"{name} min is greater than max")
    if kind in ("integer", "decimal") and not bounds and not plausible:
        report(where, f"a field of {kind} format needs a range or a plausible range, with evidence")
    if (
        bounds
        and plausible
        and not (
            bounds.get("min", 0)
            <= plausible.get("min", 0)
            <= plausible.get("max", 0)
            <= bounds.get("max", 0)
        )
    ):
        report((*where, "plausible"), "the plausible range must lie within the range")
    # A slot's severity is fixed by the code that checks it: `range` refuses, the others warn.
    # Its evidence must agree, so that the severity always follows the evidence.
    _evidence_kind(bounds.get("evidence"), ERROR_EVIDENCE, (*where, "range"), "range", report)
    _evidence_kind(
        plausible.get("evidence"), WARNING_EVIDENCE, (*where, "plausible"), "plausible", report
    )
    absent = _mapping(definition.get("absent"))
    _evidence_kind(absent.get("evidence"), WARNING_EVIDENCE, (*where, "absent"), "absent", report)
    if absent and definition.get("required") != "never":
        report((*where, "absent"), "absent applies only to a field that is required: never")
    for index, advice in _items(definition.get("advice")):
        advice = _mapping(advice)
        at = (*where, "advice", index)
        _evidence_kind(advice.get("evidence"), WARNING_EVIDENCE, at, "advice", report)
        reason = check_pattern(str(advice.get("pattern", "")))
        if reason:
            report((*at, "pattern"), reason)
    for index, dependent in _items(definition.get("depends")):
        if _mapping(dependent).get("condition") not in conditions:
            report(
                (*where, "depends", index, "condition"),
                f"unknown condition {dependent.get('condition')!r}",
            )
        if _mapping(dependent).get("enum") not in enums:
            report((*where, "depends", index, "enum"), f"unknown enum {dependent.get('enum')!r}")


def _check_operation(spec: dict[str, Any], name: str, report: Report) -> dict[str, dict[str, Any]]:
    """Check one operation; return its resolved fields keyed by field key."""
    operations = _mapping(spec.get("operations"))
    operation = _mapping(operations.get(name))
    where: tuple[str | int, ...] = ("operations", name)
    if operation.get("service") not in _mapping(spec.get("services")):
        report((*where, "service"), f"unknown service {operation.get('service')!r}")
    if "fields_like" in operation:
        like = operation["fields_like"]
        if like not in operations or "fields_like" in _mapping(operations.get(like)):
            report(
                (*where, "fields_like"),
                f"fields_like must name an operation with fields, not {like!r}",
            )
    location = operation.get("input", "json")
    resolved: dict[str, dict[str, Any]] = {}
    unresolved = False
    wires: dict[str, str] = {}
    pythons: dict[str, str] = {}
    fields_where = (*where, "fields") if "fields" in operation else (*where, "fields_like")
    for index, entry in operation_fields(spec, name):
        entry_where = (*fields_where, index) if "fields" in operation else fields_where
        found = resolve_entry(spec, entry)
        if found is None:
            unresolved = True
            if (
                "fields" in operation
            ):  # an operation that borrows the fields hears of it once, there
                report((*entry_where, "use"), f"unknown field {entry.get('use')!r}")
            continue
        key, definition = found
        if "name" in entry:
            _check_field(spec, entry_where, definition, report)
        elif "erratum" in entry and entry["erratum"] not in _mapping(spec.get("errata")):
            report((*entry_where, "erratum"), f"unknown erratum {entry['erratum']!r}")
        wire = wire_name(key, definition, location)
        folded = wire.casefold()
        python = str(definition.get("python", snake_case(key)))
        if folded in wires:
            report(
                entry_where,
                f"wire name {wire!r} repeats {wires[folded]!r} (names bind ignoring case)",
            )
        elif python in pythons:
            report(entry_where, f"Python name {python!r} repeats the field {pythons[python]!r}")
        wires[folded] = wire
        pythons[python] = key
        resolved[key] = definition
        alias = definition.get("alias")
        if isinstance(alias, str):
            if alias.casefold() in wires:
                report(
                    entry_where,
                    f"alias {alias!r} repeats the wire name {wires[alias.casefold()]!r}",
                )
            wires[alias.casefold()] = wire
    conditions = _mapping(spec.get("conditions"))
    for key, definition in resolved.items():
        needed = [definition.get("required")] + [
            _mapping(d).get("condition") for _, d in _items(definition.get("depends"))
        ]
        for condition in needed:
            if condition in conditions and conditions[condition].get("field") not in resolved:
                report(
                    fields_where,
                    f"field {key!r} depends on {condition!r}, whose field is not in {name}",
                )
    response = _mapping(operation.get("response"))
    shared = _mapping(spec.get("fields"))
    for index, field in _items(response.get("fields")):
        if field not in shared:
            report((*where, "response", "fields", index), f"unknown field {field!r}")
    for index, example in _items(operation.get("examples")):
        for key in ("errata", "response_errata"):
            for j, erratum in _items(_mapping(example).get(key)):
                if erratum not in _mapping(spec.get("errata")):
                    report((*where, "examples", index, key, j), f"unknown erratum {erratum!r}")
        request = _mapping(example).get("request")
        for wire in _mapping(request) if not unresolved else ():
            if str(wire).casefold() not in wires:
                report(
                    (*where, "examples", index, "request", wire),
                    f"unknown field {wire!r} in {name}",
                )
    return resolved


def _check_rule(
    spec: dict[str, Any],
    index: int,
    rule: dict[str, Any],
    fields_by_op: dict[str, dict[str, Any]],
    report: Report,
) -> None:
    where: tuple[str | int, ...] = ("rules", index)
    conditions = _mapping(spec.get("conditions"))
    function = RULE_FUNCTIONS.get(rule.get("check", ""))
    if function is None:
        known = ", ".join(sorted(RULE_FUNCTIONS))
        report((*where, "check"), f"unknown check {rule.get('check')!r} (known: {known})")
    else:
        wanted = set(inspect.signature(function).parameters) - IMPLICIT_PARAMETERS
        given = set(_mapping(rule.get("args"))) | set(_mapping(rule.get("params")))
        if wanted != given:
            report(
                where,
                f"check {rule['check']!r} takes {sorted(wanted)}, the rule gives {sorted(map(str, given))}",
            )
    scores = _mapping(spec.get("scores"))
    score = _mapping(rule.get("params")).get("score")
    if score is not None and score not in scores:
        report((*where, "params", "score"), f"unknown score {score!r}")
    for j, condition in _items(rule.get("when")):
        if condition not in conditions:
            report((*where, "when", j), f"unknown condition {condition!r}")
    named = [*_mapping(rule.get("args")).values(), rule.get("field")]
    named += [_mapping(conditions.get(c)).get("field") for _, c in _items(rule.get("when"))]
    if score is not None:
        named += list(_mapping(_mapping(scores.get(score)).get("points")))
    lacking: dict[str, list[str]] = {}
    for j, operation in _items(rule.get("operations")):
        fields = fields_by_op.get(operation)
        if fields is None:
            report((*where, "operations", j), f"unknown operation {operation!r}")
            continue
        for field in dict.fromkeys(named):
            if field is not None and field not in fields:
                lacking.setdefault(field, []).append(operation)
    for field, operations in lacking.items():
        verb = "does" if len(operations) == 1 else "do"
        report(
            where, f"rule names field {field!r}, which {' and '.join(operations)} {verb} not have"
        )


def _check_enums(spec: dict[str, Any], report: Report) -> None:
    for key, enum in _mapping(spec.get("enums")).items():
        codes: set[str] = set()
        names: set[str] = set()
        for index, value in _items(_mapping(enum).get("values")):
            code, name = _mapping(value).get("code"), _mapping(value).get("name")
            if code in codes:
                report(("enums", key, "values", index, "code"), f"code {code!r} repeats")
            if name in names:
                report(("enums", key, "values", index, "name"), f"name {name!r} repeats")
            codes.add(str(code))
            names.add(str(name))
            if "erratum" in value and value["erratum"] not in _mapping(spec.get("errata")):
                report(
                    ("enums", key, "values", index, "erratum"),
                    f"unknown erratum {value['erratum']!r}",
                )


def semantic_problems(spec: dict[str, Any], report: Report) -> None:
    """Report, through `report(path, message)`, every semantic problem of the spec."""
    formats = _mapping(spec.get("formats"))
    for key, definition in formats.items():
        definition = _mapping(definition)
        if "pattern" in definition and isinstance(definition["pattern"], str):
            reason = check_pattern(definition["pattern"])
            if reason:
                report(("formats", key, "pattern"), reason)
        if definition.get("kind") in CHECKING_KINDS and "pattern" not in definition:
            report(("formats", key), f"a {definition.get('kind')} format needs a pattern")
        checks = definition.get("kind") in CHECKING_KINDS or "max_length" in definition
        if checks and "evidence" not in definition:
            report(("formats", key), "a format that checks values needs evidence")
        if "max_length" in definition and definition.get("kind") != "text":
            report(("formats", key, "max_length"), "max_length applies only to a text format")
        if definition.get("kind") == "list" and definition.get("item") not in formats:
            report(("formats", key, "item"), f"unknown format {definition.get('item')!r}")
        if definition.get("kind") == "date" and definition.get("calendar") not in (
            "gregorian",
            "roc",
        ):
            report(("formats", key, "calendar"), "a date format needs calendar gregorian or roc")
    for key, definition in _mapping(spec.get("fields")).items():
        _check_field(spec, ("fields", key), _mapping(definition), report)
    _check_enums(spec, report)
    fields_by_op = {
        name: _check_operation(spec, name, report) for name in _mapping(spec.get("operations"))
    }
    all_fields = {key for fields in fields_by_op.values() for key in fields}
    for operation in _mapping(spec.get("operations")).values():
        all_fields.update(
            str(f) for _, f in _items(_mapping(_mapping(operation).get("response")).get("fields"))
        )
    for key, condition in _mapping(spec.get("conditions")).items():
        if _mapping(condition).get("field") not in all_fields:
            report(("conditions", key, "field"), f"unknown field {condition.get('field')!r}")
    for index, rule in _items(spec.get("rules")):
        _check_rule(spec, index, _mapping(rule), fields_by_op, report)
    shared = _mapping(spec.get("fields"))
    for index, key in _items(spec.get("record_key")):
        if key not in shared:
            report(("record_key", index), f"unknown field {key!r}")
    enums = _mapping(spec.get("enums"))
    for score, definition in _mapping(spec.get("scores")).items():
        for field, points in _mapping(_mapping(definition).get("points")).items():
            enum_key = _mapping(shared.get(field)).get("enum")
            if enum_key is not None and enum_key not in enums:
                continue  # the field's unknown enum is reported where the field is defined
            enum = _mapping(enums.get(str(enum_key)))
            codes = {str(_mapping(v).get("code")) for _, v in _items(enum.get("values"))}
            if not codes:
                report(("scores", score, "points", field), f"{field!r} is not a field with an enum")
            elif set(_mapping(points)) != codes:
                report(
                    ("scores", score, "points", field),
                    f"points must cover exactly the codes {sorted(codes)}",
                )
    for index, revision in _items(_mapping(spec.get("api")).get("revisions")):
        for j, field in _items(_mapping(revision).get("added_fields")):
            if field not in shared:
                report(("api", "revisions", index, "added_fields", j), f"unknown field {field!r}")
