"""Reference docs in Markdown, zh-TW with English beside it: an index, one page per operation,
and the errata. The emitter words every cell; the templates only lay the tables out."""

from __future__ import annotations

import json
from typing import Any

from .model import Field, Operation, Rule, Spec
from .patterns import value_pattern
from .render import render_template

REQUIRED_WORDS = {"always": "必填 required", "never": "選填 optional"}


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def required_words(field: Field) -> str:
    """How required a field is, in words."""
    if field.condition is not None:
        return f"{field.condition.label}必填 required for a {field.condition.label_en}"
    return REQUIRED_WORDS[field.required]


def format_words(field: Field) -> str:
    """The value's format in words, with its pattern and plausible range."""
    if field.enum is not None:
        return f"代碼 code（{field.enum.label}）"
    assert field.format is not None
    words = f"{field.format.label} / {field.format.label_en}"
    pattern = value_pattern(field)
    if pattern:
        words += f" `{pattern}`"
    if field.minimum is not None:
        words += f"，合理範圍 range {field.minimum:g}–{field.maximum:g}"
    if field.format.check == "tw_id_checksum":
        words += "，含檢查碼 check digit verified"
    return words


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
        "label": cell(f"{field.label}<br>{field.label_en}"),
        "format": cell(format_words(field)),
        "required": cell(required_words(field)),
        "codes": cell(codes_words(field)),
        "notes": cell("；".join(notes)),
    }


def rule_words(rule: Rule) -> dict[str, str]:
    """A rule in words: what it checks, on which fields, when, how severe, and its source."""
    fields = "、".join(f"`{f.wire}`" for _, f in rule.args) or f"`{rule.field.wire}`"
    when = "、".join(f"{c.label}（`{c.field}` = `{c.equals}`）" for c in rule.when)
    severity = "錯誤 error" if rule.severity == "error" else "警告 warning"
    return {
        "id": rule.id,
        "message": cell(rule.message),
        "message_en": cell(rule.message_en),
        "fields": cell(fields),
        "when": cell(when or "一律 always"),
        "severity": f"{severity} (`{rule.code}`)",
        "source": cell(rule.source or "手冊 the manual"),
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
         "example": cell(f.example or "")}
        for f in spec.formats.values()
    ]  # fmt: skip
    context: dict[str, Any] = {"spec": spec, "formats": formats}
    files["docs/index.md"] = render_template("docs/index.md.j2", **context)
    files["docs/errata.md"] = render_template("docs/errata.md.j2", **context)
    return files
