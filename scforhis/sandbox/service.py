"""What the sandbox does for each operation, apart from HTTP: `Sandbox.handle()`.

Given a request's parameters (query string or JSON body, already parsed), the sandbox checks the
credentials or the token, validates with the generated validator, applies the programme's rules
(`sandbox_rules`), reads and writes the database in one transaction (`sandbox_store`), and
returns an `Answer`: success or failure, the message in zh-TW (English in parentheses), and for
GetTokenID the token. `sandbox_app` turns answers into HTTP responses in the service's format.

Names are matched ignoring case, as the service binds them; unknown names are ignored. Messages
never carry an account, password or token, and show national IDs masked.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from scforhis._generated.models import CureType
from scforhis._generated.validators import validate
from scforhis.client.replies import RESERVED_MARK
from scforhis.client.wire import OperationSpec, WireField
from scforhis.validation.dates import parse_gregorian, parse_roc, roc_year, taiwan_today
from scforhis.validation.idnumbers import mask_id
from scforhis.validation.issues import ValidationResult

from .programme import booked_elsewhere, course_limit, medication_age
from .settings import Account, SandboxConfig
from .store import Booking, Store, Transaction, VisitKey
from .tokens import EXPIRED, MISSING, TokenIssuer

# The record key by Python field name (the manual's Delete table, without the birthday).
KEY_FIELDS = ("hosp_id", "hosp_seq_no", "id", "birthday", "func_date", "cure_stage", "cure_type")
# Most validator messages put in one answer; the rest are counted.
_MAX_MESSAGES = 20


@dataclass(frozen=True)
class Endpoint:
    """One operation as the sandbox serves it (generated in `sandbox_routes`).

    `kind` is `json` or `text`; `code`, `info` and `token` are the wire names of the JSON answer's
    members (None for a text answer), `success_code` and `failure_code` the outcome codes.
    """

    operation: OperationSpec
    kind: str
    code: str | None
    info: str | None
    token: str | None
    success_code: str | None
    failure_code: str | None
    success_message: str


@dataclass(frozen=True)
class Answer:
    """The outcome of one request, before it is written in the service's format.

    `created` marks a Save that stored a record (where a dropped connection can be injected);
    `note` is a short, masked description for the log.
    """

    ok: bool
    message: str
    status: int = 200
    token: str | None = None
    created: bool = False
    note: str = ""

    def __repr__(self) -> str:
        token = "'******'" if self.token else "None"
        return (
            f"Answer(ok={self.ok}, status={self.status}, message={self.message!r}, token={token})"
        )


def _bound(
    operation: OperationSpec, payload: Mapping[str, object]
) -> dict[str, tuple[WireField, object]]:
    """The payload's values as the service binds them, by canonical wire name: names match
    ignoring case, the last of two names differing only in case wins (as ASP.NET binds), and a
    field's other name in the manual (`examyyear`) stands in when the field itself is absent."""
    fields = {f.wire.lower(): f for f in operation.fields}
    others = {f.also_as.lower(): f for f in operation.fields if f.also_as}
    found: dict[str, tuple[WireField, object]] = {}
    stand_ins: dict[str, tuple[WireField, object]] = {}
    for key, value in payload.items():
        lowered = key.lower()
        item = fields.get(lowered)
        if item is not None:
            found[item.wire] = (item, value)
        elif lowered in others:
            stand_ins[others[lowered].wire] = (others[lowered], value)
    for wire, pair in stand_ins.items():
        if found.get(wire, (None, None))[1] is None:
            found[wire] = pair
    return found


def named_values(operation: OperationSpec, payload: Mapping[str, object]) -> dict[str, object]:
    """The payload's values of the operation's fields, keyed by Python name (see `_bound`)."""
    return {item.python: value for item, value in _bound(operation, payload).values()}


def stored_record(operation: OperationSpec, payload: Mapping[str, object]) -> dict[str, object]:
    """The record as kept: canonical wire names, known fields only, no account or password."""
    record = {
        wire: value
        for wire, (item, value) in _bound(operation, payload).items()
        if item.sensitive != "secret"
    }
    return dict(sorted(record.items()))


def invalid_message(result: ValidationResult, what: str = "資料") -> str:
    """The validator's errors as one answer: zh-TW messages, IDs already masked."""
    messages = [issue.message for issue in result.errors[:_MAX_MESSAGES]]
    more = len(result.errors) - len(messages)
    if more > 0:
        messages.append(f"另有 {more} 項錯誤")
    count = len(result.errors)
    return f"{what}檢核錯誤 {count} 項（{count} validation error(s)）：" + "；".join(messages)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class Sandbox:
    """The sandbox's behaviour for every operation, over one store.

    `clock` (Unix seconds) and `today` are injectable for tests. Thread-safe: each call is one
    database transaction, and the rest is read-only state.
    """

    def __init__(
        self,
        config: SandboxConfig,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        today: Callable[[], date] = taiwan_today,
    ) -> None:
        self.config = config
        self.store = store
        self.today = today
        self.tokens = TokenIssuer(store.secret(config.secret), config.token_minutes * 60, clock)
        self._handlers: dict[str, Callable[[Endpoint, Mapping[str, object]], Answer]] = {
            "GetTokenID": self.get_token_id,
            "GetSCDataB": self.get_sc_data_b,
            "Save": self.save,
            "Update": self.update,
            "Delete": self.delete,
        }

    def handle(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """Answer one request of `endpoint` with these parameters (names in any case)."""
        handler = self._handlers.get(endpoint.operation.name)
        if handler is None:
            return Answer(
                False,
                f"沙盒尚未實作 {endpoint.operation.name}（not implemented in the sandbox）",
                status=501,
            )
        return handler(endpoint, payload)

    # -- credentials ------------------------------------------------------------------------

    def _login(self, values: Mapping[str, object]) -> Account | Answer:
        """The account the request's account and password log in to, or the refusal."""
        name, password = values.get("account"), values.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            return Answer(False, "帳號與密碼為必填（account and password are required）")
        account = self.config.account(name)
        # Compared in constant time, and a wrong account costs as much as a wrong password.
        expected = account.password if account is not None else "\0" * len(password)
        # surrogatepass: a password holding a lone surrogate (a caller's own, not from HTTP)
        # is a wrong password, not an encoding error.
        given = password.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(given, expected.encode()) or account is None:
            return Answer(False, "帳號或密碼錯誤（wrong account or password）")
        return account

    @staticmethod
    def _not_owned(account: Account, values: Mapping[str, object]) -> Answer | None:
        hosp_id, branch = values.get("hosp_id"), values.get("hosp_seq_no")
        if account.owns(hosp_id, branch):
            return None
        return Answer(
            False,
            f"醫事機構代碼 {_text(hosp_id)}、分院 {_text(branch)} 不屬於此帳號"
            "（the institution or branch does not belong to this account）",
        )

    # -- operations -------------------------------------------------------------------------

    def get_token_id(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """GetTokenID: a token for a valid account and password."""
        login = self._login(named_values(endpoint.operation, payload))
        if isinstance(login, Answer):
            return login
        return Answer(True, endpoint.success_message, token=self.tokens.issue(login.account))

    def _token_refusal(self, token: object) -> Account | Answer:
        check = self.tokens.check(token)
        account = self.config.account(check.account) if check.ok else None
        if check.problem == MISSING:
            return Answer(
                False, "未提供 TokenID，請先呼叫 GetTokenID 取得（no token; call GetTokenID first）"
            )
        if check.problem == EXPIRED:
            minutes = f"{self.config.token_minutes:g}"
            return Answer(
                False,
                f"TokenID 已逾期（有效 {minutes} 分鐘），請重新呼叫 GetTokenID 取得"
                "（the token has expired; get a new one from GetTokenID）",
            )
        if account is None:
            return Answer(
                False,
                "TokenID 無效，請重新呼叫 GetTokenID 取得（invalid token; get a new one from GetTokenID）",
            )
        return account

    def get_sc_data_b(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """GetSCDataB: may the patient be taken on; with isBooking=true, reserve them."""
        values = named_values(endpoint.operation, payload)
        account = self._token_refusal(values.get("token"))
        if isinstance(account, Answer):
            return account
        result = validate(endpoint.operation.name, payload, today=self.today())
        if not result.ok:
            return Answer(False, invalid_message(result, "查詢資料"))
        refused = self._not_owned(account, values)
        if refused is not None:
            return refused
        patient, hosp_id = str(values["id"]), str(values["hosp_id"])
        birth, visit = parse_roc(str(values["birthday"])), parse_roc(str(values["func_date"]))
        assert birth is not None and visit is not None  # the validator checked both
        note = f"id={mask_id(patient)} hosp_id={hosp_id}"
        reason = medication_age(
            values["cure_type"] == CureType.MEDICATION,
            birth,
            visit,
            self.config.medication_min_age,
        )
        if reason is not None:
            return Answer(False, f"不可收案：{reason}", note=note)
        booking = str(values["is_booking"]).lower() == "true"
        year = roc_year(visit)
        with self.store.write() if booking else self.store.read() as tx:
            reason = booked_elsewhere(tx.booking(patient), hosp_id, visit) or course_limit(
                tx.courses(patient, str(year)), None, year, self.config.courses_per_year
            )
            if reason is not None:
                return Answer(False, f"不可收案：{reason}", note=note)
            if booking:
                ends = visit + timedelta(days=self.config.reservation_days)
                tx.book(Booking(patient, hosp_id, str(values["hosp_seq_no"]), visit, ends))
        eligible = endpoint.success_message.removesuffix(RESERVED_MARK)
        return Answer(True, eligible + RESERVED_MARK if booking else eligible, note=note)

    def _checked(
        self, endpoint: Endpoint, payload: Mapping[str, object]
    ) -> tuple[dict[str, object], VisitKey, str] | Answer:
        """Credentials, validation and ownership: the values, key and note, or the refusal."""
        values = named_values(endpoint.operation, payload)
        account = self._login(values)
        if isinstance(account, Answer):
            return account
        result = validate(endpoint.operation.name, payload, today=self.today())
        if not result.ok:
            return Answer(False, invalid_message(result))
        refused = self._not_owned(account, values)
        if refused is not None:
            return refused
        key = VisitKey(*(str(values[name]) for name in KEY_FIELDS))
        return values, key, f"id={mask_id(key.id)} hosp_id={key.hosp_id}"

    def _medication_age(self, values: Mapping[str, object]) -> str | None:
        birth = parse_gregorian(str(values["birthday"]))
        visit = parse_gregorian(str(values["func_date"]))
        assert birth is not None and visit is not None  # the validator checked both
        return medication_age(
            values["cure_type"] == CureType.MEDICATION, birth, visit, self.config.medication_min_age
        )

    def _record(
        self, endpoint: Endpoint, payload: Mapping[str, object]
    ) -> Answer | tuple[VisitKey, str, str, dict[str, object]]:
        """What Save and Update both need: the checked record's key, log note, course year and
        stored form, or the refusal (a bad request, or medication under the minimum age)."""
        checked = self._checked(endpoint, payload)
        if isinstance(checked, Answer):
            return checked
        values, key, note = checked
        reason = self._medication_age(values)
        if reason is not None:
            return Answer(False, reason, note=note)
        examyear = str(int(str(values["examyear"])))
        return key, note, examyear, stored_record(endpoint.operation, payload)

    def save(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """Save: store a new visit record."""
        found = self._record(endpoint, payload)
        if isinstance(found, Answer):
            return found
        key, note, examyear, record = found
        visit = parse_gregorian(key.func_date)
        assert visit is not None
        with self.store.write() as tx:
            reason = self._save_refusal(tx, key, examyear, visit)
            if reason is not None:
                return Answer(False, reason, note=note)
            if not tx.insert_visit(key, examyear, record):
                return Answer(
                    False,
                    "此筆就醫資料已存在（院所、分院、身分證號、就診日期、療程序號、治療類別相同），"
                    "請改用 Update 更新（this visit is already stored; use Update to change it）",
                    note=note,
                )
        return Answer(True, endpoint.success_message, created=True, note=note)

    def _save_refusal(
        self, tx: Transaction, key: VisitKey, examyear: str, visit: date
    ) -> str | None:
        year = int(examyear)
        return booked_elsewhere(tx.booking(key.id), key.hosp_id, visit) or course_limit(
            tx.courses(key.id, examyear),
            (key.hosp_id, key.cure_stage),
            year,
            self.config.courses_per_year,
        )

    def update(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """Update: replace a stored visit record."""
        found = self._record(endpoint, payload)
        if isinstance(found, Answer):
            return found
        key, note, examyear, record = found
        with self.store.write() as tx:
            if not tx.update_visit(key, examyear, record):
                return Answer(
                    False,
                    "查無此筆就醫資料，無法更新；請先以 Save 新增（no such visit; Save it first）",
                    note=note,
                )
        return Answer(True, endpoint.success_message, note=note)

    def delete(self, endpoint: Endpoint, payload: Mapping[str, object]) -> Answer:
        """Delete: remove a stored visit record."""
        checked = self._checked(endpoint, payload)
        if isinstance(checked, Answer):
            return checked
        _, key, note = checked
        with self.store.write() as tx:
            if not tx.delete_visit(key):
                return Answer(
                    False, "查無此筆就醫資料，無法刪除（no such visit to delete）", note=note
                )
        return Answer(True, endpoint.success_message, note=note)
