"""For any reply, the client returns a result or raises a `ScForHisError`, within its deadline and
its memory cap, and never reads a yes into a text the spec does not list as one. Replies come from
the IIS stand-in's `scripted` behaviour over real HTTP: any status, body, compression (declared
or not), charset, Retry-After."""

from __future__ import annotations

import gzip
import json
import unicodedata
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scforhis
from tests.client_support import manual_query, manual_record
from tests.iis_service import ELIGIBLE, RESERVED, UNDER_18, IisService

REPLIES = scforhis.operations.GET_SC_DATA_B.response.replies
KNOWN_YES = {
    "".join(unicodedata.normalize("NFKC", r.text).split()).casefold()
    for r in REPLIES
    if r.text is not None and r.outcome == "eligible"
}
MAX_BODY = 200_000


@pytest.fixture(scope="module")
def iis() -> Iterator[IisService]:
    """One stand-in for the module."""
    server = IisService().start()
    yield server
    server.stop()


texts = st.one_of(
    st.sampled_from([ELIGIBLE, RESERVED, UNDER_18, "TokenID 已失效", "", "<html>500</html>"]),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from([ELIGIBLE, RESERVED, "不可收案", "可收案", '{"msG_CODE":"Y"']),
        st.text(max_size=30),
    ),
    st.text(max_size=200),
    st.builds(
        lambda d: json.dumps(d, ensure_ascii=False),
        st.dictionaries(
            st.sampled_from(["msG_CODE", "MSG_INFO", "tokenid", "msg_code", "x"]),
            st.one_of(st.sampled_from(["Y", "N", ELIGIBLE, "abcDEF1234567890abcdef=="]), st.none()),
        ),
    ),
)
bodies = st.one_of(
    texts.map(lambda t: t.encode("utf-8")),
    texts.map(lambda t: t.encode("big5", "replace")),
    st.binary(max_size=300),
    st.tuples(texts, st.integers(1, MAX_BODY)).map(lambda p: (p[0] or "x").encode()[:1] * p[1]),
)


@st.composite
def replies(draw: st.DrawFn) -> tuple[int, list[tuple[str, str]], bytes]:
    """A status, headers and body, compressed or not, the header telling the truth or not."""
    status = draw(
        st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 503])
    )
    body = draw(bodies)
    headers = [
        (
            "Content-Type",
            draw(
                st.sampled_from(
                    [
                        "text/plain",
                        "text/plain; charset=utf-8",
                        "application/json; charset=big5",
                        "text/html; charset=nonsense",
                        "application/octet-stream",
                    ]
                )
            ),
        )
    ]
    coding = draw(st.sampled_from([None, "gzip", "deflate", "zlib", "br", "lie"]))
    if coding == "gzip":
        body = gzip.compress(body)
    elif coding in ("deflate", "zlib"):
        wbits = -zlib.MAX_WBITS if coding == "deflate" else zlib.MAX_WBITS
        compressor = zlib.compressobj(wbits=wbits)
        body = compressor.compress(body) + compressor.flush()
    if coding is not None:
        header = {"zlib": "deflate", "lie": "gzip"}.get(coding, coding)
        headers.append(("Content-Encoding", header))
    if status in (429, 503):
        headers.append(("Retry-After", draw(st.sampled_from(["0", "3600", "soon", "-5"]))))
    return status, headers, body


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=replies(), operation=st.sampled_from(["GetTokenID", "GetSCDataB", "Save", "Delete"]))
def test_any_reply_is_a_result_or_a_scforhis_error(
    iis: IisService, reply: tuple[int, list[tuple[str, str]], bytes], operation: str
) -> None:
    iis.state.script = reply
    options = iis.client_options("scripted", timeout=2.0)
    options["retry"] = scforhis.RetryPolicy(retries=1, backoff=0.0, max_wait=0.0)
    with scforhis.Client(**options) as client:
        try:
            if operation == "GetTokenID":
                result: object = client.get_token_id()
            elif operation == "GetSCDataB":
                result = client.get_sc_data_b(manual_query())
            else:
                result = getattr(client, operation.lower())(manual_record())
        except scforhis.ScForHisError as error:
            assert len(str(error)) < 2000  # what was read is bounded, and so is what is shown
            return
    if isinstance(result, scforhis.EligibilityResult):
        compact = "".join(unicodedata.normalize("NFKC", result.message).split()).casefold()
        assert not result.eligible or compact in KNOWN_YES  # never a false yes
        assert len(result.message.encode("utf-8", "surrogatepass")) <= 64 * 1024
    else:
        assert isinstance(result, scforhis.ApiResult | scforhis.Token)
