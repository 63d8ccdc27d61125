"""`make bench` (`python -m bench.run`): every benchmark, as rates and ratios against peers
measured in the same run."""

from __future__ import annotations

from bench import batch, client, sandbox, schemas, unknown_columns, upload, validator


def main() -> None:
    """Run each benchmark in turn and print its report."""
    for module in (validator, schemas, client, sandbox, batch, unknown_columns, upload):
        print("\n".join(module.main()), flush=True)
        print()


if __name__ == "__main__":
    main()
