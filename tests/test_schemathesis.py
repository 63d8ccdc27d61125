"""schemathesis against the sandbox, with the generated OpenAPI document (issue 6).

Every operation of `generated/openapi.json` gets generated requests (the manual's examples, the
coverage phase's boundary and missing-parameter cases, and Hypothesis fuzzing, valid and invalid)
sent to a real `SandboxThread` on a temporary SQLite file. Each answer must not be a server error,
and its status code, content type, headers and body must be what the document says.

Cases carry working credentials (the demo account's token for GetSCDataB; the demo account and
password, and its institution and branch, for GetTokenID, Save, Update and Delete): every case
of the examples and coverage phases except those about a credential itself, and half the fuzzed
ones (a Hypothesis boolean). Without them nearly every request would stop at the login or token
check; with them the sandbox also validates, applies the programme's rules, books and stores
(the run reaches 登入成功, 預留收案成功, 儲存成功, 更新成功 and 刪除成功).

One check of schemathesis is left out: `negative_data_rejection`, which wants a schema-violating
request refused with a 4xx. The service reports a record it refuses (a wrong password, a bad
field, a programme rule) with MSG_CODE "N" in an HTTP 200, as the manual documents; only a body
it cannot read at all gets a 4xx (400, 413, 415, all documented).

Fuzzed examples per operation: at most 40 under the `ci` and `dev` profiles (the whole file
runs in about 10 s on 2 cores), 1000 under `fuzz` (about 2 minutes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection

import scforhis
from scforhis._generated.routes import ENDPOINTS
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT
from tests.conftest import ROOT, spec_model
from tests.sandbox_support import client_options, config

# A case of any operation (schemathesis makes Case generic over its operation type).
Case = schemathesis.Case[Any]
OPENAPI = ROOT / "generated" / "openapi.json"
# Two loads of the document, one per test: schemathesis refuses `@schema.given()` (the logged-in
# flag) beside the schema's own examples, so the examples and coverage phases run without it.
EXAMPLES_AND_COVERAGE = schemathesis.openapi.from_path(OPENAPI)
EXAMPLES_AND_COVERAGE.config.phases.update(phases=["examples", "coverage"])
FUZZING = schemathesis.openapi.from_path(OPENAPI)
FUZZING.config.phases.update(phases=["fuzzing"])
_FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
# Each example is one HTTP request; 40 per operation keep the file well under a minute.
_PROFILE_EXAMPLES = settings.default.max_examples if settings.default is not None else 40
EXAMPLES = 1000 if _FUZZ else min(40, _PROFILE_EXAMPLES)
# A fuzz run can outlive the default 20-minute token.
TOKEN_MINUTES = 24 * 60.0

# The wire name of each credential field, by operation (from the spec, never retyped).
_CREDENTIALS = ("account", "password", "token", "hosp_id", "hosp_seq_no")
_WIRES = {
    f"/{operation.path}": {
        field.python_name: field.wire
        for field in operation.fields
        if field.python_name in _CREDENTIALS
    }
    for operation in spec_model().operations
}
# Operations whose parameters travel in the query string (the rest send a JSON body).
_QUERY = {f"/{op.path}" for op in spec_model().operations if op.input == "query"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    """A sandbox on a fresh database, shared by every case of this file."""
    db = tmp_path_factory.mktemp("schemathesis") / "sandbox.db"
    with SandboxThread(config(token_minutes=TOKEN_MINUTES), db) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One keep-alive session for every request schemathesis sends."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def credentials(sandbox: SandboxThread) -> dict[str, str]:
    """The demo account's values by Python field name, with a token the sandbox issued."""
    with scforhis.Client(**client_options(sandbox.url)) as client:
        token = client.get_token_id().value
    return {
        "account": DEMO_ACCOUNT.account,
        "password": DEMO_ACCOUNT.password,
        "token": token,
        "hosp_id": DEMO_ACCOUNT.hosp_id,
        "hosp_seq_no": DEMO_ACCOUNT.branches[0],
    }


def log_in(case: Case, values: dict[str, str]) -> None:
    """Put working credentials into the case's query or JSON object body, in place.

    A body that is not a JSON object (a negative case) is left alone: it has nowhere to put them.
    schemathesis sees the edit and re-labels the case (a negated credential made valid again
    makes the case positive), so its checks judge what was sent.
    """
    wires = _WIRES[case.operation.path]
    container: Any = case.query if case.operation.path in _QUERY else case.body
    if not isinstance(container, dict):
        return
    for name, wire in wires.items():
        container[wire] = values[name]


def check(case: Case, sandbox: SandboxThread, http: requests.Session) -> None:
    """Send the case; fail on a server error or an answer the document does not describe."""
    case.call_and_validate(
        base_url=sandbox.url,
        session=http,
        excluded_checks=[negative_data_rejection],
        timeout=10,
    )


def negates_a_credential(case: Case) -> bool:
    """Whether the case is about a credential (left out, of a wrong type or shape)."""
    data = case.meta.phase.data if case.meta is not None else None
    named = {getattr(data, "parameter", None), *str(getattr(data, "location", "")).split("/")}
    return bool(named & set(_WIRES[case.operation.path].values()))


@EXAMPLES_AND_COVERAGE.parametrize()
@settings(max_examples=EXAMPLES)
def test_examples_and_coverage_against_sandbox(
    case: Case,
    sandbox: SandboxThread,
    http: requests.Session,
    credentials: dict[str, str],
) -> None:
    """The manual's examples and the coverage phase's boundary, missing-parameter and
    wrong-type cases, logged in unless the case is about a credential."""
    if not negates_a_credential(case):
        log_in(case, credentials)
    check(case, sandbox, http)


@FUZZING.given(logged_in=st.booleans())
@FUZZING.parametrize()
@settings(max_examples=EXAMPLES)
def test_fuzz_sandbox_against_openapi(
    case: Case,
    logged_in: bool,
    sandbox: SandboxThread,
    http: requests.Session,
    credentials: dict[str, str],
) -> None:
    """Hypothesis-generated requests, valid and invalid, half of them logged in."""
    if logged_in:
        log_in(case, credentials)
    check(case, sandbox, http)


def test_the_document_describes_every_route_of_the_sandbox() -> None:
    """The runs above cover the sandbox's whole surface: each route is one operation."""
    routes = {f"/{e.operation.path}": [e.operation.method.lower()] for e in ENDPOINTS}
    document = FUZZING.raw_schema["paths"]
    assert {path: list(item) for path, item in document.items()} == routes
