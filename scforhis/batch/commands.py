"""The batch subcommands of `scforhis`: `validate` (report what is wrong in an export) and
`upload` (send the valid records once each, resumable through a journal).

Exit codes: 0 all records valid (or accepted), 1 some record invalid (or not accepted, or its
outcome still unknown), 2 usage errors or unreadable input (a missing, empty, binary or
malformed file; a CSV header naming no known field), always with a one-line message on standard
error and never a traceback.

An export need not carry what the client fills from its settings: the account and password
(never part of an HIS export) and, when `SCFORHIS_HOSP_ID` / `SCFORHIS_HOSP_SEQ_NO` are set, the
institution and branch codes. Both subcommands check a record as the client will send it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from scforhis._generated.operations import OPERATIONS, RECORD_KEY, SECRET_NAMES
from scforhis._generated.validators import CHECKS, CLEAN, VALIDATORS, share_key_objects
from scforhis.client.settings import ENV_HOSP_ID, ENV_HOSP_SEQ_NO
from scforhis.client.wire import OperationSpec
from scforhis.errors import ConfigurationError, ScForHisError
from scforhis.validation.dates import taiwan_today
from scforhis.validation.issues import Issue, ValidationResult

from .input import (
    FORMATS,
    Flagged,
    InputError,
    LongRow,
    Record,
    Visits,
    read_rows,
    with_issues,
)
from .report import Reporter, text_lines

if TYPE_CHECKING:
    from .journal import UploadTally

UPLOADABLE = ("Save", "Update", "Delete")
# Stands in for a credential the client fills at upload time, so `validate` need not know it.
_FROM_SETTINGS = "(settings)"
# Records between two progress-bar updates: advancing it for every record would cost more than
# validating some of them.


def _operation(text: str) -> str:
    """An argparse type: an operation's name in any letter case (`save` is Save)."""
    names: dict[str, str] = {str(name).lower(): str(name) for name in OPERATIONS}
    found = names.get(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"沒有這個操作 no operation {text!r}; use one of {', '.join(sorted(OPERATIONS))}"
        )
    return found


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--op",
        required=True,
        type=_operation,
        metavar="|".join(sorted(OPERATIONS)),
        help="操作 the operation, as the manual names it (any letter case)",
    )
    parser.add_argument(
        "--lang", choices=("zh-TW", "en"), default="zh-TW", help="language of the report"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="只列錯誤 list errors only, not warnings (they are still counted)",
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
        "--today",
        type=date.fromisoformat,
        help="今天的日期 the date to check against, YYYY-MM-DD (default: Taiwan's date)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="警告也算錯誤 count every warning (programme rules, plausibility) as an error",
    )


def configure_validate(parser: argparse.ArgumentParser) -> None:
    """The arguments of `scforhis validate`."""
    parser.description = (
        "檢查匯出檔 Validate every record of FILE... (or - for standard input) and report what is "
        "wrong. Input: a JSON array or object, JSON Lines, or CSV whose header holds the manual's "
        "field names, wire names or zh-TW labels (個案身分證號 ...), in any letter case and width. "
        "Every error and warning is listed with its hint. Account and password may be left out "
        "(upload takes them from SCFORHIS_ACCOUNT / SCFORHIS_PASSWORD), and so may the institution "
        "and branch codes when SCFORHIS_HOSP_ID / SCFORHIS_HOSP_SEQ_NO are set. "
        "Exit status: 0 all valid, 1 some invalid, 2 unreadable input or bad usage."
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    _common(parser)
    parser.add_argument(
        "--format", choices=("text", "json", "jsonl"), default="text", help="report format"
    )
    parser.add_argument(
        "--max-errors", type=_positive, metavar="N", help="list at most N invalid records"
    )


def configure_upload(parser: argparse.ArgumentParser) -> None:
    """The arguments of `scforhis upload`."""
    parser.description = (
        "上傳 Send each valid record of FILE with the client; outcomes go to a SQLite journal so a "
        "rerun skips what was accepted. A Save whose outcome is unknown (the connection dropped "
        "after sending, a timeout, a 5xx answer) is listed and never resent blindly; rerun with "
        "--resolve-unknown to settle it. Settings come from the SCFORHIS_* environment variables. "
        "Exit status: 0 every record accepted, 1 some invalid, rejected, failed or unknown, "
        "2 unreadable input or bad settings."
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
        "--resolve-unknown",
        action="store_true",
        help="結果不明的紀錄先以 Update 確認 settle records whose outcome is unknown: Update the "
        "same record; Y means it is stored (counted as accepted), N means it was not, so it is "
        "saved again; if the service cannot be reached it stays unknown",
    )
    parser.add_argument(
        "--base-url",
        help="both services' base URL (else SCFORHIS_BASE_URL / _QUERY_URL / _UPLOAD_URL)",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=4,
        metavar="N",
        help="同時送出的紀錄數 records in flight at once (default 4; 1 sends one at a time)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Progress:
    """A count of records on standard error while it is a terminal, redrawn at most ten times a
    second; `with progress as tick` gives `tick(n)` (None when there is no terminal). `clear()`
    wipes the line, so that a report written to the same terminal never runs into it."""

    INTERVAL = 0.1

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self._shown = False
        self._next = 0.0
        self._terminal = sys.stderr.isatty()

    def __enter__(self) -> Callable[[int], None] | None:
        return self.tick if self._terminal else None

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def tick(self, count: int) -> None:
        """Count `count` more records; redraw when the interval has passed."""
        self.count += count
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.INTERVAL
            sys.stderr.write(f"\r\x1b[K{self.label} {self.count:,}")
            sys.stderr.flush()
            self._shown = True

    def clear(self) -> None:
        """Remove the progress line from the terminal (it comes back with the next tick)."""
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._shown = False
            self._next = 0.0


def _progress(label: str) -> _Progress:
    """The progress line of a batch command (see `_Progress`)."""
    return _Progress(label)


def _counted(rows: Iterator[Any], tick: Callable[[int], None] | None) -> Iterator[Any]:
    """`rows`, counting each on the progress line (as is, without a terminal)."""
    return rows if tick is None else _ticking(rows, tick)


def _ticking(rows: Iterator[Any], tick: Callable[[int], None]) -> Iterator[Any]:
    for row in rows:
        yield row
        tick(1)


def _source(path: str) -> str:
    return "stdin" if path == "-" else path


def _read(arguments: argparse.Namespace, path: str) -> Iterator[tuple[int, Any]]:
    operation = OPERATIONS[arguments.op]
    return read_rows(
        path,
        encoding=arguments.encoding,
        kind=arguments.input_format,
        known=sorted(operation.aliases),
        labels=_labels(arguments.op),
        hidden=frozenset(
            name
            for name, wire in operation.aliases.items()
            if operation.by_wire[wire].sensitive == "secret"
        ),
    )


def _labels(name: str) -> Mapping[str, str]:
    """The operation's zh-TW labels by wire name: the validators module's `LABELS_<CHECK>`,
    named after the check it feeds (operations that share a check, Update and Save, share it)."""
    from scforhis._generated import validators

    table = "LABELS_" + CHECKS[name].__name__.removeprefix("_validate_").upper()
    labels: Mapping[str, str] = getattr(validators, table, {})
    return labels


def _visits(name: str) -> Callable[[Any, int, int], Issue | None] | None:
    """What finds the same visit twice in one input (`Visits.repeated`), for an operation on
    visit records (its fields hold the whole record key); None for the others."""
    operation = OPERATIONS[name]
    if not set(RECORD_KEY) <= operation.by_wire.keys():
        return None
    national = [wire for wire in RECORD_KEY if operation.by_wire[wire].sensitive == "national_id"]
    return Visits(RECORD_KEY, operation.aliases, national).repeated


def _no_records(path: str) -> InputError:
    return InputError(
        f"{_source(path)} 沒有任何紀錄（空檔案或只有標題列） / has no records (empty, or a header only)"
    )


class SettingsFiller:
    """Adds what the client fills from its settings to a record that leaves it out.

    `values` maps a field's `filled` name (account, password, hosp_id, hosp_seq_no) to its value;
    None leaves the field as it is. Names match in any letter case, as the validator's do.
    `wires` holds the canonical names it fills: a dict whose keys include them needs nothing.
    """

    def __init__(self, operation: OperationSpec, values: Mapping[str, str | None]) -> None:
        self._fills = [
            (item.wire, frozenset(n for n, w in operation.aliases.items() if w == item.wire), value)
            for item in operation.fields
            if item.filled and (value := values.get(item.filled))
        ]
        self.wires = frozenset(wire for wire, _, _ in self._fills)

    def __call__(self, payload: Any) -> Any:
        """`payload` with the missing settings added (a new dict), or as it is."""
        if not isinstance(payload, dict):
            return payload  # not a record: the validator says so
        # Canonical names first, as one C-level set comparison: this runs for every record of a
        # large export, and most need no case-folding at all.
        if payload.keys() >= self.wires:
            return payload
        missing = [entry for entry in self._fills if entry[0] not in payload]
        present = {str(name).lower() for name in payload}
        added = {wire: value for wire, names, value in missing if not names & present}
        return {**payload, **added} if added else payload


def _environment_values() -> dict[str, str | None]:
    """What `validate` (and a dry run) assume the client will fill: credentials always, since an
    export never holds them; institution and branch only when their variables are set."""
    return {
        "account": _FROM_SETTINGS,
        "password": _FROM_SETTINGS,
        "hosp_id": os.environ.get(ENV_HOSP_ID) or None,
        "hosp_seq_no": os.environ.get(ENV_HOSP_SEQ_NO) or None,
    }


def run_validate(arguments: argparse.Namespace) -> int:
    """`scforhis validate`: report every invalid record and the totals."""
    return _guarded(_validate, arguments)


def run_upload(arguments: argparse.Namespace) -> int:
    """`scforhis upload`: send what is not yet accepted, journal every outcome."""
    return _guarded(_upload, arguments)


def _validate(arguments: argparse.Namespace) -> int:
    operation = arguments.op
    validator, check, clean = VALIDATORS[operation], CHECKS[operation], CLEAN[operation]
    fill = SettingsFiller(OPERATIONS[operation], _environment_values())
    complete = fill.wires
    # One "today" for the whole run (Taiwan's date when it started): records checked a minute
    # apart around midnight get the same answer, and the clock is read once, not per record.
    today = arguments.today or taiwan_today()
    strict = arguments.strict
    progress = _progress("檢查中 validating")
    reporter = Reporter(
        sys.stdout,
        form=arguments.format,
        lang=arguments.lang,
        max_errors=arguments.max_errors,
        quiet=arguments.quiet,
        before_write=progress.clear,
    )
    report = reporter.add
    try:
        with progress as tick:
            for path in arguments.files:
                source = _source(path)
                number = valid = 0
                repeated = _visits(operation)  # a new memory of visits for each file
                # The hot loop of a large export: a clean record is one identity test (validators
                # share one result for every clean record), and a Record is built only for a record
                # with issues.
                for line, payload in _counted(_read(arguments, path), tick):
                    number += 1
                    if number == 1 and type(payload) is dict:
                        share_key_objects(payload)  # the reader's own key objects, from now on
                    if type(payload) is dict and payload.keys() >= complete:
                        # A record as the client sends it: straight to the check (see CHECKS).
                        sent = payload
                        try:
                            result = check(payload, today, operation)
                        except Exception:  # noqa: BLE001 - the validator reports what raised
                            result = validator(payload, today=today)
                    else:
                        sent = fill(payload)
                        result = validator(sent, today=today)
                    # Faults of the input itself: a row longer than its header, a visit twice.
                    issues = payload.issues if type(payload) is LongRow else ()
                    if repeated is not None and (twice := repeated(sent, number, line)):
                        issues += (twice,)
                    if issues:
                        result = with_issues(result, issues)
                    if strict and result.warnings:
                        result = result.strict()
                    if result is clean:
                        valid += 1
                    else:
                        report(Record(source, number, line, payload), result)
                reporter.tally.add_valid(valid)
                if not number:
                    raise _no_records(path)
        reporter.finish()
    except InputError as error:
        reporter.abort(str(error))  # a JSON report stays valid JSON, or is absent
        raise
    finally:
        reporter.flush()  # what was reported stays, even when the input breaks off
    return 1 if reporter.tally.invalid else 0


def _upload(arguments: argparse.Namespace) -> int:
    if arguments.op not in UPLOADABLE:
        raise InputError(
            f"只能上傳 only {', '.join(UPLOADABLE)} can be uploaded, not {arguments.op}"
        )
    # Imported here: `validate` needs neither httpx nor the journal's sqlite3.
    from scforhis._generated.client import Client

    from .journal import ACCEPTED, INVALID, STATUS_WORDS, Journal
    from .send import Sender, upload

    operation = OPERATIONS[arguments.op]
    validator = VALIDATORS[arguments.op]
    # The journal first: a second run on the same file stops here, before anything is sent.
    journal = Journal(arguments.journal or f"{arguments.file}.journal.sqlite3")
    try:
        client = None if arguments.dry_run else Client(base_url=arguments.base_url)
    except BaseException:
        journal.close()
        raise
    if client is None:
        values = _environment_values()
    else:
        settings = client.settings
        if not settings.account or not settings.password:
            client.close()
            journal.close()
            # The token (GetTokenID) needs them before any record can go: one message, not one
            # failure per record.
            raise ConfigurationError(
                "上傳需要帳號與密碼：請設定 SCFORHIS_ACCOUNT 與 SCFORHIS_PASSWORD / "
                "upload needs the account and password: set SCFORHIS_ACCOUNT and SCFORHIS_PASSWORD"
            )
        try:
            _log_in(client)
        except BaseException:
            client.close()
            journal.close()
            raise
        values = {
            "account": settings.account,
            "password": settings.password,
            "hosp_id": settings.hosp_id,
            "hosp_seq_no": settings.hosp_seq_no,
        }
    sender = None
    if client is not None:
        sender = Sender(
            send=getattr(client, operation.name.lower()),
            # Only a Save can have an unknown outcome; Update (idempotent) is how it is checked.
            resolve=client.update if arguments.resolve_unknown else None,
            # A corrected row of an accepted visit goes as an Update (a Delete has nothing to
            # correct: its fields are the visit's key).
            correct=client.update if operation.name in ("Save", "Update") else None,
        )

    progress = _progress("上傳中 uploading")
    words = STATUS_WORDS[arguments.lang]

    def show(record: Record, status: str, info: str) -> None:
        # An invalid record's issues were shown in full when it was checked.
        if status not in (ACCEPTED, INVALID):
            progress.clear()
            print(f"{_place(record, arguments.lang)}: {words[status]}: {info}")

    def checked(record: Record, result: ValidationResult) -> None:
        if result.errors or not arguments.quiet:
            progress.clear()
            print(text_lines(record, result, arguments.lang, quiet=arguments.quiet), end="")

    read = 0
    try:
        with progress as tick:
            prepare = SettingsFiller(operation, values)

            def records() -> Iterator[Record]:
                nonlocal read
                source = _source(arguments.file)
                repeated = _visits(arguments.op)
                for read, (line, payload) in enumerate(
                    _counted(_read(arguments, arguments.file), tick), 1
                ):
                    # Faults of the input itself (a row longer than its header, a visit twice)
                    # travel with the record to `check`: such a record is invalid, never sent.
                    issues = payload.issues if type(payload) is LongRow else ()
                    if repeated is not None and (twice := repeated(prepare(payload), read, line)):
                        issues += (twice,)
                    flagged = Flagged(payload, issues) if issues else payload
                    yield Record(source, read, line, flagged)

            def check(payload: Any) -> ValidationResult:
                if type(payload) is not Flagged:
                    result: ValidationResult = validator(
                        payload, today=arguments.today, strict=arguments.strict
                    )
                    return result
                result = with_issues(
                    validator(prepare(payload.payload), today=arguments.today), payload.issues
                )
                return result.strict() if arguments.strict else result

            tally = upload(
                records(),
                operation=arguments.op,
                sender=sender,
                validate=check,
                folded=operation.aliases,
                key_fields=RECORD_KEY,
                journal=journal,
                prepare=prepare,
                resend_pending=operation.method != "POST",
                secret_names=SECRET_NAMES,
                jobs=arguments.jobs,
                on_result=show,
                on_checked=checked,
            )
    finally:
        if client is not None:
            client.close()
        journal.close()
    if not read:
        raise _no_records(arguments.file)
    _upload_summary(tally, dry_run=arguments.dry_run, lang=arguments.lang)
    return 0 if tally.done else 1


def _log_in(client: Any) -> None:
    """Ask for a token once before the first record: a wrong password ends the run here, with
    one line, instead of going out (and being refused) with every record, which can also lock
    the account."""
    from scforhis.errors import RejectedError, TransportError
    from scforhis.redaction import redact

    try:
        client.get_token_id()
    except RejectedError as error:
        # The service's own words, which might echo what was sent: secrets hidden, IDs masked.
        said = redact(error.info, (client.settings.account, client.settings.password))
        raise ConfigurationError(
            f"登入被拒，未送出任何紀錄：請檢查 SCFORHIS_ACCOUNT 與 SCFORHIS_PASSWORD / the login was "
            f"refused, nothing was sent: check SCFORHIS_ACCOUNT and SCFORHIS_PASSWORD ({said})"
        ) from None
    except TransportError as error:
        raise ConfigurationError(
            f"無法連上服務，未送出任何紀錄 / the service cannot be reached, nothing was sent: "
            f"{str(error).splitlines()[0]}"
        ) from None


def _place(record: Record, lang: str = "zh-TW") -> str:
    if lang == "en":
        return f"record {record.number} ({record.source} line {record.line})"
    return f"第 {record.number} 筆（{record.source} 第 {record.line} 行）"


def _upload_summary(tally: UploadTally, *, dry_run: bool, lang: str = "zh-TW") -> None:
    from .journal import CONFIRMED, STATUS_WORDS, shown_key

    words = STATUS_WORDS[lang]
    zh = lang == "zh-TW"
    unit = " 筆" if zh else ""
    counts = "，".join if zh else ", ".join
    listed = counts(
        f"{words[name]} {count:,}{unit}" for name, count in sorted(tally.counts.items()) if count
    ) or ("沒有紀錄" if zh else "no records")
    title = ("試跑" if dry_run else "上傳結果") if zh else ("dry run" if dry_run else "upload")
    print(f"{title}：{listed}" if zh else f"{title}: {listed}")
    if tally.counts[CONFIRMED]:
        print(
            f"經 Update 確認已儲存 {tally.counts[CONFIRMED]} 筆"
            if zh
            else f"{tally.counts[CONFIRMED]} unknown outcome(s) confirmed stored by Update"
        )
    if tally.unknown:
        print(
            f"結果不明、未重送的紀錄 {len(tally.unknown)} 筆；加上 --resolve-unknown 重跑，會先以 Update 確認："
            if zh
            else f"{len(tally.unknown)} record(s) with an unknown outcome, not resent; rerun with "
            "--resolve-unknown to check them with Update:"
        )
        for unknown in tally.unknown:
            print(f"  {_place(unknown.record, lang)}: {shown_key(unknown.key)}")


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
