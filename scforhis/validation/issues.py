"""Validation results: issues with stable codes and messages in zh-TW and English.

An `Issue` names the field by its canonical wire name and the manual's zh-TW label. Messages
never carry a secret (account, password, token) and show national ID numbers masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .idnumbers import mask_id
from .text import ECHO_LENGTH, echo, printable, surrogate_at


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What an issue needs to know about a field: names, labels, and how sensitive its value is."""

    wire: str
    name: str
    label: str
    label_en: str
    sensitive: str | None = None

    def shown(self, value: str) -> str:
        """The value as a person may see it: hidden for secrets, masked for ID numbers, cut
        short when long (`text.echo`)."""
        if self.sensitive == "secret":
            return "******"
        if self.sensitive == "national_id":
            return masked(value)
        return echo(value)


def masked(value: str) -> str:
    """An ID number as a person may see it (`A12****789`); a value too long to be one shows
    its first three characters, as a masked ID does, and its length."""
    if len(value) <= ECHO_LENGTH:
        return printable(mask_id(value))
    return f"{printable(value[:3])}****…({len(value)} 字元 characters)"


class Issue(NamedTuple):
    """One problem (error) or remark (warning) about one field of a payload.

    `code` is stable for programs: required, missing, blank, type, enum, pattern, length,
    alias_only, alias_differs,
    checksum, date, range, count, cross_field, policy, unknown_field, duplicate_field, encoding,
    payload, operation. `severity` follows `evidence`, which says why the finding holds: `manual` (the
    manual says so) and `storage` (a known column cannot hold the value) make errors, since the
    service refuses them; `input` (the file itself cannot be read as records: a row longer than
    its header, a visit twice in one file) makes errors too, since nothing certain can be sent;
    `programme` (the programme's rules) and `plausibility` (judgement) make warnings. A named
    tuple (immutable, and the cheapest object to build) because invalid exports have many.
    """

    field: str
    label: str
    code: str
    message: str
    message_en: str
    severity: str = "error"
    rule: str | None = None
    evidence: str | None = None

    def __str__(self) -> str:
        where = f"{self.field}（{self.label}）" if self.label else self.field
        return f"{where} [{self.code}] {self.message} / {self.message_en}"

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready mapping."""
        data = {
            "field": self.field,
            "label": self.label,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "message_en": self.message_en,
        }
        if self.rule:
            data["rule"] = self.rule
        if self.evidence:
            data["evidence"] = self.evidence
        return data

    def as_error(self) -> Issue:
        """This finding as an error (what `strict` makes of a warning)."""
        return self if self.severity == "error" else self._replace(severity="error")


class ValidationResult(NamedTuple):
    """Everything wrong with one payload: `errors` make it invalid, `warnings` do not.

    A named tuple rather than a dataclass: validators build one per record, and a tuple is the
    cheapest immutable object to build.
    """

    operation: str
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def strict(self) -> ValidationResult:
        """This result with every warning turned into an error (for callers who refuse on any)."""
        if not self.warnings:
            return self
        errors = self.errors + tuple(issue.as_error() for issue in self.warnings)
        return ValidationResult(self.operation, errors, ())

    def __bool__(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        if not self.errors and not self.warnings:
            return f"{self.operation}: 通過 / valid"
        head = f"{self.operation}: {len(self.errors)} 個錯誤 errors, {len(self.warnings)} 個警告 warnings"
        lines = [head]
        lines += [f"  錯誤 error: {issue}" for issue in self.errors]
        lines += [f"  警告 warning: {issue}" for issue in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready mapping."""
        return {
            "operation": self.operation,
            "ok": self.ok,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


# Builds an Issue without the named tuple's Python-level __new__ (invalid exports have many).
_new = tuple.__new__


def _issue(
    info: FieldInfo,
    code: str,
    message: str,
    message_en: str,
    severity: str = "error",
    evidence: str = "manual",
) -> Issue:
    return _new(Issue, (info.wire, info.label, code, message, message_en, severity, None, evidence))


def severity_of(evidence: str) -> str:
    """`error` for manual, storage and input evidence, `warning` for programme and plausibility."""
    return "error" if evidence in ("manual", "storage", "input") else "warning"


class Bounds(NamedTuple):
    """A number range and the evidence behind it; `hint` says why a value outside looks wrong."""

    low: float
    high: float
    evidence: str
    hint: str = ""
    hint_en: str = ""


class Advice(NamedTuple):
    """A shape a value should have though the service may take others (a warning)."""

    pattern: Any  # re.Pattern[str]; Any keeps this module free of `re`
    expected: str
    expected_en: str
    hint: str
    hint_en: str
    evidence: str


def required(info: FieldInfo, when: str = "", when_en: str = "") -> Issue:
    """The field is missing (or null) where it is required."""
    if when:
        return _issue(
            info,
            "required",
            f"{when}時「{info.label}」為必填",
            f"{info.label_en} is required for a {when_en}",
        )
    return _issue(info, "required", f"「{info.label}」為必填", f"{info.label_en} is required")


def blank(info: FieldInfo, when: str = "", when_en: str = "") -> Issue:
    """The field is present but empty or only spaces where a value is required."""
    if when:
        return _issue(
            info,
            "blank",
            f"{when}時「{info.label}」不可空白",
            f"{info.label_en} must not be blank for a {when_en}",
        )
    return _issue(info, "blank", f"「{info.label}」不可空白", f"{info.label_en} must not be blank")


def left_out(info: FieldInfo, message: str, message_en: str, evidence: str) -> Issue:
    """An optional field left out that should not be (a warning, with what to do)."""
    return _issue(info, "missing", message, message_en, severity_of(evidence), evidence)


class Unhashable:
    """Stands in for a value that cannot be hashed (a list, a JSON object), so that the
    validator's set look-ups can meet it; `wrong_type` reports the value's own type."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Unhashable({type(self.value).__name__})"


def wrong_type(info: FieldInfo, value: object) -> Issue:
    """The value is not a string (the service binds every field as a string)."""
    kind = type(value.value if type(value) is Unhashable else value).__name__
    return _issue(
        info,
        "type",
        f'「{info.label}」須為字串（收到 {kind}），數字也要加引號，例如 "1"',
        f'{info.label_en} must be a string (got {kind}); quote numbers too, as in "1"',
    )


def not_in_enum(
    info: FieldInfo,
    value: str,
    choices: str,
    choices_en: str,
    when: str = "",
    when_en: str = "",
    *,
    fixed: str = "",
    why: str = "",
    why_en: str = "",
) -> Issue:
    """The value is not one of the codes the field allows.

    With `fixed` (the code as it should be written, shown as a person may see it) and `why`
    (what is wrong with the writing, in zh-TW and English), the message names the code to write
    instead of calling a mistyped allowed code (`1 `, `y`) not allowed.
    """
    shown = info.shown(value)
    prefix, prefix_en = (f"{when}時", f" for a {when_en}") if when else ("", "")
    if fixed:
        return _issue(
            info,
            "enum",
            f"{prefix}「{info.label}」的代碼「{shown}」寫法有誤：{why}，應為 {fixed}（可用：{choices}）",
            f"{info.label_en}: code {shown!r} is not written as allowed{prefix_en}: {why_en}, "
            f"so write {fixed} (codes: {choices_en})",
        )
    return _issue(
        info,
        "enum",
        f"{prefix}「{info.label}」的代碼「{shown}」不在允許範圍：{choices}",
        f"{info.label_en}: code {shown!r} is not allowed{prefix_en}; use {choices_en}",
    )


def bad_pattern(
    info: FieldInfo,
    value: str,
    expected: str,
    expected_en: str,
    hint: str = "",
    hint_en: str = "",
    evidence: str = "manual",
) -> Issue:
    """The value is not written the way the field's format requires (or, as a warning, should)."""
    shown = info.shown(value)
    severity = severity_of(evidence)
    if severity == "error":
        return _issue(
            info,
            "pattern",
            f"「{info.label}」格式錯誤（收到「{shown}」），應為{expected}{hint}",
            f"{info.label_en} is malformed (got {shown!r}); expected {expected_en}{hint_en}",
            severity,
            evidence,
        )
    return _issue(
        info,
        "pattern",
        f"「{info.label}」通常為{expected}（收到「{shown}」）{hint}；服務也許仍會接受，請確認",
        f"{info.label_en} is usually {expected_en} (got {shown!r}){hint_en}; the service may still take it, please check",
        severity,
        evidence,
    )


def advice_issue(
    info: FieldInfo, value: str, advice: Advice, fix_hint: str = "", fix_hint_en: str = ""
) -> Issue:
    """A value the service may take that does not have the shape it usually has; `fix_hint`
    (`；…，應為 01`) follows the advice's own hint and names the value to write."""
    hint = f"：{advice.hint}" if advice.hint else ""
    hint_en = f": {advice.hint_en}" if advice.hint_en else ""
    return bad_pattern(
        info,
        value,
        advice.expected,
        advice.expected_en,
        hint + fix_hint,
        hint_en + fix_hint_en,
        advice.evidence,
    )


def too_long(
    info: FieldInfo, value: str, longest: int, evidence: str, hint: str = "", hint_en: str = ""
) -> Issue:
    """A value longer than the column that stores it; `hint` may name the value to write."""
    shown = info.shown(value)
    return _issue(
        info,
        "length",
        f"「{info.label}」（收到「{shown}」，{len(value)} 個字元）超過欄位長度 {longest}{hint}",
        f"{info.label_en} ({shown!r}, {len(value)} characters) is longer than its column "
        f"({longest}){hint_en}",
        severity_of(evidence),
        evidence,
    )


def bad_checksum(info: FieldInfo, value: str) -> Issue:
    """An ID number whose check digit is wrong: usually a typing mistake."""
    shown = info.shown(value)
    return _issue(
        info,
        "checksum",
        f"「{info.label}」檢查碼錯誤（{shown}），請確認是否打錯",
        f"{info.label_en} has a wrong check digit ({shown}); check for a typing mistake",
    )


def bad_date(info: FieldInfo, value: str) -> Issue:
    """A date written correctly that names no real day (30 February, 29 February of a common year)."""
    return _issue(
        info,
        "date",
        f"「{info.label}」不是存在的日期（{info.shown(value)}）",
        f"{info.label_en} is not a real calendar date ({info.shown(value)})",
    )


def out_of_range(info: FieldInfo, value: str, bounds: Bounds) -> Issue:
    """A number outside the field's range: one the column cannot hold (an error) or one
    outside the plausible range (a warning, with the hint that says why)."""
    low, high = f"{bounds.low:g}", f"{bounds.high:g}"
    value = info.shown(value)
    severity = severity_of(bounds.evidence)
    if severity == "error":
        return _issue(
            info,
            "range",
            f"「{info.label}」數值 {value} 超出可存範圍 {low} 至 {high}",
            f"{info.label_en} value {value} is outside what the service stores ({low} to {high})",
            severity,
            bounds.evidence,
        )
    hint = f"：{bounds.hint}" if bounds.hint else ""
    hint_en = f": {bounds.hint_en}" if bounds.hint_en else ""
    return _issue(
        info,
        "range",
        f"「{info.label}」數值 {value} 不在常見範圍 {low} 至 {high}{hint}",
        f"{info.label_en} value {value} is outside the usual {low} to {high}{hint_en}",
        severity,
        bounds.evidence,
    )


def _surrogate_words(text: str) -> tuple[str, str]:
    """Which character of `text` is its first lone surrogate, in zh-TW and English."""
    at = surrogate_at(text)
    point = f"U+{ord(text[at]):04X}"
    return (
        f"第 {at + 1} 個字元是單獨的代理字元 {point}",
        f"character {at + 1} is a lone surrogate, {point}",
    )


_CANNOT_SEND = "UTF-8 無法編碼：服務以 UTF-8 讀取請求，這筆資料送不出去"
_CANNOT_SEND_EN = (
    "which UTF-8 cannot encode: the service reads requests as UTF-8, so this one cannot be sent"
)


def unencodable(info: FieldInfo, value: object, evidence: str) -> Issue:
    """The value holds a lone surrogate (U+D800 to U+DFFF), which UTF-8 cannot encode: the
    request cannot be sent, and the service could not read it (`text` says why). `value` is a
    string, or a list or object (of an unknown field) holding one somewhere."""
    name, name_en = info.label or info.wire, info.label_en or info.wire
    if isinstance(value, str) and surrogate_at(value) >= 0:
        where, where_en = _surrogate_words(value)
        shown = info.shown(value)
        message = f"「{name}」{where}（收到「{shown}」），{_CANNOT_SEND}，請重新輸入這個值"
        message_en = f"{name_en}: {where_en} (got {shown!r}), {_CANNOT_SEND_EN}; enter it again"
    else:
        message = f"「{name}」的值含單獨的代理字元（U+D800–U+DFFF），{_CANNOT_SEND}"
        message_en = f"{name_en} holds a lone surrogate (U+D800 to U+DFFF), {_CANNOT_SEND_EN}"
    return _issue(info, "encoding", message, message_en, severity_of(evidence), evidence)


def unencodable_name(name: str, evidence: str) -> Issue:
    """A field name holding a lone surrogate: the request cannot be sent (see `unencodable`)."""
    shown = echo(name)
    where, where_en = _surrogate_words(name)
    return Issue(
        shown,
        "",
        "encoding",
        f"欄位名稱「{shown}」{where}，{_CANNOT_SEND}",
        f"The field name {shown!r}: {where_en}, {_CANNOT_SEND_EN}",
        severity_of(evidence),
        None,
        evidence,
    )


def rule_issue(
    info: FieldInfo,
    rule: str,
    code: str,
    severity: str,
    message: str,
    message_en: str,
    evidence: str | None = None,
) -> Issue:
    """A finding of one of the spec's rules (cross-field check or programme policy)."""
    return _new(Issue, (info.wire, info.label, code, message, message_en, severity, rule, evidence))


def not_an_object(operation: str, payload: object) -> Issue:
    """The payload is not a JSON object at all."""
    kind = type(payload).__name__
    return Issue(
        "",
        "",
        "payload",
        f"{operation} 的資料須為 JSON 物件（收到 {kind}）",
        f"A {operation} payload must be a JSON object (got {kind})",
    )
