"""Evidence-graded checks: every check names its evidence, the severity follows it, the spec
check refuses a check without it, and the docs show it.

The bounds are taken from the spec model, so a new field or a changed column size is covered
without touching this file: each storage bound is accepted at its edge and refused one past it,
and each plausible range warns outside it while the record stays valid.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import scforhis
from codegen.load import load_spec
from codegen.model import Field, Operation
from codegen.problems import SpecError
from tests.conftest import ROOT, SPEC_PATH, spec_model

TODAY = date(2026, 11, 25)
SPEC_TEXT = SPEC_PATH.read_text(encoding="utf-8")
DOCS = ROOT / "generated" / "docs"


def _base(operation: Operation, field: Field) -> dict[str, Any]:
    """The manual's example with `field`'s dependent enums switched off (CURE_WEEK's 1-4
    applies to medication only), so that only the field's own bounds speak."""
    payload = dict(operation.examples[0].request)
    for dependent in field.depends:
        condition = operation.field(dependent.condition.field)
        assert condition.enum is not None
        other = next(code for code in condition.enum.codes if code != dependent.condition.equals)
        payload[condition.wire] = other
    return payload


def _number(value: float, decimals: int) -> str:
    return (
        f"{value:.{decimals}f}" if decimals and not float(value).is_integer() else str(int(value))
    )


def _bounded_numbers() -> list[tuple[str, str]]:
    return [
        (op.name, f.key)
        for op in spec_model().operations
        if op.examples
        for f in op.fields
        if f.range_evidence is not None and f.range_evidence.kind in ("manual", "storage")
    ]


def _field_issues(result: scforhis.ValidationResult, wire: str) -> list[scforhis.Issue]:
    return [i for i in result.errors + result.warnings if i.field == wire]


@pytest.mark.parametrize(("operation", "key"), _bounded_numbers())
def test_a_storage_bound_is_accepted_at_its_edge_and_refused_one_past(
    operation: str, key: str
) -> None:
    op = spec_model().operation(operation)
    field = op.field(key)
    assert field.format is not None and field.minimum is not None and field.maximum is not None
    decimals = field.format.decimals if field.format.kind == "decimal" else 0
    step = 10**-decimals
    for edge in (field.minimum, field.maximum):
        payload = {**_base(op, field), field.wire: _number(edge, decimals)}
        result = scforhis.validate(operation, payload, today=TODAY)
        assert not [i for i in result.errors if i.field == field.wire], str(result)
    past = {**_base(op, field), field.wire: _number(field.maximum + step, decimals)}
    result = scforhis.validate(operation, past, today=TODAY)
    refused = [i for i in result.errors if i.field == field.wire]
    assert refused and refused[0].evidence == field.range_evidence.kind, str(result)  # type: ignore[union-attr]


def _text_columns() -> list[tuple[str, str]]:
    return [
        (op.name, f.key)
        for op in spec_model().operations
        if op.examples
        for f in op.fields
        if f.format is not None and f.format.max_length is not None
    ]


@pytest.mark.parametrize(("operation", "key"), _text_columns())
def test_a_text_column_takes_its_length_and_refuses_one_more(operation: str, key: str) -> None:
    op = spec_model().operation(operation)
    field = op.field(key)
    assert field.format is not None and field.format.max_length is not None
    longest = field.format.max_length
    fits = scforhis.validate(
        operation, {**_base(op, field), field.wire: "9" * longest}, today=TODAY
    )
    assert not [i for i in fits.errors if i.field == field.wire], str(fits)
    over = scforhis.validate(
        operation, {**_base(op, field), field.wire: "9" * (longest + 1)}, today=TODAY
    )
    assert [(i.code, i.evidence) for i in over.errors if i.field == field.wire] == [
        ("length", "storage")
    ]


def _plausible_ranges() -> list[tuple[str, str, str]]:
    cases = []
    for op in spec_model().operations:
        if not op.examples:
            continue
        for f in op.fields:
            if f.plausible is None:
                continue
            low = f.minimum if f.minimum is not None else 0
            high = f.maximum if f.maximum is not None else f.plausible.maximum * 10
            for value in (f.plausible.minimum - 1, f.plausible.maximum + 1):
                if low <= value <= high:
                    cases.append((op.name, f.key, str(int(value))))
    return cases


@pytest.mark.parametrize(("operation", "key", "value"), _plausible_ranges())
def test_outside_a_plausible_range_warns_and_the_record_stays_valid(
    operation: str, key: str, value: str
) -> None:
    op = spec_model().operation(operation)
    field = op.field(key)
    assert field.plausible is not None
    result = scforhis.validate(operation, {**_base(op, field), field.wire: value}, today=TODAY)
    assert result.ok, str(result)
    found = [(i.code, i.severity, i.evidence) for i in _field_issues(result, field.wire)]
    assert ("range", "warning", field.plausible.evidence.kind) in found, str(result)
    hint = field.plausible.hint
    assert any(hint in i.message for i in result.warnings if i.field == field.wire)


def test_every_check_in_the_spec_names_its_evidence() -> None:
    for op in spec_model().operations:
        for f in op.fields:
            checks_something = f.enum is not None or (
                f.format is not None
                and (f.format.kind != "text" or f.format.max_length is not None)
            )
            if checks_something:
                assert f.value_evidence is not None, (op.name, f.key)
            for dependent in f.depends:
                assert dependent.evidence is not None
            if f.condition is not None:
                assert f.condition.evidence is not None, (op.name, f.key)
        for rule in op.rules:
            assert rule.evidence.kind in ("manual", "storage", "programme", "plausibility")
            assert rule.severity == (
                "error" if rule.evidence.kind in ("manual", "storage") else "warning"
            )


# Breakages of the real spec that must each be refused by `make check`, with a location.
MISSING_EVIDENCE = {
    "a format without evidence": (
        "    example: B024648100\n    evidence:\n      kind: plausibility\n",
        "    example: B024648100\n    x_evidence:\n      kind: plausibility\n",
        "formats.nhi_drug_code",
    ),
    "a range without evidence": (
        "    range:\n      min: 0\n      max: 99\n      evidence:\n        kind: storage\n        says: CO_CHECK",
        "    range:\n      min: 0\n      max: 99\n      x_evidence:\n        kind: storage\n        says: CO_CHECK",
        "fields.CO_CHECK.range",
    ),
    "a plausible range claiming the manual": (
        "      hint: 序號從 1 起算\n      hint_en: course numbers count from 1\n      evidence:\n        kind: plausibility",
        "      hint: 序號從 1 起算\n      hint_en: course numbers count from 1\n      evidence:\n        kind: manual",
        "fields.CURE_STAGE.plausible.evidence.kind",
    ),
    "a rule without evidence": (
        "    message_en: The patient would be over 120 at the visit; check the date of birth\n    evidence:",
        "    message_en: The patient would be over 120 at the visit; check the date of birth\n    x_evidence:",
        "rules[4]",
    ),
    "storage evidence without a source": (
        "        says: SMOKE_MON numeric(2,0)\n        says_en: SMOKE_MON numeric(2,0)\n        source: domain-facts.md, sizes seen in a public back-office database of this system\n",
        "        says: SMOKE_MON numeric(2,0)\n        says_en: SMOKE_MON numeric(2,0)\n",
        "fields.SMOKE_MON.range.evidence",
    ),
}


@pytest.mark.parametrize("case", MISSING_EVIDENCE, ids=list(MISSING_EVIDENCE))
def test_the_spec_check_refuses_a_check_without_fitting_evidence(case: str, tmp_path: Path) -> None:
    old, new, where = MISSING_EVIDENCE[case]
    assert SPEC_TEXT.count(old) == 1, case
    broken = tmp_path / "scforhis.yaml"
    broken.write_text(SPEC_TEXT.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(broken)
    assert any(p.path.startswith(where) for p in caught.value.problems), caught.value.problems


def test_docs_show_each_checks_evidence_and_the_manuals_own_words() -> None:
    save = (DOCS / "Save.md").read_text(encoding="utf-8")
    query = (DOCS / "GetSCDataB.md").read_text(encoding="utf-8")
    assert "## 檢查與依據 Checks and their evidence" in save
    # The manual's field notes, word for word.
    assert "「抽菸 (年數)」" in save
    assert "「true: 綁定 false: 不綁定」" in query
    assert "「1:用藥 2:衛教」" in query
    # Column sizes and judgement are said as such.
    assert "欄位大小 column size：SMOKE_MON numeric(2,0)" in save
    assert "合理性判斷 plausibility (our judgement)" in save


def test_docs_never_credit_the_manual_with_a_rule_it_does_not_state() -> None:
    for op in spec_model().operations:
        page = (DOCS / f"{op.name}.md").read_text(encoding="utf-8")
        for rule in op.rules:
            (row,) = [line for line in page.splitlines() if line.startswith(f"| `{rule.id}` |")]
            words = {
                "manual": "手冊 manual",
                "storage": "欄位大小 column size",
                "programme": "計畫規定 programme",
                "plausibility": "合理性判斷 plausibility",
            }
            assert words[rule.evidence.kind] in row, row
            if rule.evidence.kind != "manual":
                assert "手冊 manual：" not in row, row
