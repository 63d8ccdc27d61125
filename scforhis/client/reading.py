"""Reading a reply with bounded work: at most `MAX_REPLY_BYTES`, before a deadline, as UTF-8.

The service's replies are under 1 KiB. The client reads at most `MAX_REPLY_BYTES` (64 KiB) of a
reply's body, counted after decompression, and drops the rest unread: a 50 MB reply costs no more
than a small one, and nothing later (decoding, redaction) sees more than the cap. It decompresses
gzip and deflate itself, a bounded piece at a time, so a small compressed reply that inflates to
gigabytes is stopped at the cap too. Each attempt has one overall deadline (the `timeout` setting),
checked between pieces as well as by the transport, so a reply that trickles in a byte at a time
ends when the deadline passes.

The service writes UTF-8: a body that is valid UTF-8 is read as UTF-8 whatever charset the
`Content-Type` header names; only a body that is not valid UTF-8 is read with the header's charset
(or UTF-8 with replacement characters when it names none the standard library knows).
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

# A generous cap: 64 times the largest reply the service sends.
MAX_REPLY_BYTES = 64 * 1024
# What compressed bytes may add to the cap (deflate's headers and stored blocks).
_RAW_SLACK = 4096
# The encodings the client asks for (Accept-Encoding) and decodes itself.
ACCEPT_ENCODING = "gzip, deflate"
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)


class ReplyError(Exception):
    """A reply that cannot be read as sent (an unknown or broken content encoding)."""


class DeadlineExceeded(Exception):
    """The attempt's overall deadline passed while the reply was still arriving."""


@dataclass(frozen=True)
class Reply:
    """A reply as far as the client read it: status, reason, headers, at most the cap of its body.

    `oversize` says the body went on past `MAX_REPLY_BYTES` (only its first part is in `text`).
    """

    status_code: int
    reason_phrase: str
    headers: dict[str, str]
    text: str
    oversize: bool = False

    def header(self, name: str) -> str | None:
        """A header's value by its name in any case."""
        return self.headers.get(name.lower())


class _Inflater:
    """Decompresses one content coding, never producing more than it is asked for."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._raw_deflate = False
        self._decoder = self._new()
        self._started = False

    def _new(self) -> zlib._Decompress:
        if self.coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """Up to `room + 1` bytes of output for `data`, and whether more output was left over."""
        try:
            out = self._decoder.decompress(data, room + 1)
        except zlib.error:
            # `deflate` is sent raw by some servers (IIS among them), zlib-wrapped by others.
            if self.coding != "deflate" or self._started or self._raw_deflate:
                raise ReplyError("broken compressed reply") from None
            self._raw_deflate = True
            self._decoder = self._new()
            return self.feed(data, room)
        self._started = True
        return out, bool(self._decoder.unconsumed_tail)

    def more(self, room: int) -> tuple[bytes, bool]:
        """Output still owed from input already fed (after `feed` said some was left over)."""
        try:
            out = self._decoder.decompress(self._decoder.unconsumed_tail, room + 1)
        except zlib.error:
            raise ReplyError("broken compressed reply") from None
        return out, bool(self._decoder.unconsumed_tail)

    @property
    def complete(self) -> bool:
        """True when the compressed stream ended properly."""
        return self._decoder.eof


class BodyReader:
    """Collects at most `cap` bytes of a reply body, decompressing gzip or deflate as it goes."""

    def __init__(self, content_encoding: str | None, cap: int = MAX_REPLY_BYTES) -> None:
        codings = [
            c.strip().lower()
            for c in (content_encoding or "").split(",")
            if c.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise ReplyError(f"unsupported content encoding {content_encoding!r}")
        self._inflater = _Inflater(codings[0]) if codings else None
        self.cap = cap
        self._parts: list[bytes] = []
        self._size = 0
        self._raw = 0
        self.oversize = False

    def feed(self, chunk: bytes) -> bool:
        """Take a piece of the body as it came; False once the cap is reached (stop reading)."""
        self._raw += len(chunk)
        if self._inflater is None:
            self._keep(chunk)
        else:
            out, left = self._inflater.feed(chunk, self.cap - self._size)
            self._keep(out)
            while left and not self.oversize:
                out, left = self._inflater.more(self.cap - self._size)
                self._keep(out)
            if self._raw > self.cap + _RAW_SLACK:
                self.oversize = True
        return not self.oversize

    def _keep(self, data: bytes) -> None:
        room = self.cap - self._size
        if len(data) > room:
            data, self.oversize = data[:room], True
        if data:
            self._parts.append(data)
            self._size += len(data)

    def body(self) -> bytes:
        """The bytes kept; `ReplyError` when a compressed body ended early."""
        inflater = self._inflater
        if inflater is not None and not self.oversize and self._raw and not inflater.complete:
            raise ReplyError("compressed reply ended early")
        return b"".join(self._parts)


def decode_text(body: bytes, content_type: str | None) -> str:
    """The body as text: UTF-8 when it is valid UTF-8, else the header's charset, else UTF-8 with
    replacement characters. A UTF-8 byte order mark is dropped."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(body) - 3 and error.reason == "unexpected end of data":
            # The cap cut a character in two: the whole ones before it are UTF-8.
            return body[: error.start].decode("utf-8") + "\ufffd"
    found = _CHARSET.search(content_type or "")
    if found is not None:
        try:
            return body.decode(codecs.lookup(found.group(1)).name, errors="replace")
        except LookupError:
            pass
    return body.decode("utf-8", errors="replace")
