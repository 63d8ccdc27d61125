"""Reading the service's answers as it really sends them, and the results the client returns.

The JSON operations answer an object with an outcome code and a message. Seen and tolerated:
a JSON object; a JSON string that holds the JSON once more; the manual's GetTokenID variant with a
`;` between members (`{"MSG_CODE":"Y","MSG_INFO":"登入成功";"TOKENID": "..."}`); the code spelled
`msG_CODE` (the serializer's), `msg_CODE` (Update's example) or `MSG_CODE` (GetTokenID's); a bare
token (text or a JSON string) of the manual's token's shape, as a .NET action typed `string` may
answer. Names are matched ignoring case.

GetSCDataB answers plain text (or the text as a quoted JSON string), read by `judge_eligibility`
against the replies the spec lists (`ResponseShape.replies`): a yes only for a whole text listed as
one, a no for a listed refusal, and `Eligibility.UNKNOWN` for any other text, never a yes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scforhis.errors import ProtocolError, RejectedError
from scforhis.redaction import redact
from scforhis.validation.issues import Issue

Redactor = Callable[[str], str]

# The manual's success text ends with this sentence when the patient was reserved (isBooking=true).
RESERVED_MARK = "預留收案成功"


class Eligibility(StrEnum):
    """What a GetSCDataB reply means."""

    ELIGIBLE = "eligible"  # a known yes: the patient may be taken on
    NOT_ELIGIBLE = "not_eligible"  # a known refusal
    UNKNOWN = "unknown"  # a text the spec does not list: read it, never take it as a yes
    TOKEN_REFUSED = "token_refused"  # the token was refused (the client renews it once)


@dataclass(frozen=True, slots=True)
class KnownReply:
    """A reply whose meaning the spec records: the whole `text`, or (refusals only) any text that
    `contains` a phrase. Compared ignoring white space, letter case and width (NFKC)."""

    text: str | None
    contains: str | None
    outcome: str
    reserved: bool = False


# Members of an object written loosely: `"name": "value"` or `"name": bare`, any separator.
_LOOSE_MEMBER = re.compile(r'"([^"\\]+)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,;}\s]+)')


@dataclass(frozen=True, slots=True)
class ResponseShape:
    """What an operation answers, as the spec says: `json` (an object) or `text`.

    Names are lower-cased wire names: `code` holds the outcome code (`codes`, `success` meaning
    success), `info` the message, `token` the token (GetTokenID only).
    """

    kind: str
    code: str | None = None
    info: str | None = None
    token: str | None = None
    success: str = ""
    codes: frozenset[str] = frozenset()
    success_messages: tuple[str, ...] = ()
    # A token answered bare is read when it fully matches this (GetTokenID only).
    token_shape: str | None = None
    # The texts whose meaning is known (GetSCDataB only).
    replies: tuple[KnownReply, ...] = ()


@dataclass(frozen=True, repr=False)
class ApiResult:
    """The outcome of Save, Update or Delete. `ok` is False for a business failure (code N).

    `warnings` are the validator's remarks on the record that was sent (policy rules, unknown names).
    `may_have_succeeded_earlier` is True for an N answered to a retry after an attempt that may have
    reached the service (a dropped connection, a timeout, a 5xx): a Delete answered "not found"
    then may have deleted the visit the first time.
    """

    ok: bool
    code: str
    info: str
    operation: str = ""
    warnings: tuple[Issue, ...] = field(default=(), repr=False)
    may_have_succeeded_earlier: bool = False

    EARLIER_NOTE = (
        "先前的嘗試可能已送達並成功（例如已刪除）/ an earlier attempt may have reached the "
        "service and succeeded (a Delete answered 'not found' may have deleted it the first time)"
    )

    def __repr__(self) -> str:
        # The service's message could quote a patient's ID: shown masked.
        earlier = ", may_have_succeeded_earlier=True" if self.may_have_succeeded_earlier else ""
        return (
            f"ApiResult(ok={self.ok!r}, code={self.code!r}, info={redact(self.info)!r}, "
            f"operation={self.operation!r}{earlier})"
        )

    def raise_for_code(self) -> ApiResult:
        """Return the result when it succeeded; raise `RejectedError` for code N."""
        if not self.ok:
            earlier = f" ({self.EARLIER_NOTE})" if self.may_have_succeeded_earlier else ""
            raise RejectedError(
                f"{self.operation} 失敗 / {self.operation} was rejected: MSG_CODE={self.code} {redact(self.info)}{earlier}",
                self.operation,
                code=self.code,
                info=self.info,
            )
        return self


@dataclass(frozen=True, repr=False)
class EligibilityResult:
    """GetSCDataB's answer: what it means (`outcome`: eligible, not eligible or unknown), whether
    the case was reserved for this institution (`reserved`), and the service's own words
    (`message`). `eligible` is True only for a reply the spec lists as a yes."""

    outcome: Eligibility
    reserved: bool
    message: str
    warnings: tuple[Issue, ...] = field(default=(), repr=False)

    @property
    def eligible(self) -> bool:
        """True only for a known yes: never for an unknown text."""
        return self.outcome is Eligibility.ELIGIBLE

    def __repr__(self) -> str:
        return (
            f"EligibilityResult(outcome={self.outcome.value!r}, reserved={self.reserved!r}, "
            f"message={redact(self.message)!r})"
        )


@dataclass(frozen=True, repr=False)
class Token:
    """A token from GetTokenID. Opaque: sent back as it came, never shown (`repr` hides it)."""

    value: str
    obtained_at: float
    info: str = ""

    def __repr__(self) -> str:
        return f"Token(value='******', info={self.info!r})"

    __str__ = __repr__


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def judge_eligibility(message: str, replies: tuple[KnownReply, ...]) -> tuple[Eligibility, bool]:
    """(outcome, reserved) of GetSCDataB's text, from the known `replies` (the spec's).

    A whole listed text gives its outcome; else the first listed phrase a refusal `contains`;
    else `Eligibility.UNKNOWN`. Texts are compared ignoring white space, case and width.
    """
    compact = _compact(message)
    for reply in replies:
        if reply.text is not None and _compact(reply.text) == compact:
            return Eligibility(reply.outcome), reply.reserved
    for reply in replies:
        # A phrase never makes a yes (the spec's schema allows phrases for refusals only).
        phrase = reply.contains
        if (
            phrase is not None
            and reply.outcome != Eligibility.ELIGIBLE
            and _compact(phrase) in compact
        ):
            return Eligibility(reply.outcome), False
    return Eligibility.UNKNOWN, False


def decode_body(text: str) -> object:
    """The answer as the service meant it: a dict for an object, a str for text.

    A JSON string is unwrapped (twice at most: a JSON string holding JSON); an object that is not
    valid JSON (the manual's `;` variant) is read member by member; anything else is text.
    """
    value: object = text.strip().lstrip("\ufeff").strip()
    for _ in range(2):
        if not isinstance(value, str) or not value.startswith(("{", '"', "[")):
            break
        source = value
        try:
            value = json.loads(source)
        except ValueError:
            return _loose_object(source) if source.startswith("{") else source
        if isinstance(value, str):
            value = value.strip()
    return value


def _loose_object(text: str) -> object:
    members = _LOOSE_MEMBER.findall(text)
    if not members:
        return text
    loose: dict[str, object] = {}
    for name, raw in members:
        try:
            loose[name] = json.loads(raw) if raw.startswith('"') else raw
        except ValueError:
            loose[name] = raw.strip('"')
    return loose


def fold(body: Mapping[object, object]) -> dict[str, object]:
    """Members keyed by their lower-cased names (the service binds and writes names in any case)."""
    return {str(name).strip().lower(): value for name, value in body.items()}


def _protocol(
    operation: str,
    reason: str,
    reason_en: str,
    text: str,
    redact: Redactor,
    quoted: bool = True,
) -> ProtocolError:
    if not quoted:
        # The answer may be a secret itself (a bare token of another shape): described, not shown.
        shown = f"[{len(text)} 個字元未顯示 / {len(text)} characters not shown]"
        return ProtocolError(
            f"{operation} 的回應無法解讀（{reason}）/ cannot read the {operation} answer ({reason_en}): {shown}",
            operation,
            text=shown,
        )
    shown = redact(text)
    return ProtocolError(
        f"{operation} 的回應無法解讀（{reason}）/ cannot read the {operation} answer ({reason_en}): {shown!r}",
        operation,
        text=shown,
    )


def read_outcome(
    operation: str, shape: ResponseShape, text: str, redact: Redactor
) -> tuple[bool, str, str, dict[str, object]]:
    """(ok, code, info, members) of a JSON answer; `ProtocolError` when it cannot be read."""
    quoted = shape.token is None  # an answer that carries a token is never quoted
    body = decode_body(text)
    if not isinstance(body, dict):
        reason = ("空白", "empty") if not text.strip() else ("不是 JSON 物件", "not a JSON object")
        raise _protocol(operation, *reason, text, redact, quoted)
    members = fold(body)
    code = members.get(shape.code or "")
    if not isinstance(code, str) or code.strip().upper() not in shape.codes:
        raise _protocol(operation, "缺少處理結果代碼", "no valid MSG_CODE", text, redact, quoted)
    info = members.get(shape.info or "")
    code = code.strip().upper()
    return code == shape.success, code, str(info) if info is not None else "", members


def bare_token(shape: ResponseShape, text: str) -> str | None:
    """The token of an answer that is the token alone (text or a JSON string) of the token's shape."""
    if shape.token_shape is None:
        return None
    body = decode_body(text)
    if isinstance(body, str) and re.fullmatch(shape.token_shape, body):
        return body
    return None


def read_token(
    operation: str, shape: ResponseShape, text: str, redact: Redactor, now: float
) -> Token:
    """The token of a GetTokenID answer; `RejectedError` for a failed login."""
    bare = bare_token(shape, text)
    if bare is not None:
        return Token(bare, now)
    ok, code, info, members = read_outcome(operation, shape, text, redact)
    if not ok:
        raise RejectedError(
            f"{operation} 失敗（登入被拒）/ {operation} was rejected (login failed): MSG_CODE={code} {redact(info)}",
            operation,
            code=code,
            info=redact(info),
        )
    value = members.get(shape.token or "")
    if not isinstance(value, str) or not value.strip():
        raise _protocol(
            operation, "成功但沒有 TokenID", "success without a token", text, redact, False
        )
    return Token(value.strip(), now, info)


def read_result(
    operation: str,
    shape: ResponseShape,
    text: str,
    redact: Redactor,
    warnings: tuple[Issue, ...] = (),
) -> ApiResult:
    """The `ApiResult` of a Save, Update or Delete answer."""
    ok, code, info, _ = read_outcome(operation, shape, text, redact)
    return ApiResult(ok, code, info, operation, warnings)


def read_message(
    operation: str, shape: ResponseShape, text: str, redact: Redactor
) -> tuple[str, bool]:
    """(message, refused) of a text answer; `refused` when an object answer carries a failure code."""
    body = decode_body(text)
    if isinstance(body, dict):
        members = fold(body)
        info = members.get(shape.info or "")
        code = members.get(shape.code or "")
        if not isinstance(info, str):
            raise _protocol(
                operation, "物件中沒有訊息", "an object without a message", text, redact
            )
        refused = isinstance(code, str) and code.strip().upper() != shape.success
        return info.strip(), refused
    if not isinstance(body, str) or not body:
        reason = ("空白", "empty") if not text.strip() else ("不是文字", "not text")
        raise _protocol(operation, *reason, text, redact)
    if body.startswith("<"):
        raise _protocol(operation, "收到 HTML 而非文字", "HTML instead of text", text, redact)
    return body, False


def read_eligibility(
    operation: str,
    shape: ResponseShape,
    text: str,
    redact: Redactor,
    warnings: tuple[Issue, ...] = (),
) -> EligibilityResult:
    """The `EligibilityResult` of a GetSCDataB answer."""
    message, refused = read_message(operation, shape, text, redact)
    outcome, reserved = judge_eligibility(message, shape.replies)
    if refused and outcome is Eligibility.ELIGIBLE:
        # An object whose code says no, whatever its text: a no, never a yes.
        outcome, reserved = Eligibility.NOT_ELIGIBLE, False
    return EligibilityResult(outcome, reserved, message, warnings)
