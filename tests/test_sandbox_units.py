"""The sandbox's parts on their own: tokens, configuration files, the programme's rules, the store,
and the `scforhis` command line (usage errors, and a real `python -m scforhis sandbox` process)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from scforhis.cli import main
from scforhis.sandbox.programme import booked_elsewhere, course_limit, medication_age
from scforhis.sandbox.settings import (
    DEMO_ACCOUNT,
    Account,
    SandboxConfigError,
    load_config,
)
from scforhis.sandbox.store import Booking, Store, VisitKey
from scforhis.sandbox.tokens import (
    EXPIRED,
    FORGED,
    MISSING,
    TokenIssuer,
    dotnet_ticks,
    unix_seconds,
)
from tests.conftest import ROOT, spec_model
from tests.sandbox_support import Clock

# The manual's TokenID with its erratum corrected ("WIEw" for "WlEw", see token_example_bytes).
MANUAL_TOKEN = "cjJQQmVKMDBneHVXY1o2WFdzcUJSckMzWlEwcm14K2d4dE94WTg5Q3oyZz06c2N3czEyMzQ1Njo2MzczMjgyMjkzOTMzOTgxNTc="

# -- tokens -----------------------------------------------------------------------------------


def test_the_manuals_token_has_the_shape_the_sandbox_issues() -> None:
    mac, account, ticks = base64.b64decode(MANUAL_TOKEN).decode("ascii").split(":")
    assert len(base64.b64decode(mac)) == 32 and account == "scws123456"
    issued = datetime.fromtimestamp(unix_seconds(int(ticks)), UTC)
    assert issued.date() == date(2020, 8, 12)
    assert dotnet_ticks(unix_seconds(int(ticks))) == pytest.approx(int(ticks), abs=10)
    response = spec_model().operation("GetTokenID").examples[0].response
    assert isinstance(response, dict)
    assert response["tokenid"].replace("WIEw", "WlEw") == MANUAL_TOKEN


def test_a_token_lives_for_its_lifetime() -> None:
    clock = Clock()
    issuer = TokenIssuer(b"k" * 32, 60, clock)
    token = issuer.issue(DEMO_ACCOUNT.account)
    assert issuer.check(token).account == DEMO_ACCOUNT.account and issuer.check(token).ok
    clock.advance(59)
    assert issuer.check(token).ok
    clock.advance(2)
    assert issuer.check(token).problem == EXPIRED


def test_tokens_that_were_not_issued_here_are_forged() -> None:
    clock = Clock()
    issuer = TokenIssuer(b"k" * 32, 60, clock)
    token = issuer.issue("acct")
    assert TokenIssuer(b"x" * 32, 60, clock).check(token).problem == FORGED
    assert issuer.check(MANUAL_TOKEN).problem == FORGED
    assert issuer.check("%%%").problem == FORGED
    assert issuer.check(base64.b64encode(b"no colons").decode()).problem == FORGED
    assert issuer.check(None).problem == MISSING and issuer.check("  ").problem == MISSING
    # From the future: issued by a clock ahead of ours.
    ahead = Clock()
    ahead.advance(3600)
    assert issuer.check(TokenIssuer(b"k" * 32, 60, ahead).issue("acct")).problem == FORGED
    # A `+` sent unencoded in a query string arrives as a space.
    assert issuer.check(token.replace("+", " ")).ok


# -- configuration ----------------------------------------------------------------------------

EXAMPLE_TOML = """
token_minutes = 5
max_body_bytes = 2048
reservation_days = 30

[[accounts]]
account = "3501200000ADM"
password = "12345678"
hosp_id = "3501200000"
branches = ["00", "01"]

[[accounts]]
account = "0401180014ADM"
password = "another one"
hosp_id = "0401180014"

[faults]
latency_ms = 150
error_rate = 0.1
drop_rate = 0.05
seed = 3
"""


def test_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.toml"
    path.write_text(EXAMPLE_TOML, encoding="utf-8")
    config = load_config(path)
    assert [(a.account, a.hosp_id, a.branches) for a in config.accounts] == [
        ("3501200000ADM", "3501200000", ("00", "01")),
        ("0401180014ADM", "0401180014", ("00",)),
    ]
    assert (config.token_minutes, config.max_body_bytes, config.reservation_days) == (5, 2048, 30)
    assert (config.faults.latency, config.faults.error_rate, config.faults.seed) == (0.15, 0.1, 3)
    assert config.faults.active and "150 ms" in config.faults.describe()


def test_a_json_file_and_no_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"accounts": [vars(DEMO_ACCOUNT) | {"branches": ["00"]}]}))
    assert load_config(path).accounts == (DEMO_ACCOUNT,)
    default = load_config(None)
    assert default.accounts == (DEMO_ACCOUNT,) and default.token_minutes == 20
    assert not default.faults.active


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'token_minuts = 5\nmax_body_bytes = "big"\n[[accounts]]\naccount = ""\n'
        'hosp_id = "123"\nbranches = ["0"]\n[faults]\nerror_rate = 2\n',
        encoding="utf-8",
    )
    with pytest.raises(SandboxConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    for key in (
        "token_minuts",
        "max_body_bytes",
        "accounts[0].account",
        "accounts[0].password",
        "accounts[0].hosp_id",
        "accounts[0].branches",
        "error_rate",
    ):
        assert key in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [("accounts = [", "格式錯誤"), ("accounts = []", "至少一個帳號"), ("secret = 'short'", "16")],
)
def test_unusable_files(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "sandbox.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SandboxConfigError, match=words):
        load_config(path)
    with pytest.raises(SandboxConfigError, match="無法讀取"):
        load_config(tmp_path / "missing.toml")


def test_an_accounts_repr_shows_no_credentials() -> None:
    shown = repr(Account("3501200000ADM", "12345678", "3501200000"))
    assert "3501200000ADM" not in shown and "12345678" not in shown


# -- rules ------------------------------------------------------------------------------------


def test_medication_from_the_18th_birthday() -> None:
    birth = date(2004, 10, 3)
    assert medication_age(True, birth, date(2022, 10, 3), 18) is None
    refusal = medication_age(True, birth, date(2022, 10, 2), 18)
    assert refusal is not None and refusal.startswith("個案就診時 17 歲，未滿 18 歲")
    assert medication_age(False, birth, date(2010, 1, 1), 18) is None


def test_two_courses_a_year() -> None:
    one = {("3501200000", "1")}
    two = one | {("0401180014", "1")}
    assert course_limit(one, None, 111, 2) is None
    assert course_limit(two, None, 111, 2) is not None
    assert course_limit(two, ("0401180014", "1"), 111, 2) is None  # a course already counted
    refusal = course_limit(two, ("3501200000", "2"), 111, 2)
    assert refusal is not None and "111 年度已有 2 個療程" in refusal


def test_a_booking_holds_from_its_visit_for_its_days() -> None:
    booking = Booking("A123456789", "3501200000", "00", date(2022, 1, 10), date(2022, 4, 10))
    assert booked_elsewhere(booking, "3501200000", date(2022, 2, 1)) is None
    assert booked_elsewhere(booking, "0401180014", date(2022, 1, 9)) is None
    assert booked_elsewhere(booking, "0401180014", date(2022, 4, 10)) is None
    refusal = booked_elsewhere(booking, "0401180014", date(2022, 4, 9))
    assert refusal is not None and "預留收案至 111/04/09" in refusal
    assert booked_elsewhere(None, "0401180014", date(2022, 2, 1)) is None


# -- store ------------------------------------------------------------------------------------


def test_the_store_is_wal_and_a_failed_request_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(path)
    key = VisitKey("3501200000", "00", "A123456789", "1961/01/01", "2022/10/03", "2", "1")
    with pytest.raises(RuntimeError), store.write() as tx:
        assert tx.insert_visit(key, "111", {"id": "A123456789"})
        raise RuntimeError("the request failed after writing")
    with store.write() as tx:
        assert tx.insert_visit(key, "111", {"id": "A123456789"})
        assert not tx.insert_visit(key, "111", {"id": "A123456789"})
    secret = store.secret(None)
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = Store(path)
    with reopened.read() as tx:
        assert tx.count_visits() == 1 and tx.visit(key) == {"id": "A123456789"}
    assert reopened.secret(None) == secret  # tokens survive a restart
    assert reopened.secret("configured-secret-value") == b"configured-secret-value"
    reopened.close()


def test_a_database_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(sqlite3.DatabaseError, match="schema version 99"):
        Store(path)


# -- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["sandbox", "--port", "http"],
        ["sandbox", "--port", "70000"],
        ["sandbox", "--error-rate", "2"],
        ["sandbox", "--latency-ms", "-1"],
        ["sandbox", "--unknown"],
    ],
    ids=lambda argv: " ".join(argv) or "nothing",
)
def test_bad_usage_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("scforhis")


def test_a_bad_config_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[faults]\ndrop_rate = 5\n", encoding="utf-8")
    assert main(["sandbox", "--config", str(path), "--db", str(tmp_path / "x.db")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "drop_rate" in error
    assert not (tmp_path / "x.db").exists()


def test_a_database_that_cannot_be_opened_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--db", str(tmp_path / "no" / "such" / "folder.db")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot open" in error


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_python_m_scforhis_sandbox_serves_and_stops(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "cli.db"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "scforhis", "sandbox", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        answer = None
        while answer is None:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/GetTokenID",
                    params={"id": DEMO_ACCOUNT.account, "pwd": DEMO_ACCOUNT.password},
                )
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.json()["msG_CODE"] == "Y"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}" in out and "故障模擬 off" in out  # zh-TW by default
    assert "GetTokenID status=200 MSG_CODE=Y" in err
    for secret in (DEMO_ACCOUNT.account, DEMO_ACCOUNT.password, answer.json()["tokenid"]):
        assert secret not in out + err
    assert db.exists()
