"""`scforhis validate` run for real: every input format and encoding, standard input, bad files,
exit codes, the machine reports' shape, both languages, `--max-errors`, and what a report must
never show (unmasked IDs, the account, the password, a token).

Most runs call `scforhis.cli.main` in this process and read its output with capsys; one runs
`python -m scforhis` as a separate process, as integration staff do.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scforhis.cli import main
from tests.conftest import spec_model
from tests.sandbox_support import manual_request, visit

TODAY = "2026-11-25"
# The manual's account and password: a report must never show them.
SECRETS = ("3501200000ADM", "12345678")


def bad_id(number: int) -> dict[str, str]:
    """A visit whose patient ID has a wrong check digit (the report shows it masked)."""
    record = visit(number)
    record["id"] = record["id"][:-1] + str((int(record["id"][-1]) + 1) % 10)
    return record


TABLE_NAMES = {f.wire: f.table_name for f in spec_model().operation("Save").fields}


def table_names(record: dict[str, str]) -> dict[str, str]:
    """The record keyed by the manual's table names (HOSP_ID, CURE_STAGE, ...)."""
    return {TABLE_NAMES[wire]: value for wire, value in record.items()}


def write_csv(path: Path, records: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    """The records as CSV with the first record's keys as the header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(records[0]))
    writer.writerows([record.get(name, "") for name in records[0]] for record in records)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`scforhis validate --op Save --today TODAY ARGS`: exit status, stdout, stderr."""
    status = main(["validate", "--op", "Save", "--today", TODAY, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def json_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = run(capsys, "--format", "json", *args)
    document: dict[str, Any] = json.loads(out)
    return status, document


def assert_no_secrets(text: str, ids: list[str]) -> None:
    for secret in (*SECRETS, *ids):
        assert secret not in text
    assert "token" not in text.lower()


# -- input formats and encodings ------------------------------------------------------------


def test_json_array_all_valid_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "visits.json"
    path.write_text(json.dumps([visit(1), visit(2)], ensure_ascii=False, indent=2), "utf-8")
    status, out, err = run(capsys, str(path))
    assert (status, err) == (0, "")
    assert "共 2 筆：2 筆正確，0 筆有錯" in out


def test_single_json_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(bad_id(1), indent=2), "utf-8")
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert document["summary"]["total"] == 1
    assert document["records"][0]["line"] == 1


def test_json_lines_with_blank_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "visits.jsonl"
    lines = [json.dumps(visit(1)), "", json.dumps(bad_id(2)), json.dumps(visit(3)), ""]
    path.write_text("\n".join(lines), "utf-8")
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert document["summary"] | {"errors_by_code_field": None} == {
        "total": 3,
        "valid": 2,
        "invalid": 1,
        "with_warnings": 0,
        "errors_by_code_field": None,
    }
    (only,) = document["records"]
    assert (only["record"], only["line"]) == (2, 3)  # the blank line counts as a line


@pytest.mark.parametrize("casing", [str.upper, str.lower, lambda name: name])
def test_csv_with_wire_names_in_any_casing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], casing: Any
) -> None:
    records = [{casing(k): v for k, v in r.items()} for r in (visit(1), bad_id(2))]
    path = write_csv(tmp_path / "export.csv", records)
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert document["summary"]["valid"] == 1
    assert [(r["record"], r["line"]) for r in document["records"]] == [(2, 3)]
    assert document["records"][0]["errors"][0]["code"] == "checksum"


def test_csv_with_the_manuals_field_names_in_big5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = table_names(visit(1, memo="戒菸衛教，用藥備註"))
    assert "Hosp_id" in record and "SMOKE_DAY_NUM" in record  # as the manual's tables spell them
    path = write_csv(tmp_path / "export.csv", [record, table_names(visit(2))], "cp950")
    assert run(capsys, str(path), "--encoding", "cp950")[0] == 0
    status, out, err = run(capsys, str(path))  # read as UTF-8: a hint, not a traceback
    assert (status, out) == (2, "")
    assert "--encoding cp950" in err and err.count("\n") == 1


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
@pytest.mark.parametrize("form", ["json", "jsonl", "csv"])
def test_utf8_with_and_without_bom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bom: bytes, form: str
) -> None:
    records = [visit(1, memo="備註"), bad_id(2)]
    path = tmp_path / f"export.{form}"
    if form == "csv":
        write_csv(path, records)
        body = path.read_bytes()
    elif form == "json":
        body = json.dumps(records, ensure_ascii=False).encode()
    else:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    path.write_bytes(bom + body)
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert (document["summary"]["valid"], document["summary"]["invalid"]) == (1, 1)


@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, form: str
) -> None:
    records = [visit(1), bad_id(2)]
    if form == "csv":
        data = write_csv(tmp_path / "x.csv", records).read_bytes()
    else:
        data = "".join(json.dumps(r) + "\n" for r in records).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + data)))
    status, document = json_report(capsys, "-")
    assert status == 1
    assert document["records"][0]["source"] == "stdin"
    assert document["summary"]["total"] == 2


def test_records_without_credentials_are_checked_as_the_client_sends_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An HIS export holds no account or password; the client adds them (and, when its settings
    # say so, the institution and branch), so a record must not be reported for lacking them.
    record = {k: v for k, v in visit(1).items() if k not in ("account", "password", "hosP_ID")}
    path = tmp_path / "export.csv"
    write_csv(path, [{k.upper(): v for k, v in record.items()}])
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert [e["field"] for e in document["records"][0]["errors"]] == ["hosP_ID"]
    monkeypatch.setenv("SCFORHIS_HOSP_ID", "3501200000")
    assert run(capsys, str(path))[0] == 0


# -- bad input: exit 2, one line, no traceback ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("cut.json", b'[{"id": "A123456789"}, {"id": "A1', "JSON"),
        ("open.json", b'[{"id": "A123456789"}', "truncated"),
        ("cut.jsonl", json.dumps(visit(1)).encode() + b'\n{"id": "A1', "line 2"),
        ("header.csv", b"foo,bar\r\n1,2\r\n", "header"),
        ("junk.json", bytes(range(256)) * 4, "binary"),
        ("junk.jsonl", b'{"id": "A"}\n\x00\x01\x02\xff\n', "binary"),
        ("empty.json", b"", "no records"),
        ("blank.jsonl", b"\n \n", "no records"),
        ("only-header.csv", b"HOSP_ID,ID\r\n", "no records"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    # Records read before the fault are reported as they stream by; the fault ends the run.
    status, _, err = run(capsys, str(path))
    assert status == 2
    assert err.startswith("scforhis: ") and err.count("\n") == 1
    assert expected in err and "Traceback" not in err


def test_missing_file_and_unknown_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, str(tmp_path / "nope.csv"))
    assert status == 2 and "cannot open" in err and err.count("\n") == 1
    good = tmp_path / "good.json"
    good.write_text(json.dumps(visit(1)), "utf-8")
    status, _, err = run(capsys, str(good), "--encoding", "klingon")
    assert status == 2 and "unknown encoding" in err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--format", "xml", "x.json"],
        ["--lang", "fr", "x.json"],
        ["--max-errors", "0", "x.json"],
        ["--max-errors", "many", "x.json"],
        ["--today", "yesterday", "x.json"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--op", "Save", *args])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_unknown_operation_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--op", "Sav", "x.json"])
    assert caught.value.code == 2


# -- reports ----------------------------------------------------------------------------------


def _mixed(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three visits: valid, a wrong check digit, and a wrong check digit plus an unknown field."""
    records = [visit(1), bad_id(2), {**bad_id(3), "smokE_YEARS": "1"}]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path, [r["id"] for r in records]


def test_json_report_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = _mixed(tmp_path)
    status, document = json_report(capsys, str(path))
    assert status == 1
    assert set(document) == {"records", "summary"}
    summary = document["summary"]
    assert summary == {
        "total": 3,
        "valid": 1,
        "invalid": 2,
        "with_warnings": 1,
        "errors_by_code_field": [{"code": "checksum", "field": "id", "count": 2}],
    }
    assert [r["record"] for r in document["records"]] == [2, 3]
    for entry in document["records"]:
        assert set(entry) == {"source", "record", "line", "ok", "errors", "warnings"}
        assert entry["source"] == str(path) and entry["ok"] is False
        assert isinstance(entry["line"], int) and isinstance(entry["record"], int)
        for issue in entry["errors"] + entry["warnings"]:
            assert {"field", "label", "code", "severity", "message", "message_en"} <= set(issue)
            assert all(isinstance(issue[k], str) for k in ("field", "code", "message"))
    (warning,) = document["records"][1]["warnings"]
    assert (warning["code"], warning["severity"]) == ("unknown_field", "warning")
    assert "A10****" in document["records"][0]["errors"][0]["message"]
    assert_no_secrets(json.dumps(document, ensure_ascii=False), ids)


def test_jsonl_report_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = _mixed(tmp_path)
    status, out, _ = run(capsys, "--format", "jsonl", str(path))
    assert status == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [entry.get("record") for entry in lines[:-1]] == [2, 3]
    assert set(lines[-1]) == {"summary"} and lines[-1]["summary"]["invalid"] == 2
    assert all(entry["errors"][0]["field"] == "id" for entry in lines[:-1])
    assert_no_secrets(out, ids)


def test_json_report_lists_warnings_of_valid_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "warned.json"
    path.write_text(json.dumps([{**visit(1), "smokE_YEARS": "1"}]), "utf-8")
    status, document = json_report(capsys, str(path))
    assert status == 0  # warnings do not make a record invalid
    assert document["records"][0]["ok"] is True
    assert document["summary"]["with_warnings"] == 1


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "zh-TW",
            ["第 2 筆（", "「個案身分證號」檢查碼錯誤", "共 3 筆：1 筆正確，2 筆有錯", "錯誤統計"],
        ),
        ("en", ["record 2 (", "Patient ID number has a wrong check digit", "3 records: 1 valid"]),
    ],
)
def test_text_report_in_each_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str, expected: list[str]
) -> None:
    path, ids = _mixed(tmp_path)
    status, out, err = run(capsys, "--lang", lang, str(path))
    assert (status, err) == (1, "")
    for text in expected:
        assert text in out
    assert "A10****" in out
    assert_no_secrets(out, ids)


def test_max_errors_limits_the_listed_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(bad_id(n)) + "\n" for n in range(5)), "utf-8")
    status, out, _ = run(capsys, "--max-errors", "2", "--lang", "en", str(path))
    assert status == 1
    assert out.count("[checksum]") == 2
    assert "3 more invalid records not listed (--max-errors)" in out
    status, document = json_report(capsys, "--max-errors", "2", str(path))
    assert len(document["records"]) == 2
    assert document["summary"]["invalid"] == 5  # the totals still count every record


def test_secrets_in_a_malformed_record_stay_hidden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = {**manual_request("Save"), "password": ["12345678"], "account": 3501200000}
    record["token"] = "eyJhbGciOi.secret-token"
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(record), "utf-8")
    for form in ("text", "json", "jsonl"):
        status, out, err = run(capsys, "--format", form, str(path))
        assert status == 1
        for secret in ("12345678", "3501200000ADM", "secret-token", "A123456789"):
            assert secret not in out + err


def test_several_files_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps([visit(1)]), "utf-8")
    second = write_csv(tmp_path / "b.csv", [visit(2), bad_id(3)])
    status, document = json_report(capsys, str(first), str(second))
    assert status == 1
    assert document["summary"]["total"] == 3
    assert document["records"][0]["source"] == str(second)


def test_python_dash_m_scforhis_in_a_subprocess(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [visit(1, memo="備註"), bad_id(2)], "cp950")
    command = [sys.executable, "-m", "scforhis", "validate", "--op", "Save", "--today", TODAY]
    done = subprocess.run(
        [*command, "--encoding", "cp950", "--lang", "en", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "record 2 (" in done.stdout and "[checksum]" in done.stdout
    assert "2 records: 1 valid, 1 invalid" in done.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": ', "utf-8")
    done = subprocess.run(
        [*command, str(broken)], capture_output=True, text=True, encoding="utf-8", check=False
    )
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_records_reported_before_the_input_breaks_off_are_kept(tmp_path: Path) -> None:
    """The report goes out in batches; a file that breaks off after many invalid records still
    leaves every one of them in the report (in a real process, unbuffered as containers run it)."""
    lines = [json.dumps(bad_id(n), ensure_ascii=False) for n in range(1, 601)]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join([*lines, '{"id": ']) + "\n", "utf-8")
    command = [sys.executable, "-m", "scforhis", "validate", "--op", "Save", "--today", TODAY]
    done = subprocess.run(
        [*command, "--format", "jsonl", str(path)],
        capture_output=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert done.returncode == 2 and b"601" in done.stderr
    *reported, ending = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [entry["record"] for entry in reported] == list(range(1, 601))
    assert "601" in ending["error"]  # the last line says why the report stops there
    assert "檢查碼" in reported[0]["errors"][0]["message"]  # UTF-8 bytes, zh-TW readable


def test_import_scforhis_loads_neither_httpx_nor_ssl() -> None:
    """`scforhis validate` starts without the client's libraries; every public name still works."""
    code = (
        "import sys, scforhis\n"
        "assert 'httpx' not in sys.modules and 'ssl' not in sys.modules, 'eager import'\n"
        "missing = [n for n in scforhis.__all__ if getattr(scforhis, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert set(scforhis.__all__) <= set(dir(scforhis))\n"
        "from scforhis import Client, validate_save\n"
        "assert scforhis.validators.VALIDATORS and scforhis.validation.keys.canonical_keys\n"
        "print('httpx' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_a_value_that_is_a_list_or_object_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The batch calls the checks directly; a check that raises on an unhashable value hands the
    record to the validator, which reports it."""
    records: list[dict[str, Any]] = [
        {**visit(1), "casE_SOURCE": ["1"]},
        {**visit(2), "curE_TYPE": {"a": "1"}},
        visit(3),
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    status, out, _ = run(capsys, "--format", "jsonl", str(path))
    assert status == 1
    reported = [json.loads(line) for line in out.splitlines()]
    assert [
        (e["record"], e["errors"][0]["field"], e["errors"][0]["code"]) for e in reported[:-1]
    ] == [
        (1, "casE_SOURCE", "type"),
        (2, "curE_TYPE", "type"),
    ]
    assert reported[-1]["summary"]["valid"] == 1


def test_strict_counts_warnings_as_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "doubtful.json"
    path.write_text(json.dumps([visit(1), {**visit(2), "smokE_MON": "18"}]), "utf-8")
    status, document = json_report(capsys, str(path))
    assert status == 0 and document["summary"]["invalid"] == 0
    assert document["records"][0]["warnings"][0]["evidence"] == "plausibility"
    status, document = json_report(capsys, str(path), "--strict")
    assert status == 1 and document["summary"]["invalid"] == 1
    (error,) = document["records"][0]["errors"]
    assert (error["field"], error["code"], error["severity"]) == ("smokE_MON", "range", "error")


def test_a_json_report_is_valid_json_or_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Input that cannot be read at all: nothing on standard output, one line on standard error.
    status, out, err = run(capsys, "--format", "json", str(tmp_path / "missing.json"))
    assert (status, out) == (2, "") and err.count("\n") == 1
    # Input that breaks off after some records: the document is closed, with the error.
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(bad_id(1)) + "\n" + '{"id": ' + "\n", "utf-8")
    status, out, _ = run(capsys, "--format", "json", str(path))
    document = json.loads(out)
    assert status == 2 and [r["record"] for r in document["records"]] == [1]
    assert "2" in document["error"] and document["summary"]["invalid"] == 1


def test_every_finding_is_shown_with_its_evidence_and_quiet_hides_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "doubts.json"
    records = [visit(1), {**visit(2), "casE_KIND": "2"}, {**visit(3), "reF_DEPT": "家醫科"}]
    path.write_text(json.dumps(records), "utf-8")
    status, out, _ = run(capsys, str(path))
    assert status == 0
    assert "第 2 筆" in out and "孕婦不適用戒菸藥物治療" in out and "(計畫規定)" in out
    assert "第 3 筆" in out and "家醫科" in out and "(合理性判斷)" in out
    status, out, _ = run(capsys, "--quiet", "--lang", "en", str(path))
    assert status == 0 and "record 2" not in out and "2 with warnings" in out


def test_the_version_and_operation_names_in_any_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and "manual 1.1" in capsys.readouterr().out
    path = tmp_path / "one.json"
    path.write_text(json.dumps([visit(1)]), "utf-8")
    for name in ("save", "SAVE", " Save "):
        assert main(["validate", "--op", name, "--today", TODAY, str(path)]) == 0
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--op", "Sav", str(path)])
    assert caught.value.code == 2 and "Save" in capsys.readouterr().err
