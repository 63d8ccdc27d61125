# Copied by `make generate` from codegen/runtime/batch_report.py; edit it there.
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
        if result.errors:
            self.by_code_field.update([(issue.code, issue.field) for issue in result.errors])

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


def _json_dumper() -> Callable[[Any], bytes]:
    """orjson's encoder when it is installed (the `cli` extra), else the standard library's; both
    write compact UTF-8 (zh-TW stays readable)."""
    try:
        import orjson
    except ImportError:
        return lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return orjson.dumps


dump_bytes = _json_dumper()


def dumps(value: Any) -> str:
    """`value` as compact JSON text."""
    return dump_bytes(value).decode("utf-8")


def record_json(record: Record, result: ValidationResult) -> dict[str, Any]:
    """One record's result for machine output."""
    return {
        "source": record.source,
        "record": record.number,
        "line": record.line,
        "ok": not result.errors,
        "errors": [issue.to_dict() for issue in result.errors],
        "warnings": [issue.to_dict() for issue in result.warnings],
    }


class Reporter:
    """Writes a report as records are validated; `finish()` writes the totals.

    Output goes out in batches of `BATCH` pieces: an unbuffered standard output (PYTHONUNBUFFERED,
    common in containers) would otherwise cost a system call per invalid record. Call `flush()`
    when stopping early, so what was reported is not lost.
    """

    BATCH = 256

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
        # JSON is UTF-8 by its standard: where the stream has a byte layer, a JSON report goes to
        # it as the encoder's bytes, without decoding and encoding again for every record.
        self._bytes: IO[bytes] | None = getattr(out, "buffer", None) if form != "text" else None
        self._pending: list[Any] = []
        # A person watching a terminal sees each record as it is found.
        self._batch = 1 if getattr(out, "isatty", lambda: False)() else self.BATCH
        if form == "json":
            self._write('{"records":[')

    def _write(self, text: str) -> None:
        self._queue(text if self._bytes is None else text.encode())

    def _write_json(self, value: Any, before: str = "", after: str = "") -> None:
        if self._bytes is None:
            self._queue(before + dumps(value) + after)
        else:
            self._queue(before.encode() + dump_bytes(value) + after.encode())

    def _queue(self, piece: str | bytes) -> None:
        self._pending.append(piece)
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Write out what is waiting."""
        if not self._pending:
            return
        if self._bytes is None:
            self.out.write("".join(self._pending))
        else:
            self.out.flush()  # text written before ours goes first
            self._bytes.write(b"".join(self._pending))
            self._bytes.flush()
        self._pending.clear()

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
            self._write_json(record_json(record, result), after="\n")
        elif self.form == "json":
            self._write_json(record_json(record, result), before=self._separator + "\n")
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
        self._write("\n".join(lines) + "\n")

    def finish(self) -> None:
        """Write the totals (and the whole document, for `json`)."""
        summary = self.tally.summary()
        if self.form == "json":
            self._write_json(summary, before='\n],\n"summary":', after="}\n")
            self.flush()
            return
        if self.form == "jsonl":
            self._write_json({"summary": summary}, after="\n")
            self.flush()
            return
        w = self.words
        hidden = self.tally.invalid - self.tally.listed
        if hidden > 0:
            self._write(w["more"].format(count=hidden) + "\n")
        t = self.tally
        self._write(
            w["summary"].format(total=t.total, valid=t.valid, invalid=t.invalid, warned=t.warned)
            + "\n"
        )
        self.flush()  # before the table, which rich writes itself
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
