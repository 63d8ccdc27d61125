"""The sandbox's settings: accounts, token lifetime, limits, programme rules and fault injection.

Read from a TOML file (or JSON with the same structure) given as `scforhis sandbox --config PATH`:

    token_minutes = 20           # how long a TokenID stays valid
    max_body_bytes = 65536       # larger bodies are refused (HTTP 413)
    reservation_days = 90        # how long a booking (isBooking=true) holds a patient
    courses_per_year = 2         # the programme's limit of courses per patient and year
    medication_min_age = 18      # medication from this age; younger patients get education
    # secret = "..."             # HMAC key of tokens; by default one kept in the database

    [[accounts]]
    account = "3501200000ADM"
    password = "12345678"
    hosp_id = "3501200000"       # the institution the account belongs to
    branches = ["00"]            # its branch codes (hosP_SEQ_NO)

    [limits]                     # what the server takes from careless clients
    max_connections = 1000       # open at once (fewer if the open-file limit is lower); one
                                 # more closes the longest-idle, or is answered 503
    header_timeout_s = 10        # to send a request's line and headers (idle ones included)
    body_timeout_s = 30          # to send a request's body (else HTTP 408)
    keep_alive_s = 5             # an idle keep-alive connection stays open this long

    [faults]                     # for client tests; all off by default
    latency_ms = 0               # added to every answer
    error_rate = 0.0             # share of requests answered HTTP 503 before any work
    drop_rate = 0.0              # share of stored Saves whose connection is dropped unanswered
    seed = 1                     # makes the shares repeatable

Without a file there is one demo account, the manual's example (`DEMO_ACCOUNT`). Every problem
in a file is reported at once by `SandboxConfigError`, with the key it concerns.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_HOSP_ID = re.compile(r"[0-9]{10}")
_BRANCH = re.compile(r"[0-9]{2}")


class SandboxConfigError(ValueError):
    """A sandbox configuration file that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Account:
    """An institution's account: its password, institution code and branch codes."""

    account: str
    password: str = field(repr=False)
    hosp_id: str = ""
    branches: tuple[str, ...] = ("00",)

    def owns(self, hosp_id: object, hosp_seq_no: object) -> bool:
        """True when the institution (and branch) belongs to this account."""
        return hosp_id == self.hosp_id and hosp_seq_no in self.branches

    def __repr__(self) -> str:
        # The account name is a credential too (the spec marks it secret): never shown.
        return f"Account(account='******', hosp_id={self.hosp_id!r}, branches={self.branches!r})"


# The manual's examples: account 3501200000ADM, password 12345678, institution 3501200000, branch 00.
DEMO_ACCOUNT = Account("3501200000ADM", "12345678", "3501200000", ("00",))


@dataclass(frozen=True)
class Faults:
    """Failures the sandbox adds on purpose, for testing clients; all off by default."""

    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None

    @property
    def active(self) -> bool:
        """True when any fault is switched on."""
        return bool(self.latency or self.error_rate or self.drop_rate)

    def describe(self) -> str:
        """A one-line summary for the startup message."""
        if not self.active:
            return "off"
        return (
            f"latency {self.latency * 1000:g} ms, 503 share {self.error_rate:g}, "
            f"dropped-after-Save share {self.drop_rate:g}"
        )


@dataclass(frozen=True)
class Limits:
    """How much the sandbox server takes from its clients.

    `max_connections`: open connections at once (capped below the open-file limit);
    `header_timeout`: seconds a connection may take to send a request's line and headers,
    from when it opens or its last answer went out; `body_timeout`: seconds to receive a
    request's body; `keep_alive`: seconds an idle keep-alive connection stays open.
    """

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: float = 5.0


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox server is told."""

    accounts: tuple[Account, ...] = (DEMO_ACCOUNT,)
    token_minutes: float = 20.0
    max_body_bytes: int = 64 * 1024
    reservation_days: int = 90
    courses_per_year: int = 2
    medication_min_age: int = 18
    secret: str | None = field(default=None, repr=False)
    faults: Faults = field(default_factory=Faults)
    limits: Limits = field(default_factory=Limits)

    def account(self, name: object) -> Account | None:
        """The account called `name`, or None."""
        return next((a for a in self.accounts if a.account == name), None)

    def with_faults(self, **changes: Any) -> SandboxConfig:
        """A copy with some fault settings replaced (command-line options win over the file)."""
        given = {key: value for key, value in changes.items() if value is not None}
        return replace(self, faults=replace(self.faults, **given)) if given else self


_TOP_KEYS = {
    "token_minutes",
    "max_body_bytes",
    "reservation_days",
    "courses_per_year",
    "medication_min_age",
    "secret",
    "accounts",
    "faults",
    "limits",
}
_ACCOUNT_KEYS = {"account", "password", "hosp_id", "branches"}
_FAULT_KEYS = {"latency_ms", "error_rate", "drop_rate", "seed"}
_LIMIT_KEYS = {"max_connections", "header_timeout_s", "body_timeout_s", "keep_alive_s"}


class _Reader:
    """Reads a parsed file, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def unknown(self, where: str, data: Mapping[str, Any], known: set[str]) -> None:
        for key in sorted(set(data) - known):
            self.problems.append(
                f"{where}{key}: 未知設定 (unknown key; known: {', '.join(sorted(known))})"
            )

    def number(
        self, data: Mapping[str, Any], key: str, default: float, low: float, high: float
    ) -> float:
        value = data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            self.problems.append(
                f"{key}: 須為 {low:g} 到 {high:g} 的數字 (a number from {low:g} to {high:g})"
            )
            return default
        return float(value)

    def whole(self, data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(
                f"{key}: 須為 {low} 到 {high} 的整數 (a whole number from {low} to {high})"
            )
            return default
        return value

    def account(self, index: int, data: object) -> Account | None:
        where = f"accounts[{index}]."
        if not isinstance(data, dict):
            self.problems.append(f"accounts[{index}]: 須為表格 (must be a table)")
            return None
        self.unknown(where, data, _ACCOUNT_KEYS)
        before = len(self.problems)
        account, password, hosp_id = data.get("account"), data.get("password"), data.get("hosp_id")
        branches = data.get("branches", ["00"])
        if not isinstance(account, str) or not account.strip():
            self.problems.append(f"{where}account: 帳號為必填文字 (a non-empty string)")
        if not isinstance(password, str) or not password:
            self.problems.append(f"{where}password: 密碼為必填文字 (a non-empty string)")
        if not isinstance(hosp_id, str) or not _HOSP_ID.fullmatch(hosp_id):
            self.problems.append(f"{where}hosp_id: 醫事機構代碼須為 10 碼數字 (10 digits)")
        if (
            not isinstance(branches, list)
            or not branches
            or not all(isinstance(b, str) and _BRANCH.fullmatch(b) for b in branches)
        ):
            self.problems.append(
                f"{where}branches: 分院識別號須為 2 碼數字的清單 (a list of 2-digit codes)"
            )
        if len(self.problems) > before:
            return None
        return Account(str(account), str(password), str(hosp_id), tuple(branches))

    def faults(self, data: object) -> Faults:
        if not isinstance(data, dict):
            self.problems.append("faults: 須為表格 (must be a table)")
            return Faults()
        self.unknown("faults.", data, _FAULT_KEYS)
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            self.problems.append("faults.seed: 須為整數 (a whole number)")
            seed = None
        return Faults(
            latency=self.number(data, "latency_ms", 0, 0, 60_000) / 1000,
            error_rate=self.number(data, "error_rate", 0, 0, 1),
            drop_rate=self.number(data, "drop_rate", 0, 0, 1),
            seed=seed,
        )

    def limits(self, data: object) -> Limits:
        if not isinstance(data, dict):
            self.problems.append("limits: 須為表格 (must be a table)")
            return Limits()
        self.unknown("limits.", data, _LIMIT_KEYS)
        return Limits(
            max_connections=self.whole(data, "max_connections", 1000, 1, 1_000_000),
            header_timeout=self.number(data, "header_timeout_s", 10, 0.1, 3600),
            body_timeout=self.number(data, "body_timeout_s", 30, 0.1, 3600),
            keep_alive=self.number(data, "keep_alive_s", 5, 0.1, 3600),
        )


def config_from_mapping(data: Mapping[str, Any], where: str = "") -> SandboxConfig:
    """A configuration from parsed TOML or JSON; `SandboxConfigError` lists every problem."""
    reader = _Reader()
    reader.unknown("", data, _TOP_KEYS)
    accounts: list[Account] = []
    raw_accounts = data.get("accounts")
    if raw_accounts is None:
        accounts = [DEMO_ACCOUNT]
    elif not isinstance(raw_accounts, list) or not raw_accounts:
        reader.problems.append("accounts: 須為至少一個帳號的清單 (a list of at least one account)")
    else:
        for index, item in enumerate(raw_accounts):
            account = reader.account(index, item)
            if account is not None:
                accounts.append(account)
        names = [a.account for a in accounts]
        if len(set(names)) != len(names):
            reader.problems.append("accounts: 帳號重複 (an account appears twice)")
    secret = data.get("secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
        reader.problems.append("secret: 須為至少 16 字元的文字 (a string of 16 characters or more)")
        secret = None
    config = SandboxConfig(
        accounts=tuple(accounts),
        token_minutes=reader.number(data, "token_minutes", 20, 0.01, 7 * 24 * 60),
        max_body_bytes=reader.whole(data, "max_body_bytes", 64 * 1024, 1024, 16 * 1024 * 1024),
        reservation_days=reader.whole(data, "reservation_days", 90, 1, 3660),
        courses_per_year=reader.whole(data, "courses_per_year", 2, 1, 9),
        medication_min_age=reader.whole(data, "medication_min_age", 18, 0, 120),
        secret=secret,
        faults=reader.faults(data["faults"]) if "faults" in data else Faults(),
        limits=reader.limits(data["limits"]) if "limits" in data else Limits(),
    )
    if reader.problems:
        head = f"{where}: " if where else ""
        raise SandboxConfigError(
            head + "設定錯誤 (invalid configuration): " + "; ".join(reader.problems)
        )
    return config


def load_config(path: str | Path | None) -> SandboxConfig:
    """The configuration in the TOML (or `.json`) file `path`; the demo account when None."""
    if path is None:
        return SandboxConfig()
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SandboxConfigError(f"{source}: 無法讀取設定檔 (cannot read: {error})") from None
    try:
        data = json.loads(text) if source.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as error:
        raise SandboxConfigError(f"{source}: 設定檔格式錯誤 (malformed: {error})") from None
    if not isinstance(data, dict):
        raise SandboxConfigError(f"{source}: 設定檔須為表格或物件 (must be a table or object)")
    return config_from_mapping(data, str(source))
