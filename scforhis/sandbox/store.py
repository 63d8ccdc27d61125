"""The sandbox's state in one SQLite file: visit records, bookings and the token secret.

SQLite in WAL mode, so readers never wait for the writer and a crash or restart loses no
committed request. Each request is one transaction: `Store.read()` for a request that only reads,
`Store.write()` for one that may write (`BEGIN IMMEDIATE`, taken before anything is read, so the
checks a request makes still hold when it writes). Writers of this process queue on a lock
instead of polling SQLite's busy handler; the busy timeout still covers other processes (a
`sqlite3` shell on the same file).

Connections come from a small pool and are used by one thread at a time; the server runs the
blocking calls in its thread pool. A visit is keyed as the manual's Delete table implies
(institution, branch, patient ID, visit date, course, treatment type), a UNIQUE key, so two
identical Saves racing each other store one row. The record is kept as JSON, without the
account and password.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

SCHEMA_VERSION = "2"  # 2: the visit key has the birthday, as the Delete table
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS visits (
    hosp_id TEXT NOT NULL,
    hosp_seq_no TEXT NOT NULL,
    id TEXT NOT NULL,
    birthday TEXT NOT NULL,
    func_date TEXT NOT NULL,
    cure_stage TEXT NOT NULL,
    cure_type TEXT NOT NULL,
    examyear TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (hosp_id, hosp_seq_no, id, birthday, func_date, cure_stage, cure_type)
);
CREATE INDEX IF NOT EXISTS visits_by_patient_year ON visits (id, examyear);
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    hosp_id TEXT NOT NULL,
    hosp_seq_no TEXT NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
# The WHERE clause that finds one visit by its key, in VisitKey's order.
_KEY_MATCH = (
    "hosp_id = ? AND hosp_seq_no = ? AND id = ? AND birthday = ? AND func_date = ?"
    " AND cure_stage = ? AND cure_type = ?"
)
# Seconds another process may hold the write lock before a request gives up.
BUSY_TIMEOUT = 30.0


class VisitKey(NamedTuple):
    """What identifies a visit record: the manual's Delete table, which is the manual's own
    statement of it (the account and password aside)."""

    hosp_id: str
    hosp_seq_no: str
    id: str
    birthday: str
    func_date: str
    cure_stage: str
    cure_type: str


@dataclass(frozen=True)
class Booking:
    """A patient reserved for an institution (GetSCDataB with isBooking=true): visits from
    `starts` until the day before `ends`."""

    id: str
    hosp_id: str
    hosp_seq_no: str
    starts: date
    ends: date

    def holds(self, day: date) -> bool:
        """True when the booking covers a visit on `day`."""
        return self.starts <= day < self.ends


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (it holds ID numbers), unless it
    exists (left as it is). SQLite gives its -wal and -shm files the database file's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR | getattr(os, "O_BINARY", 0), 0o600))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Transaction:
    """One request's transaction: the queries the sandbox makes, on one connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def insert_visit(self, key: VisitKey, examyear: str, record: Mapping[str, object]) -> bool:
        """Store a new visit; False when one with the same key exists."""
        now = _now()
        cursor = self._db.execute(
            "INSERT INTO visits (hosp_id, hosp_seq_no, id, birthday, func_date, cure_stage,"
            " cure_type, examyear, record, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (*key, examyear, json.dumps(record, ensure_ascii=False), now, now),
        )
        return cursor.rowcount == 1

    def update_visit(self, key: VisitKey, examyear: str, record: Mapping[str, object]) -> bool:
        """Replace a stored visit's record; False when there is none with this key."""
        cursor = self._db.execute(
            "UPDATE visits SET examyear = ?, record = ?, updated_at = ? WHERE " + _KEY_MATCH,
            (examyear, json.dumps(record, ensure_ascii=False), _now(), *key),
        )
        return cursor.rowcount == 1

    def delete_visit(self, key: VisitKey) -> bool:
        """Remove a stored visit; False when there is none with this key."""
        cursor = self._db.execute(
            "DELETE FROM visits WHERE " + _KEY_MATCH,
            key,
        )
        return cursor.rowcount == 1

    def visit(self, key: VisitKey) -> dict[str, object] | None:
        """The stored record of a visit, or None."""
        row = self._db.execute(
            "SELECT record FROM visits WHERE " + _KEY_MATCH,
            key,
        ).fetchone()
        if row is None:
            return None
        record: dict[str, object] = json.loads(row[0])
        return record

    def courses(self, patient_id: str, examyear: str) -> set[tuple[str, str]]:
        """The patient's courses of a ROC year, as (institution, course number) pairs."""
        rows = self._db.execute(
            "SELECT DISTINCT hosp_id, cure_stage FROM visits WHERE id = ? AND examyear = ?",
            (patient_id, examyear),
        )
        return {(row[0], row[1]) for row in rows}

    def count_visits(self) -> int:
        """How many visit records are stored."""
        count: int = self._db.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
        return count

    def booking(self, patient_id: str) -> Booking | None:
        """The patient's latest booking, or None."""
        row = self._db.execute(
            "SELECT id, hosp_id, hosp_seq_no, starts, ends FROM bookings WHERE id = ?",
            (patient_id,),
        ).fetchone()
        if row is None:
            return None
        return Booking(
            row[0], row[1], row[2], date.fromisoformat(row[3]), date.fromisoformat(row[4])
        )

    def book(self, booking: Booking) -> None:
        """Reserve the patient for the booking's institution, replacing an older booking."""
        self._db.execute(
            "INSERT INTO bookings (id, hosp_id, hosp_seq_no, starts, ends, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET hosp_id = excluded.hosp_id,"
            " hosp_seq_no = excluded.hosp_seq_no, starts = excluded.starts, ends = excluded.ends,"
            " created_at = excluded.created_at",
            (
                booking.id,
                booking.hosp_id,
                booking.hosp_seq_no,
                booking.starts.isoformat(),
                booking.ends.isoformat(),
                _now(),
            ),
        )

    def meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


class Store:
    """The sandbox database at `path` (created when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        _create_private(self.path)
        with self._connection() as db:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: WAL mode unavailable ({mode})")
            db.executescript(_SCHEMA)
        with self.write() as tx:
            version = tx.meta("schema_version")
            if version is None:
                tx.set_meta("schema_version", SCHEMA_VERSION)
            elif version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"{self.path}: schema version {version}, expected {SCHEMA_VERSION}"
                )

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun explicitly. Any thread may use a connection,
        # one at a time (the pool hands each to one request).
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        # FULL: a committed Save is on disk before the answer leaves, whatever happens next.
        db.execute("PRAGMA synchronous=FULL")
        with self._all_lock:
            self._all.append(db)
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise sqlite3.ProgrammingError("the sandbox store is closed")
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = self._connect()
        try:
            yield db
        finally:
            self._pool.put(db)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Transaction]:
        with self._connection() as db:
            db.execute(begin)
            try:
                yield Transaction(db)
                db.execute("COMMIT")
            except BaseException:
                # Never hand a connection back to the pool with a transaction still open.
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A read-only transaction (it sees one snapshot of the database)."""
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back when it raises."""
        with self._write_lock, self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    def secret(self, configured: str | None) -> bytes:
        """The token secret: the configured one, else one made on first use and kept here, so
        that tokens stay valid across restarts."""
        if configured:
            return configured.encode("utf-8")
        with self.write() as tx:
            value = tx.meta("token_secret")
            if value is None:
                value = secrets.token_hex(32)
                tx.set_meta("token_secret", value)
        return bytes.fromhex(value)

    def close(self) -> None:
        """Close every connection (call when no request is running)."""
        self._closed = True
        with self._all_lock:
            connections, self._all = self._all, []
        for db in connections:
            db.close()
