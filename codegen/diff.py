"""What changed between two versions of the spec, and whether each change breaks a sender.

A sender is a HIS that builds requests. Breaking: an operation removed or moved, a field that
becomes required (always or under a condition), an enum code removed, a format or range that
narrows. Not breaking: a new optional field, a field no longer required, a new enum code, a
field removed (the service ignores what it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from .load import load_spec
from .model import Field, Operation, Spec, build_model
from .patterns import value_pattern


@dataclass(frozen=True)
class Change:
    """One difference, worded in zh-TW and English, and whether it breaks a sender."""

    operation: str
    subject: str
    text: str
    text_en: str
    breaking: bool


def _required_text(field: Field) -> str:
    return field.condition.key if field.condition else field.required


def _field_changes(name: str, old: Field, new: Field) -> list[Change]:
    changes = []
    subject = f"`{new.wire}`"
    old_required, new_required = _required_text(old), _required_text(new)
    if old_required != new_required:
        changes.append(
            Change(
                name,
                subject,
                f"必填由 {old_required} 改為 {new_required}",
                f"requiredness changed from {old_required} to {new_required}",
                breaking=new_required != "never" and old_required != "always",
            )
        )
    old_codes = set(old.enum.codes) if old.enum else set()
    new_codes = set(new.enum.codes) if new.enum else set()
    if old_codes - new_codes:
        removed = ", ".join(sorted(old_codes - new_codes))
        changes.append(
            Change(name, subject, f"移除代碼 {removed}", f"codes removed: {removed}", breaking=True)
        )
    if new_codes - old_codes:
        added = ", ".join(sorted(new_codes - old_codes))
        changes.append(
            Change(name, subject, f"新增代碼 {added}", f"codes added: {added}", breaking=False)
        )
    if value_pattern(old) != value_pattern(new) or (old.minimum, old.maximum) != (
        new.minimum,
        new.maximum,
    ):
        changes.append(
            Change(
                name,
                subject,
                f"格式由 {value_pattern(old)} {old.minimum}–{old.maximum} 改為 {value_pattern(new)} {new.minimum}–{new.maximum}",
                "format or range changed",
                breaking=True,
            )
        )
    return changes


def _operation_changes(old: Operation, new: Operation) -> list[Change]:
    name = new.name
    changes = []
    if (old.method, old.path, old.input) != (new.method, new.path, new.input):
        changes.append(
            Change(
                name,
                "呼叫方式 call",
                f"由 {old.method} {old.path} 改為 {new.method} {new.path}",
                f"moved from {old.method} {old.path} ({old.input}) to {new.method} {new.path} ({new.input})",
                breaking=True,
            )
        )
    old_fields = {f.key: f for f in old.fields}
    new_fields = {f.key: f for f in new.fields}
    for key, field in new_fields.items():
        if key not in old_fields:
            required = _required_text(field)
            changes.append(
                Change(
                    name,
                    f"`{field.wire}`",
                    f"新增欄位 {field.label}（{required}）",
                    f"field added: {field.label_en} ({required})",
                    breaking=required != "never",
                )
            )
        else:
            changes += _field_changes(name, old_fields[key], field)
    for key, field in old_fields.items():
        if key not in new_fields:
            changes.append(
                Change(
                    name,
                    f"`{field.wire}`",
                    f"移除欄位 {field.label}",
                    f"field removed: {field.label_en}",
                    breaking=False,
                )
            )
    return changes


def diff_specs(old: Spec, new: Spec) -> list[Change]:
    """Every change from `old` to `new`, operation by operation."""
    old_ops = {op.name: op for op in old.operations}
    new_ops = {op.name: op for op in new.operations}
    changes: list[Change] = []
    for name, operation in new_ops.items():
        if name not in old_ops:
            changes.append(
                Change(name, "操作 operation", "新增操作", "operation added", breaking=False)
            )
        else:
            changes += _operation_changes(old_ops[name], operation)
    for name in old_ops:
        if name not in new_ops:
            changes.append(
                Change(name, "操作 operation", "移除操作", "operation removed", breaking=True)
            )
    return changes


def diff_markdown(old: Spec, new: Spec) -> str:
    """The changes as a Markdown section headed by the two versions."""
    changes = diff_specs(old, new)
    lines = [
        f"## {old.api.manual_version} → {new.api.manual_version}（{new.api.manual_date.isoformat()}）",
        "",
    ]
    for revision in new.api.revisions:
        if revision.version == new.api.manual_version:
            lines += [f"手冊說明 the manual says: {revision.note} / {revision.note_en}", ""]
    if not changes:
        return "\n".join([*lines, "沒有差異 / no changes", ""])
    breaking = sum(change.breaking for change in changes)
    lines += [
        f"{len(changes)} 項變更，其中 {breaking} 項對送出端不相容 / {len(changes)} changes, {breaking} breaking for a sender",
        "",
    ]
    lines += [
        "| 操作 operation | 對象 subject | 變更 | change | 不相容 breaking |",
        "| --- | --- | --- | --- | --- |",
    ]
    for change in changes:
        mark = "**是 yes**" if change.breaking else "否 no"
        lines.append(
            f"| {change.operation} | {change.subject} | {change.text} | {change.text_en} | {mark} |"
        )
    return "\n".join([*lines, ""])


def load_model(path: Path) -> Spec:
    """Load, check and build the spec at `path`."""
    return build_model(load_spec(path))


def changelog(spec_path: Path) -> str:
    """CHANGELOG.md: each version in spec/history/ against the next, the last against the spec."""
    history = sorted(
        (spec_path.parent / "history").glob("*.yaml"),
        key=lambda p: [int(x) for x in p.stem.split(".")],
    )
    versions = [load_model(path) for path in history] + [load_model(spec_path)]
    sections = [diff_markdown(old, new) for old, new in pairwise(versions)]
    head = "<!-- Generated by `make generate` from spec/history/ and spec/scforhis.yaml; do not edit. -->\n"
    head += "# 變更紀錄 Changelog\n\n新版在前 / newest first.\n"
    return head + "\n" + "\n".join(reversed(sections))
