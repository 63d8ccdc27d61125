"""The upload journal: each visit's last outcome, in a private SQLite file beside the export.

One run per journal (an OS lock that dies with its process). Rows are keyed by a keyed digest of
the visit key, with the key shown masked, so the file holds no national ID in clear. A row keeps
the digest of what was last accepted for its visit: a rerun skips what is unchanged and sends a
corrected row as an Update. No later write turns an accepted visit into anything else.

Before each send the journal marks the record `sending`, so a run killed mid-request (Ctrl+C, a
crash, a power cut after the commit) leaves a trace: a rerun treats such a Save as unknown, and
resends an Update or Delete (they are idempotent). Unknown outcomes are resolved only when asked
(`--resolve-unknown`), the way `scforhis.errors` prescribes: Update the same record; `Y` means the
visit is stored (and now holds exactly these values); `N` means it was not, so it is saved
again. The run itself (what to send, how many at once, when to stop) is `batch_send`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import sys
import time
import weakref
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from scforhis.errors import (
    ConfigurationError,
    RejectedError,
)
from scforhis.redaction import redact
from scforhis.validation.idnumbers import mask_id

from .input import InputError, Record

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

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
# An accepted visit whose row changed, sent again as an Update and accepted.
CORRECTED = "corrected"
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
        CORRECTED: "已更正",
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
        CORRECTED: "corrected",
    },
}
# Errors that would fail every record alike (a missing setting, a refused login): they end the
# run instead of being journalled against each record. Both happen before the record is stored.
RUN_ERRORS = (ConfigurationError, RejectedError)
# Outcomes that need no more work: exit status 0 when a run has only these.
DONE = frozenset({ACCEPTED, SKIPPED_ACCEPTED, WOULD_SEND, CONFIRMED, CORRECTED})


# The journal's layout. 2: keys kept as keyed digests (HMAC-SHA256), with a masked key to show
# and the digest of what was accepted; version 1 (no meta table) kept keys in clear.
JOURNAL_VERSION = "2"
_UPLOADS = (
    "CREATE TABLE uploads (operation TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,"
    " code TEXT, info TEXT, source TEXT, record INTEGER, updated REAL, digest TEXT, shown TEXT,"
    " PRIMARY KEY (operation, key))"
)
# One statement, so SQLite commits it at once. An accepted visit stays accepted whatever is
# written later (a `sending` mark, a rejected correction): only its code, info and time change.
# The digest is what was last accepted, so it changes only with another acceptance.
_RECORD = (
    "INSERT INTO uploads (operation, key, status, code, info, source, record, updated, digest,"
    " shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (operation, key) DO UPDATE SET"
    " status = CASE WHEN uploads.status = 'accepted' THEN uploads.status ELSE excluded.status END,"
    " digest = CASE WHEN excluded.status = 'accepted' AND excluded.digest IS NOT NULL"
    " THEN excluded.digest ELSE uploads.digest END,"
    " source = CASE WHEN uploads.status = 'accepted' AND excluded.status <> 'accepted'"
    " THEN uploads.source ELSE excluded.source END,"
    " record = CASE WHEN uploads.status = 'accepted' AND excluded.status <> 'accepted'"
    " THEN uploads.record ELSE excluded.record END,"
    " code = excluded.code, info = excluded.info, updated = excluded.updated,"
    " shown = excluded.shown"
)
# The longest outcome text kept (IDs in it are masked first).
_INFO_LIMIT = 1000
# The journal's key secret as stored: 32 bytes in hex.
_HEX = re.compile(r"[0-9a-f]{64}")


class JournalInUse(InputError):
    """Another run (in this process or another) has the journal open."""


class JournalEntry(NamedTuple):
    """What the journal knows of a visit: its last outcome, and the content digest of what was
    last accepted (None when nothing was, or the journal predates digests)."""

    status: str
    digest: str | None


class Journal:
    """The upload journal: one row per record key, with its last outcome.

    One run at a time: opening takes an exclusive lock on `<path>.lock` (it dies with the
    process, so a killed run leaves nothing that blocks the next), and a second opening raises
    `JournalInUse`. The files are private (mode 0600) and hold no ID number in clear: a visit is
    found by a keyed digest of its key (HMAC-SHA256, with a secret made for this journal), and
    people see its masked form. A journal that cannot be opened, read or written raises
    `InputError` with one line naming the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._full_sync = True  # SQLite's default in WAL mode: every commit is fsynced
        if os.path.isdir(self.path):
            raise InputError(_journal_error(self.path, "開啟", "opened", "是資料夾 is a directory"))
        self._lock = _Lock(self.path)
        try:
            self.connection, self._secret = self._open()
        except BaseException:
            self._lock.release()
            raise

    def _open(self) -> tuple[sqlite3.Connection, bytes]:
        try:
            _create_private(self.path)
            connection = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise InputError(_journal_error(self.path, "開啟", "opened", error)) from error
        try:
            secret = self._prepare(connection)
        except sqlite3.Error as error:
            connection.close()
            raise InputError(_journal_error(self.path, "開啟", "opened", error)) from error
        except BaseException:
            connection.close()
            raise
        return connection, secret

    def _prepare(self, db: sqlite3.Connection) -> bytes:
        """Check the file is a sound journal, bring an older one up to this version, and return
        the secret its keys are digested with."""
        tables = {
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables and "uploads" not in tables:
            raise InputError(
                _journal_error(self.path, "使用", "used", "不是上傳紀錄檔 not an upload journal")
            )
        check = str(db.execute("PRAGMA quick_check").fetchone()[0])
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
        # Freed space is zeroed, so a key rewritten by the migration leaves no trace.
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            version = None if row is None else str(row[0])
            migrated = False
            if "uploads" not in tables:
                db.execute(_UPLOADS)
                _set_meta(db, "secret", secrets.token_hex(32))
            elif version is None:
                _migrate(db)
                migrated = True
            elif version != JOURNAL_VERSION:
                raise InputError(
                    _journal_error(
                        self.path,
                        "使用",
                        "used",
                        f"由較新版本建立（格式 {version}）made by a newer version (format {version})",
                    )
                )
            _set_meta(db, "version", JOURNAL_VERSION)
            row = db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            secret = bytes.fromhex(str(row[0])) if row and _HEX.fullmatch(str(row[0])) else b""
            if len(secret) != 32:
                raise sqlite3.DatabaseError("the key secret is missing or damaged")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if migrated:
            # Rewrite the file and empty the write-ahead log: no old page keeps a key in clear.
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return secret

    def _key(self, key: str) -> str:
        """The keyed digest the journal stores for a record key."""
        return hmac.new(self._secret, key.encode("utf-8"), hashlib.sha256).hexdigest()

    @contextmanager
    def _guard(self, doing: str, doing_en: str) -> Iterator[None]:
        """SQLite's errors (a full disk, a read-only or damaged file) as a one-line InputError."""
        try:
            yield
        except sqlite3.Error as error:
            raise InputError(_journal_error(self.path, doing, doing_en, error)) from error

    def status(self, operation: str, key: str) -> str | None:
        """The last outcome recorded for a record, or None."""
        entry = self.entry(operation, key)
        return None if entry is None else entry.status

    def entry(self, operation: str, key: str) -> JournalEntry | None:
        """The last outcome of a record and the digest of what was accepted, or None."""
        with self._guard("讀取", "read"):
            row = self.connection.execute(
                "SELECT status, digest FROM uploads WHERE operation = ? AND key = ?",
                (operation, self._key(key)),
            ).fetchone()
        if row is None:
            return None
        return JournalEntry(str(row[0]), None if row[1] is None else str(row[1]))

    def record(
        self,
        operation: str,
        key: str,
        status: str,
        code: str,
        info: str,
        where: Record,
        digest: str | None = None,
    ) -> None:
        """Write a record's outcome and, when accepted, the digest of what was sent.

        An accepted record stays accepted, with its digest: a later write of another status
        changes only its code, info and time.
        """
        with self._guard("寫入", "written"):
            # A `sending` mark must survive a power cut before the record leaves (fsync); an
            # outcome may be lost to one, since the mark then makes the next run check it.
            self._durable(status == PENDING)
            self.connection.execute(
                _RECORD,
                (
                    operation,
                    self._key(key),
                    status,
                    code,
                    redact(info, limit=_INFO_LIMIT),
                    where.source,
                    where.number,
                    time.time(),
                    digest if status == ACCEPTED else None,
                    shown_key(key),
                ),
            )

    def _durable(self, full: bool) -> None:
        if full != self._full_sync:
            self.connection.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
            self._full_sync = full

    def forget(self, operation: str, key: str, status: str | None) -> None:
        """Put a record back to `status` (None: as if never seen), after a run error.

        An accepted record is left as it is.
        """
        with self._guard("寫入", "written"):
            if status is None:
                self.connection.execute(
                    "DELETE FROM uploads WHERE operation = ? AND key = ? AND status <> ?",
                    (operation, self._key(key), ACCEPTED),
                )
            else:
                self.connection.execute(
                    "UPDATE uploads SET status = ? WHERE operation = ? AND key = ? AND status <> ?",
                    (status, operation, self._key(key), ACCEPTED),
                )

    def unknown(self, operation: str) -> list[tuple[str, str, int]]:
        """(masked key, source, record number) of every record whose outcome is unknown."""
        with self._guard("讀取", "read"):
            rows = self.connection.execute(
                "SELECT shown, source, record FROM uploads WHERE operation = ? AND status = ?"
                " ORDER BY source, record",
                (operation, UNKNOWN),
            ).fetchall()
        return [(str(k or ""), str(s or ""), int(r or 0)) for k, s, r in rows]

    def close(self) -> None:
        """Close the database and release the lock (again: nothing happens)."""
        try:
            self.connection.close()
        finally:
            self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _journal_error(path: str, doing: str, doing_en: str, reason: object) -> str:
    """One line: the journal, what could not be done with it, and why."""
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror
    text = " ".join(str(reason).split())
    return f"上傳紀錄檔 {path} 無法{doing} / journal {path} cannot be {doing_en}: {text}"


def _create_private(path: str) -> None:
    """Create an empty file readable by its owner only, unless it exists (left as it is).

    SQLite gives the -wal and -shm files it makes the database file's mode.
    """
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_RDWR | getattr(os, "O_BINARY", 0), 0o600))


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a version 1 journal (keys in clear) to version 2, inside the caller's transaction."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(uploads)")}
    for name in ("digest", "shown"):
        if name not in columns:
            db.execute(f"ALTER TABLE uploads ADD COLUMN {name} TEXT")
    secret = secrets.token_bytes(32)
    _set_meta(db, "secret", secret.hex())
    rows = db.execute("SELECT rowid, key, info FROM uploads").fetchall()
    for rowid, key, info in rows:
        clear = str(key)
        db.execute(
            "UPDATE uploads SET key = ?, shown = ?, info = ? WHERE rowid = ?",
            (
                hmac.new(secret, clear.encode("utf-8"), hashlib.sha256).hexdigest(),
                shown_key(clear),
                None if info is None else redact(str(info), limit=_INFO_LIMIT),
                rowid,
            ),
        )


class _Lock:
    """An exclusive lock on `<journal>.lock`, holding the owner's process ID as text.

    flock (msvcrt.locking on Windows) belongs to the open file, so the operating system lets it
    go when the process ends however it ends: a lock file left behind by a killed run is free.
    On release the file is removed while still locked; whoever opened it meanwhile sees it is
    no longer the file at that path and opens the path again.
    """

    def __init__(self, journal: str) -> None:
        self.path = f"{journal}.lock"
        for _attempt in range(20):
            try:
                fd = os.open(
                    self.path,
                    os.O_CREAT
                    | os.O_RDWR
                    | getattr(os, "O_BINARY", 0)
                    | getattr(os, "O_NOFOLLOW", 0),
                    0o600,
                )
            except OSError as error:
                raise InputError(_journal_error(journal, "鎖定", "locked", error)) from error
            try:
                held = _try_lock(fd)
            except OSError as error:
                os.close(fd)
                raise InputError(_journal_error(journal, "鎖定", "locked", error)) from error
            if not held:
                pid = _holder(fd)
                os.close(fd)
                raise JournalInUse(
                    f"上傳紀錄檔 {journal} 正由程序 {pid} 使用中 / journal {journal} in use by process {pid}"
                )
            if _same_file(fd, self.path):
                break
            os.close(fd)  # removed or replaced by its last holder: lock the file there now
        else:
            raise InputError(
                _journal_error(journal, "鎖定", "locked", "鎖定檔一再更換 lock file keeps changing")
            )
        self._finalizer = weakref.finalize(self, _release, fd, self.path)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        except OSError as error:
            self.release()
            raise InputError(_journal_error(journal, "鎖定", "locked", error)) from error

    def release(self) -> None:
        """Remove the lock file and let the lock go (again: nothing happens)."""
        self._finalizer()


def _holder(fd: int) -> str:
    """The process ID a lock file holds, or `?` (the holder may not have written it yet)."""
    for _attempt in range(10):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
        time.sleep(0.02)
    return "?"


def _same_file(fd: int, path: str) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


if sys.platform == "win32":
    # A byte beyond the process ID: Windows locks are mandatory, and others must read the ID.
    _LOCKED_BYTE = 1 << 20

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int, path: str) -> None:
        # Not removed: Windows cannot remove an open file, and a stale one blocks nobody.
        try:
            os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)

else:

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int, path: str) -> None:
        with suppress(OSError):
            os.unlink(path)  # while still locked: see _Lock
        os.close(fd)  # closing lets the lock go


def content_digest(payload: Mapping[str, Any], secret_names: Collection[str]) -> str:
    """A stable SHA-256 (hex) of what a record says, to tell a corrected record from the same.

    Field names count in any letter case and any order, and values without surrounding spaces;
    the fields named in `secret_names` (lower case: account, password, token) are left out, so
    new credentials do not make every record look changed. Any other change shows.
    """
    secret = {name.lower() for name in secret_names}
    items = sorted(
        (str(name).lower(), _plain_json(value))
        for name, value in payload.items()
        if str(name).lower() not in secret
    )
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain_json(value: Any) -> str:
    """A value as canonical JSON, strings stripped of surrounding spaces (inside lists too)."""

    def plain(item: Any) -> Any:
        if isinstance(item, str):
            return item.strip()
        if isinstance(item, Mapping):
            return {str(k): plain(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [plain(v) for v in item]
        return item

    return json.dumps(
        plain(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )


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
