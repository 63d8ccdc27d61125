"""Reference docs in Markdown, zh-TW with English beside it: an index, one page per operation,
and the errata. The emitter words every cell; the templates only lay the tables out."""

from __future__ import annotations

import json
from typing import Any

from .model import Evidence, Field, Operation, Rule, Spec
from .openapi_schemas import conditional_rules
from .patterns import value_pattern
from .render import render_template

REQUIRED_WORDS = {"always": "必填 required", "never": "選填 optional"}
# The manual's tables have a 必填 column: Y is the evidence of every always-required field.
TABLE_REQUIRED = Evidence(
    "manual", "輸入參數表「必填」欄為 Y", "The input table's 必填 (required) column says Y"
)


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def required_words(field: Field) -> str:
    """How required a field is, in words."""
    if field.condition is not None:
        return f"{field.condition.label}必填 required for a {field.condition.label_en}"
    return REQUIRED_WORDS[field.required]


EVIDENCE_WORDS = {
    "manual": "手冊 manual",
    "storage": "欄位大小 column size",
    "programme": "計畫規定 programme",
    "plausibility": "合理性判斷 plausibility (our judgement)",
}
SEVERITY_WORDS = {"error": "錯誤 error", "warning": "警告 warning"}


def evidence_words(evidence: Evidence) -> str:
    """Evidence in words: its kind, what it says (the manual's own words where it is the
    manual), and its source."""
    says = f"「{evidence.says}」" if evidence.kind == "manual" else evidence.says
    words = f"{EVIDENCE_WORDS[evidence.kind]}：{says} / {evidence.says_en}"
    if evidence.why:
        words += f"。{evidence.why} / {evidence.why_en}"
    if evidence.source:
        words += f"（{evidence.source}）"
    return words


def format_words(field: Field) -> str:
    """The value's format in words, with its pattern, its range and its plausible range."""
    if field.enum is not None:
        return f"代碼 code（{field.enum.label}）"
    assert field.format is not None
    words = f"{field.format.label} / {field.format.label_en}"
    pattern = value_pattern(field)
    if pattern:
        words += f" `{pattern}`"
    if field.format.max_length is not None:
        words += (
            f"，至多 {field.format.max_length} 字元 at most {field.format.max_length} characters"
        )
    if field.minimum is not None:
        words += f"，可存範圍 stored range {field.minimum:g}–{field.maximum:g}"
    if field.plausible is not None:
        words += f"，常見範圍 plausible {field.plausible.minimum:g}–{field.plausible.maximum:g}"
    if field.format.check == "tw_id_checksum":
        words += "，含檢查碼 check digit verified"
    return words


def check_rows(field: Field) -> list[dict[str, str]]:
    """Every check of a field with its severity and the evidence behind it."""
    rows: list[tuple[str, str, Evidence]] = []
    if field.always_required:
        rows.append(("必填 required", "error", TABLE_REQUIRED))
    if field.condition is not None and field.condition.evidence is not None:
        rows.append(
            (f"{field.condition.label}必填 required for a {field.condition.label_en}", "error",
             field.condition.evidence)
        )  # fmt: skip
    if field.absent is not None:
        rows.append(("未送時提醒 warned when left out", "warning", field.absent.evidence))
    evidence = field.value_evidence
    if evidence is not None:
        what = f"格式與範圍 format and range: {format_words(field)}"
        if field.enum is not None:
            what = f"代碼 codes: {field.enum.choices}"
        rows.append((what, evidence.severity, evidence))
    if field.plausible is not None and field.minimum is not None:
        soft = field.plausible
        rows.append(
            (f"常見範圍 plausible {soft.minimum:g}–{soft.maximum:g}：{soft.hint} / {soft.hint_en}",
             "warning", soft.evidence)
        )  # fmt: skip
    for advice in field.advice:
        rows.append(
            (f"通常為 usually {advice.label} / {advice.label_en} `{advice.pattern}`", "warning",
             advice.evidence)
        )  # fmt: skip
    for dependent in field.depends:
        rows.append(
            (f"{dependent.condition.label}時 for {dependent.condition.label_en}: {dependent.enum.choices}",
             dependent.evidence.severity, dependent.evidence)
        )  # fmt: skip
    return [
        {"wire": cell(field.wire), "check": cell(what), "severity": SEVERITY_WORDS[severity],
         "evidence": cell(evidence_words(evidence))}
        for what, severity, evidence in rows
    ]  # fmt: skip


def codes_words(field: Field) -> str:
    """The enum codes with their meanings, and the dependent enums."""
    parts = []
    if field.enum is not None:
        parts.append("<br>".join(f"`{v.code}` {v.label} ({v.label_en})" for v in field.enum.values))
    for dependent in field.depends:
        listed = "、".join(f"`{v.code}` {v.label}" for v in dependent.enum.values)
        parts.append(f"{dependent.condition.label}時 for {dependent.condition.label_en}: {listed}")
    return "<br>".join(parts)


def field_row(field: Field) -> dict[str, str]:
    """One row of a field table."""
    notes = []
    if field.sensitive == "secret":
        notes.append("機密，不記錄 secret, never logged")
    elif field.sensitive == "national_id":
        notes.append("顯示時遮蔽 shown masked")
    if field.since:
        notes.append(f"{field.since} 版新增 added in {field.since}")
    if field.erratum:
        notes.append(f"見勘誤 see erratum [{field.erratum}](errata.md#{field.erratum})")
    return {
        "wire": cell(field.wire),
        "table_name": cell(field.table_name),
        "label": cell(
            f"{field.label}<br>{field.label_en}"
            + (
                f"<br>手冊 manual：「{field.description}」"
                if field.description != field.label
                else ""
            )
        ),
        "format": cell(format_words(field)),
        "required": cell(required_words(field)),
        "codes": cell(codes_words(field)),
        "notes": cell("；".join(notes)),
    }


def rule_words(rule: Rule) -> dict[str, str]:
    """A rule in words: what it checks, on which fields, when, how severe, and its source."""
    fields = "、".join(f"`{f.wire}`" for _, f in rule.args) or f"`{rule.field.wire}`"
    when = "、".join(f"{c.label}（`{c.field}` = `{c.equals}`）" for c in rule.when)
    return {
        "id": rule.id,
        "message": cell(rule.message),
        "message_en": cell(rule.message_en),
        "fields": cell(fields),
        "when": cell(when or "一律 always"),
        "severity": f"{SEVERITY_WORDS[rule.severity]} (`{rule.code}`)",
        "source": cell(evidence_words(rule.evidence)),
    }


def operation_page(spec: Spec, operation: Operation) -> str:
    """The page of one operation."""
    errata_keys = {f.erratum for f in operation.fields if f.erratum}
    errata_keys |= {operation.erratum} if operation.erratum else set()
    for example in operation.examples:
        errata_keys |= set(example.errata) | set(example.response_errata)
    examples = [
        {
            "example": example,
            "request": json.dumps(example.request, ensure_ascii=False, indent=2),
            "response": json.dumps(example.response, ensure_ascii=False, indent=2)
            if example.response is not None
            else None,
        }
        for example in operation.examples
    ]
    conditional = [
        {"condition": c, "fields": [f for f in operation.fields if f.condition == c]}
        for c in {f.condition.key: f.condition for f in operation.fields if f.condition}.values()
    ]
    return render_template(
        "docs/operation.md.j2",
        spec=spec,
        operation=operation,
        rows=[field_row(f) for f in operation.fields],
        checks=[row for f in operation.fields for row in check_rows(f)],
        response_rows=[field_row(f) for f in operation.response.fields],
        conditional=conditional,
        dependents=[(f, d) for f in operation.fields for d in f.depends],
        rules=[rule_words(r) for r in operation.rules],
        examples=examples,
        errata=[e for e in spec.errata if e.key in errata_keys],
    )


def emit_docs(spec: Spec) -> dict[str, str]:
    """`docs/index.md`, `docs/<Operation>.md` and `docs/errata.md`."""
    files = {f"docs/{op.name}.md": operation_page(spec, op) for op in spec.operations}
    formats = [
        {"key": f.key, "label": cell(f.label), "label_en": cell(f.label_en), "pattern": cell(f.pattern or ""),
         "example": cell(f.example or ""),
         "evidence": cell(f"{SEVERITY_WORDS[f.evidence.severity]}，{evidence_words(f.evidence)}") if f.evidence else ""}
        for f in spec.formats.values()
    ]  # fmt: skip
    # What generated clients cannot check: the rules the OpenAPI document lists as data.
    generator_rules = [
        {"operation": op.name, "description": cell(rule["description"]), "when": cell(
            ", ".join(f"`{k} = {v}`" for k, v in rule["when"].items())), "then": cell(
            ", ".join(f"`{n}`" for n in rule["required"]) + " 必填 required" if "required" in rule
            else f"`{rule['field']}` ∈ {', '.join(rule['enum'])}")}
        for op in spec.operations if op.input != "query"
        for rule in conditional_rules(op.fields)
    ]  # fmt: skip
    encoding = spec.api.text_encoding
    context: dict[str, Any] = {
        "spec": spec,
        "formats": formats,
        "generator_rules": generator_rules,
        "encoding": f"{SEVERITY_WORDS[encoding.severity]}，{evidence_words(encoding)}",
    }
    files["docs/index.md"] = render_template("docs/index.md.j2", **context)
    files["docs/errata.md"] = render_template("docs/errata.md.j2", **context)
    return files
