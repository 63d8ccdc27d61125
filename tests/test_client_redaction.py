"""Secrets stay secret: a whole workflow against the real stand-in service with every logger at
DEBUG (the client's, httpx's, httpcore's), through success and every failure path; no password,
account, token or unmasked national ID may appear in the captured logs, in any exception's text,
repr or traceback, or in any repr of the objects involved."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import scforhis
from tests.client_server import ACCOUNT, NOT_ELIGIBLE_ID, PASSWORD, ServiceThread
from tests.client_support import CLINICIAN_ID, PATIENT_ID, manual_query, manual_record

MISTYPED_ID = "A123456788"
WRONG_PASSWORD = "n0t-The-Pa55word"
UNMASKED_IDS = (PATIENT_ID, CLINICIAN_ID, NOT_ELIGIBLE_ID, MISTYPED_ID)


@pytest.fixture(scope="module")
def service() -> Iterator[ServiceThread]:
    """One stand-in service for the module."""
    server = ServiceThread().start()
    yield server
    server.stop()


class Seen:
    """Everything a person could read: exception texts and tracebacks, reprs of results."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def show(self, *objects: object) -> None:
        self.texts += [repr(o) for o in objects] + [str(o) for o in objects]

    def expect(self, kind: type[BaseException], call: Callable[[], object]) -> None:
        with pytest.raises(kind) as caught:
            call()
        error = caught.value
        self.texts.append("".join(traceback.format_exception(error)))
        self.show(error, getattr(error, "cause", None), getattr(error, "result", None))


def _sync_workflow(service: ServiceThread, seen: Seen, day: int) -> None:
    record = {**manual_record(), "funC_DATE": f"2022/11/{day:02d}"}
    with scforhis.Client(**service.client_options("api")) as client:
        seen.show(client, client.settings, client.get_token_id())
        seen.show(client.get_sc_data_b(manual_query()))
        seen.show(client.get_sc_data_b(manual_query(), id=NOT_ELIGIBLE_ID))
        seen.show(client.save(record), client.save(record), client.update(record))
        seen.show(client.delete(record), client.delete(record))
        service.state.valid_tokens.clear()
        seen.show(client.get_sc_data_b(manual_query()))
        seen.expect(scforhis.ValidationError, lambda: client.save({**record, "id": MISTYPED_ID}))
        seen.expect(
            scforhis.ValidationError,
            lambda: client.get_sc_data_b(manual_query(), id=MISTYPED_ID, birthday="1961/01/01"),
        )
        seen.show(client.save(record))
        seen.expect(scforhis.RejectedError, lambda: client.save(record).raise_for_code())
        seen.show(client.delete(record))
    with scforhis.Client(**service.client_options("api", password=WRONG_PASSWORD)) as client:
        seen.expect(scforhis.RejectedError, lambda: client.get_sc_data_b(manual_query()))
        seen.show(client, client.settings)
    with scforhis.Client(**service.client_options("echo")) as client:
        seen.expect(scforhis.ProtocolError, lambda: client.get_sc_data_b(manual_query()))
        seen.expect(scforhis.OutcomeUnknownError, lambda: client.save(record))
        seen.expect(scforhis.ProtocolError, lambda: client.update(record))
        seen.expect(scforhis.HTTPStatusError, lambda: client.delete(record))
    with scforhis.Client(**service.client_options("slow", timeout=0.2)) as client:
        seen.expect(scforhis.OutcomeUnknownError, lambda: client.save(record))
    seen.show(scforhis.SaveRequest(**_model_arguments(record)))


def _model_arguments(record: dict[str, str]) -> dict[str, Any]:
    operation = scforhis.operations.SAVE
    wire_to_python = {f.wire: f.python for f in operation.fields}
    return {wire_to_python[k]: v for k, v in record.items()} | {"password": PASSWORD}


async def _async_workflow(service: ServiceThread, seen: Seen, day: int) -> None:
    record = {**manual_record(), "funC_DATE": f"2022/11/{day:02d}"}
    async with scforhis.AsyncClient(**service.client_options("api")) as client:
        seen.show(client, await client.get_sc_data_b(manual_query()))
        seen.show(
            await client.save(record), await client.update(record), await client.delete(record)
        )
        with pytest.raises(scforhis.ValidationError) as invalid:
            await client.delete({**record, "id": MISTYPED_ID})
        seen.show(invalid.value, invalid.value.result)
    async with scforhis.AsyncClient(**service.client_options("echo")) as client:
        with pytest.raises(scforhis.OutcomeUnknownError) as unknown:
            await client.save(record)
        seen.texts.append("".join(traceback.format_exception(unknown.value)))
        seen.show(unknown.value, unknown.value.cause)


def test_no_secret_or_unmasked_id_anywhere(
    service: ServiceThread, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    caplog.set_level(logging.DEBUG)
    _sync_workflow(service, seen, 1)
    asyncio.run(_async_workflow(service, seen, 2))

    names = {record.name.split(".")[0] for record in caplog.records}
    assert {"scforhis", "httpx", "httpcore"} <= names  # the transport's own logs were captured
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    everything = logged + "\n".join(seen.texts)
    secrets = (PASSWORD, WRONG_PASSWORD, ACCOUNT, *service.state.tokens, *UNMASKED_IDS)
    assert service.state.tokens  # tokens were issued, and are checked
    leaks = [secret for secret in secrets if secret in everything]
    assert leaks == []
    # Masked forms are what people see instead.
    assert "A12****788" in everything and "A12****789" in everything
    assert "?[redacted]" in logged


@pytest.mark.parametrize(
    ("account", "password"),
    [("hosp3501", "hosp3501pass"), ("hosp3501pass", "hosp3501"), ("abc", "xabcx")],
)
def test_overlapping_secrets_are_hidden_whole(account: str, password: str) -> None:
    # One secret inside the other: replacing the shorter first would leave the longer one's
    # remainder readable (`******pass`).
    from scforhis.redaction import HIDDEN, redact

    longer = max(account, password, key=len)
    shorter = min(account, password, key=len)
    # Plain, and as an HTML error page may echo them: with each first letter as an entity, so
    # that they show only once the text is decoded.
    for shown_as in (lambda v: v, lambda v: f"&#{ord(v[0])};{v[1:]}"):
        text = f"login {shown_as(password)} failed for {shown_as(account)}; retry"
        # The client's third secret, its token, is there too, longer than either.
        shown = redact(text, [account, password, "c2VjcmV0LXRva2VuLXZhbHVl"])
        assert account not in shown and password not in shown
        assert longer.replace(shorter, "") not in shown.replace(HIDDEN, "")


@pytest.mark.parametrize(
    "text",
    ["病人 a123456789 未滿18歲", "id=a123456789&x=1", "(b298765432)", "證號:hd12345678。"],
)
def test_national_ids_in_free_text_are_masked_in_either_letter_case(text: str) -> None:
    from scforhis.redaction import redact

    shown = redact(text)
    digits = next(w for w in ("123456789", "298765432", "12345678") if w in text)
    assert digits not in shown
    assert "****" in shown


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [("a\\/b", "a/b"), ("a\\\\c", "a\\c"), ('a\\"b', 'a"b'), ("a\\nb", "a\nb"), ("a\\fb", "a\fb"),
     ("a\\bb", "a\bb"), ("a\\rb", "a\rb"), ("a\\tb", "a\tb"), ("a\\u00e4b", "aäb")],
)  # fmt: skip
def test_json_escapes_decode_as_rfc_8259_defines_them(escaped: str, plain: str) -> None:
    from scforhis.redaction import decoded

    assert decoded(escaped) == plain


@pytest.mark.parametrize("times", [1, 2, 5, 6])
def test_text_encoded_up_to_six_times_is_decoded_whole(times: int) -> None:
    from urllib.parse import quote

    from scforhis.redaction import decoded

    text = "pwd=secret value&id=A123456789"
    encoded = text
    for _ in range(times):
        encoded = quote(encoded, safe="")
    assert decoded(encoded) == text


@pytest.mark.parametrize("times", [7, 8])
def test_a_text_encoded_deeper_shows_its_escapes_hidden(times: int) -> None:
    from urllib.parse import quote

    from scforhis.redaction import HIDDEN, decoded

    encoded = "pwd=x y"
    for _ in range(times):
        encoded = quote(encoded, safe="")
    shown = decoded(encoded)
    assert HIDDEN in shown and "%" not in shown


def test_texts_are_cut_at_the_limit_exactly() -> None:
    from scforhis.redaction import redact

    assert redact("x" * 300) == "x" * 300
    assert redact("x" * 301) == "x" * 297 + "..."
    assert redact("y" * 50, limit=20) == "y" * 17 + "..."


def test_a_text_longer_than_the_scan_limit_loses_its_unscanned_tail() -> None:
    # The scan stops at SCAN_LIMIT; the last 256 scanned characters go too, since a secret may
    # begin there and end beyond the cut.
    from scforhis.redaction import SCAN_LIMIT, redact

    text = "z" * (SCAN_LIMIT + 1000)
    shown = redact(text, limit=10 * SCAN_LIMIT)
    assert shown == "z" * (SCAN_LIMIT - 256) + "..."
    assert redact("z" * SCAN_LIMIT, limit=10 * SCAN_LIMIT) == "z" * SCAN_LIMIT


def test_a_long_secret_cut_by_the_scan_shows_no_part_of_itself() -> None:
    # A token can be longer than the 256 characters dropped after a cut scan (a JWT is): the
    # copy the cut splits must go whole, while the text before the secrets stays.
    from scforhis.redaction import SCAN_LIMIT, redact

    token = "eyJhbGciOi." + "Zm9vYmFy" * 120
    text = "reply: " + "k" * 1000 + token * (SCAN_LIMIT // len(token) + 2)
    shown = redact(text, [token], limit=10 * SCAN_LIMIT)
    assert shown.startswith("reply: kkk") and shown.endswith("...")
    assert "Zm9v" not in shown and "eyJh" not in shown
    # Nothing but copies of a long secret, cut: nothing is left to show but the cut mark.
    assert redact(token * (SCAN_LIMIT // len(token) + 2), [token], limit=SCAN_LIMIT) == "..."


def test_shown_values_mask_only_id_fields_and_hide_secrets() -> None:
    from scforhis.redaction import shown_value

    assert shown_value("A123456789", "national_id") == "'A12****789'"
    assert shown_value("A123456789", None) == "'A123456789'"
    assert shown_value("pass", "secret") == "******"
    assert shown_value(123, "national_id") == "123"
    assert shown_value(None, "secret") == "None"


@pytest.mark.parametrize("secret", ["abcdef", "pä ss", 'q"uote', "x/y+z"])
def test_a_secret_is_replaced_whole_and_nothing_around_it(secret: str) -> None:
    from scforhis.redaction import HIDDEN, redact

    assert redact(f"before {secret} after", [secret]) == f"before {HIDDEN} after"


def test_a_password_that_extends_the_account_is_hidden_whole_in_an_iis_page() -> None:
    # HttpUtility.HtmlEncode writes Latin-1 letters as numeric entities: the account shows as
    # it is, the password's last letter only once decoded.
    from scforhis.redaction import HIDDEN, redact

    shown = redact("<p>Login failed: hosp3501&#233; (hosp3501)</p>", ["hosp3501", "hosp3501é"])
    assert shown == f"<p>Login failed: {HIDDEN} ({HIDDEN})</p>"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"pwd": "q\\"uote"}', 'q"uote'),
        ('{"pwd": "p\\u00e4ss"}', "päss"),
        # Serialised without \u escapes (as .NET's System.Text.Json can be told to): the
        # non-ASCII letters stay, the quote is still escaped.
        ('{"pwd": "pä\\"ss"}', 'pä"ss'),
        # ... and holding what looks like a percent escape, which decoding would change.
        ('{"pwd": "pä\\"%41"}', 'pä"%41'),
        # HTML text escaping that leaves quotes alone, of a secret decoding would change.
        ('pwd=q"%41&amp;x', 'q"%41&x'),
        ("pwd=p%C3%A4ss", "päss"),
    ],
)
def test_an_encoded_secret_is_replaced_whole(text: str, secret: str) -> None:
    from scforhis.redaction import HIDDEN, redact

    shown = redact(text, [secret])
    assert HIDDEN in shown
    assert shown.replace(HIDDEN, "").strip('{}" :=') in ("pwd", '"pwd')


def test_a_secret_that_cannot_be_encoded_is_still_hidden_and_breaks_nothing() -> None:
    # A client made with such a password stays in the transport log filter while it lives: its
    # secret must not make every later log line (of any client) fail.
    from scforhis.redaction import HIDDEN, redact

    assert redact("login ab\ud800 refused", ["ab\ud800"]) == f"login {HIDDEN} refused"
