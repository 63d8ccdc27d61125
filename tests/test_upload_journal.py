"""The upload journal on its own, with real files: one run at a time (a lock that dies with its
process), private files with no ID number in clear, accepted records never downgraded, the
content digest, the migration of a journal of the previous version, and files it cannot use."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scforhis._generated.operations import RECORD_KEY
from scforhis.batch.input import InputError, Record
from scforhis.batch.journal import (
    ACCEPTED,
    FAILED,
    INVALID,
    JOURNAL_VERSION,
    PENDING,
    REJECTED,
    UNKNOWN,
    Journal,
    JournalEntry,
    JournalInUse,
    content_digest,
    record_key,
)
from scforhis.sandbox.store import Store, VisitKey

ID = "A123456789"
MASKED = "A12****789"
VISIT = {
    "hosP_ID": "3501200000",
    "hosP_SEQ_NO": "00",
    "id": ID,
    "birthday": "1961/01/01",
    "funC_DATE": "2022/10/03",
    "curE_STAGE": "2",
    "curE_TYPE": "1",
}
KEY = record_key(VISIT, RECORD_KEY)
OTHER = record_key({**VISIT, "id": "B234567890"}, RECORD_KEY)
WHERE = Record("export.csv", 3, 4, {})
SECRETS = ("account", "password", "token")
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and signals")
# A program that opens the journal named by argv[1] and says what happened.
OPEN_ONCE = """
import sys
from scforhis.batch.journal import Journal, JournalInUse
try:
    Journal(sys.argv[1]).close()
except JournalInUse as error:
    print(error)
    sys.exit(3)
print("opened")
"""
# A program that opens the journal, says so, and holds it until killed.
HOLD = """
import sys, time
from scforhis.batch.journal import Journal
journal = Journal(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "export.csv.journal.sqlite3")


@pytest.fixture
def journal(path: str) -> Iterator[Journal]:
    opened = Journal(path)
    yield opened
    opened.close()


def in_use(path: str, pid: int | str) -> str:
    return f"上傳紀錄檔 {path} 正由程序 {pid} 使用中 / journal {path} in use by process {pid}"


def one_line(error: pytest.ExceptionInfo[BaseException], path: str) -> str:
    message = str(error.value)
    assert "\n" not in message and path in message and "Traceback" not in message
    return message


def raw_bytes(path: str) -> bytes:
    """The journal's bytes with its write-ahead log's, as whoever copies the files gets them."""
    return b"".join(
        Path(name).read_bytes() for name in (path, f"{path}-wal") if Path(name).exists()
    )


# -- one run at a time ------------------------------------------------------------------------


def test_a_second_journal_on_the_same_path_is_refused_naming_the_holder(path: str) -> None:
    first = Journal(path)
    assert Path(f"{path}.lock").read_text("ascii").strip() == str(os.getpid())
    with pytest.raises(JournalInUse) as refused:
        Journal(path)
    assert isinstance(refused.value, InputError)
    assert one_line(refused, path) == in_use(path, os.getpid())
    first.record("Save", KEY, ACCEPTED, "Y", "", WHERE)
    first.close()
    first.close()  # closing twice does nothing
    assert not Path(f"{path}.lock").exists()
    with Journal(path) as second:
        assert second.status("Save", KEY) == ACCEPTED


def test_a_holder_that_has_not_written_its_process_id_yet_is_named_by_a_question_mark(
    path: str,
) -> None:
    # A run that has just locked the file has not written its PID yet: say so, not "None".
    import fcntl

    fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(JournalInUse) as refused:
            Journal(path)
        assert one_line(refused, path) == in_use(path, "?")
    finally:
        os.close(fd)


def test_another_process_is_refused_while_the_journal_is_open_and_opens_it_after(
    path: str,
) -> None:
    def other_process() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", OPEN_ONCE, path],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            timeout=60,
        )

    journal = Journal(path)
    try:
        refused = other_process()
    finally:
        journal.close()
    assert (refused.returncode, refused.stdout.strip()) == (3, in_use(path, os.getpid()))
    opened = other_process()
    assert (opened.returncode, opened.stdout.strip(), opened.stderr) == (0, "opened", "")


@POSIX
def test_a_killed_holder_leaves_the_journal_free(path: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(JournalInUse, match=f"in use by process {holder.pid}$"):
            Journal(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    # The killed process could not remove its lock file; the lock itself died with it.
    assert Path(f"{path}.lock").read_text("ascii").strip() == str(holder.pid)
    with Journal(path) as journal:
        assert Path(f"{path}.lock").read_text("ascii").strip() == str(os.getpid())
        assert journal.status("Save", KEY) is None


# -- private files, no ID in clear ------------------------------------------------------------


@POSIX
def test_the_journal_its_log_and_its_lock_are_private_whatever_the_umask(path: str) -> None:
    previous = os.umask(0)
    try:
        with Journal(path) as journal:
            journal.record("Save", KEY, ACCEPTED, "Y", "ok", WHERE)
            for name in (path, f"{path}-wal", f"{path}-shm", f"{path}.lock"):
                assert os.stat(name).st_mode & 0o777 == 0o600, name
    finally:
        os.umask(previous)


@POSIX
def test_an_existing_journal_keeps_its_mode(path: str) -> None:
    Journal(path).close()
    os.chmod(path, 0o640)
    Journal(path).close()
    assert os.stat(path).st_mode & 0o777 == 0o640


@POSIX
def test_the_sandbox_database_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    previous = os.umask(0)
    try:
        store = Store(path)
        try:
            key = VisitKey("3501200000", "00", ID, "1961/01/01", "2022/10/03", "2", "1")
            with store.write() as tx:
                assert tx.insert_visit(key, "111", {"id": ID})
            for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                assert os.stat(name).st_mode & 0o777 == 0o600, name
        finally:
            store.close()
    finally:
        os.umask(previous)


def test_no_id_number_is_stored_in_clear(path: str) -> None:
    journal = Journal(path)
    try:
        journal.record("Save", KEY, UNKNOWN, "", f"no answer for {ID}", WHERE)
        journal.record("Save", OTHER, REJECTED, "N", "重複", WHERE._replace(number=5))
        data = raw_bytes(path)
        assert ID.encode() not in data and b"B234567890" not in data
        assert MASKED.encode() in data
        assert journal.status("Save", KEY) == UNKNOWN  # still found by the clear key
        assert journal.unknown("Save") == [(KEY.replace(ID, MASKED), "export.csv", 3)]
    finally:
        journal.close()
    assert ID.encode() not in raw_bytes(path)


def test_every_journal_has_its_own_secret(tmp_path: Path) -> None:
    stored = []
    for name in ("one.sqlite3", "two.sqlite3"):
        with Journal(str(tmp_path / name)) as journal:
            journal.record("Save", KEY, ACCEPTED, "Y", "", WHERE)
            stored.append(journal.connection.execute("SELECT key FROM uploads").fetchone()[0])
    assert stored[0] != stored[1] and KEY not in stored


# -- accepted stays accepted, and the digest of what was accepted ----------------------------


@pytest.mark.parametrize("later", [REJECTED, FAILED, UNKNOWN, PENDING, INVALID])
def test_an_accepted_record_is_never_downgraded(journal: Journal, later: str) -> None:
    journal.record("Save", KEY, ACCEPTED, "Y", "stored", WHERE, "d1")
    journal.record("Save", KEY, later, "N", "later", WHERE._replace(number=9), "d2")
    assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, "d1")
    row = journal.connection.execute("SELECT code, info, record FROM uploads").fetchone()
    assert row == ("N", "later", 3)  # the answer is kept, the place of what was accepted too
    journal.forget("Save", KEY, None)
    journal.forget("Save", KEY, UNKNOWN)
    assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, "d1")


def test_records_not_accepted_change_and_are_forgotten(journal: Journal) -> None:
    journal.record("Save", KEY, PENDING, "", "", WHERE)
    journal.record("Save", KEY, UNKNOWN, "", "", WHERE)
    assert journal.entry("Save", KEY) == JournalEntry(UNKNOWN, None)
    journal.forget("Save", KEY, FAILED)
    assert journal.status("Save", KEY) == FAILED
    journal.forget("Save", KEY, None)
    assert journal.entry("Save", KEY) is None
    assert journal.status("Update", KEY) is None  # each operation has its own rows


def test_the_digest_is_what_was_last_accepted(journal: Journal) -> None:
    journal.record("Save", KEY, REJECTED, "N", "", WHERE, "d0")
    assert journal.entry("Save", KEY) == JournalEntry(REJECTED, None)  # nothing accepted yet
    journal.record("Save", KEY, ACCEPTED, "Y", "", WHERE, "d1")
    journal.record("Save", KEY, PENDING, "", "", WHERE)  # a correction leaves
    journal.record("Save", KEY, REJECTED, "N", "bad correction", WHERE, "d2")
    assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, "d1")
    journal.record("Save", KEY, ACCEPTED, "Y", "", WHERE, "d3")
    assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, "d3")
    journal.record("Save", KEY, ACCEPTED, "Y", "", WHERE)  # no digest given: the last one stays
    assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, "d3")


def test_the_content_digest_ignores_secrets_order_case_and_spaces_but_nothing_else() -> None:
    record = {**VISIT, "account": "3501200000ADM", "password": "12345678", "smokE_MON": "6"}
    digest = content_digest(record, SECRETS)
    assert len(digest) == 64 and int(digest, 16) >= 0
    same = [
        {**record, "password": "changed", "account": "other", "token": "t"},
        dict(reversed(list(record.items()))),
        {name.upper(): value for name, value in record.items()},
        {name: f"  {value} " for name, value in record.items()},
        {name: value for name, value in record.items() if name not in SECRETS},
    ]
    for other in same:
        assert content_digest(other, SECRETS) == digest, other
    changed: list[dict[str, object]] = [
        {**record, "smokE_MON": "7"},
        {**record, "smokE_MON": "60"},
        {**record, "birthday": "1961/01/ 01"},
        {**record, "memo": ""},
        {name: value for name, value in record.items() if name != "smokE_MON"},
        {**record, "funC_DATE": "2022/10/04"},
        {**record, "smokE_MON": 6},
    ]
    for different in changed:
        assert content_digest(different, SECRETS) != digest, different
    assert content_digest(record, ()) != digest  # the secrets count when not named


# -- a journal of the previous version --------------------------------------------------------


def old_journal(path: str) -> None:
    """A journal as the previous version wrote it: keys in clear, no digest, no meta table."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS uploads (operation TEXT NOT NULL, key TEXT NOT NULL,"
            " status TEXT NOT NULL, code TEXT, info TEXT, source TEXT, record INTEGER,"
            " updated REAL, PRIMARY KEY (operation, key))"
        )
        db.executemany(
            "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("Save", KEY, ACCEPTED, "Y", f"stored {ID}", "export.csv", 2, 1.0),
                ("Save", OTHER, UNKNOWN, "", "timed out", "export.csv", 3, 2.0),
            ],
        )
    db.close()


def test_a_journal_of_the_previous_version_is_migrated(path: str) -> None:
    old_journal(path)
    assert ID.encode() in raw_bytes(path)
    with Journal(path) as journal:
        assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, None)
        assert journal.status("Save", OTHER) == UNKNOWN
        assert journal.unknown("Save") == [
            (OTHER.replace("B234567890", "B23****890"), "export.csv", 3)
        ]
        version = journal.connection.execute("SELECT value FROM meta WHERE key = 'version'")
        assert version.fetchone()[0] == JOURNAL_VERSION
        data = raw_bytes(path)
        assert ID.encode() not in data and b"B234567890" not in data
        assert MASKED.encode() in data
        journal.record("Save", KEY, REJECTED, "N", "", WHERE, "d2")
        assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, None)
    with Journal(path) as journal:  # opened again: not migrated twice
        assert journal.entry("Save", KEY) == JournalEntry(ACCEPTED, None)
        assert journal.status("Save", OTHER) == UNKNOWN
    assert ID.encode() not in raw_bytes(path)


def test_a_journal_of_a_newer_version_is_refused(path: str) -> None:
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    db.close()
    with pytest.raises(InputError) as refused:
        Journal(path)
    assert "format 99" in one_line(refused, path)
    assert not Path(f"{path}.lock").exists()  # the refusal let the lock go


# -- files it cannot use ----------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_refused_in_one_line(path: str) -> None:
    Path(path).write_bytes(b"HOSP_ID,FUNC_DATE\n3501200000,2022/10/03\n" * 100)
    for _attempt in range(2):  # the lock is let go: a second try says the same
        with pytest.raises(InputError) as refused:
            Journal(path)
        assert not isinstance(refused.value, JournalInUse)
        assert "not a database" in one_line(refused, path)


def test_a_damaged_journal_is_refused_in_one_line(path: str) -> None:
    with Journal(path) as journal:
        for number in range(300):
            key = record_key({**VISIT, "funC_DATE": f"2022/10/{number}"}, RECORD_KEY)
            journal.record("Save", key, ACCEPTED, "Y", "stored " * 20, WHERE, "d")
    size = os.path.getsize(path)
    assert size > 16 * 4096
    with open(path, "r+b") as damaged:
        damaged.seek(4096 * 3)
        damaged.write(os.urandom(4096 * 8))
    with pytest.raises(InputError) as refused:
        Journal(path)
    assert "malformed" in one_line(refused, path)


def test_a_directory_or_another_database_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        Journal(str(tmp_path))
    assert "is a directory" in one_line(refused, str(tmp_path))
    sandbox = tmp_path / "sandbox.db"
    Store(sandbox).close()
    with pytest.raises(InputError) as refused:
        Journal(str(sandbox))
    assert "not an upload journal" in one_line(refused, str(sandbox))
    with sqlite3.connect(sandbox) as db:  # and left as it was
        assert "uploads" not in {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()


def test_a_full_disk_on_a_write_is_one_line(journal: Journal, path: str) -> None:
    pages = journal.connection.execute("PRAGMA page_count").fetchone()[0]
    journal.connection.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(InputError) as full:
        for number in range(1000):
            key = record_key({**VISIT, "funC_DATE": f"2022/10/{number}"}, RECORD_KEY)
            journal.record("Save", key, FAILED, "", "x" * 900, WHERE)
    assert "full" in one_line(full, path)
    assert "cannot be written" in str(full.value)


def test_a_journal_that_cannot_be_written_is_one_line(journal: Journal, path: str) -> None:
    journal.record("Save", KEY, UNKNOWN, "", "", WHERE)
    journal.connection.execute("PRAGMA query_only = ON")  # as a read-only file answers
    writes: list[tuple[Callable[..., None], tuple[object, ...]]] = [
        (journal.record, ("Save", KEY, ACCEPTED, "Y", "", WHERE)),
        (journal.forget, ("Save", KEY, None)),
        (journal.forget, ("Save", KEY, FAILED)),
    ]
    for write, arguments in writes:
        with pytest.raises(InputError) as refused:
            write(*arguments)
        assert "cannot be written" in one_line(refused, path)
    assert journal.status("Save", KEY) == UNKNOWN


def test_a_lock_file_that_cannot_be_made_is_one_line(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refused)  # as a read-only directory answers (even root)
    with pytest.raises(InputError) as error:
        Journal(path)
    assert one_line(error, path).endswith("cannot be locked: Permission denied")


def test_a_journal_whose_secret_is_damaged_is_refused_in_one_line(path: str) -> None:
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'not hex' WHERE key = 'secret'")
    db.close()
    with pytest.raises(InputError) as refused:
        Journal(path)
    assert "key secret" in one_line(refused, path)


def test_the_journal_zeroes_freed_pages_and_syncs_fully_while_a_record_is_in_flight(
    journal: Journal,
) -> None:
    # Freed pages hold patient keys until overwritten; a `sending` mark must survive a power cut.
    assert journal.connection.execute("PRAGMA secure_delete").fetchone()[0] == 1
    journal.record("Save", KEY, PENDING, "", "", WHERE)
    assert journal.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    journal.record("Save", KEY, ACCEPTED, "Y", "ok", WHERE, digest="d")
    assert journal.connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_the_content_digest_of_text_is_that_of_its_utf8_json() -> None:
    # Journals outlive versions: the digest is SHA-256 of the sorted [name, JSON value] pairs,
    # written as UTF-8 with non-ASCII text as it is (not \\u escapes), so a journal written by
    # one version still recognises the same record in the next.
    import hashlib

    payload = {"MEMO": " 衛教 ", "id": "A123456789", "password": "x"}
    canonical = '[["id","\\"A123456789\\""],["memo","\\"衛教\\""]]'
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert content_digest(payload, ("password",)) == expected


def test_ctrl_c_while_the_journal_opens_leaves_nothing_open(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing may keep the file open after the interrupted run: on Windows an open handle
    # blocks the next run, and here it would leak a descriptor per attempt.
    def interrupted(self: Journal, connection: sqlite3.Connection) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "_prepare", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Journal(path)
    real = os.path.realpath(path)
    opened = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
              if os.path.exists(f"/proc/self/fd/{fd}")]  # fmt: skip
    assert not [name for name in opened if name.startswith(real)]
    assert not Path(f"{path}.lock").exists()
