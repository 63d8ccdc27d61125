"""No secret anywhere a person can read, against the IIS stand-in: every logger at DEBUG (the root
logger with a capturing handler, every named logger set to DEBUG), every exception's text, repr and
traceback, every result's repr; scanned as written and decoded (URL-decoded twice, HTML entities,
JSON escapes). Also redaction itself, for any secret in any of those encodings."""

from __future__ import annotations

import html
import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scforhis
from scforhis.redaction import HIDDEN, decoded, redact, secret_patterns
from tests.client_support import manual_query, manual_record
from tests.iis_service import ACCOUNT, PASSWORD, UNDER_18_ID, IisService

CLINICIAN_ID = "A198765435"
WRONG_PASSWORD = "Wr0ng&pwd=%41x"


@pytest.fixture
def every_logger_at_debug() -> Iterator[io.StringIO]:
    """The root logger and every named logger at DEBUG, all records written to one buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _decodings(text: str) -> list[str]:
    once = unquote(text)
    twice = unquote(once)
    forms = [text, once, twice, unquote(twice), html.unescape(twice)]
    forms.append(forms[-1].encode("utf-8", "replace").decode("unicode_escape", "replace"))
    return forms


class Seen:
    """Everything a person could read."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def show(self, *objects: object) -> None:
        self.texts += [repr(o) for o in objects] + [str(o) for o in objects]

    def expect(self, call: Callable[[], object]) -> None:
        try:
            self.show(call())
        except scforhis.ScForHisError as error:
            self.texts.append("".join(traceback.format_exception(error)))
            self.show(error, getattr(error, "cause", None), getattr(error, "result", None))


def test_no_secret_in_any_log_line_or_exception_in_any_encoding(
    every_logger_at_debug: io.StringIO,
) -> None:
    iis = IisService().start()
    seen = Seen()
    record = {**manual_record(), "funC_DATE": "2022/12/01", "prsN_ID": CLINICIAN_ID}
    query = manual_query()
    quick = scforhis.RetryPolicy(retries=1, backoff=0.0)
    try:
        for behaviour in ("plain", "gzip", "bare", "html", "redirect", "busy", "dropdelete"):
            iis.state.busy, iis.state.retry_after = 1, "0"
            options = iis.client_options(behaviour, retry=quick)
            with scforhis.Client(**options) as client:
                seen.show(client, client.settings)
                seen.expect(client.get_token_id)
                seen.expect(lambda c=client: c.get_sc_data_b(query))
                seen.expect(lambda c=client: c.get_sc_data_b(query, id=UNDER_18_ID))
                for call in ("save", "update", "delete", "delete"):
                    seen.expect(lambda c=client, name=call: getattr(c, name)(record))
                seen.expect(lambda c=client: c.save(record).raise_for_code())
        options = iis.client_options("trickle", timeout=0.2, retry=scforhis.RetryPolicy(retries=0))
        with scforhis.Client(**options) as client:
            seen.expect(lambda: client.get_sc_data_b(query))
            seen.expect(lambda: client.save(record))
        with scforhis.Client(**iis.client_options("plain", password=WRONG_PASSWORD)) as client:
            seen.expect(lambda: client.get_sc_data_b(query))
    finally:
        iis.stop()

    logged = every_logger_at_debug.getvalue()
    assert {"scforhis", "httpx", "httpcore.http11", "httpcore.connection"} <= {
        line.split(" ", 1)[0] for line in logged.splitlines()
    }
    assert "b'Location', b'[redacted]'" in logged  # the redirect's headers were logged, filtered
    assert iis.state.tokens  # tokens were issued (bare ones too), and are looked for
    secrets = (
        ACCOUNT,
        PASSWORD,
        WRONG_PASSWORD,
        *iis.state.tokens,
        manual_record()["id"],
        CLINICIAN_ID,
    )
    everything = logged + "\n".join(seen.texts)
    leaks = [
        (secret, index)
        for index, form in enumerate(_decodings(everything))
        for secret in secrets
        if secret in form or quote(secret, safe="") in form or quote_plus(secret) in form
    ]
    assert leaks == []
    assert HIDDEN in everything  # the secrets were there, and hidden


# -- redaction, for any secret in any encoding --------------------------------------------

_ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "url": lambda s: quote(s, safe=""),
    "url_plus": lambda s: quote_plus(s),
    "url_twice": lambda s: quote(quote(s, safe=""), safe=""),
    "url_thrice": lambda s: quote(quote(quote(s, safe=""), safe=""), safe=""),
    "json": lambda s: json.dumps(s)[1:-1],
    "json_in_url": lambda s: quote(json.dumps(s)[1:-1], safe=""),
    "html": lambda s: html.escape(s),
    "html_numeric": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "url_upper_lower": lambda s: quote(s, safe="").lower(),
}
secret_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=4, max_size=24
).filter(lambda s: s.strip() == s and len(set(s)) > 2)


@given(
    secret=secret_text,
    encoding=st.sampled_from(sorted(_ENCODINGS)),
    before=st.sampled_from(["", "error: ", "<p>", '{"x":"', "?a=1&b="]),
    after=st.sampled_from(["", " end", "</p>", '"}', "&c=2"]),
)
def test_a_known_secret_is_hidden_in_any_encoding(
    secret: str, encoding: str, before: str, after: str
) -> None:
    text = before + _ENCODINGS[encoding](secret) + after
    shown = redact(text, [secret], limit=10_000)
    for form in (shown, decoded(shown)):
        assert secret not in form


@pytest.mark.parametrize(
    "text",
    [
        "GetTokenID?id=3501200000ADM&pwd=Tw-pa55%3Aword%26x%3D1",
        "ReturnUrl=%2Fapi%2FGetTokenID%3Fid%3D3501200000ADM%26pwd%3Dsecret%2526",
        "ReturnUrl=%252Fapi%252FGetTokenID%253Fid%253D3501200000ADM%2526pwd%253Dsecret",
        "{&quot;password&quot;:&quot;hunter22&quot;,&quot;token&quot;:&quot;abc123xyz&quot;}",
        '{\\"password\\":\\"hunter22\\",\\"token\\":\\"abc123xyz\\"}',
        "%7B%22password%22%3A%22hunter22%22%7D",
    ],
)
def test_secret_fields_are_hidden_in_any_encoding(text: str) -> None:
    patterns = secret_patterns(scforhis.Client._secret_names)
    shown = redact(text, [], patterns, limit=10_000)
    for form in _decodings(shown):
        for value in ("3501200000ADM", "Tw-pa55", "secret", "hunter22", "abc123xyz"):
            assert value not in form
    assert HIDDEN in shown


@pytest.mark.parametrize(
    "text", ["id%3DA123456789", "id=A123456789", "\\u0022A123456789", "%2522A123456789%2522"]
)
def test_an_encoded_national_id_is_masked(text: str) -> None:
    shown = redact(text)
    assert "A123456789" not in shown and "A12****789" in shown


def test_a_text_encoded_over_and_over_shows_no_escape() -> None:
    secret = "pwd=hunter22"
    text = secret
    for _ in range(9):
        text = quote(text, safe="")
    shown = redact(text, ["hunter22"])
    assert "hunter22" not in decoded(shown) and "%" not in shown
