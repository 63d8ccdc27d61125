"""Validator speed: Save records per second, ours against jsonschema, fastjsonschema and pydantic.

Each peer gets the same records and is built once: jsonschema's Draft202012Validator collecting
all errors, fastjsonschema compiled from the same generated schema (it stops at the first error),
and a pydantic v2 model with the same constraints. Ours also does every domain check (check
digits, real dates, ranges, cross-field and programme rules) and reports every error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import fastjsonschema
import jsonschema
import pydantic

import scforhis

from . import ROOT
from .pydantic_peer import pydantic_model
from .records import TODAY, invalid_save_records, spec, valid_save_records


def rate(
    check: Callable[[dict[str, Any]], object], records: list[dict[str, Any]], seconds: float = 0.6
) -> float:
    """Records per second: the best of five timed passes, each repeated for at least `seconds` / 5."""
    best = 0.0
    for _ in range(5):
        done, start = 0, time.perf_counter()
        while True:
            for record in records:
                check(record)
            done += len(records)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / 5:
                break
        best = max(best, done / elapsed)
    return best


def peers() -> dict[str, Callable[[dict[str, Any]], object]]:
    """Every validator under test, each built once, as a function of one record."""
    schema = json.loads(
        (ROOT / "generated" / "schemas" / "Save.request.schema.json").read_text("utf-8")
    )
    draft = jsonschema.Draft202012Validator(schema)
    compiled = fastjsonschema.compile(schema)
    model = pydantic_model(spec().operation("Save"))

    def fast(record: dict[str, Any]) -> object:
        try:
            return compiled(record)
        except fastjsonschema.JsonSchemaValueException as error:
            return error

    def pyd(record: dict[str, Any]) -> object:
        try:
            return model.model_validate(record)
        except pydantic.ValidationError as error:
            return error.errors()

    return {
        "scforhis": lambda record: scforhis.validate_save(record, today=TODAY),
        "jsonschema": lambda record: list(draft.iter_errors(record)),
        "fastjsonschema": fast,
        "pydantic": pyd,
    }


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    valid, invalid = valid_save_records(1000), invalid_save_records(1000)
    checks = peers()
    # The peers must agree with ours on validity, or the comparison means nothing.
    assert all(scforhis.validate_save(r, today=TODAY).ok for r in valid)
    assert not any(scforhis.validate_save(r, today=TODAY).ok for r in invalid)
    lines = ["validator: Save records per second (1,000 distinct records, best of 5)"]
    lines.append(f"  {'':16}{'valid':>12}{'invalid':>12}{'ratio valid':>14}{'ratio invalid':>15}")
    rates = {name: (rate(check, valid), rate(check, invalid)) for name, check in checks.items()}
    ours = rates["scforhis"]
    for name, (good, bad) in rates.items():
        ratio = "" if name == "scforhis" else f"{ours[0] / good:13.1f}x{ours[1] / bad:14.1f}x"
        lines.append(f"  {name:16}{good:12,.0f}{bad:12,.0f}{ratio}")
    lines.append(
        "  (ratio = scforhis's rate / the peer's rate; fastjsonschema stops at the first error)"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
