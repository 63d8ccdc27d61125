"""Reading replies with bounded work (`scforhis.client.reading`) and the transport's log filter
(`scforhis.client.transport`), unit by unit."""

from __future__ import annotations

import gzip
import logging
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scforhis
from scforhis.client.reading import MAX_REPLY_BYTES, BodyReader, ReplyError, decode_text
from scforhis.client.transport import LOG_FILTER, install_log_filter

TEXT = "戒菸治療可收案！！可登錄就醫資料。"


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(wbits=wbits)
    return compressor.compress(data) + compressor.flush()


def _read(encoding: str | None, body: bytes, piece: int = 7) -> BodyReader:
    reader = BodyReader(encoding)
    for start in range(0, len(body), piece):
        if not reader.feed(body[start : start + piece]):
            break
    return reader


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, TEXT.encode()),
        ("identity", TEXT.encode()),
        ("gzip", gzip.compress(TEXT.encode())),
        ("x-gzip", gzip.compress(TEXT.encode())),
        ("deflate", _deflate(TEXT.encode(), zlib.MAX_WBITS)),
        ("deflate", _deflate(TEXT.encode(), -zlib.MAX_WBITS)),  # raw, as IIS sends it
        ("GZIP ", gzip.compress(TEXT.encode())),
    ],
)
def test_a_body_in_every_encoding_the_client_asks_for(encoding: str | None, body: bytes) -> None:
    reader = _read(encoding, body)
    assert decode_text(reader.body(), "text/plain") == TEXT and not reader.oversize


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "compress"])
def test_an_encoding_not_asked_for_is_a_reply_error(encoding: str) -> None:
    with pytest.raises(ReplyError):
        BodyReader(encoding)


def test_a_broken_or_cut_compressed_body_is_a_reply_error() -> None:
    with pytest.raises(ReplyError):
        _read("gzip", b"not gzip at all").body()
    with pytest.raises(ReplyError):
        _read("gzip", gzip.compress(TEXT.encode() * 50)[:40]).body()


@given(size=st.integers(0, 3 * MAX_REPLY_BYTES), encoding=st.sampled_from([None, "gzip"]))
def test_never_more_than_the_cap_is_kept(size: int, encoding: str | None) -> None:
    body = b"a" * size
    reader = _read(encoding, gzip.compress(body) if encoding else body, piece=50_000)
    kept = reader.body()
    assert kept == body[:MAX_REPLY_BYTES]
    assert reader.oversize == (size > MAX_REPLY_BYTES)


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (TEXT.encode(), "text/plain; charset=big5", TEXT),  # UTF-8 whatever the header says
        (TEXT.encode(), "text/plain; charset=iso-8859-1", TEXT),
        (b"\xef\xbb\xbf" + TEXT.encode(), None, TEXT),
        (TEXT.encode("big5"), "text/plain; charset=big5", TEXT),  # not UTF-8: the header's
        (TEXT.encode("big5"), "text/plain; charset=no-such", None),
        (TEXT.encode()[:-1], "text/plain", TEXT[:-1] + "\ufffd"),  # cut inside a character
    ],
)
def test_text_is_utf8_first(body: bytes, content_type: str | None, text: str | None) -> None:
    decoded = decode_text(body, content_type)
    if text is None:
        assert "\ufffd" in decoded
    else:
        assert decoded == text


def test_the_log_filter_reaches_loggers_made_later(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("httpcore.made_later_for_a_test")
    assert LOG_FILTER not in logger.filters
    install_log_filter()
    assert LOG_FILTER in logger.filters
    with caplog.at_level(logging.DEBUG, logger="httpcore.made_later_for_a_test"):
        logger.debug(
            "receive_response_headers.complete return_value=%r",
            (b"HTTP/1.1", 302, b"Found", [(b"Location", b"/x?pwd=secret1"), (b"Server", b"IIS")]),
        )
    (record,) = caplog.records
    assert "secret1" not in record.getMessage()
    assert "(b'Location', b'[redacted]')" in record.getMessage()
    assert "(b'Server', b'IIS')" in record.getMessage()


def test_the_library_logs_nothing_without_configuration() -> None:
    logger = logging.getLogger("scforhis")
    scforhis.Client(base_url="http://127.0.0.1:1/api", env={}).close()
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


def test_a_token_reply_without_a_token_is_described_not_quoted() -> None:
    # Whatever else such a reply holds may be secret (a token under another name).
    from scforhis.client.replies import read_token

    shape = scforhis.operations.GET_TOKEN_ID.response
    text = '{"MSG_CODE": "Y", "token_id": "c2VjcmV0LXRva2VuLXZhbHVl"}'
    with pytest.raises(scforhis.ProtocolError) as caught:
        read_token("GetTokenID", shape, text, lambda t: t, 0.0)
    assert "c2VjcmV0LXRva2VuLXZhbHVl" not in str(caught.value)
    assert f"{len(text)}" in str(caught.value)


def test_a_json_string_is_unwrapped_twice_at_most() -> None:
    import json

    from scforhis.client.replies import decode_body

    inner = {"msG_CODE": "Y"}
    assert decode_body(json.dumps(inner)) == inner
    assert decode_body(json.dumps(json.dumps(inner))) == inner
    thrice = decode_body(json.dumps(json.dumps(json.dumps(inner))))
    assert thrice == json.dumps(inner)  # still text: no reply nests deeper than that


def test_results_cannot_be_changed_once_read() -> None:
    import dataclasses

    result = scforhis.ApiResult(True, "Y", "新增成功", "Save")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = False  # type: ignore[misc]


class _Trickle(httpx.SyncByteStream):
    """A body that sends a byte every 50 ms for three seconds, from any transport."""

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(60):
            time.sleep(0.05)
            yield b" "


def test_a_callers_own_transport_is_held_to_the_deadline_between_pieces() -> None:
    # The socket-level bound covers connections the client opens; a transport of the caller's
    # (a MockTransport here, a company proxy library elsewhere) is checked between pieces.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Trickle(), headers={"Content-Type": "application/json"})

    options = {"base_url": "http://127.0.0.1:9/api", "account": "acct", "password": "pw-1",
               "hosp_id": "3501200000", "hosp_seq_no": "00", "env": {}, "timeout": 0.5,
               "retry": scforhis.RetryPolicy(retries=0, backoff=0.0)}  # fmt: skip
    with (
        scforhis.Client(transport=httpx.MockTransport(handler), **options) as client,
        pytest.raises(scforhis.RequestTimeoutError),
    ):
        client.get_token_id()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_credentials_that_cannot_be_sent_are_refused_before_the_login(mode: str) -> None:
    import asyncio

    options = {"base_url": "http://127.0.0.1:9/api", "account": "ab\ud800", "password": "pw-1",
               "hosp_id": "3501200000", "hosp_seq_no": "00", "env": {},
               "retry": scforhis.RetryPolicy(retries=0, backoff=0.0)}  # fmt: skip
    with pytest.raises(scforhis.ValidationError) as caught:
        if mode == "sync":
            with scforhis.Client(**options) as client:
                client.get_token_id()
        else:

            async def log_in() -> None:
                async with scforhis.AsyncClient(**options) as client:
                    await client.get_token_id()

            asyncio.run(log_in())
    assert "ab\ud800" not in str(caught.value)
