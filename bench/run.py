"""`make bench`: every benchmark, printed as rates and ratios against peers measured in the same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import validator


def main() -> None:
    """Run each benchmark in turn and print its report."""
    for module in (validator, client):
        print("\n".join(module.main()))
        print()


if __name__ == "__main__":
    main()
