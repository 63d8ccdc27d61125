"""`make demo`: the manual's own examples, checked against the generated schemas and validator.

Prints, per operation, each example as the manual printed it, the errata applied to it, and the
verdicts of the JSON Schema (as any vendor would use it) and of the Python validator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import scforhis

from codegen.load import load_spec
from codegen.model import build_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Print the report; return 1 if any example fails."""
    spec = build_model(load_spec(ROOT / "spec" / "scforhis.yaml"))
    errata = {erratum.key: erratum for erratum in spec.errata}
    print(f"{spec.api.name} {spec.api.manual_version}（{spec.api.title}）")
    print("手冊範例檢查 / the manual's examples against the generated schemas and validator\n")
    failures = 0
    for operation in spec.operations:
        schema_path = ROOT / "generated" / "schemas" / f"{operation.name}.request.schema.json"
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        print(
            f"■ {operation.name}  {operation.method} {operation.path}  {operation.summary} / {operation.summary_en}"
        )
        for example in operation.examples:
            schema_errors = [error.message for error in validator.iter_errors(example.request)]
            result = scforhis.validate(operation.name, example.request)
            verdict = "通過 pass" if not schema_errors and result.ok else "失敗 FAIL"
            failures += verdict != "通過 pass"
            print(f"  範例 {example.name}: {example.summary}")
            for key in example.errata:
                print(f"    勘誤 erratum {key}: {errata[key].decision_en}")
            print(f"    JSON Schema: {len(schema_errors)} errors; validator: {result}")
            print(f"    → {verdict}")
        print()
    record = dict(spec.operation("Save").examples[0].request)
    record.update(
        {"examyyear": record.pop("examyear"), "funC_DATE": "111/10/03", "id": "A123456788"}
    )
    print("照抄手冊錯字的紀錄 / a record with the manual's typos and two common mistakes:")
    print(scforhis.validate_save(record))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
