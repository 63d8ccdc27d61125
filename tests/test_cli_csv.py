"""`scforhis validate` and `scforhis upload` over CSV as Taiwanese clinics export it from Excel:
Big5 (cp950) bytes, CRLF, every cell quoted, a header of the manual's zh-TW labels (with a name
in full-width letters, one in the table's spelling, labels written with or without their
spaces and full-width brackets); a memo with an unquoted comma that pushes the columns one
to the right; the same visit twice in one file.

Runs call `scforhis.cli.main` in this process, as tests/test_cli_validate.py does; the uploads
go to a `SandboxThread` on 127.0.0.1, as in tests/test_cli_upload.py, and count what the client
is asked to send.
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
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT, SandboxConfig
from tests.conftest import spec_model
from tests.sandbox_support import exported, visit

TODAY = "2026-11-25"
LABELS = {f.wire: f.label for f in spec_model().operation("Save").fields}
# Headers as an Excel sheet of an HIS might have them: the manual's labels, except these.
HEADERS = {
    "hosP_ID": "ＨＯＳＰ＿ＩＤ",  # full-width letters, as typed with a Chinese input method
    "hosP_SEQ_NO": "Hosp_Seq_No",  # the manual's table name, in another letter case
    "funC_DATE": "就診 日期",  # a space in a label
    "height": "身高(公分)",  # half-width brackets where the label has full-width ones
    "cO_CHECK": "CO檢測值",  # the label without its space
}
MEMO = "許功蓋醫師開立,衛教完成"  # 許功蓋: Big5 characters whose second byte is a backslash


def record(number: int, **changes: str) -> dict[str, str]:
    """Patient `number`'s visit as an HIS exports it: no account or password (the client adds
    them), a memo with a comma and an education memo."""
    return {**exported(number), "memo": MEMO, "memO2": "衛教完成", **changes}


def header(wires: list[str]) -> list[str]:
    return [HEADERS.get(wire, LABELS[wire]) for wire in wires]


def excel_csv(path: Path, records: list[dict[str, str]], unquoted: int | None = None) -> Path:
    """The records as Excel writes CSV for a zh-TW Windows: cp950, CRLF, every cell quoted.

    `unquoted` names a record (counted from 0) whose memo is written without quotes, as a
    hand-made export does, so that its comma splits the cell in two.
    """
    wires = list(records[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header(wires))
    for number, item in enumerate(records):
        if number != unquoted:
            writer.writerow([item.get(wire, "") for wire in wires])
            continue
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerow(
            [item.get(wire, "") for wire in wires]
        )
        out.write(line.getvalue().replace(f'"{item["memo"]}"', item["memo"]))
    path.write_bytes(out.getvalue().encode("cp950"))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`scforhis validate --op Save --today TODAY --encoding cp950 ARGS`: status, out, err."""
    status = main(["validate", "--op", "Save", "--today", TODAY, "--encoding", "cp950", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def json_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = run(capsys, "--format", "json", *args)
    document: dict[str, Any] = json.loads(out)
    return status, document


def codes(document: dict[str, Any]) -> list[tuple[int, str]]:
    """(record, code) of every issue in a JSON report."""
    return [
        (entry["record"], issue["code"])
        for entry in document["records"]
        for issue in entry["errors"] + entry["warnings"]
    ]


# -- an export as Excel writes it ----------------------------------------------------------


def test_an_excel_export_in_big5_with_label_headers_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = excel_csv(tmp_path / "export.csv", [record(1), record(2), record(3)])
    raw = path.read_bytes()
    assert b"\r\n" in raw and "個案身分證號".encode("cp950") in raw  # Big5, CRLF
    status, document = json_report(capsys, str(path))
    assert status == 0
    assert document["summary"] | {"errors_by_code_field": []} == {
        "total": 3,
        "valid": 3,
        "invalid": 0,
        "with_warnings": 0,
        "errors_by_code_field": [],
    }
    assert codes(document) == []  # no unknown field: every header named its field


def test_label_columns_are_checked_as_their_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_digit = record(2)
    wrong_digit["id"] = wrong_digit["id"][:-1] + str((int(wrong_digit["id"][-1]) + 1) % 10)
    path = excel_csv(tmp_path / "export.csv", [record(1), wrong_digit, record(3, height="17")])
    status, document = json_report(capsys, str(path))
    assert status == 1
    found = {(entry["record"], entry["line"]) for entry in document["records"]}
    assert (2, 3) in found
    errors = document["records"][0]["errors"]
    assert (errors[0]["field"], errors[0]["code"]) == ("id", "checksum")  # 個案身分證號
    assert wrong_digit["id"] not in json.dumps(document, ensure_ascii=False)
    height = [i for e in document["records"] if e["record"] == 3 for i in e["warnings"]]
    assert any(issue["field"] == "height" for issue in height)  # 身高(公分) is height


def test_the_header_alone_names_no_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(('"' + '","'.join(header(list(record(1)))) + '"\r\n').encode("cp950"))
    status, out, err = run(capsys, str(path))
    assert (status, out) == (2, "") and "no records" in err


def test_an_upload_dry_run_takes_every_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = excel_csv(tmp_path / "export.csv", [record(1), record(2), record(3)])
    for name in ("HOSP_ID", "HOSP_SEQ_NO"):
        monkeypatch.delenv(f"SCFORHIS_{name}", raising=False)
    journal = str(tmp_path / "journal.sqlite3")
    options = ["--dry-run", "--today", TODAY, "--encoding", "cp950", "--journal", journal]
    status = main(["upload", "--op", "Save", *options, str(path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines() == [out.splitlines()[-1]] and "3" in out  # only the tally: 3 to send


# -- a memo with an unquoted comma ---------------------------------------------------------


@pytest.mark.parametrize("last", ["memO2", "memo"])
def test_an_unquoted_comma_is_an_error_naming_the_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], last: str
) -> None:
    """With the education memo last, the memo's second half lands in it and the (empty)
    education memo is pushed out; with the memo last, its second half is the extra cell."""
    records = [record(1), record(2), record(3)]
    if last == "memo":
        records = [{k: v for k, v in r.items() if k != "memO2"} for r in records]
    else:
        records[1]["memO2"] = ""
    path = excel_csv(tmp_path / "export.csv", records, unquoted=1)

    status, out, err = run(capsys, str(path))
    assert (status, err) == (1, "")
    assert "第 2 筆（" in out and "第 3 行）: 1 個錯誤" in out
    (line,) = [line for line in out.splitlines() if "[columns]" in line]
    assert "錯誤" in line and LABELS[last] in line  # the last column's header
    assert "衛教完成" in line  # the cell that does not belong there
    assert "是否有未加引號的逗號？" in line
    assert "共 3 筆：2 筆正確，1 筆有錯" in out

    status, out, _ = run(capsys, "--lang", "en", str(path))
    assert status == 1 and "an unquoted comma?" in out

    status, document = json_report(capsys, str(path))
    assert status == 1
    assert document["summary"]["invalid"] == 1 and document["summary"]["valid"] == 2
    (entry,) = document["records"]
    assert (entry["record"], entry["line"], entry["ok"]) == (2, 3, False)
    issue = entry["errors"][0]
    assert (issue["code"], issue["severity"], issue["field"]) == ("columns", "error", last)
    assert (issue["label"], issue["evidence"]) == (LABELS[last], "input")
    assert "衛教完成" in issue["message"] and "衛教完成" in issue["message_en"]
    assert "an unquoted comma?" in issue["message_en"]
    assert {"code": "columns", "field": last, "count": 1} in document["summary"][
        "errors_by_code_field"
    ]


def test_cells_pushed_out_of_the_header_show_id_numbers_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A memo that shifts the patient's ID into the extra cell: the message masks it."""
    records = [{"memo": r.pop("memo"), **r} for r in (record(1), record(2))]
    records = [{**{k: v for k, v in r.items() if k != "id"}, "id": r["id"]} for r in records]
    path = excel_csv(tmp_path / "export.csv", records, unquoted=0)
    status, out, _ = run(capsys, str(path))
    assert status == 1
    assert records[0]["id"] not in out and records[0]["id"][:3] + "****" in out


# -- the same visit twice --------------------------------------------------------------------


def test_the_same_visit_twice_is_an_error_naming_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [record(1), record(2), record(1, memo="再次匯出"), record(1, funC_DATE="2022/10/17")]
    path = excel_csv(tmp_path / "export.csv", records)

    status, out, _ = run(capsys, str(path))
    assert status == 1
    (line,) = [line for line in out.splitlines() if "[duplicate_visit]" in line]
    assert "第 4 行" in line and "第 2 行" in line  # the repeat and the first
    assert records[0]["id"] not in out and "A10****" in line
    assert "共 4 筆：3 筆正確，1 筆有錯" in out  # another visit date is another visit

    status, out, _ = run(capsys, "--lang", "en", str(path))
    assert "line 4" in out and "line 2" in out

    status, document = json_report(capsys, str(path))
    assert status == 1
    (entry,) = document["records"]
    assert (entry["record"], entry["line"]) == (3, 4)
    (issue,) = entry["errors"]
    assert (issue["code"], issue["severity"], issue["evidence"]) == (
        "duplicate_visit",
        "error",
        "input",
    )
    assert "第 2 行" in issue["message"] and "line 2" in issue["message_en"]
    assert records[0]["id"] not in json.dumps(document, ensure_ascii=False)


def test_the_same_visit_in_json_lines_with_other_names_and_spaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Key values compare after stripping; names in any case (or a label) are the same field."""
    first = visit(1)
    again = {k.upper(): v for k, v in visit(1).items()}
    again["HOSP_ID"] = " " + again["HOSP_ID"] + " "
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (first, visit(2), again)) + "\n", "utf-8")
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert (3, "duplicate_visit") in codes(document)
    assert [e["line"] for e in document["records"]] == [3]


def test_each_file_is_its_own_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = excel_csv(tmp_path / "one.csv", [record(1)])
    two = excel_csv(tmp_path / "two.csv", [record(1)])
    assert run(capsys, str(one), str(two))[0] == 0


# -- upload: neither is ever sent ----------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo account's credentials from the environment, quick retries, no other settings."""
    for name in ("BASE_URL", "QUERY_URL", "UPLOAD_URL", "HOSP_ID", "HOSP_SEQ_NO", "TOKEN_MAX_AGE"):
        monkeypatch.delenv(f"SCFORHIS_{name}", raising=False)
    monkeypatch.setenv("SCFORHIS_ACCOUNT", DEMO_ACCOUNT.account)
    monkeypatch.setenv("SCFORHIS_PASSWORD", DEMO_ACCOUNT.password)
    monkeypatch.setenv("SCFORHIS_RETRIES", "1")
    monkeypatch.setenv("SCFORHIS_RETRY_BACKOFF", "0")


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The patient ID of every Save the client is asked to send."""
    seen: Counter[str] = Counter()
    original = Client.save

    def counted(self: Client, *records: Any) -> Any:
        seen[str(records[0].get("id"))] += 1
        return original(self, *records)

    monkeypatch.setattr(Client, "save", counted)
    return seen


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxThread]:
    with SandboxThread(SandboxConfig(), tmp_path / "sandbox.db") as server:
        yield server


def test_upload_sends_neither_a_shifted_row_nor_a_repeated_visit(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: None,
    saves: Counter[str],
    sandbox: SandboxThread,
) -> None:
    shifted = record(2, memO2="")
    records = [record(1), shifted, record(3), record(1, memo="再次匯出"), record(4)]
    path = excel_csv(tmp_path / "export.csv", records, unquoted=1)
    command = ["upload", "--op", "Save", "--base-url", sandbox.url, "--encoding", "cp950"]
    status = main([*command, "--today", TODAY, str(path)])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    assert "[columns]" in out and "[duplicate_visit]" in out
    assert "第 5 行" in out and "第 2 行" in out
    for secret in (DEMO_ACCOUNT.account, DEMO_ACCOUNT.password, shifted["id"], records[0]["id"]):
        assert secret not in out + err
    assert saves == Counter({records[0]["id"]: 1, records[2]["id"]: 1, records[4]["id"]: 1})
    with sqlite3.connect(tmp_path / "sandbox.db") as connection:
        stored = Counter(row[0] for row in connection.execute("SELECT id FROM visits"))
    assert stored == saves

    # A rerun still refuses both, and sends nothing again.
    assert main([*command, "--today", TODAY, str(path)]) == 1
    capsys.readouterr()
    assert sum(saves.values()) == 3


def test_every_operation_finds_its_labels() -> None:
    """The CLI takes each operation's labels from the validators module by the name of the
    check it uses (Update shares Save's): every operation must find one for each field."""
    from scforhis._generated.operations import OPERATIONS
    from scforhis.batch.commands import _labels

    for name, operation in OPERATIONS.items():
        labels = _labels(name)
        assert set(labels) == {item.wire for item in operation.fields}, name
        assert all(labels.values()), name


def test_a_delete_export_with_label_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wires = ["hosP_ID", "hosP_SEQ_NO", "id", "birthday", "funC_DATE", "curE_STAGE", "curE_TYPE"]
    rows = [{wire: visit(n)[wire] for wire in wires} for n in (1, 2, 1)]
    path = excel_csv(tmp_path / "delete.csv", rows)
    options = ["--today", TODAY, "--encoding", "cp950", "--format", "json"]
    status = main(["validate", "--op", "Delete", *options, str(path)])
    document = json.loads(capsys.readouterr().out)
    assert status == 1
    assert codes(document) == [(3, "duplicate_visit")]
