"""What the any-case names cost other languages' validators: Save records per second against
Save.request.schema.json as generated and with its `patternProperties` block removed.

The block gives every spelling of a field's name (`ID`, `Id`, `funC_date`...) a string-or-null
type, as the service binds names in any case. Vendors validate with their own language's library,
so the peers are Ajv (Node.js, draft 2020-12, allErrors, compiled once, timed in Node by
bench/ajv_speed.mjs), jsonschema_rs (Rust, from Python) and jsonschema (Python), all collecting
every error. Each gets the same 1,000 valid and 1,000 invalid distinct records, and is timed as
bench/validator.py times its peers: the best of five passes. jsonschema gets the first 200 of
each: at its few hundred records a second five passes over 1,000 would take over a minute, and
its rate does not depend on how many records there are. The two schemas must give the same
verdict on every record, and the three validators must agree, or the comparison means nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import jsonschema
import jsonschema_rs

from . import ROOT
from .records import invalid_save_records, valid_save_records
from .validator import rate

SCHEMA = ROOT / "generated" / "schemas" / "Save.request.schema.json"
AJV_SCRIPT = ROOT / "bench" / "ajv_speed.mjs"
SECONDS, PASSES = 0.6, 5  # as rate() in bench/validator.py
COUNT, SLOW_SAMPLE = 1000, 200  # records of each kind; jsonschema's share of them

Rates = dict[str, dict[str, float]]  # variant ("with", "without") -> kind ("valid", ...) -> rate
Verdicts = dict[str, dict[str, list[bool]]]


def schema_variants() -> dict[str, dict[str, Any]]:
    """The request schema as generated, and a copy without its any-case patternProperties."""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    assert "patternProperties" in schema, f"{SCHEMA.name} has no patternProperties to measure"
    without = dict(schema)
    del without["patternProperties"]
    return {"with": schema, "without": without}


def ajv(
    schemas: dict[str, dict[str, Any]], records: dict[str, list[dict[str, Any]]]
) -> tuple[Rates, Verdicts]:
    """Ajv's rates and verdicts, measured in one Node.js process (tools/ajv holds Ajv)."""
    node = shutil.which("node")
    assert node, "Node.js is needed for Ajv (make test installs Ajv in tools/ajv with npm)"
    payload = {"schemas": schemas, "records": records, "seconds": SECONDS, "passes": PASSES}
    done = subprocess.run(
        [node, str(AJV_SCRIPT)],
        input=json.dumps(payload, ensure_ascii=False),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{AJV_SCRIPT.name} failed:\n{done.stderr}")
    results = json.loads(done.stdout)
    rates = {v: {k: r["rate"] for k, r in kinds.items()} for v, kinds in results.items()}
    verdicts = {v: {k: r["verdicts"] for k, r in kinds.items()} for v, kinds in results.items()}
    return rates, verdicts


def python_peers(
    schemas: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Callable[[dict[str, Any]], list[Any]]]]:
    """jsonschema_rs and jsonschema, each built once per schema, as functions returning all errors."""
    peers: dict[str, dict[str, Callable[[dict[str, Any]], list[Any]]]] = {
        "jsonschema_rs": {},
        "jsonschema": {},
    }
    for variant, schema in schemas.items():
        rust = jsonschema_rs.Draft202012Validator(schema)
        draft = jsonschema.Draft202012Validator(schema)
        peers["jsonschema_rs"][variant] = lambda record, rust=rust: list(rust.iter_errors(record))
        peers["jsonschema"][variant] = lambda record, draft=draft: list(draft.iter_errors(record))
    return peers


def _cost(with_: float, without: float) -> str:
    return f"{1 - with_ / without:.0%}"


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    records = {"valid": valid_save_records(COUNT), "invalid": invalid_save_records(COUNT)}
    schemas = schema_variants()
    rates: dict[str, Rates] = {}
    verdicts: dict[str, Verdicts] = {}
    rates["Ajv"], verdicts["Ajv"] = ajv(schemas, records)
    for name, checks in python_peers(schemas).items():
        count = SLOW_SAMPLE if name == "jsonschema" else COUNT
        sample = {kind: batch[:count] for kind, batch in records.items()}
        rates[name] = {
            variant: {kind: rate(check, batch, SECONDS) for kind, batch in sample.items()}
            for variant, check in checks.items()
        }
        verdicts[name] = {
            variant: {kind: [not check(r) for r in batch] for kind, batch in sample.items()}
            for variant, check in checks.items()
        }

    # Every validator, with the block or without, must give every record the same verdict.
    reference = verdicts["Ajv"]["with"]
    for name, by_variant in verdicts.items():
        for variant, by_kind in by_variant.items():
            for kind, found in by_kind.items():
                assert found == reference[kind][: len(found)], (
                    f"{name} ({variant} patternProperties) disagrees with Ajv on {kind} records"
                )
    assert all(reference["valid"]), "the schema rejects a valid record"
    rejected = reference["invalid"].count(False)

    lines = [
        "schemas: Save records per second against Save.request.schema.json, with and without its",
        f"  any-case patternProperties ({COUNT:,} distinct records of each kind, best of 5, all",
        f"  errors collected; jsonschema on the first {SLOW_SAMPLE:,} of each)",
        f"  {'':16}{'valid with':>13}{'without':>12}{'cost':>7}"
        f"{'invalid with':>15}{'without':>12}{'cost':>7}",
    ]
    for name, by_variant in rates.items():
        with_, without = by_variant["with"], by_variant["without"]
        lines.append(
            f"  {name:16}{with_['valid']:13,.0f}{without['valid']:12,.0f}"
            f"{_cost(with_['valid'], without['valid']):>7}"
            f"{with_['invalid']:15,.0f}{without['invalid']:12,.0f}"
            f"{_cost(with_['invalid'], without['invalid']):>7}"
        )
    for name, by_variant in rates.items():
        with_, without = by_variant["with"]["valid"], by_variant["without"]["valid"]
        lines.append(
            f"  {name}: {with_:,.0f}/s with any-case names, {without:,.0f}/s without: "
            f"the names cost {_cost(with_, without)} (valid records)"
        )
    lines.append("  (cost = 1 - rate with / rate without; a few percent either way is noise.)")
    lines.append(
        f"  The schema rejects {rejected:,} of the {COUNT:,} invalid records, with the block or"
        " without;"
    )
    lines.append("  the three validators agree on every record.")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
