"""`scforhis validate` over a generated JSON Lines file of Save records: records per second and
peak memory, for 200,000 records and for 20,000 (memory must not grow with the file), against
a loop of jsonschema over the same file, all in one run.

Each measurement runs in a fresh process, so peak memory (ru_maxrss) is that command's alone;
the time is the command's own, from its start to its exit. The package is byte-compiled first,
as pip does when it installs it (this machine sets PYTHONDONTWRITEBYTECODE, so nothing else
would: every run would compile the sources again, while jsonschema's come compiled).
jsonschema is measured over the file's first 5,000 records: at its rate the whole file would
take minutes, and its rate does not depend on the file's length.
"""

from __future__ import annotations

import compileall
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .records import invalid_save_records, valid_save_records

LARGE, SMALL, PEER_SAMPLE = 200_000, 20_000, 5_000
RUNS = 3  # each command is timed this many times and the best kept, as the validator bench does

# Runs a command as a child; prints its seconds and its peak resident memory in KiB.
_MEASURE = (
    "import resource, subprocess, sys, time; "
    "start = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False); "
    "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)
_JSONSCHEMA_LOOP = """
import itertools, json, sys
import jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
validator = jsonschema.Draft202012Validator(schema)
with open(sys.argv[2], encoding="utf-8") as lines:
    for line in itertools.islice(lines, int(sys.argv[3])):
        list(validator.iter_errors(json.loads(line)))
"""


def write_jsonl(path: Path, count: int) -> None:
    """`count` distinct Save records, every tenth with mistakes, as JSON Lines.

    Distinct like a real export (IDs, dates of birth and visit dates all vary), so nothing in the
    measurement profits from the same record coming round again.
    """
    invalid_count = count // 10
    valid = iter(valid_save_records(count - invalid_count))
    invalid = iter(invalid_save_records(invalid_count))
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            record = next(invalid) if index % 10 == 9 else next(valid)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def measure(command: list[str], runs: int = RUNS) -> tuple[float, int]:
    """The best seconds of `runs` runs of `command`, each in its own process, and the highest
    peak memory (KiB) among them."""
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
        )
        seconds, peak = done.stdout.split()
        results.append((float(seconds), int(peak)))
    return min(seconds for seconds, _ in results), max(peak for _, peak in results)


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    root = Path(__file__).resolve().parent.parent
    import scforhis

    compileall.compile_dir(Path(scforhis.__file__).parent, quiet=1)
    schema = root / "generated" / "schemas" / "Save.request.schema.json"
    cli = [
        sys.executable,
        "-m",
        "scforhis",
        "validate",
        "--op",
        "Save",
        "--format",
        "jsonl",
        "--today",
        "2026-11-25",
    ]
    lines = [
        f"batch: scforhis validate over JSON Lines of distinct Save records (10% invalid), one "
        f"process, one core, best of {RUNS}"
    ]
    with tempfile.TemporaryDirectory() as folder:
        rates = {}
        large = Path(folder) / f"save-{LARGE}.jsonl"
        write_jsonl(large, LARGE)
        small = Path(folder) / f"save-{SMALL}.jsonl"
        with large.open(encoding="utf-8") as source, small.open("w", encoding="utf-8") as out:
            out.writelines(itertools.islice(source, SMALL))
        for count, path in ((SMALL, small), (LARGE, large)):
            seconds, peak = measure([*cli, str(path)])
            rates[count] = count / seconds
            size = path.stat().st_size / 2**20
            lines.append(
                f"  {count:>7,} records ({size:5.0f} MiB): {count / seconds:9,.0f} records/s, peak memory {peak / 1024:6.1f} MiB"
            )
        seconds, peak = measure(
            [sys.executable, "-c", _JSONSCHEMA_LOOP, str(schema), str(large), str(PEER_SAMPLE)]
        )
        peer = PEER_SAMPLE / seconds
        lines.append(
            f"  jsonschema loop, first {PEER_SAMPLE:,} records: {peer:9,.0f} records/s, peak memory {peak / 1024:6.1f} MiB"
        )
        lines.append(
            f"  ratio scforhis validate / jsonschema loop: {rates[LARGE] / peer:.0f}x (goal: >= 100,000 records/s)"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
