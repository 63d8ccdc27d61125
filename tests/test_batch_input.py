"""Reading batches: every input format and encoding, bad files, and flat memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from scforhis.batch_input import InputError, read_records
from scforhis.operations import SAVE

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
