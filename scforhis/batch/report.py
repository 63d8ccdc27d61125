"""Reports of a batch validation: per invalid record its place and issues, then totals.

Formats: `text` for people (zh-TW or English), `json` (one document,
`{"records": [...], "summary": {...}}`) and `jsonl` (a line per record with issues, then a
`{"summary": ...}` line) for programs. Everything is written as it comes, the JSON document
included, so only counters are kept in memory however many records have issues.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from scforhis.validation.issues import Issue, ValidationResult

from .input import Record

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
        "aborted": "中止",
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
        "aborted": "stopped",
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
        quiet: bool = False,
        before_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.out = out
        self.form = form
        self.lang = lang
        self.words = WORDS[lang]
        self.max_errors = max_errors
        # Warnings are shown unless asked not to: they are why a record looks wrong.
        self.quiet = quiet
        # Called before anything is written (a progress line on the same terminal is cleared).
        self.before_write = before_write
        self.tally = Tally()
        # The JSON document is opened with its first piece, so that input that cannot be read
        # at all leaves no half-written document on standard output.
        self._opened = form != "json"
        self._separator = ""  # between the records of a `json` document
        # JSON is UTF-8 by its standard: where the stream has a byte layer, a JSON report goes to
        # it as the encoder's bytes, without decoding and encoding again for every record.
        self._bytes: IO[bytes] | None = getattr(out, "buffer", None) if form != "text" else None
        self._pending: list[Any] = []
        # A person watching a terminal sees each record as it is found.
        self._batch = 1 if getattr(out, "isatty", lambda: False)() else self.BATCH

    def _write(self, text: str) -> None:
        if not self._opened:
            self._opened = True
            self._write('{"records":[')
        self._queue(text if self._bytes is None else text.encode())

    def _write_json(self, value: Any, before: str = "", after: str = "") -> None:
        if not self._opened:
            self._write("")
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
        self.before_write()
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
        if result.ok and (not result.warnings or self.quiet):
            return
        if result.errors:
            if self.max_errors is not None and self.tally.listed >= self.max_errors:
                return
            self.tally.listed += 1
        if self.form == "jsonl":
            self._write_json(record_json(record, result), after="\n")
        elif self.form == "json":
            self._write_json(record_json(record, result), before=self._separator + "\n")
            self._separator = ","
        else:
            self._text(record, result)

    def _text(self, record: Record, result: ValidationResult) -> None:
        self._write(text_lines(record, result, self.lang, quiet=self.quiet))

    def abort(self, message: str) -> None:
        """End the report of a run stopped by input it cannot read: a JSON document is closed
        (with the error and the totals so far) only if it was begun; text needs nothing."""
        if self.form == "json" and self._opened:
            self._write_json(message, before='\n],\n"error":')
            self._write_json(self.tally.summary(), before=',\n"summary":', after="}\n")
        elif self.form == "jsonl":
            self._write_json({"error": message}, after="\n")
        self.flush()

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
        if t.by_code_field:
            self._write(self._totals_table())
        self.flush()

    def _totals_table(self) -> str:
        """Errors by code and field, as aligned plain text (any terminal, any code page)."""
        w = self.words
        rows = [(w["code"], w["field"], w["count"])]
        rows += [
            (code, name, f"{count:,}")
            for (code, name), count in self.tally.by_code_field.most_common()
        ]
        widths = [max(_width(row[column]) for row in rows) for column in range(3)]
        lines = [w["totals"]]
        for index, (code, name, count) in enumerate(rows):
            lines.append(
                f"  {_pad(code, widths[0])}  {_pad(name, widths[1])}  "
                f"{' ' * (widths[2] - _width(count))}{count}"
            )
            if index == 0:
                lines.append("  " + "  ".join("-" * width for width in widths))
        return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    """Columns `text` takes on a terminal: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def text_lines(record: Record, result: ValidationResult, lang: str, *, quiet: bool = False) -> str:
    """One record's issues for people: its place, then each error and (unless `quiet`) each
    warning with its message, which carries the hint; warnings say what their evidence is."""
    w = WORDS[lang]
    head = w["record"].format(number=record.number, source=record.source, line=record.line)
    counts = w["errors"].format(count=len(result.errors))
    if result.warnings and not quiet:
        counts += ", " + w["warnings"].format(count=len(result.warnings))
    lines = [f"{head}: {counts}"]
    shown = (
        ((w["error"], result.errors),)
        if quiet
        else (
            (w["error"], result.errors),
            (w["warning"], result.warnings),
        )
    )
    for kind, issues in shown:
        for issue in issues:
            where = (
                f"{issue.field}（{issue.label}）"
                if issue.label and lang == "zh-TW"
                else issue.field
            )
            message = issue.message if lang == "zh-TW" else issue.message_en
            evidence = (
                f" ({EVIDENCE[lang][issue.evidence]})"
                if issue.evidence in EVIDENCE[lang] and issue.severity == "warning"
                else ""
            )
            lines.append(f"  {kind} {where} [{issue.code}]{evidence} {message}")
    return "\n".join(lines) + "\n"


# How a warning's evidence is named to a person reading the report.
EVIDENCE = {
    "zh-TW": {"programme": "計畫規定", "plausibility": "合理性判斷", "manual": "手冊"},
    "en": {"programme": "programme rule", "plausibility": "plausibility", "manual": "manual"},
}
