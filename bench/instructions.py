"""Instructions per record of `scforhis validate`, counted by valgrind: a measure that does not
move with the machine's load, for telling a 1% change from noise before timing it.

`python -m bench.instructions [RECORDS]` writes RECORDS distinct Save records (default 20,000;
10% invalid, as `bench.batch` does), counts the instructions of `scforhis validate` over them and
of `scforhis validate --help` (start-up alone), and prints both and their difference per record.
Needs valgrind; takes about half a minute. Not part of `make bench`: a count is not a speed.
"""

from __future__ import annotations

import compileall
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .batch import write_jsonl

_COLLECTED = re.compile(r"Collected : ([0-9]+)")


def count(command: list[str]) -> int:
    """Instructions valgrind's callgrind counts for `command`."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(records: int = 20_000) -> list[str]:
    """Count; return report lines."""
    if shutil.which("valgrind") is None:
        return ["instructions: valgrind is not installed; nothing counted"]
    import scforhis

    compileall.compile_dir(Path(scforhis.__file__).parent, quiet=1)  # as bench.batch does
    validate = [sys.executable, "-m", "scforhis", "validate", "--op", "Save"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "save.jsonl"
        write_jsonl(path, records)
        total = count([*validate, "--format", "jsonl", "--today", "2026-11-25", str(path)])
        start = count([*validate, "--help"])
    return [
        f"instructions: scforhis validate over {records:,} distinct Save records (10% invalid)",
        f"  whole run {total:>15,}",
        f"  start-up  {start:>15,}",
        f"  per record {(total - start) // records:>14,}",
    ]


if __name__ == "__main__":
    print("\n".join(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))
