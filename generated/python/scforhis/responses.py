# Copied by `make generate` from codegen/runtime/responses.py; edit it there.
"""Reading the service's answers as it really sends them, and the results the client returns.

The JSON operations answer an object with an outcome code and a message. Seen and tolerated:
a JSON object; a JSON string that holds the JSON once more; the manual's GetTokenID variant with a
`;` between members (`{"MSG_CODE":"Y","MSG_INFO":"登入成功";"TOKENID": "..."}`); the code spelled
`msG_CODE` (the serializer's), `msg_CODE` (Update's example) or `MSG_CODE` (GetTokenID's). Names
are matched ignoring case. GetSCDataB answers plain text (or the text as a quoted JSON string),
read by `judge_eligibility`, the one function that interprets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import ProtocolError, RejectedError
from .issues import Issue
from .redaction import redact

Redactor = Callable[[str], str]

# GetSCDataB's free text. Eligible: it says 可收案 and nothing negates it; when in doubt, not
# eligible (the message is always kept for a person to read). Reserved: it says 預留收案成功.
ELIGIBLE_MARK = "可收案"
NEGATIONS = ("不可", "無法", "不能", "不得", "不符")
RESERVED_MARK = "預留收案成功"
# A GetSCDataB answer that mentions the token, and is not a yes, blames the token.
TOKEN_MARK = "token"

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


@dataclass(frozen=True, repr=False)
class ApiResult:
    """The outcome of Save, Update or Delete. `ok` is False for a business failure (code N).

    `warnings` are the validator's remarks on the record that was sent (policy rules, unknown names).
    """

    ok: bool
    code: str
    info: str
    operation: str = ""
    warnings: tuple[Issue, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        # The service's message could quote a patient's ID: shown masked.
        return (
            f"ApiResult(ok={self.ok!r}, code={self.code!r}, info={redact(self.info)!r}, "
            f"operation={self.operation!r})"
        )

    def raise_for_code(self) -> ApiResult:
        """Return the result when it succeeded; raise `RejectedError` for code N."""
        if not self.ok:
            raise RejectedError(
                f"{self.operation} 失敗 / {self.operation} was rejected: MSG_CODE={self.code} {redact(self.info)}",
                self.operation,
                code=self.code,
                info=self.info,
            )
        return self


@dataclass(frozen=True, repr=False)
class EligibilityResult:
    """GetSCDataB's answer: may the patient be taken on (`eligible`), was the case reserved
    for this institution (`reserved`), and the service's own words (`message`)."""

    eligible: bool
    reserved: bool
    message: str
    warnings: tuple[Issue, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return (
            f"EligibilityResult(eligible={self.eligible!r}, reserved={self.reserved!r}, "
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


def judge_eligibility(message: str) -> tuple[bool, bool]:
    """(eligible, reserved) from GetSCDataB's text, e.g. 「戒菸治療可收案！！可登錄就醫資料。預留收案成功」.

    Eligible when the text says 可收案 and none of 不可, 無法, 不能, 不得, 不符 appears anywhere in
    it: a text that negates anything is read as a no. Reserved when it says 預留收案成功.
    """
    compact = "".join(message.split())
    eligible = ELIGIBLE_MARK in compact and not any(word in compact for word in NEGATIONS)
    return eligible, RESERVED_MARK in compact


def token_rejected(message: str) -> bool:
    """True when a GetSCDataB answer blames the token (it mentions it and is not a yes)."""
    return TOKEN_MARK in message.lower() and not judge_eligibility(message)[0]


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
    operation: str, reason: str, reason_en: str, text: str, redact: Redactor
) -> ProtocolError:
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
    body = decode_body(text)
    if not isinstance(body, dict):
        reason = ("空白", "empty") if not text.strip() else ("不是 JSON 物件", "not a JSON object")
        raise _protocol(operation, *reason, text, redact)
    members = fold(body)
    code = members.get(shape.code or "")
    if not isinstance(code, str) or code.strip().upper() not in shape.codes:
        raise _protocol(operation, "缺少處理結果代碼", "no valid MSG_CODE", text, redact)
    info = members.get(shape.info or "")
    code = code.strip().upper()
    return code == shape.success, code, str(info) if info is not None else "", members


def read_token(
    operation: str, shape: ResponseShape, text: str, redact: Redactor, now: float
) -> Token:
    """The token of a GetTokenID answer; `RejectedError` for a failed login."""
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
        raise _protocol(operation, "成功但沒有 TokenID", "success without a token", text, redact)
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
    eligible, reserved = judge_eligibility(message)
    return EligibilityResult(eligible and not refused, reserved and not refused, message, warnings)
