# Copied by `make generate` from codegen/runtime/batch_upload.py; edit it there.
"""Resumable uploads: each valid record sent once, the outcome journalled in SQLite by record key.

On a rerun, records the service already accepted are skipped, so an interrupted upload resumes
without duplicates. A record whose outcome is unknown (a Save that may have arrived without a
readable answer) is listed for checking and never resent blindly; a record that certainly never
left (connection refused) is retried on the next run.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .batch_input import Record
from .errors import OutcomeUnknownError, ScForHisError, TransportError, ValidationError
from .idnumbers import mask_id
from .issues import ValidationResult
from .keys import canonical_keys

ACCEPTED, REJECTED, INVALID, UNKNOWN, FAILED = (
    "accepted",
    "rejected",
    "invalid",
    "unknown",
    "failed",
)
# Outcomes after which a record is not sent again by a rerun.
SETTLED = frozenset({ACCEPTED, UNKNOWN})


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


@dataclass
class UploadTally:
    """What an upload run did."""

    counts: Counter[str] = field(default_factory=Counter)
    unknown: list[str] = field(default_factory=list)


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
    on_result: Callable[[Record, str, str], None] = lambda record, status, info: None,
) -> UploadTally:
    """Validate and send each record not yet settled; `send=None` validates only (a dry run)."""
    tally = UploadTally()
    for record in records:
        result = validate(record.payload)
        if not result.ok:
            tally.counts[INVALID] += 1
            on_result(record, INVALID, str(result.errors[0]))
            continue
        payload = canonical_keys(record.payload, folded, {}, [])
        key = record_key(payload, key_fields)
        previous = journal.status(operation, key)
        if previous in SETTLED:
            tally.counts[f"skipped_{previous}"] += 1
            if previous == UNKNOWN:
                tally.unknown.append(key)
            continue
        if send is None:
            tally.counts["would_send"] += 1
            continue
        status, code, info = _send(send, record.payload)
        journal.record(operation, key, status, code, info, record)
        tally.counts[status] += 1
        if status == UNKNOWN:
            tally.unknown.append(key)
        on_result(record, status, info)
    return tally


def _send(send: Callable[[Mapping[str, Any]], Any], payload: Any) -> tuple[str, str, str]:
    try:
        result = send(payload)
    except OutcomeUnknownError as error:
        return UNKNOWN, "", str(error)
    except ValidationError as error:
        return INVALID, "", str(error)
    except (TransportError, ScForHisError) as error:
        # Save raises OutcomeUnknownError itself when a request may have arrived; anything else
        # either never arrived or is safe to send again (Update and Delete are idempotent).
        return FAILED, "", str(error)
    return (ACCEPTED if result.ok else REJECTED), str(result.code), str(result.info)
