"""Test vectors: for each operation, valid and invalid payloads with the outcome they must get.

Each vector starts from the manual's (corrected) example and changes one thing, so the field and
error code it must produce follow from the change itself, not from running any validator.
`schema_valid` says what a JSON Schema validator must answer (the schema does not check check
digits, calendars, ranges or cross-field rules); `valid` and `errors` what a full validator must.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from scforhis.validation.dates import format_gregorian, format_roc, parse_gregorian, parse_roc

from .emit_schemas import render_json
from .model import Field, Operation, Rule, Spec
from .patterns import value_pattern

# Codes a JSON Schema catches; the others only a full validator does.
SCHEMA_CODES = frozenset({"required", "blank", "type", "enum", "pattern", "length"})


@dataclass
class Vector:
    """One payload and the outcome it must get."""

    name: str
    description: str
    payload: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    # What a JSON Schema answers, where the codes alone do not tell (a number one past its
    # column's digits is a `range` error that the schema's digit pattern also refuses).
    schema_valid: bool | None = None

    def as_json(self) -> dict[str, Any]:
        codes = {error["code"] for error in self.errors}
        schema_valid = (
            self.schema_valid if self.schema_valid is not None else not (codes & SCHEMA_CODES)
        )
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "level": "schema" if not schema_valid or not codes else "validator",
            "schema_valid": schema_valid,
            "valid": not self.errors,
            "errors": [{**error, "severity": "error"} for error in self.errors],
            "warnings": [{**warning, "severity": "warning"} for warning in self.warnings],
            "payload": self.payload,
        }
        return data


def _day(field: Field, text: str) -> date | None:
    assert field.format is not None
    return parse_roc(text) if field.format.calendar == "roc" else parse_gregorian(text)


def _write(field: Field, day: date) -> str:
    assert field.format is not None
    return format_roc(day) if field.format.calendar == "roc" else format_gregorian(day)


def _not_a_real_day(field: Field) -> str:
    assert field.format is not None
    return "112/02/29" if field.format.calendar == "roc" else "2023/02/29"


def _number_text(value: float, decimals: int) -> str:
    """A number written plainly with at most `decimals` decimals (`999.9`, `100`)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(value))
    return text or "0"


def _one_past(field: Field) -> tuple[str, bool] | None:
    """A number one step past the field's range (the column's size), and whether it still
    matches the digit pattern that the JSON Schema checks."""
    assert field.format is not None and field.maximum is not None
    step = 10**-field.format.decimals if field.format.kind == "decimal" else 1
    above = _number_text(field.maximum + step, field.format.decimals)
    pattern = value_pattern(field)
    return above, bool(pattern and re.fullmatch(pattern, above))


def _implausible(field: Field) -> str | None:
    """A number the service stores but that lies just outside the plausible range."""
    assert field.plausible is not None
    low = field.minimum if field.minimum is not None else 0
    high = field.maximum if field.maximum is not None else field.plausible.maximum * 10
    pattern = value_pattern(field) or ""
    for candidate in (field.plausible.maximum + 1, field.plausible.minimum - 1):
        text = _number_text(candidate, 0)
        if low <= candidate <= high and (
            field.value_severity == "warning" or re.fullmatch(pattern, text)
        ):
            return text
    return None


def _malformed(field: Field) -> str:
    """A non-blank value that breaks the field's own pattern."""
    pattern = value_pattern(field) or "^$"
    return next(c for c in ("!", ",", "!" * 11, "1,") if not re.fullmatch(pattern, c))


def _advice_breaker(field: Field, value: str) -> str | None:
    """A value that passes the field's own check but not its advice: the example's value with
    its first character dropped (a lost leading zero) or in lower case."""
    fmt = field.format
    assert fmt is not None
    for candidate in (value[1:], value.lower(), value[:-1]):
        if not candidate.strip():
            continue
        if fmt.max_length is not None and len(candidate) > fmt.max_length:
            continue
        if fmt.pattern and not re.fullmatch(fmt.pattern, candidate):
            continue
        if any(not re.fullmatch(a.pattern, candidate) for a in field.advice):
            return candidate
    return None


def _error(field: Field, code: str) -> list[dict[str, str]]:
    return [{"field": field.wire, "code": code}]


def _finding(vector: Vector, field: Field, code: str, severity: str) -> Vector:
    (vector.errors if severity == "error" else vector.warnings).append(
        {"field": field.wire, "code": code}
    )
    return vector


def _field_vectors(operation: Operation, base: dict[str, Any]) -> Iterator[Vector]:
    for item in operation.fields:
        wire = item.wire
        if item.always_required:
            yield Vector(
                f"missing/{wire}",
                f"{item.label} 未送 / {item.label_en} missing",
                _without(base, wire),
                _error(item, "required"),
            )
            yield Vector(
                f"blank/{wire}",
                f"{item.label} 空白 / {item.label_en} blank",
                {**base, wire: " "},
                _error(item, "blank"),
            )
        if wire not in base:
            continue
        yield Vector(
            f"type/{wire}",
            f"{item.label} 不是字串 / {item.label_en} not a string",
            {**base, wire: 1},
            _error(item, "type"),
        )
        kind = item.kind
        if item.enum is not None:
            bad = next(code for code in ("9", "X", "99") if code not in item.enum.codes)
            yield Vector(
                f"enum/{wire}",
                f"{item.label} 代碼不存在 / unknown code",
                {**base, wire: bad},
                _error(item, "enum"),
            )
        elif kind in ("pattern", "date", "list", "integer", "decimal"):
            severity = item.value_severity
            vector = Vector(
                f"pattern/{wire}",
                f"{item.label} 格式錯誤 / malformed ({item.value_evidence.kind if item.value_evidence else 'manual'})",
                {**base, wire: _malformed(item)},
                schema_valid=severity != "error",
            )
            yield _finding(vector, item, "pattern", severity)
        fmt = item.format
        if fmt is not None and fmt.max_length is not None:
            yield Vector(
                f"length/{wire}",
                f"{item.label} 超過欄位長度 {fmt.max_length} / longer than its column",
                {**base, wire: "0" * (fmt.max_length + 1)},
                _error(item, "length"),
            )
        if item.advice and isinstance(base[wire], str):
            off = _advice_breaker(item, base[wire])
            if off is not None:
                yield Vector(
                    f"advice/{wire}",
                    f"{item.label} 不是常見的寫法 / not the usual shape ({item.advice[0].evidence.kind})",
                    {**base, wire: off},
                    warnings=[{"field": wire, "code": "pattern"}],
                )
        if item.format is not None and item.format.check == "tw_id_checksum":
            value = str(base[wire])
            wrong = value[:-1] + str((int(value[-1]) + 1) % 10)
            yield Vector(
                f"checksum/{wire}",
                f"{item.label} 檢查碼錯誤 / wrong check digit",
                {**base, wire: wrong},
                _error(item, "checksum"),
            )
        if kind == "date":
            yield Vector(
                f"date/{wire}",
                f"{item.label} 不存在的日期 / no such day",
                {**base, wire: _not_a_real_day(item)},
                _error(item, "date"),
            )
        # Where a dependent enum applies to the example (CURE_WEEK for medication), it narrows
        # the range further; its own vector covers that.
        narrowed = any(
            base.get(operation.field(d.condition.field).wire) == d.condition.equals
            for d in item.depends
        )
        if kind in ("integer", "decimal") and item.maximum is not None and not narrowed:
            one_past = _one_past(item)
            if one_past is not None:
                above, fits = one_past
                yield Vector(
                    f"range/{wire}",
                    f"{item.label} 超出欄位可存範圍 / beyond what the column holds",
                    {**base, wire: above},
                    _error(item, "range"),
                    schema_valid=fits,
                )
                yield Vector(
                    f"boundary/{wire}",
                    f"{item.label} 欄位可存的最大值 / the largest value the column holds",
                    {
                        **base,
                        wire: _number_text(
                            item.maximum, item.format.decimals if item.format else 0
                        ),
                    },
                    warnings=[{"field": wire, "code": "range"}]
                    if item.plausible is not None and item.maximum > item.plausible.maximum
                    else [],
                )
        if kind in ("integer", "decimal") and item.plausible is not None and not narrowed:
            odd = _implausible(item)
            if odd is not None:
                yield Vector(
                    f"plausible/{wire}",
                    f"{item.label} 不在常見範圍 / outside the plausible range ({item.plausible.evidence.kind})",
                    {**base, wire: odd},
                    warnings=[{"field": wire, "code": "range"}],
                )
        for dependent in item.depends:
            condition_wire = operation.field(dependent.condition.field).wire
            bad = next(str(n) for n in range(1, 100) if str(n) not in dependent.enum.codes)
            payload = {**base, condition_wire: dependent.condition.equals, wire: bad}
            yield Vector(
                f"enum_when/{wire}",
                f"{dependent.condition.label}時{item.label}須為{dependent.enum.label} / {dependent.enum.label_en}",
                payload,
                _error(item, "enum"),
            )
    for condition in {
        f.condition.key: f.condition for f in operation.fields if f.condition
    }.values():
        condition_wire = operation.field(condition.field).wire
        for item in operation.fields:
            if item.condition == condition and item.key != condition.field:
                payload = _without({**base, condition_wire: condition.equals}, item.wire)
                yield Vector(
                    f"required_when/{item.wire}",
                    f"{condition.label}時{item.label}為必填 / required for a {condition.label_en}",
                    payload,
                    [{"field": item.wire, "code": "required"}],
                )


def _without(payload: dict[str, Any], wire: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != wire}


# How to break each check kind: returns the changed fields, or None when the base cannot be broken.
Breaker = Callable[[Rule, dict[str, Any]], dict[str, Any] | None]


def _args(rule: Rule) -> dict[str, Field]:
    return dict(rule.args)


def _break_not_before(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    earlier, later = _args(rule)["earlier"], _args(rule)["later"]
    birth = _day(earlier, base[earlier.wire])
    return {later.wire: _write(later, birth - timedelta(days=1))} if birth else None


def _break_not_in_future(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    day = _args(rule)["day"]
    return {day.wire: _write(day, date(2999, 1, 1))}


def _break_age_at_most(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    birth, at = _args(rule)["birth"], _args(rule)["at"]
    visit = _day(at, base[at.wire])
    years = int(dict(rule.params)["years"])
    return {birth.wire: _write(birth, date(visit.year - years - 1, 1, 1))} if visit else None


def _break_age_at_least(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    birth, at = _args(rule)["birth"], _args(rule)["at"]
    visit = _day(at, base[at.wire])
    years = int(dict(rule.params)["years"])
    return {birth.wire: _write(birth, date(visit.year - years + 1, 1, 1))} if visit else None


def _break_years_within_age(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    years, birth, at = _args(rule)["years"], _args(rule)["birth"], _args(rule)["at"]
    born, visit = _day(birth, base[birth.wire]), _day(at, base[at.wire])
    if born is None or visit is None:
        return None
    # One year more than the age, inside the plausible range so that only the rule speaks.
    age = visit.year - born.year - ((visit.month, visit.day) < (born.month, born.day))
    return {years.wire: str(age + 1)}


def _break_same_count(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    first = _args(rule)["first"]
    text = str(base.get(first.wire) or "")
    items = [item.strip() for item in text.split(",") if item.strip()]
    return {first.wire: ",".join([*items, items[0]])} if items else None


def _break_roc_year_near(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    year, day = _args(rule)["year"], _args(rule)["day"]
    visit = _day(day, base[day.wire])
    before = int(dict(rule.params)["before"])
    return {year.wire: str(visit.year - 1911 - before - 1)} if visit else None


def _break_at_most(rule: Rule, base: dict[str, Any]) -> dict[str, Any] | None:
    return {_args(rule)["value"].wire: str(int(dict(rule.params)["limit"]) + 1)}


def _break_score(
    rule: Rule, base: dict[str, Any], spec: Spec, operation: Operation
) -> dict[str, Any]:
    params = dict(rule.params)
    score = next(s for s in spec.scores if s.key == params["score"])
    changes = {_args(rule)["count"].wire: str(int(params["min_count"]) - 1)}
    for key, points in score.points:
        changes[operation.field(key).wire] = min(points, key=lambda pair: pair[1])[0]
    return changes


BREAKERS: dict[str, Breaker] = {
    "not_before": _break_not_before,
    "not_in_future": _break_not_in_future,
    "age_at_most": _break_age_at_most,
    "age_at_least": _break_age_at_least,
    "years_within_age": _break_years_within_age,
    "same_count": _break_same_count,
    "roc_year_near": _break_roc_year_near,
    "at_most": _break_at_most,
    "never": lambda rule, base: {},
}


def _rule_vectors(spec: Spec, operation: Operation, base: dict[str, Any]) -> Iterator[Vector]:
    for rule in operation.rules:
        if rule.check == "score_or_count_at_least":
            changes: dict[str, Any] | None = _break_score(rule, base, spec, operation)
        else:
            changes = BREAKERS[rule.check](rule, base)
        if changes is None:
            continue
        for condition in rule.when:
            changes = {operation.field(condition.field).wire: condition.equals, **changes}
        finding = {"field": rule.field.wire, "code": rule.code, "rule": rule.id}
        vector = Vector(
            f"rule/{rule.id}", f"{rule.message} / {rule.message_en}", {**base, **changes}
        )
        (vector.errors if rule.severity == "error" else vector.warnings).append(finding)
        yield vector


def operation_vectors(spec: Spec, operation: Operation) -> list[dict[str, Any]]:
    """Every vector of one operation, in a fixed order."""
    vectors: list[Vector] = []
    for example in operation.examples:
        vectors.append(
            Vector(
                f"valid/{example.name}",
                f"{example.summary} / {example.summary_en}",
                dict(example.request),
            )
        )
        if example.request_as_printed is not None and example.outcome_as_printed is not None:
            outcome = example.outcome_as_printed
            vectors.append(
                Vector(
                    f"as_printed/{example.name}",
                    f"手冊原樣（含誤植）/ The manual's example exactly as printed: {example.summary_en}",
                    dict(example.request_as_printed),
                    [dict(e) for e in outcome["errors"]],
                    [dict(w) for w in outcome["warnings"]],
                    schema_valid=outcome["schema_valid"],
                )
            )
    if operation.examples:
        base = dict(operation.examples[0].request)
        vectors += _field_vectors(operation, base)
        vectors += _rule_vectors(spec, operation, base)
    return [vector.as_json() for vector in vectors]


def emit_vectors(spec: Spec) -> dict[str, str]:
    """`test-vectors/<Operation>.json` for every operation."""
    files = {}
    for operation in spec.operations:
        document = {
            "operation": operation.name,
            "api": f"{spec.api.name} {spec.api.manual_version}",
            "schema": f"../schemas/{operation.name}.request.schema.json",
            "description": (
                "每個向量由手冊範例改一處而來。schema_valid：JSON Schema 驗證器應有的結果；valid、errors、"
                "warnings：完整驗證器應有的結果（errors 為至少須報告的欄位與代碼）。 / Each vector changes one "
                "thing in the manual's example. schema_valid is what a JSON Schema validator must answer; valid, "
                "errors and warnings what a full validator must (errors lists what it must report at least)."
            ),
            "vectors": operation_vectors(spec, operation),
        }
        files[f"test-vectors/{operation.name}.json"] = render_json(document)
    return files
