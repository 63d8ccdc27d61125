"""Reports of a batch validation: per invalid record its place and issues, then totals.

Formats: `text` for people (zh-TW or English), `json` (one document,
`{"records": [...], "summary": {...}}`) and `jsonl` (a line per record with issues, then a
`{"summary": ...}` line) for programs. Everything is written as it comes, the JSON document
included, so only counters are kept in memory however many records have issues.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from .batch_input import Record
from .issues import Issue, ValidationResult

WORDS = {
    "zh-TW": {
        "record": "第 {number} 筆（{source} 第 {line} 行）",
        "errors": "{count} 個錯誤",
        "warnings": "{count} 個警告",
        "error": "錯誤",
        "warning": "警告",
        "summary": "共 {total} 筆：{valid} 筆正確，{invalid} 筆有錯，{warned} 筆有警告",
        "totals": "錯誤統計",
        "code": "代碼",
        "field": "欄位",
        "count": "次數",
        "more": "另有 {count} 筆有錯的紀錄未列出（--max-errors）",
    },
    "en": {
        "record": "record {number} ({source} line {line})",
        "errors": "{count} errors",
        "warnings": "{count} warnings",
        "error": "error",
        "warning": "warning",
        "summary": "{total} records: {valid} valid, {invalid} invalid, {warned} with warnings",
        "totals": "Errors by code and field",
        "code": "code",
        "field": "field",
        "count": "count",
        "more": "{count} more invalid records not listed (--max-errors)",
    },
}


@dataclass
class Tally:
    """Counts over the whole batch."""

    total: int = 0
    valid: int = 0
    invalid: int = 0
    warned: int = 0
    listed: int = 0
    by_code_field: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add_valid(self, count: int) -> None:
        """Count `count` records without errors or warnings (the caller skips `add` for them)."""
        self.total += count
        self.valid += count

    def add(self, result: ValidationResult) -> None:
        """Count one record's result."""
        self.total += 1
        if result.errors:
            self.invalid += 1
        else:
            self.valid += 1
        if result.warnings:
            self.warned += 1
        for issue in result.errors:
            self.by_code_field[(issue.code, issue.field)] += 1

    def summary(self) -> dict[str, Any]:
        """The counts as a JSON-ready mapping."""
        return {
            "total": self.total,
            "valid": self.valid,
            "invalid": self.invalid,
            "with_warnings": self.warned,
            "errors_by_code_field": [
                {"code": code, "field": name, "count": count}
                for (code, name), count in self.by_code_field.most_common()
            ],
        }


def _json_dumper() -> Callable[[Any], str]:
    """orjson's encoder when it is installed (the `cli` extra), else the standard library's; both
    write UTF-8 text as is (zh-TW stays readable) and compactly."""
    try:
        import orjson
    except ImportError:
        return lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return lambda value: orjson.dumps(value).decode("utf-8")


dumps = _json_dumper()


def issue_json(issue: Issue) -> dict[str, Any]:
    """One issue for machine output."""
    return issue.to_dict()


def record_json(record: Record, result: ValidationResult) -> dict[str, Any]:
    """One record's result for machine output."""
    return {
        "source": record.source,
        "record": record.number,
        "line": record.line,
        "ok": result.ok,
        "errors": [issue_json(i) for i in result.errors],
        "warnings": [issue_json(i) for i in result.warnings],
    }


class Reporter:
    """Writes a report as records are validated; `finish()` writes the totals."""

    def __init__(
        self,
        out: IO[str],
        *,
        form: str = "text",
        lang: str = "zh-TW",
        max_errors: int | None = None,
    ) -> None:
        self.out = out
        self.form = form
        self.lang = lang
        self.words = WORDS[lang]
        self.max_errors = max_errors
        self.tally = Tally()
        self._separator = ""  # between the records of a `json` document
        if form == "json":
            out.write('{"records":[')

    def _message(self, issue: Issue) -> str:
        return issue.message if self.lang == "zh-TW" else issue.message_en

    def add(self, record: Record, result: ValidationResult) -> None:
        """Report one record."""
        self.tally.add(result)
        if result.ok and not (result.warnings and self.form != "text"):
            return
        if result.errors:
            if self.max_errors is not None and self.tally.listed >= self.max_errors:
                return
            self.tally.listed += 1
        elif self.form == "text":
            return
        if self.form == "jsonl":
            self.out.write(dumps(record_json(record, result)) + "\n")
        elif self.form == "json":
            self.out.write(self._separator + "\n" + dumps(record_json(record, result)))
            self._separator = ","
        else:
            self._text(record, result)

    def _text(self, record: Record, result: ValidationResult) -> None:
        w = self.words
        head = w["record"].format(number=record.number, source=record.source, line=record.line)
        counts = w["errors"].format(count=len(result.errors))
        if result.warnings:
            counts += ", " + w["warnings"].format(count=len(result.warnings))
        lines = [f"{head}: {counts}"]
        for kind, issues in ((w["error"], result.errors), (w["warning"], result.warnings)):
            for issue in issues:
                where = (
                    f"{issue.field}（{issue.label}）"
                    if issue.label and self.lang == "zh-TW"
                    else issue.field
                )
                lines.append(f"  {kind} {where} [{issue.code}] {self._message(issue)}")
        self.out.write("\n".join(lines) + "\n")

    def finish(self) -> None:
        """Write the totals (and the whole document, for `json`)."""
        summary = self.tally.summary()
        if self.form == "json":
            self.out.write('\n],\n"summary":' + dumps(summary) + "}\n")
            return
        if self.form == "jsonl":
            self.out.write(dumps({"summary": summary}) + "\n")
            return
        w = self.words
        hidden = self.tally.invalid - self.tally.listed
        if hidden > 0:
            self.out.write(w["more"].format(count=hidden) + "\n")
        t = self.tally
        self.out.write(
            w["summary"].format(total=t.total, valid=t.valid, invalid=t.invalid, warned=t.warned)
            + "\n"
        )
        if t.by_code_field:
            self._totals_table()

    def _totals_table(self) -> None:
        from rich.console import Console  # the CLI's table library, only loaded for a text report
        from rich.table import Table

        w = self.words
        table = Table(title=w["totals"])
        for column, justify in ((w["code"], "left"), (w["field"], "left"), (w["count"], "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for (code, name), count in self.tally.by_code_field.most_common():
            table.add_row(code, name, f"{count:,}")
        Console(file=self.out, width=100, color_system=None).print(table)
