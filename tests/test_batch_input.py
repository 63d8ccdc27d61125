"""Reading batches: every input format and encoding, bad files, and flat memory."""

from __future__ import annotations

import errno
import io
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from scforhis._generated.operations import RECORD_KEY, SAVE
from scforhis._generated.validators import LABELS_SAVE
from scforhis.batch.input import InputError, LongRow, Visits, header_name, read_records, with_issues
from scforhis.validation.issues import ValidationResult
from tests.conftest import spec_model

RECORD = dict(spec_model().operation("Save").examples[0].request)
KNOWN = sorted(SAVE.aliases)


def _records(path: Path, **options: str) -> list[tuple[int, int, object]]:
    return [(r.number, r.line, r.payload) for r in read_records(str(path), known=KNOWN, **options)]


def test_json_array_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "visits.json"
    path.write_text(json.dumps([RECORD, RECORD], ensure_ascii=False, indent=1), encoding="utf-8")
    found = _records(path)
    assert [n for n, _, _ in found] == [1, 2]
    assert found[0][2] == RECORD and found[1][1] > found[0][1] > 1


def test_one_json_object(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(RECORD, indent=2), encoding="utf-8")
    assert _records(path) == [(1, 1, RECORD)]


def test_json_lines_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "visits.jsonl"
    text = "\n".join(json.dumps(RECORD, ensure_ascii=False) for _ in range(3)) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [(n, line) for n, line, _ in _records(path)] == [(1, 1), (2, 2), (3, 3)]


def test_csv_with_manual_names_any_case_and_big5(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    header = ["HOSP_ID", "Hosp_Seq_No", "ID", "MEMO"]
    rows = [",".join(header), "3501200000,00,A123456789,用藥備註", "3501200000,00,A198765435,"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp950"))
    found = _records(path, encoding="cp950")
    assert found[0][2] == {
        "HOSP_ID": "3501200000",
        "Hosp_Seq_No": "00",
        "ID": "A123456789",
        "MEMO": "用藥備註",
    }
    assert "MEMO" not in found[1][2]  # an empty cell is an absent value
    assert [line for _, line, _ in found] == [2, 3]


def test_big5_read_as_utf8_is_a_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("HOSP_ID,MEMO\r\n3501200000,用藥備註\r\n".encode("cp950"))
    with pytest.raises(InputError, match="cp950"):
        _records(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cut.json", '[{"id": "A123456789"}, {"id": "A1', "JSON"),
        ("open.json", '[{"id": "A123456789"}', "truncated"),
        ("comma.json", '[{"id": "A"} {"id": "B"}]', "comma"),
        ("bad.jsonl", '{"id": "A"}\n{"id": \n', "JSON"),
        ("header.csv", "foo,bar\n1,2\n", "header"),
        ("junk.bin", "\x00\x01\x02binary", "binary"),
    ],
)
def test_bad_files_raise_one_line_errors(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        _records(path)
    assert "\n" not in str(caught.value)


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n", encoding="utf-8")
    assert _records(path) == []


def test_missing_file_and_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        _records(tmp_path / "nope.json")
    with pytest.raises(InputError, match="unknown encoding"):
        _records(tmp_path / "nope.json", encoding="klingon")


def test_memory_stays_flat_on_a_large_array(tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    line = json.dumps(RECORD, ensure_ascii=False)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n" + ",\n".join(line for _ in range(20_000)) + "\n]\n")
    tracemalloc.start()
    count = sum(1 for _ in read_records(str(path), known=KNOWN))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_000
    assert peak < path.stat().st_size / 10, (
        f"peak {peak} bytes for a {path.stat().st_size}-byte file"
    )


# -- CSV as clinics export it: any width, the manual's labels, rows longer than the header ----


def test_header_names_in_any_width_and_spacing() -> None:
    assert header_name("\ufeffＨＯＳＰ＿ＩＤ") == "HOSP_ID"
    assert header_name(" 身高（公分） ") == "身高(公分)"
    assert header_name("CO 檢測值\u3000") == "CO檢測值"


def test_csv_headers_may_be_labels_and_full_width_names(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    header = ["ＨＯＳＰ＿ＩＤ", "Hosp_Seq_No ", "個案身分證號", "身高(公分)", "CO檢測值", "備用 欄"]
    rows = [",".join(header), "3501200000,00,A123456789,170,1,x"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp950"))
    (found,) = read_records(str(path), encoding="cp950", known=KNOWN, labels=LABELS_SAVE)
    # Known names stay as written (the validator folds case); a label becomes its wire name;
    # a name of no field stays as it was, for the validator to report.
    assert found.payload == {
        "HOSP_ID": "3501200000",
        "Hosp_Seq_No": "00",
        "id": "A123456789",
        "height": "170",
        "cO_CHECK": "1",
        "備用 欄": "x",
    }
    assert type(found.payload) is dict


def test_a_header_of_labels_only_is_known(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("個案身分證號,就診日期\nA123456789,2022/10/03\n", encoding="utf-8")
    (found,) = read_records(str(path), known=KNOWN, labels=LABELS_SAVE)
    assert found.payload == {"id": "A123456789", "funC_DATE": "2022/10/03"}
    with pytest.raises(InputError, match="header"):
        list(read_records(str(path), known=KNOWN))  # without the labels: no known field


def test_a_row_longer_than_its_header_carries_an_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = 'ID,MEMO,衛教備註\nA123456789,許功蓋醫師開立,衛教完成,\nA123456789,"a,b",c\n'
    path.write_bytes(text.encode("cp950"))
    shifted, quoted = read_records(str(path), encoding="cp950", known=KNOWN, labels=LABELS_SAVE)
    assert type(quoted.payload) is dict and quoted.payload["MEMO"] == "a,b"
    assert isinstance(shifted.payload, LongRow)
    assert shifted.payload == {"ID": "A123456789", "MEMO": "許功蓋醫師開立", "memO2": "衛教完成"}
    (issue,) = shifted.payload.issues
    assert (issue.field, issue.label, issue.code) == ("memO2", "衛教備註", "columns")
    assert (issue.severity, issue.evidence) == ("error", "input")
    assert "「衛教備註」是「衛教完成」" in issue.message
    assert issue.message.endswith("是否有未加引號的逗號？")
    assert issue.message_en.endswith("an unquoted comma?")
    result = with_issues(ValidationResult("Save"), shifted.payload.issues)
    assert not result.ok and result.errors == (issue,)


def test_cells_pushed_out_show_no_id_number_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("MEMO,ID\na,b,A123456789\n", encoding="utf-8")
    (found,) = read_records(str(path), known=KNOWN)
    (issue,) = found.payload.issues
    assert "A123456789" not in issue.message + issue.message_en
    assert "A12****789" in issue.message
    path.write_text("ID,PASSWORD\nA123456789,pass,word\n", encoding="utf-8")
    (found,) = read_records(str(path), known=KNOWN, hidden={"password"})
    (issue,) = found.payload.issues
    assert "pass" not in issue.message and "word" not in issue.message_en


# -- the same visit twice ---------------------------------------------------------------------


def _visits() -> Visits:
    return Visits(RECORD_KEY, SAVE.aliases, ["id"])


def test_visits_find_the_same_visit_after_stripping_in_any_name_case() -> None:
    visits = _visits()
    key = {wire: RECORD[wire] for wire in RECORD_KEY}
    assert visits.repeated(key, 1, 2) is None
    assert visits.repeated({**key, "funC_DATE": "2022/10/17"}, 2, 3) is None  # another visit
    again = {wire.upper(): f" {value}\u3000" for wire, value in key.items()}
    issue = visits.repeated(again, 3, 7)
    assert issue is not None
    assert (issue.code, issue.severity, issue.evidence) == ("duplicate_visit", "error", "input")
    assert "第 7 行（第 3 筆）與第 2 行（第 1 筆）" in issue.message
    assert "line 7 (record 3)" in issue.message_en and "line 2 (record 1)" in issue.message_en
    assert RECORD["id"] not in issue.message + issue.message_en
    assert RECORD["id"][:3] + "****" in issue.message
    assert visits.repeated(key, 4, 8) is not None  # still the first line it names
    assert "第 2 行" in str(visits.repeated(key, 4, 8))


def test_visits_leave_out_what_has_no_whole_key() -> None:
    visits = _visits()
    key = {wire: RECORD[wire] for wire in RECORD_KEY}
    partial = {k: v for k, v in key.items() if k != "funC_DATE"}
    for payload in (partial, partial, {**key, "id": " "}, {**key, "id": " "}, [1], "text", None):
        assert visits.repeated(payload, 1, 1) is None
    numbers = {**key, "curE_STAGE": 2}
    assert visits.repeated(numbers, 1, 1) is None
    assert visits.repeated({**key, "curE_STAGE": "2"}, 2, 2) is not None  # 2 and "2" agree


def test_visits_keep_a_hash_not_the_record() -> None:
    visits = _visits()
    for number in range(1000):
        visits.repeated({**RECORD, "id": f"A1{number:08d}"}, number + 1, number + 2)
    assert len(visits._seen) == 1000
    assert all(type(k) is int for k in visits._seen)  # a hash: no ID number, no record


@pytest.mark.parametrize(
    ("text", "kind"),
    [('[{"id": "A123456789"}]', "array"), ('{"id": "A123456789"}\n{"id": "B198765435"}\n', "lines"),
     ("ID\nA123456789\n", "csv")],
)  # fmt: skip
def test_a_file_of_no_known_suffix_is_read_by_its_first_character(
    tmp_path: Path, text: str, kind: str
) -> None:
    path = tmp_path / "export.txt"
    path.write_text(text, "utf-8")
    found = list(read_records(str(path), known=KNOWN, labels=LABELS_SAVE))
    assert len(found) == (2 if kind == "lines" else 1)
    assert all(
        str(r.payload.get("id") or r.payload.get("ID")).startswith(("A1", "B1")) for r in found
    )


def test_a_row_with_many_extra_cells_counts_them_all(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ID,MEMO\nA123456789,a,b,c,d,e,f\n", "utf-8")
    (found,) = read_records(str(path), known=KNOWN, labels=LABELS_SAVE)
    (issue,) = found.payload.issues
    assert "等 5 格" in issue.message and "and 2 more" in issue.message_en


def test_standard_input_is_named_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    data = io.BytesIO(b'{"id": "A123456789"}\n')
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(data, encoding="utf-8"))
    (found,) = read_records("-", known=KNOWN, labels=LABELS_SAVE)
    assert found.source == "stdin"


def test_a_long_row_names_the_label_of_a_column_written_in_the_manuals_case(
    tmp_path: Path,
) -> None:
    # The manual writes MEMO2 in capitals; the labels are keyed by the .NET wire name (memO2).
    path = tmp_path / "export.csv"
    path.write_text("ID,MEMO2\nA123456789,a,b\n", "utf-8")
    (found,) = read_records(str(path), known=KNOWN, labels=LABELS_SAVE)
    (issue,) = found.payload.issues
    assert issue.label == "衛教備註" and "「MEMO2」是「a」" in issue.message


def _stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_a_bad_line_on_standard_input_is_placed_in_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    from scforhis.batch.input import read_rows

    _stdin_of(monkeypatch, b'{"id": "A123456789"}\n{"id": \n')
    with pytest.raises(InputError) as caught:
        list(read_rows("-", known=KNOWN, labels=LABELS_SAVE))
    assert str(caught.value).startswith("stdin") and "2" in str(caught.value)


class _FailingDisk(io.RawIOBase):
    """Raw bytes that read once, then fail as a disk or network share does (EIO)."""

    def __init__(self, first: bytes) -> None:
        self.first: bytes | None = first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.first is None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        size, first, self.first = len(self.first), self.first, None
        buffer[:size] = first
        return size


def test_a_read_error_midway_is_one_readable_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scforhis.batch import input as batch_input

    line = b'{"id": "A123456789"}\n'

    def failing(path: str) -> io.BufferedReader:
        return io.BufferedReader(_FailingDisk(line), 64)

    monkeypatch.setattr(batch_input, "open_binary", failing)
    path = str(tmp_path / "visits.jsonl")
    with pytest.raises(InputError) as caught:
        list(batch_input.read_rows(path, known=KNOWN, labels=LABELS_SAVE))
    message = str(caught.value)
    assert message == f"{path} 讀取失敗 / read error: {os.strerror(errno.EIO)}"


def test_a_secret_pushed_into_the_last_column_is_hidden(tmp_path: Path) -> None:
    # One unquoted comma before PASSWORD moves its value one column right, into MEMO2, the last
    # column, whose value the message shows: it must show it hidden.
    path = tmp_path / "export.csv"
    path.write_text("ID,PASSWORD,MEMO2\nA12,3456789,s3cretPW,memo\n", encoding="utf-8")
    (found,) = read_records(str(path), known=KNOWN, labels=LABELS_SAVE, hidden={"password"})
    (issue,) = found.payload.issues
    assert "s3cretPW" not in issue.message + issue.message_en
    assert "******" in issue.message
