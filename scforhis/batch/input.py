"""Reading batches of records: JSON (an array or one object), JSON Lines and CSV, streamed.

Memory stays flat however large the file: JSON is decoded value by value from a sliding buffer
and CSV row by row. Every record carries its source, its number and the line it starts on, so a
report can point at it. Unreadable input raises `InputError` with a one-line message.

JSON Lines in UTF-8, the common large export, takes a fast path: lines are read as bytes and
parsed by orjson (when installed) without decoding them to text first; a line that fails is
only then examined to say why (binary data, another encoding, bad JSON).

CSV is read as clinics export it from Excel: any encoding (Big5 as cp950), CRLF, quoted cells,
and a header of wire names, the manual's table names or its zh-TW labels, in any letter case
and width (`ＨＯＳＰ＿ＩＤ` is `HOSP_ID`). A row with more cells than the header (an unquoted
comma in a memo) is a `LongRow`, which carries an error for its record. `Visits` finds the same
visit twice in one input.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import operator
import re
import sys
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, NamedTuple

from scforhis.validation.idnumbers import mask_id
from scforhis.validation.issues import Issue, ValidationResult, masked, severity_of
from scforhis.validation.text import echo

CHUNK = 1 << 16
FORMATS = ("auto", "json", "jsonl", "csv")
_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


class InputError(Exception):
    """Input that cannot be read as records; the message is one line, zh-TW and English."""


class Record(NamedTuple):
    """One record of a batch and where it came from (a named tuple: reports build one for every
    record with issues, and a frozen dataclass costs three times as much to build)."""

    source: str
    number: int
    line: int
    payload: Any


def _codec(encoding: str) -> str:
    """The codec to read with: `utf-8` also accepts a byte-order mark."""
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        codecs.lookup(codec)
    except LookupError:
        raise InputError(f"不認得的編碼 unknown encoding: {encoding}") from None
    return codec


def open_binary(path: str) -> IO[bytes]:
    """Open `path` (or `-` for standard input) for reading bytes."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=CHUNK)
    except OSError as error:
        raise InputError(f"無法開啟 cannot open {path}: {error.strerror or error}") from None


def open_text(path: str, encoding: str) -> IO[str]:
    """Open `path` (or `-` for standard input) as text; `utf-8` also accepts a byte-order mark."""
    codec = _codec(encoding)
    return io.TextIOWrapper(open_binary(path), encoding=codec, newline="")


def detect_format(path: str, first: str) -> str:
    """The input format from the file name, else from its first non-blank character."""
    lowered = path.lower()
    for suffix, kind in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
    ):
        if lowered.endswith(suffix):
            return kind
    if first == "[":
        return "json"
    return "jsonl" if first == "{" else "csv"


class _Buffer:
    """A sliding window over a text stream that counts the lines it has passed."""

    def __init__(self, stream: IO[str], source: str) -> None:
        self.stream = stream
        self.source = source
        self.text = ""
        self.position = 0
        self.line = 1
        self.eof = False

    def fill(self) -> bool:
        """Read another chunk; False at the end of the stream."""
        if self.eof:
            return False
        chunk = _read(self.stream, self.source)
        if not chunk:
            self.eof = True
            return False
        if self.position > CHUNK:
            self.text, self.position = self.text[self.position :], 0
        self.text += chunk
        return True

    def advance(self, index: int) -> None:
        """Move to `index`, counting the lines passed on the way."""
        self.line += self.text.count("\n", self.position, index)
        self.position = index

    def line_at(self, index: int) -> int:
        return self.line + self.text.count("\n", self.position, index)

    def skip_space(self) -> str:
        """Skip white space; return the next character, or "" at the end."""
        while True:
            start = self.position
            while self.position < len(self.text) and self.text[self.position] in _SPACE:
                self.position += 1
            self.line += self.text.count("\n", start, self.position)
            if self.position < len(self.text):
                return self.text[self.position]
            if not self.fill():
                return ""

    def value(self) -> tuple[Any, int]:
        """Decode the JSON value that starts here; return it and its line."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.position)
            except json.JSONDecodeError as error:
                if self.fill():
                    continue
                line = self.line_at(error.pos)
                raise InputError(
                    f"{self.source} 第 {line} 行 JSON 錯誤 / invalid JSON at line {line}: {error.msg}"
                ) from None
            # A number or literal at the end of a chunk may continue in the next one.
            if end == len(self.text) and not self.eof and self.fill():
                continue
            line = self.line
            self.advance(end)
            return value, line


def _read(stream: IO[str], source: str) -> str:
    try:
        chunk = stream.read(CHUNK)
    except UnicodeDecodeError as error:
        if b"\x00" in error.object:
            raise _binary(source) from None
        raise _undecodable(source, error.encoding) from None
    if "\x00" in chunk:
        raise _binary(source)
    return chunk


def _binary(source: str) -> InputError:
    return InputError(f"{source} 看起來是二進位檔，不是文字 / looks like a binary file, not text")


def _undecodable(source: str, encoding: str) -> InputError:
    return InputError(
        f"{source} 無法以 {encoding} 解碼（HIS 匯出常用 Big5，請試 --encoding cp950） / "
        f"cannot decode as {encoding} (HIS exports are often Big5: try --encoding cp950)"
    )


def _json_records(buffer: _Buffer, as_array: bool) -> Iterator[tuple[int, Any]]:
    if not as_array:
        while buffer.skip_space():
            value, line = buffer.value()
            yield line, value
        return
    if buffer.skip_space() != "[":
        raise InputError(f"{buffer.source} 不是 JSON 陣列 / is not a JSON array")
    buffer.advance(buffer.position + 1)
    if buffer.skip_space() == "]":
        return
    while True:
        if not buffer.skip_space():
            raise InputError(
                f"{buffer.source} JSON 陣列未結束（檔案被截斷？） / the JSON array is not closed (truncated?)"
            )
        value, line = buffer.value()
        yield line, value
        after = buffer.skip_space()
        if after == "]":
            return
        if after != ",":
            at = buffer.line_at(buffer.position)
            problem = (
                "未結束（檔案被截斷？） / is not closed (truncated?)"
                if not after
                else f"第 {at} 行缺逗號 / expects a comma at line {at}"
            )
            raise InputError(f"{buffer.source} JSON 陣列{problem}")
        buffer.advance(buffer.position + 1)


def _json_lines(stream: IO[str], source: str, first: str) -> Iterator[tuple[int, Any]]:
    """One JSON value per line, from text (any encoding); blank lines are skipped."""
    loads = _fast_loads()
    for number, line in enumerate(_lines(stream, source, first), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield number, loads(text)
        except ValueError as error:
            raise _bad_json_line(source, number, line, error) from None


def _json_lines_utf8(stream: IO[bytes], source: str, close: bool) -> Iterator[tuple[int, Any]]:
    """One JSON value per line of UTF-8 bytes: the fast path (no decoding to text, no copies).

    orjson takes the bytes as they are and allows the line's trailing white space; only a line
    that fails is looked at again, to skip it when blank or to say what is wrong with it.
    Closes `stream` at the end when `close` is true.
    """
    loads = _fast_loads()
    try:
        for number, line in enumerate(stream, start=1):
            try:
                value = loads(line)
            except ValueError as error:
                if not line.strip():
                    continue
                raise _bad_json_line(source, number, line, error) from None
            yield number, value
    except OSError as error:
        raise InputError(f"{source} 讀取失敗 / read error: {error.strerror or error}") from None
    finally:
        if close:
            stream.close()


def _bad_json_line(source: str, number: int, line: str | bytes, error: Exception) -> InputError:
    """Why a line is not JSON, in one line: binary data, a wrong encoding, or the JSON error."""
    if isinstance(line, bytes):
        if b"\x00" in line:
            return _binary(source)
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return _undecodable(source, "utf-8")
    elif "\x00" in line:
        return _binary(source)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InputError(
        f"{source} 第 {number} 行 JSON 錯誤 / invalid JSON at line {number}: {message}"
    )


def _fast_loads() -> Any:
    """orjson's parser when it is installed (the `cli` extra), else the standard library's."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


def header_name(text: str) -> str:
    """A header cell as a field name: NFKC (full-width `ＨＯＳＰ＿ＩＤ` is `HOSP_ID`, `（` is `(`),
    without a byte-order mark or any white space."""
    return "".join(unicodedata.normalize("NFKC", text.lstrip("\ufeff")).split())


def _columns(
    header: list[str], known: Iterable[str], labels: Mapping[str, str]
) -> tuple[list[str], list[str], bool]:
    """The record key of each header cell, the cells as written, and whether any names a field.

    A known name (wire or table name, any case) is kept as written, once normalised (the
    validator folds case); a zh-TW label becomes its field's wire name, which the validator
    knows; any other name stays as it was, for the validator to report as unknown.
    """
    written = [name.strip().lstrip("\ufeff") for name in header]
    folded = {header_name(name).lower() for name in known}
    by_label: dict[str, str | None] = {}
    for wire, label in labels.items():
        name = header_name(label).lower()
        if name and name not in folded:
            # Two fields with one label cannot be told apart: neither is recognised by it.
            by_label[name] = None if by_label.get(name, wire) != wire else wire
    keys, found = [], False
    for name in written:
        normal = header_name(name)
        labelled = by_label.get(normal.lower())
        if normal.lower() in folded:
            keys.append(normal)
        elif labelled is not None:
            keys.append(labelled)
        else:
            keys.append(name)
            continue
        found = True
    return keys, written, found


class Flagged(NamedTuple):
    """A record whose input is at fault (`issues`: its row, its place in the file), passed on
    in place of its payload so that the faults reach whoever validates it."""

    payload: Any
    issues: tuple[Issue, ...]


class LongRow(dict[str, Any]):
    """A CSV record whose row has more cells than the header: the cells the header names, and
    in `issues` what is wrong with the row (the cells beyond the header)."""

    __slots__ = ("issues",)

    issues: tuple[Issue, ...]


# The shape of a Taiwan ID number anywhere in a cell: masked wherever a cell is shown.
_ID_SHAPE = re.compile(r"[A-Za-z][12ABCD89abcd][0-9]{8}")
_SHOWN_CELLS = 3  # extra cells named in a message; more are counted


def _shown_cell(cell: str) -> str:
    """A cell as a report may show it: ID numbers masked, long text cut (`text.echo`)."""
    return echo(_ID_SHAPE.sub(lambda found: mask_id(found.group()), cell))


def _extra_cells(
    keys: list[str], written: list[str], row: list[str], labels: Mapping[str, str], hidden: bool
) -> Issue:
    """The error of a row with more cells than its header: it names the last column, the value
    found there and the cells beyond it (blank ones too: an empty last column pushed out by an
    unquoted comma leaves a blank extra cell, and the comma's second half in the last column)."""
    label = labels.get(keys[-1]) or {w.lower(): t for w, t in labels.items()}.get(
        keys[-1].lower(), ""
    )
    width = len(keys)
    last, count = written[-1] or f"#{width}", len(row) - width
    value, *extra = (
        "******" if hidden else _shown_cell(cell) for cell in row[width - 1 : width + _SHOWN_CELLS]
    )
    more = count - len(extra)
    cells = "".join(f"「{cell}」" for cell in extra) + (f"等 {count} 格" if more > 0 else "")
    cells_en = ", ".join(repr(cell) for cell in extra) + (f" and {more} more" if more > 0 else "")
    return Issue(
        keys[-1],
        label,
        "columns",
        f"這一列比標題列多 {count} 格：最後一欄「{last}」是「{value}」，之後還有{cells}；"
        "欄位可能已錯位，是否有未加引號的逗號？",
        f"this row has {count} cell(s) more than the header: the last column {last!r} holds "
        f"{value!r}, then come {cells_en}; its columns may be shifted: an unquoted comma?",
        severity_of("input"),
        None,
        "input",
    )


def _csv_records(
    stream: IO[str],
    source: str,
    known: Iterable[str],
    first: str,
    labels: Mapping[str, str] = {},
    hidden: Collection[str] = (),
) -> Iterator[tuple[int, Any]]:
    lines = _lines(stream, source, first)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise InputError(f"{source} CSV 錯誤 / CSV error: {error}") from None
    keys, written, found = _columns(header, known, labels)
    if not found:
        shown = ", ".join(written[:5])
        raise InputError(
            f"{source} 的 CSV 標題列沒有任何已知欄位（{shown}…），第一列須為手冊欄位名稱 / "
            "the CSV header names no known field; its first row must hold the manual's field names"
        )
    width = len(keys)
    secret = {index for index, key in enumerate(keys) if key.lower() in hidden}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(
                f"{source} 第 {reader.line_num} 行 CSV 錯誤 / CSV error at line {reader.line_num}: {error}"
            ) from None
        if not any(cell.strip() for cell in row):
            continue
        # An empty cell is an absent value: CSV cannot tell empty from missing.
        cells = zip(keys, row, strict=False)
        if len(row) <= width:
            yield reader.line_num, {name: cell for name, cell in cells if cell != ""}
            continue
        record = LongRow((name, cell) for name, cell in cells if cell != "")
        # The last column and the cells beyond it hold what belonged to the last columns: all
        # hidden if any of those is a secret.
        hide = any(index >= 2 * width - len(row) - 1 for index in secret)
        record.issues = (_extra_cells(keys, written, row, labels, hide),)
        yield reader.line_num, record


def _lines(stream: IO[str], source: str, first: str) -> Iterator[str]:
    pending = first
    while True:
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
        chunk = _read(stream, source)
        if not chunk:
            break
        pending += chunk
    if pending:
        yield pending


def read_rows(
    path: str,
    *,
    encoding: str = "utf-8",
    kind: str = "auto",
    known: Iterable[str] = (),
    labels: Mapping[str, str] = {},
    hidden: Collection[str] = (),
) -> Iterator[tuple[int, Any]]:
    """(line, payload) of every record of one input, streamed: `read_records` without the
    bookkeeping, for callers that only need the place of the few records they report.

    A CSV header may use the names in `known` (any case) and the zh-TW labels of `labels` (wire
    name -> label), in any width; a label column is keyed by its wire name. `hidden` lists the
    names (lower case) whose values a message never shows. A row with more cells than the header
    is a `LongRow`.

    UTF-8 JSON Lines, the large exports' format, is read by one generator with nothing between
    it and the caller; every other input by the general reader.
    """
    codec = _codec(encoding)
    source = "stdin" if path == "-" else path
    raw = open_binary(path)
    try:
        if codec == "utf-8-sig" and _is_json_lines(raw, path, kind):
            if _peek(raw).startswith(codecs.BOM_UTF8):
                raw.read(len(codecs.BOM_UTF8))
            return _json_lines_utf8(raw, source, close=path != "-")
    except BaseException:
        if path != "-":
            raw.close()
        raise
    return _read_text(raw, path, codec, source, kind, (known, labels, hidden))


def _read_text(
    raw: IO[bytes],
    path: str,
    codec: str,
    source: str,
    kind: str,
    names: tuple[Iterable[str], Mapping[str, str], Collection[str]],
) -> Iterator[tuple[int, Any]]:
    """Every record of a text input in any format and encoding; closes `raw` at the end."""
    stream: io.TextIOWrapper | None = None
    try:
        stream = io.TextIOWrapper(raw, encoding=codec, newline="")
        buffer = _Buffer(stream, source)
        first = buffer.skip_space()
        if not first:
            return
        chosen = detect_format(path, first) if kind == "auto" else kind
        rest = buffer.text[buffer.position :]
        if chosen == "csv":
            yield from _csv_records(stream, source, names[0], rest, names[1], names[2])
        elif first == "{" and _one_line_object(rest):
            yield from _json_lines(stream, source, rest)
        else:
            yield from _json_records(buffer, as_array=first == "[")
    finally:
        if path != "-":
            raw.close()
        elif stream is not None:
            stream.detach()  # closing the wrapper would close standard input itself


def _peek(raw: IO[bytes]) -> bytes:
    """The bytes a buffered reader holds ahead, without consuming them (b"" if it cannot tell)."""
    peek = getattr(raw, "peek", None)
    return b"" if peek is None else bytes(peek(CHUNK))


def _is_json_lines(raw: IO[bytes], path: str, kind: str) -> bool:
    """True when a UTF-8 input is JSON Lines: its first line holds one whole JSON object.

    Looks without consuming (the bytes stay in the reader's buffer) and decides on content, not
    the name, so a pretty-printed `.jsonl` still goes to the general reader.
    """
    if kind == "csv" or (kind == "auto" and path.lower().endswith(".csv")):
        return False
    head = _peek(raw)
    if b"\n" not in head:
        return False  # one line only, or a first line longer than the buffer: the general reader
    text = head.split(b"\n", 1)[0].removeprefix(codecs.BOM_UTF8).strip()
    if not text.startswith(b"{"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def read_records(
    path: str,
    *,
    encoding: str = "utf-8",
    kind: str = "auto",
    known: Iterable[str] = (),
    labels: Mapping[str, str] = {},
    hidden: Collection[str] = (),
) -> Iterator[Record]:
    """Every record of one input, streamed. `known` lists the field names a CSV header may use,
    `labels` the fields' zh-TW labels (see `read_rows`)."""
    source = "stdin" if path == "-" else path
    rows = read_rows(path, encoding=encoding, kind=kind, known=known, labels=labels, hidden=hidden)
    for number, (line, payload) in enumerate(rows, start=1):
        yield Record(source, number, line, payload)


def _one_line_object(text: str) -> bool:
    """True when the first line holds a whole JSON value: the input is JSON Lines."""
    first_line = text.split("\n", 1)[0].strip()
    try:
        json.loads(first_line)
    except ValueError:
        return False
    return True


def known_names(aliases: Mapping[str, str]) -> list[str]:
    """The names a CSV header may use for an operation, from its alias table."""
    return sorted(aliases)


def with_issues(result: ValidationResult, issues: Sequence[Issue]) -> ValidationResult:
    """`result` with `issues` about the record's input (its row, its place in the file) first:
    they often explain the rest (a shifted column makes the fields after it wrong)."""
    errors = tuple(issue for issue in issues if issue.severity == "error")
    warnings = tuple(issue for issue in issues if issue.severity != "error")
    return ValidationResult(result.operation, errors + result.errors, warnings + result.warnings)


class Visits:
    """The visits of one input seen so far, to find the same visit twice (the later is wrong).

    Memory stays small however long the input: per record a hash of its visit key and where it
    was (about 100 bytes), never the record, nor an ID number in the clear. Key values compare after
    white space is stripped; a record without every key field is left out (it is invalid anyway).
    """

    # Joins the key's values: not white space, so that one split() finds any white space.
    SEPARATOR = "\x00"

    def __init__(
        self,
        key_fields: Sequence[str],
        folded: Mapping[str, str],
        masked: Collection[str] = (),
    ) -> None:
        """`key_fields` are wire names, `folded` maps lower-cased names to wire names (the
        operation's aliases), `masked` the key fields whose values are national IDs."""
        self.fields = tuple(key_fields)
        self.folded = folded
        self.masked = frozenset(index for index, wire in enumerate(self.fields) if wire in masked)
        # One C call for all the key's values (a tuple, as long as there are two or more).
        self._values = (
            operator.itemgetter(*self.fields)
            if len(self.fields) > 1
            else lambda payload: (payload[self.fields[0]],)
        )
        self._seen: dict[int, int] = {}
        self._shared = False

    def _share_keys(self, payload: dict[Any, Any]) -> None:
        """Look the key fields up with the reader's own name objects from now on: a JSON reader
        hands out one object per distinct name, and a dict compares pointers before text (as
        `validators.share_key_objects` does for the checks)."""
        self._shared = True
        own = {name: name for name in payload if type(name) is str}
        fields = tuple(own.get(wire, wire) for wire in self.fields)
        if len(fields) > 1:
            self._values = operator.itemgetter(*fields)

    def repeated(self, payload: Any, number: int, line: int) -> Issue | None:
        """The error for `payload` (record `number`, at `line`) if an earlier record of this
        input is the same visit; else None, and the visit is remembered.

        Runs for every record of an export, so the common case (every key field under its wire
        name, a string without white space) is a few C calls; anything else takes `_joined`.
        """
        key: str | None
        if not self._shared and type(payload) is dict:
            self._share_keys(payload)
        try:
            values = self._values(payload)
            key = joined = self.SEPARATOR.join(values)
        except (KeyError, TypeError, IndexError):  # other names, other types, not a mapping
            key = self._folded_key(payload)
        else:
            # Only a value with white space, or an empty one, needs `_joined`: split() gives
            # the key back whole otherwise (cheaper than a regular expression, measured).
            if len(joined.split()) != 1 or "" in values:
                key = self._joined(values)
        if key is None:
            return None
        # Python's 64-bit string hash rather than a cryptographic digest: a fifth of the cost
        # on every record, and two different visits share a hash with odds of about one in
        # 10**9 over 200,000 records. The hash is never stored or shown beyond this run.
        digest = hash(key)
        first = self._seen.get(digest)
        if first is None:
            self._seen[digest] = line << 32 | number
            return None
        return self._issue(key, first >> 32, first & 0xFFFFFFFF, number, line)

    def _folded_key(self, payload: Any) -> str | None:
        if not isinstance(payload, Mapping):
            return None
        wanted = set(self.fields)
        canonical: dict[str, Any] = {}
        for name, value in payload.items():
            wire = self.folded.get(name.lower()) if isinstance(name, str) else None
            if wire in wanted:
                canonical[wire] = value  # the last of names differing in case, as the service
        return self._joined([canonical.get(wire) for wire in self.fields])

    def _joined(self, values: Sequence[Any]) -> str | None:
        stripped = []
        for value in values:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                return None
            text = str(value).strip()
            if not text:
                return None
            stripped.append(text)
        return self.SEPARATOR.join(stripped)

    def _issue(self, key: str, first_line: int, first_number: int, number: int, line: int) -> Issue:
        shown = "|".join(
            masked(value) if index in self.masked else _shown_cell(value)
            for index, value in enumerate(key.split(self.SEPARATOR))
        )
        return Issue(
            "",
            "",
            "duplicate_visit",
            f"第 {line} 行（第 {number} 筆）與第 {first_line} 行（第 {first_number} 筆）是同一次"
            f"就診（{shown}）：同一檔案中重複，這一筆不會上傳",
            f"line {line} (record {number}) is the same visit as line {first_line} (record "
            f"{first_number}) ({shown}): a visit twice in one file; this one is not uploaded",
            severity_of("input"),
            None,
            "input",
        )
