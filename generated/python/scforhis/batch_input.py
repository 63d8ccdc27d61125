# Copied by `make generate` from codegen/runtime/batch_input.py; edit it there.
"""Reading batches of records: JSON (an array or one object), JSON Lines and CSV, streamed.

Memory stays flat however large the file: JSON is decoded value by value from a sliding buffer
and CSV row by row. Every record carries its source, its number and the line it starts on, so a
report can point at it. Unreadable input raises `InputError` with a one-line message.

JSON Lines in UTF-8, the common large export, takes a fast path: lines are read as bytes and
parsed by orjson (when installed) without decoding them to text first; a line that fails is
only then examined to say why (binary data, another encoding, bad JSON).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, NamedTuple

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


def _csv_records(
    stream: IO[str], source: str, known: Iterable[str], first: str
) -> Iterator[tuple[int, Any]]:
    lines = _lines(stream, source, first)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise InputError(f"{source} CSV 錯誤 / CSV error: {error}") from None
    names = [name.strip().lstrip("\ufeff") for name in header]
    folded = {name.lower() for name in known}
    if not any(name.lower() in folded for name in names):
        shown = ", ".join(names[:5])
        raise InputError(
            f"{source} 的 CSV 標題列沒有任何已知欄位（{shown}…），第一列須為手冊欄位名稱 / "
            "the CSV header names no known field; its first row must hold the manual's field names"
        )
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
        record: dict[str, Any] = {
            name: cell for name, cell in zip(names, row, strict=False) if cell != ""
        }
        if len(row) > len(names):
            record["（多出的欄位 extra cells）"] = ",".join(row[len(names) :])
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
    path: str, *, encoding: str = "utf-8", kind: str = "auto", known: Iterable[str] = ()
) -> Iterator[tuple[int, Any]]:
    """(line, payload) of every record of one input, streamed: `read_records` without the
    bookkeeping, for callers that only need the place of the few records they report.

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
    return _read_text(raw, path, codec, source, kind, known)


def _read_text(
    raw: IO[bytes], path: str, codec: str, source: str, kind: str, known: Iterable[str]
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
            yield from _csv_records(stream, source, known, rest)
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
    path: str, *, encoding: str = "utf-8", kind: str = "auto", known: Iterable[str] = ()
) -> Iterator[Record]:
    """Every record of one input, streamed. `known` lists the field names a CSV header may use."""
    source = "stdin" if path == "-" else path
    rows = read_rows(path, encoding=encoding, kind=kind, known=known)
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
