# Copied by `make generate` from codegen/runtime/cli_batch.py; edit it there.
"""The batch subcommands of `scforhis`: `validate` (report what is wrong in an export) and
`upload` (send the valid records once each, resumable through a journal).

Exit codes: 0 all records valid (or accepted), 1 some record invalid (or not accepted),
2 usage errors or unreadable input, always with a one-line message and never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from .batch_input import FORMATS, InputError, Record, read_records
from .batch_report import Reporter
from .batch_upload import ACCEPTED, Journal, shown_key, upload
from .errors import ScForHisError
from .operations import OPERATIONS, RECORD_KEY
from .validators import VALIDATORS

UPLOADABLE = ("Save", "Update", "Delete")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--op",
        required=True,
        choices=sorted(OPERATIONS),
        help="操作 the operation, as the manual names it",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="文字編碼 text encoding: utf-8 (BOM allowed), cp950, big5 ...",
    )
    parser.add_argument(
        "--input-format",
        choices=FORMATS,
        default="auto",
        help="json, jsonl or csv (default: by name or content)",
    )
    parser.add_argument(
        "--today", type=date.fromisoformat, help="今天的日期 the date to check against, YYYY-MM-DD"
    )


def configure_validate(parser: argparse.ArgumentParser) -> None:
    """The arguments of `scforhis validate`."""
    parser.description = (
        "Validate every record of FILE... (or - for standard input) and report what is wrong."
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    _common(parser)
    parser.add_argument(
        "--format", choices=("text", "json", "jsonl"), default="text", help="report format"
    )
    parser.add_argument(
        "--lang", choices=("zh-TW", "en"), default="zh-TW", help="language of a text report"
    )
    parser.add_argument(
        "--max-errors", type=_positive, metavar="N", help="list at most N invalid records"
    )


def configure_upload(parser: argparse.ArgumentParser) -> None:
    """The arguments of `scforhis upload`."""
    parser.description = (
        "Send each valid record of FILE with the client; outcomes go to a SQLite journal so a rerun "
        "skips what was accepted. Settings come from the SCFORHIS_* environment variables."
    )
    parser.add_argument("file", metavar="FILE")
    _common(parser)
    parser.add_argument(
        "--journal", metavar="PATH", help="SQLite journal (default: FILE.journal.sqlite3)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and consult the journal; send nothing"
    )
    parser.add_argument(
        "--base-url",
        help="both services' base URL (else SCFORHIS_BASE_URL / _QUERY_URL / _UPLOAD_URL)",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A progress line on standard error when it is a terminal; a no-op otherwise."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description} {task.completed:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=None)
        yield lambda: progress.advance(task)


def _records(arguments: argparse.Namespace, paths: list[str]) -> Iterator[Record]:
    known = sorted(OPERATIONS[arguments.op].aliases)
    for path in paths:
        yield from read_records(
            path, encoding=arguments.encoding, kind=arguments.input_format, known=known
        )


def run_validate(arguments: argparse.Namespace) -> int:
    """`scforhis validate`: report every invalid record and the totals."""
    return _guarded(_validate, arguments)


def run_upload(arguments: argparse.Namespace) -> int:
    """`scforhis upload`: send what is not yet accepted, journal every outcome."""
    return _guarded(_upload, arguments)


def _validate(arguments: argparse.Namespace) -> int:
    validator = VALIDATORS[arguments.op]
    reporter = Reporter(
        sys.stdout, form=arguments.format, lang=arguments.lang, max_errors=arguments.max_errors
    )
    with _progress("檢查中 validating") as tick:
        for record in _records(arguments, arguments.files):
            reporter.add(record, validator(record.payload, today=arguments.today))
            tick()
    reporter.finish()
    return 1 if reporter.tally.invalid else 0


def _upload(arguments: argparse.Namespace) -> int:
    if arguments.op not in UPLOADABLE:
        raise InputError(
            f"只能上傳 only {', '.join(UPLOADABLE)} can be uploaded, not {arguments.op}"
        )
    from .client import Client  # imported here: `validate` must not need httpx

    journal = Journal(arguments.journal or f"{arguments.file}.journal.sqlite3")
    operation = OPERATIONS[arguments.op]
    validator = VALIDATORS[arguments.op]
    client = None if arguments.dry_run else Client(base_url=arguments.base_url)
    send = None if client is None else getattr(client, operation.name.lower())

    def show(record: Record, status: str, info: str) -> None:
        if status != ACCEPTED:
            print(
                f"第 {record.number} 筆 record {record.number} (line {record.line}): {status}: {info}"
            )

    try:
        with _progress("上傳中 uploading") as tick:

            def counted() -> Iterator[Record]:
                for record in _records(arguments, [arguments.file]):
                    yield record
                    tick()

            tally = upload(
                counted(),
                operation=arguments.op,
                send=send,
                validate=lambda payload: validator(payload, today=arguments.today),
                folded=operation.aliases,
                key_fields=RECORD_KEY,
                journal=journal,
                on_result=show,
            )
    finally:
        if client is not None:
            client.close()
        journal.close()
    counts = (
        ", ".join(f"{name} {count}" for name, count in sorted(tally.counts.items()))
        or "沒有紀錄 no records"
    )
    print(f"{'試跑 dry run' if arguments.dry_run else '上傳結果 upload'}: {counts}")
    if tally.unknown:
        print(
            "結果不明、未重送的紀錄 outcome unknown, not resent (check with Update, see the README):"
        )
        for key in tally.unknown:
            print(f"  {shown_key(key)}")
    bad = sum(
        count
        for name, count in tally.counts.items()
        if name not in (ACCEPTED, "skipped_accepted", "would_send")
    )
    return 1 if bad else 0


def _guarded(command: Callable[[argparse.Namespace], int], arguments: argparse.Namespace) -> int:
    """Run a batch subcommand, turning unreadable input and client set-up errors into status 2."""
    try:
        status = command(arguments)
    except InputError as error:
        print(f"scforhis: {error}", file=sys.stderr)
        return 2
    except ScForHisError as error:
        print(f"scforhis: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scforhis: 已中斷 interrupted; rerun to resume", file=sys.stderr)
        return 130
    return status
