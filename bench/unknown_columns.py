"""`scforhis validate` over a CSV export with 50 columns the service does not know, against the
same export without them: the did-you-mean search for an unknown name runs once per distinct
name, so the extra columns cost their reading and one warning each per record, not a search.

Each measurement runs in a fresh process (as in `bench.batch`), best of `RUNS`.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from .batch import RUNS, measure
from .records import valid_save_records

COUNT = 20_000
EXTRA = 50


def write_csv(path: Path, count: int, extra: int) -> None:
    """`count` valid Save records as CSV, with `extra` columns no field has (`his_col_01`...)."""
    records = valid_save_records(count)
    names = [f"his_col_{n:02d}" for n in range(1, extra + 1)]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = None
        for record in records:
            if writer is None:
                writer = csv.writer(out)
                writer.writerow([*record, *names])
            writer.writerow([*record.values(), *(["x"] * extra)])


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    cli = [sys.executable, "-m", "scforhis", "validate", "--op", "Save", "--format", "jsonl"]
    cli += ["--max-errors", "1", "--today", "2026-11-25"]
    lines = [
        f"unknown columns: scforhis validate over {COUNT:,} CSV Save records, with and without "
        f"{EXTRA} unknown columns, best of {RUNS}"
    ]
    with tempfile.TemporaryDirectory() as folder:
        plain, wide = Path(folder) / "plain.csv", Path(folder) / "wide.csv"
        write_csv(plain, COUNT, 0)
        write_csv(wide, COUNT, EXTRA)
        seconds = {}
        for name, path in (("without", plain), ("with", wide)):
            seconds[name], _ = measure([*cli, str(path)])
            lines.append(f"  {name:>7} them: {COUNT / seconds[name]:9,.0f} records/s")
        lines.append(f"  slowdown with them: {seconds['with'] / seconds['without']:.1f}x")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
