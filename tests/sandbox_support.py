"""Helpers for the sandbox tests: records from the manual's examples, a second institution's
account, distinct valid patients, a settable clock, and client settings for a running sandbox.

Records come from the spec's examples (never retyped here); each test varies the patient or the
visit date so that tests sharing one server do not meet each other's records.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import scforhis
from scforhis.sandbox.settings import DEMO_ACCOUNT, Account, SandboxConfig
from scforhis.validation.idnumbers import check_digit
from tests.conftest import spec_model

_SPEC = spec_model()
# A second institution, for bookings and ownership.
OTHER_ACCOUNT = Account("3501299999ADM", "Other-pa55word", "3501299999", ("00", "01"))


def config(**changes: Any) -> SandboxConfig:
    """The demo account plus a second institution; other settings as given."""
    values: dict[str, Any] = {"accounts": (DEMO_ACCOUNT, OTHER_ACCOUNT)}
    values.update(changes)
    return SandboxConfig(**values)


def manual_request(operation: str = "Save") -> dict[str, str]:
    """The manual's example request of `operation`, credentials included."""
    return dict(_SPEC.operation(operation).examples[0].request)


def manual_query() -> dict[str, str]:
    """The manual's GetSCDataB example without its token (the manual's token is not ours)."""
    request = manual_request("GetSCDataB")
    request.pop("token")
    return request


def patient(number: int, second: str = "1") -> str:
    """A valid national ID, distinct for each `number` below 10**7."""
    first_nine = f"A{second}{number:07d}"
    return first_nine + check_digit(first_nine)


def visit(number: int, day: str = "2022/10/03", **changes: str) -> dict[str, str]:
    """The manual's Save example for patient `number` on `day`, with `changes`."""
    return {**manual_request("Save"), "id": patient(number), "funC_DATE": day, **changes}


def exported(number: int, **changes: str) -> dict[str, str]:
    """Patient `number`'s visit as an HIS exports it: no account or password (the client adds
    them)."""
    return {k: v for k, v in visit(number, **changes).items() if k not in ("account", "password")}


def client_options(url: str, account: Account = DEMO_ACCOUNT, **changes: Any) -> dict[str, Any]:
    """Keyword settings of `scforhis.Client` for a sandbox at `url`: no environment, quick retries."""
    values: dict[str, Any] = {
        "base_url": url,
        "account": account.account,
        "password": account.password,
        "hosp_id": account.hosp_id,
        "hosp_seq_no": account.branches[0],
        "timeout": 10.0,
        "retry": scforhis.RetryPolicy(retries=1, backoff=0.0),
        "env": {},
    }
    values.update(changes)
    return values


class Clock:
    """A settable Unix clock for the sandbox's tokens (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self.now += seconds
