"""Deterministic Save records for the benchmarks: valid ones, and ones with one to three mistakes."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from codegen.load import load_spec
from codegen.model import Spec, build_model
from scforhis.validation.dates import format_gregorian
from scforhis.validation.idnumbers import LETTER_VALUES, check_digit

from . import ROOT

TODAY = date(2026, 11, 25)


def spec() -> Spec:
    """The model of the real spec."""
    return build_model(load_spec(ROOT / "spec" / "scforhis.yaml"))


def _tw_id(rng: random.Random) -> str:
    first_nine = (
        rng.choice(sorted(LETTER_VALUES)) + rng.choice("12") + f"{rng.randrange(10**7):07d}"
    )
    return first_nine + check_digit(first_nine)


def valid_save_records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` distinct valid Save records built from the manual's example, half of them first visits."""
    rng = random.Random(seed)
    base = dict(spec().operation("Save").examples[0].request)
    records = []
    for index in range(count):
        record = dict(base)
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 40))
        visit = TODAY - timedelta(days=rng.randrange(365 * 3))
        record.update(
            id=_tw_id(rng),
            prsN_ID=_tw_id(rng),
            birthday=format_gregorian(birth),
            funC_DATE=format_gregorian(visit),
            examyear=str(visit.year - 1911),
            smokE_YEAR=str(rng.randrange(0, 30)),
            smokE_DAY_NUM=str(rng.randrange(10, 40)),
            height=f"{rng.randrange(1500, 1900) / 10:g}",
            basE_WEIGHT=str(rng.randrange(45, 110)),
            curE_AGREE="Y" if index % 2 else "N",
            curE_WEEK=str(rng.randrange(1, 5)),
        )
        records.append(record)
    return records


_MISTAKES = (
    ("id", lambda v: v[:-1] + str((int(v[-1]) + 1) % 10)),  # a mistyped check digit
    (
        "funC_DATE",
        lambda v: f"{int(v[:4]) - 1911}{v[4:]}",
    ),  # a ROC date where a Gregorian one belongs
    ("examyear", lambda v: str(int(v) + 1911)),  # a Gregorian course year
    ("smokE_FIRST", lambda v: "5"),  # a code out of range
    ("curE_STAGE", lambda v: v + "0"),  # a stray digit: more than the column holds
    ("casE_SOURCE", lambda v: 1),  # a number instead of a string
    ("hosP_ID", None),  # a missing required field
)


def invalid_save_records(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """`count` Save records, each with one to three common mistakes."""
    rng = random.Random(seed)
    records = valid_save_records(count, seed)
    for record in records:
        for field, mistake in rng.sample(_MISTAKES, rng.randrange(1, 4)):
            if mistake is None:
                record.pop(field, None)
            else:
                record[field] = mistake(record[field])
    return records
