"""`scforhis upload` run for real against a `SandboxThread` on 127.0.0.1: a CSV export sent once,
a dry run that sends nothing, a rerun that skips what was accepted, and an upload interrupted by
the sandbox's dropped-connection fault (and by Ctrl+C mid-request), then resumed, with every
record stored exactly once and no unknown outcome resent blindly.

Client calls are counted by wrapping `Client.save` and `Client.update`, so the tests see what was
sent, not only what the sandbox stored (the sandbox refuses a duplicate Save by itself, which
would hide a blind resend).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scforhis._generated.client import Client
from scforhis.cli import main
from scforhis.errors import ConnectionFailedError
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT, SandboxConfig
from tests.sandbox_support import exported, visit

COUNT = 20


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo account's credentials from the environment, quick retries, no other settings."""
    for name in ("BASE_URL", "QUERY_URL", "UPLOAD_URL", "HOSP_ID", "HOSP_SEQ_NO", "TOKEN_MAX_AGE"):
        monkeypatch.delenv(f"SCFORHIS_{name}", raising=False)
    monkeypatch.setenv("SCFORHIS_ACCOUNT", DEMO_ACCOUNT.account)
    monkeypatch.setenv("SCFORHIS_PASSWORD", DEMO_ACCOUNT.password)
    monkeypatch.setenv("SCFORHIS_RETRIES", "4")
    monkeypatch.setenv("SCFORHIS_RETRY_BACKOFF", "0")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """(operation, patient ID) of every Save and Update the client is asked to send."""
    seen: Counter[tuple[str, str]] = Counter()
    for name in ("save", "update"):
        original = getattr(Client, name)

        def counted(
            self: Client, *records: Any, _name: str = name, _original: Any = original
        ) -> Any:
            seen[(_name, str(records[0].get("id") or records[0].get("ID")))] += 1
            return _original(self, *records)

        monkeypatch.setattr(Client, name, counted)
    return seen


def export_csv(path: Path, numbers: range, *, reverse_columns: bool = False) -> Path:
    """An HIS export: upper-case headers, no account or password (the client adds them)."""
    records = [{k.upper(): v for k, v in exported(n).items()} for n in numbers]
    out = io.StringIO()
    columns = list(records[0])[:: -1 if reverse_columns else 1]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(records)
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    return path


def stored(db: Path) -> Counter[str]:
    """How many visit rows the sandbox holds per patient ID."""
    with sqlite3.connect(db) as connection:
        return Counter(row[0] for row in connection.execute("SELECT id FROM visits"))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxThread]:
    """A fault-free sandbox with the demo account, on the test's own database."""
    with SandboxThread(SandboxConfig(), tmp_path / "sandbox.db") as server:
        yield server


def upload(capsys: pytest.CaptureFixture[str], url: str, path: Path, *args: str) -> tuple[int, str]:
    """`scforhis upload --op Save --base-url URL PATH ARGS`: exit status and standard output."""
    status = main(["upload", "--op", "Save", "--lang", "en", "--base-url", url, str(path), *args])
    out, err = capsys.readouterr()
    # Whatever happens, nothing shows a credential or an unmasked patient ID.
    for secret in (DEMO_ACCOUNT.account, DEMO_ACCOUNT.password, visit(0)["id"][:4] + "56"):
        assert secret not in out + err
    return status, out


def summary(out: str) -> str:
    """The run's one-line tally."""
    return next(line for line in out.splitlines() if line.startswith(("upload:", "dry run:")))


def test_upload_a_csv_export_then_rerun(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    path = export_csv(tmp_path / "export.csv", range(COUNT))
    status, out = upload(capsys, sandbox.url, path)
    assert status == 0, out
    assert summary(out) == f"upload: accepted {COUNT}"
    assert (tmp_path / "export.csv.journal.sqlite3").exists()
    assert sorted(stored(tmp_path / "sandbox.db").values()) == [1] * COUNT
    sent = sum(calls.values())

    status, out = upload(capsys, sandbox.url, path)
    assert (status, summary(out)) == (0, f"upload: skipped (accepted before) {COUNT}")
    assert sum(calls.values()) == sent  # the rerun sent nothing

    # The same visits exported again with the columns in another order are the same records.
    export_csv(path, range(COUNT), reverse_columns=True)
    status, out = upload(capsys, sandbox.url, path)
    assert (status, summary(out)) == (0, f"upload: skipped (accepted before) {COUNT}")
    assert sum(calls.values()) == sent


def test_a_grown_export_sends_only_the_new_records(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    path = export_csv(tmp_path / "export.csv", range(5))
    journal = str(tmp_path / "journal.sqlite3")
    assert upload(capsys, sandbox.url, path, "--journal", journal)[0] == 0
    export_csv(path, range(8))
    status, out = upload(capsys, sandbox.url, path, "--journal", journal)
    assert (status, summary(out)) == (0, "upload: accepted 3, skipped (accepted before) 5")
    assert sum(calls.values()) == 8
    assert len(stored(tmp_path / "sandbox.db")) == 8


def test_dry_run_sends_nothing(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    path = export_csv(tmp_path / "export.csv", range(4))
    status, out = upload(capsys, sandbox.url, path, "--dry-run")
    assert (status, summary(out)) == (0, "dry run: to send 4")
    assert not calls and not stored(tmp_path / "sandbox.db")
    # The journal knows nothing yet, so the real upload sends all four.
    status, out = upload(capsys, sandbox.url, path)
    assert (status, summary(out)) == (0, "upload: accepted 4")


def test_invalid_and_rejected_records_are_listed(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    wrong_digit = {**visit(1), "id": visit(1)["id"][:-1] + "0"}
    if wrong_digit["id"] == visit(1)["id"]:
        wrong_digit["id"] = wrong_digit["id"][:-1] + "1"
    records = [visit(0), wrong_digit, visit(2), visit(2)]  # the last is a duplicate in the export
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    status, out = upload(capsys, sandbox.url, path)
    assert status == 1
    # The duplicate is an error for its later row (named with both lines), and is not sent.
    assert summary(out) == "upload: accepted 2, invalid (not sent) 2"
    assert "record 2 (" in out and "line 2): 1 errors\n  error id [checksum]" in out
    assert not any(patient == wrong_digit["id"] for _, patient in calls)


def test_unreadable_export_and_missing_settings_exit_2(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    status = main(["upload", "--op", "Save", "--base-url", sandbox.url, str(empty)])
    err = capsys.readouterr().err
    assert status == 2 and "no records" in err and err.count("\n") == 1
    monkeypatch.delenv("SCFORHIS_PASSWORD")
    path = export_csv(tmp_path / "export.csv", range(1))
    status = main(["upload", "--op", "Save", "--base-url", sandbox.url, str(path)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "SCFORHIS_PASSWORD" in err
    status = main(["upload", "--op", "GetSCDataB", "--base-url", sandbox.url, str(path)])
    assert status == 2 and "only Save, Update, Delete" in capsys.readouterr().err


def test_upload_interrupted_by_dropped_connections_then_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], calls: Counter[tuple[str, str]]
) -> None:
    db = tmp_path / "sandbox.db"
    path = export_csv(tmp_path / "export.csv", range(COUNT))
    ids = [visit(n)["id"] for n in range(COUNT)]
    # 30% of stored Saves lose their connection before the answer (stored, but the client cannot
    # know), and 10% of requests are answered 503 before any work (not stored). A fixed seed makes
    # the run repeatable; the sandbox draws in request order and the upload is sequential.
    faults = SandboxConfig().with_faults(drop_rate=0.3, error_rate=0.1, seed=3)
    with SandboxThread(faults, db) as server:
        # One at a time, as the seeded faults assume (concurrent requests draw in any order).
        status, out = upload(capsys, server.url, path, "--jobs", "1")
    assert status == 1
    first = stored(db)
    accepted = int(summary(out).split("accepted ")[1].split(",")[0])
    unknown = COUNT - accepted
    dropped = len(first) - accepted  # stored, but answered with a dropped connection
    assert dropped > 0 and unknown > dropped  # both faults happened: the test means something
    assert summary(out) == f"upload: accepted {accepted}, outcome unknown {unknown}"
    listed = out.split("with an unknown outcome")[1].splitlines()[1:]
    assert len(listed) == unknown and all("A10****" in line for line in listed)
    assert all(count == 1 for count in first.values())
    assert all(calls[("save", i)] == 1 for i in ids) and sum(calls.values()) == COUNT

    with SandboxThread(SandboxConfig(), db) as server:
        # A plain rerun without faults: accepted records skipped, unknown ones listed again and
        # not sent at all.
        calls.clear()
        status, out = upload(capsys, server.url, path)
        assert status == 1
        assert summary(out) == (
            f"upload: skipped (accepted before) {accepted}, not resent (outcome unknown) {unknown}"
        )
        assert not calls and stored(db) == first

        # Settling them: Update each unknown record; Save only those Update did not find.
        status, out = upload(capsys, server.url, path, "--resolve-unknown")
        assert status == 0, out
        assert summary(out) == (
            f"upload: accepted {unknown - dropped}, confirmed stored {dropped}, "
            f"skipped (accepted before) {accepted}"
        )
        updated = {i for (name, i) in calls if name == "update"}
        resaved = {i for (name, i) in calls if name == "save"}
        assert len(updated) == unknown and set(calls.values()) == {1}
        assert resaved == updated - set(first)  # never a Save for a visit that was stored

        calls.clear()
        status, out = upload(capsys, server.url, path)
        assert (status, summary(out)) == (0, f"upload: skipped (accepted before) {COUNT}")
        assert not calls
    assert stored(db) == Counter({i: 1 for i in ids})  # every record stored exactly once


def test_an_upload_killed_mid_request_does_not_resend_blindly(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = export_csv(tmp_path / "export.csv", range(6))
    original = Client.save
    sent: list[str] = []

    def killed_on_the_third(self: Client, *records: Any) -> Any:
        sent.append(str(records[0]["ID"]))
        third = len(sent) == 3  # this very call (others may be in flight beside it)
        answer = original(self, *records)
        if third:
            raise KeyboardInterrupt  # Ctrl+C after the service stored it, before the journal
        return answer

    monkeypatch.setattr(Client, "save", killed_on_the_third)
    status, out = upload(capsys, sandbox.url, path, "--jobs", "1")
    assert status == 130
    monkeypatch.setattr(Client, "save", original)

    status, out = upload(capsys, sandbox.url, path)
    assert status == 1
    assert (
        summary(out)
        == "upload: accepted 3, skipped (accepted before) 2, not resent (outcome unknown) 1"
    )
    assert "record 3 (" in out.split("with an unknown outcome")[1]
    status, out = upload(capsys, sandbox.url, path, "--resolve-unknown")
    assert (status, summary(out)) == (
        0,
        "upload: confirmed stored 1, skipped (accepted before) 5",
    )
    assert sorted(stored(tmp_path / "sandbox.db").values()) == [1] * 6


def interrupt_the_first_save(
    capsys: pytest.CaptureFixture[str],
    sandbox: SandboxThread,
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Upload `path` with Ctrl+C right after the service stored its first record: that record's
    outcome is unknown to the journal."""
    original = Client.save

    def interrupted(self: Client, *records: Any) -> Any:
        original(self, *records)
        raise KeyboardInterrupt

    monkeypatch.setattr(Client, "save", interrupted)
    assert upload(capsys, sandbox.url, path, "--jobs", "1")[0] == 130
    monkeypatch.setattr(Client, "save", original)


def test_resolving_while_the_service_is_down_keeps_the_outcome_unknown(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    calls: Counter[tuple[str, str]],
) -> None:
    # One record's outcome is unknown (Ctrl+C after the service stored it). `--resolve-unknown`
    # then runs while its Update cannot reach the service: the record must stay unknown, so a
    # later plain run still refuses to send it blindly, and a later resolve settles it.
    path = export_csv(tmp_path / "export.csv", range(3))
    original_update = Client.update
    interrupt_the_first_save(capsys, sandbox, path, monkeypatch)

    def unreachable(self: Client, *records: Any) -> Any:
        raise ConnectionFailedError("連線失敗 / connection refused", "Update")

    monkeypatch.setattr(Client, "update", unreachable)
    calls.clear()
    status, out = upload(capsys, sandbox.url, path, "--resolve-unknown", "--jobs", "1")
    assert status != 0
    assert "outcome unknown 1" in summary(out) and "failed" not in summary(out)
    assert not any(name == "save" and i == visit(0)["id"] for (name, i) in calls)

    monkeypatch.setattr(Client, "update", original_update)
    calls.clear()
    status, out = upload(capsys, sandbox.url, path)
    assert "not resent (outcome unknown) 1" in summary(out)
    assert not any(name == "save" and i == visit(0)["id"] for (name, i) in calls)
    status, out = upload(capsys, sandbox.url, path, "--resolve-unknown")
    assert status == 0 and "confirmed stored 1" in summary(out)
    assert sorted(stored(tmp_path / "sandbox.db").values()) == [1] * 3


def test_warnings_are_shown_before_sending_and_totals_read_as_words(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    records = [visit(30), {**visit(31), "casE_KIND": "2"}, {**visit(32), "smokE_MON": "18"}]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    status = main(["upload", "--op", "save", "--base-url", sandbox.url, str(path)])
    out = capsys.readouterr().out
    assert status == 0  # warnings do not stop a record: all three are stored
    assert "第 2 筆（" in out and "孕婦不適用戒菸藥物治療" in out
    assert "第 3 筆（" in out and "是否應記為年數加月數" in out
    assert out.index("孕婦") < out.index("上傳結果")
    assert "上傳結果：已接受 3 筆" in out
    assert len(stored(tmp_path / "sandbox.db")) == 3
    # --strict refuses them instead, and --quiet lists only what is refused.
    again = tmp_path / "again.jsonl"
    again.write_text(json.dumps({**visit(33), "smokE_MON": "18"}) + "\n", "utf-8")
    status = main(["upload", "--op", "Save", "--strict", "--base-url", sandbox.url, str(again)])
    out = capsys.readouterr().out
    assert status == 1 and "有錯未送 1 筆" in out and "smokE_MON" in out
    assert len(stored(tmp_path / "sandbox.db")) == 3


def test_the_summary_names_each_outcome_in_both_languages(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = export_csv(tmp_path / "export.csv", range(3))
    interrupt_the_first_save(capsys, sandbox, path, monkeypatch)
    status = main(["upload", "--op", "Save", "--lang", "zh-TW", "--dry-run",
                   "--base-url", sandbox.url, str(path)])  # fmt: skip
    out = capsys.readouterr().out
    # One record of unknown outcome, two to send: each count stands beside its own words.
    assert "結果不明、未重送 1" in out and "將送出 2" in out
    assert "送出失敗" not in out

    def refused(self: Client, *records: Any) -> Any:
        raise ConnectionFailedError("連線失敗 / connection refused", "Save")

    monkeypatch.setattr(Client, "save", refused)
    status, out = upload(capsys, sandbox.url, path)
    assert status != 0
    assert "failed 2" in summary(out) and "sending" not in summary(out)


def test_three_unreachable_records_in_a_row_stop_the_run_and_others_reset_the_count(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = export_csv(tmp_path / "export.csv", range(8))
    original = Client.save
    reachable = {visit(n)["id"] for n in (1, 3, 5)}  # every second record gets through

    def flaky(self: Client, *records: Any) -> Any:
        if str(records[0]["ID"]) in reachable:
            return original(self, *records)
        raise ConnectionFailedError("連線失敗 / connection refused", "Save")

    monkeypatch.setattr(Client, "save", flaky)
    status, out = upload(capsys, sandbox.url, path, "--jobs", "1")
    # 0 fails, 1 ok, 2 fails, 3 ok, 4 fails, 5 ok, then 6 and 7 fail: two in a row, no stop.
    assert status != 0
    assert summary(out) == "upload: accepted 3, failed 5"

    def down(self: Client, *records: Any) -> Any:
        raise ConnectionFailedError("連線失敗 / connection refused", "Save")

    monkeypatch.setattr(Client, "save", down)
    status, out = upload(capsys, sandbox.url, path, "--jobs", "1")
    assert status != 0
    # Stopped after the third failure in a row (records 1, 3, 5 of the file): 7 and 8 untouched.
    assert out.count("failed:") == 3 and "line 8)" not in out and "line 9)" not in out


def test_a_login_refused_mid_run_leaves_the_record_as_never_tried(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    calls: Counter[tuple[str, str]],
) -> None:
    from scforhis.errors import RejectedError

    path = export_csv(tmp_path / "export.csv", range(2))

    def refused(self: Client, *records: Any) -> Any:
        raise RejectedError("登入被拒 / login refused", "Save", code="N", info="")

    monkeypatch.setattr(Client, "save", refused)
    status, out = upload(capsys, sandbox.url, path, "--jobs", "1")
    assert status != 0
    monkeypatch.undo()
    monkeypatch.setenv("SCFORHIS_ACCOUNT", DEMO_ACCOUNT.account)
    monkeypatch.setenv("SCFORHIS_PASSWORD", DEMO_ACCOUNT.password)
    status, out = upload(capsys, sandbox.url, path)
    assert (status, summary(out)) == (0, "upload: accepted 2")  # neither unknown nor failed


def test_a_changed_row_is_sent_as_a_correction_and_counted_so(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],
) -> None:
    records = [visit(1), visit(2)]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    assert upload(capsys, sandbox.url, path)[0] == 0
    records[1] = {**records[1], "memo": "改過的備註"}
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    calls.clear()
    status, out = upload(capsys, sandbox.url, path)
    assert (status, summary(out)) == (0, "upload: corrected 1, skipped (accepted before) 1")
    assert calls == Counter({("update", visit(2)["id"]): 1})


def test_an_export_that_breaks_off_mid_run_journals_what_was_in_flight(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    calls: Counter[tuple[str, str]],
) -> None:
    # The reader fails (a line cut short by a full disk) while Saves are in flight: the run ends
    # with the input error, but only after each of those Saves is answered and journalled, so
    # the rerun neither sends them again nor leaves them unknown.
    import time

    lines = [json.dumps({k.upper(): v for k, v in exported(n).items()}) for n in range(8)]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join([*lines, '{"ID": "A1']) + "\n", "utf-8")
    original = Client.save

    def slow(self: Client, *records: Any) -> Any:
        time.sleep(0.05)  # long enough for the reader to reach the broken line meanwhile
        return original(self, *records)

    monkeypatch.setattr(Client, "save", slow)
    status, _ = upload(capsys, sandbox.url, path, "--jobs", "4")
    assert status == 2
    monkeypatch.setattr(Client, "save", original)
    sent_first = sum(calls.values())
    assert 0 < sent_first <= 8

    path.write_text("\n".join(lines) + "\n", "utf-8")
    status, out = upload(capsys, sandbox.url, path)
    assert status == 0
    resent = [key for key, count in calls.items() if count > 1]
    assert resent == [] and sum(calls.values()) == 8
    assert f"skipped (accepted before) {sent_first}" in summary(out)
    assert "unknown" not in summary(out)
    assert sorted(stored(tmp_path / "sandbox.db").values()) == [1] * 8
