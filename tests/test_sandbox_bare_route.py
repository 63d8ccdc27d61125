"""The benchmark's bare route: off by default, and when on it answers like a Save without
validating or storing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from scforhis.sandbox.app import SandboxThread
from tests.sandbox_support import config, visit


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0])


def test_the_bare_route_is_off_unless_asked_for(tmp_path: Path) -> None:
    with SandboxThread(config(), tmp_path / "s.db") as server:
        answer = httpx.post(server.url + "/_bare/Save", json=visit(1))
    assert answer.status_code == 404
    assert answer.json()["msG_CODE"] == "N"


def test_the_bare_route_neither_validates_nor_stores(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    invalid = visit(2, funC_DATE="not a date")
    with SandboxThread(config(), db, bare_route=True) as server, httpx.Client() as http:
        valid_answer = http.post(server.url + "/_bare/Save", json=visit(1))
        invalid_answer = http.post(server.url + "/_bare/Save", json=invalid)
        malformed = http.post(
            server.url + "/_bare/Save",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        stored = http.post(server.url + "/Save", json=invalid)
    assert valid_answer.json() == {"msG_CODE": "Y", "msG_INFO": "儲存成功"}
    assert invalid_answer.json()["msG_CODE"] == "Y"  # no validation
    assert stored.json()["msG_CODE"] == "N"  # while the real route validates
    # The body is still read and parsed, as on the real route.
    assert malformed.status_code == 400
    assert malformed.json()["msG_CODE"] == "N"
    assert _rows(db) == 0
