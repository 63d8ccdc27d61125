# Copied by `make generate` from codegen/runtime/batch_upload.py; edit it there.
"""Resumable uploads: each valid record sent once, the outcome journalled in SQLite by record key.

On a rerun, records the service already accepted are skipped, so an interrupted upload resumes
without duplicates. A record whose outcome is unknown (a Save that may have arrived without a
readable answer) is listed for checking and never resent blindly; a record that certainly never
left (connection refused) is retried on the next run.

Before each send the journal marks the record `sending`, so a run killed mid-request (Ctrl+C, a
crash, a power cut after the commit) leaves a trace: a rerun treats such a Save as unknown, and
resends an Update or Delete (they are idempotent).

Unknown outcomes are resolved only when asked (`resolve`, the CLI's `--resolve-unknown`), the way
`scforhis.errors` prescribes: Update the same record; `Y` means the visit is stored (and now holds
exactly these values), so it counts as accepted; `N` means it was not stored, so it is saved
again. If the service cannot be reached the record stays unknown.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .batch_input import Record
from .errors import (
    ConfigurationError,
    OutcomeUnknownError,
    RejectedError,
    ScForHisError,
    TransportError,
    ValidationError,
)
from .idnumbers import mask_id
from .issues import ValidationResult
from .keys import canonical_keys

ACCEPTED, REJECTED, INVALID, UNKNOWN, FAILED, PENDING = (
    "accepted",
    "rejected",
    "invalid",
    "unknown",
    "failed",
    "sending",
)
# Tally names of records a run did not send, and whether they count as done.
SKIPPED_ACCEPTED, SKIPPED_UNKNOWN, WOULD_SEND = "skipped_accepted", "skipped_unknown", "would_send"
# An unknown outcome that Update showed was stored after all (journalled as accepted).
CONFIRMED = "confirmed_stored"
# What each outcome and tally is called in a report a person reads.
STATUS_WORDS = {
    "zh-TW": {
        ACCEPTED: "已接受",
        REJECTED: "被拒",
        INVALID: "有錯未送",
        UNKNOWN: "結果不明",
        FAILED: "送出失敗",
        PENDING: "送出中",
        SKIPPED_ACCEPTED: "先前已接受、略過",
        SKIPPED_UNKNOWN: "結果不明、未重送",
        WOULD_SEND: "將送出",
        CONFIRMED: "經確認已儲存",
    },
    "en": {
        ACCEPTED: "accepted",
        REJECTED: "rejected",
        INVALID: "invalid (not sent)",
        UNKNOWN: "outcome unknown",
        FAILED: "failed",
        PENDING: "sending",
        SKIPPED_ACCEPTED: "skipped (accepted before)",
        SKIPPED_UNKNOWN: "not resent (outcome unknown)",
        WOULD_SEND: "to send",
        CONFIRMED: "confirmed stored",
    },
}
# Errors that would fail every record alike (a missing setting, a refused login): they end the
# run instead of being journalled against each record. Both happen before the record is stored.
RUN_ERRORS = (ConfigurationError, RejectedError)
# Outcomes that need no more work: exit status 0 when a run has only these.
DONE = frozenset({ACCEPTED, SKIPPED_ACCEPTED, WOULD_SEND, CONFIRMED})


class Journal:
    """The upload journal: one row per record key, with its last outcome."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS uploads (operation TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,"
            " code TEXT, info TEXT, source TEXT, record INTEGER, updated REAL, PRIMARY KEY (operation, key))"
        )

    def status(self, operation: str, key: str) -> str | None:
        """The last outcome recorded for a record, or None."""
        row = self.connection.execute(
            "SELECT status FROM uploads WHERE operation = ? AND key = ?", (operation, key)
        ).fetchone()
        return None if row is None else str(row[0])

    def record(
        self, operation: str, key: str, status: str, code: str, info: str, where: Record
    ) -> None:
        """Write a record's outcome (one statement: SQLite commits it at once)."""
        self.connection.execute(
            "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (operation, key) DO UPDATE SET"
            " status = excluded.status, code = excluded.code, info = excluded.info, source = excluded.source,"
            " record = excluded.record, updated = excluded.updated",
            (operation, key, status, code, info, where.source, where.number, time.time()),
        )

    def forget(self, operation: str, key: str, status: str | None) -> None:
        """Put a record back to `status` (None: as if never seen), after a run error."""
        if status is None:
            self.connection.execute(
                "DELETE FROM uploads WHERE operation = ? AND key = ?", (operation, key)
            )
        else:
            self.connection.execute(
                "UPDATE uploads SET status = ? WHERE operation = ? AND key = ?",
                (status, operation, key),
            )

    def unknown(self, operation: str) -> list[tuple[str, str, int]]:
        """(key, source, record number) of every record whose outcome is unknown."""
        rows = self.connection.execute(
            "SELECT key, source, record FROM uploads WHERE operation = ? AND status = ? ORDER BY source, record",
            (operation, UNKNOWN),
        )
        return [(str(k), str(s), int(r)) for k, s, r in rows]

    def close(self) -> None:
        """Close the database."""
        self.connection.close()


@dataclass(frozen=True)
class Unknown:
    """A record whose outcome is unknown: its key and where it is in the input."""

    key: str
    record: Record


@dataclass
class UploadTally:
    """What an upload run did."""

    counts: Counter[str] = field(default_factory=Counter)
    unknown: list[Unknown] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """True when every record was accepted (now or before) or, in a dry run, would be sent."""
        return all(name in DONE for name, count in self.counts.items() if count)


def record_key(payload: Mapping[str, Any], key_fields: tuple[str, ...]) -> str:
    """The record key as text: the key fields' values joined by `|` (names in any case)."""
    return "|".join(str(payload.get(name, "")).strip() for name in key_fields)


def shown_key(key: str) -> str:
    """The key for people to read, with the ID number masked."""
    return "|".join(
        mask_id(part) if len(part) == 10 and part[:1].isalpha() else part for part in key.split("|")
    )


def upload(
    records: Iterable[Record],
    *,
    operation: str,
    send: Callable[[Mapping[str, Any]], Any] | None,
    validate: Callable[[object], ValidationResult],
    folded: Mapping[str, str],
    key_fields: tuple[str, ...],
    journal: Journal,
    prepare: Callable[[Any], Any] = lambda payload: payload,
    resolve: Callable[[Mapping[str, Any]], Any] | None = None,
    resend_pending: bool = False,
    on_result: Callable[[Record, str, str], None] = lambda record, status, info: None,
    on_checked: Callable[[Record, ValidationResult], None] = lambda record, result: None,
) -> UploadTally:
    """Validate and send each record not yet accepted; `send=None` validates only (a dry run).

    `prepare` fills what the client would fill (credentials, institution) before the record is
    validated and keyed. `resolve` (Update, for Save) checks records whose outcome is unknown;
    without it they are only listed. `resend_pending` says whether a record left `sending` by an
    interrupted run may simply be sent again (true for the idempotent Update and Delete).
    `on_checked` hears of every record with errors or warnings, before anything is sent.
    """
    tally = UploadTally()
    for record in records:
        payload = prepare(record.payload)
        result = validate(payload)
        if result.errors or result.warnings:
            on_checked(record, result)
        if not result.ok:
            tally.counts[INVALID] += 1
            on_result(record, INVALID, str(result.errors[0]))
            continue
        key = record_key(canonical_keys(payload, folded, {}, []), key_fields)
        previous = journal.status(operation, key)
        if previous == PENDING and not resend_pending:
            previous = UNKNOWN  # the run that sent it died before the answer: it may be stored
        if previous == ACCEPTED:
            tally.counts[SKIPPED_ACCEPTED] += 1
            continue
        if previous == UNKNOWN and (resolve is None or send is None):
            tally.counts[SKIPPED_UNKNOWN] += 1
            tally.unknown.append(Unknown(key, record))
            continue
        if send is None:
            tally.counts[WOULD_SEND] += 1
            continue
        journal.record(operation, key, PENDING, "", "", record)
        try:
            if previous == UNKNOWN and resolve is not None:
                status, code, info, counted = _resolve(resolve, send, payload)
            else:
                status, code, info = _send(send, payload)
                counted = status
        except RUN_ERRORS:
            journal.forget(operation, key, previous)
            raise
        journal.record(operation, key, status, code, info, record)
        tally.counts[counted] += 1
        if status == UNKNOWN:
            tally.unknown.append(Unknown(key, record))
        on_result(record, status, info)
    return tally


def _resolve(
    check: Callable[[Mapping[str, Any]], Any],
    send: Callable[[Mapping[str, Any]], Any],
    payload: Any,
) -> tuple[str, str, str, str]:
    """Settle an unknown Save as `scforhis.errors` says: Update first, Save only if Update says N.

    Returns the journal's status, code and info, and the name the run counts it under.
    """
    try:
        answer = check(payload)
    except RUN_ERRORS:
        raise
    except ScForHisError as error:
        info = f"仍無法確認 still cannot check: {str(error).splitlines()[0]}"
        return UNKNOWN, "", info, UNKNOWN
    if answer.ok:
        info = f"已確認存在 confirmed stored (Update answered {answer.code}: {answer.info})"
        return ACCEPTED, str(answer.code), info, CONFIRMED
    # Update said N: no such visit, so the earlier Save was not stored and sending it is safe.
    status, code, info = _send(send, payload)
    return status, code, info, status


def _send(send: Callable[[Mapping[str, Any]], Any], payload: Any) -> tuple[str, str, str]:
    try:
        result = send(payload)
    except OutcomeUnknownError as error:
        return UNKNOWN, "", str(error)
    except ValidationError as error:
        return INVALID, "", str(error)
    except RUN_ERRORS:
        raise
    except (TransportError, ScForHisError) as error:
        # Save raises OutcomeUnknownError itself when a request may have arrived; anything else
        # either never arrived or is safe to send again (Update and Delete are idempotent).
        return FAILED, "", str(error)
    return (ACCEPTED if result.ok else REJECTED), str(result.code), str(result.info)
