"""Command line of the generator.

python -m codegen check [SPEC]            check the spec, report every problem, exit 1 on any
python -m codegen generate [SPEC] [--out generated] [--package scforhis/_generated]
python -m codegen diff OLD NEW               the changes between two specs, in Markdown
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .diff import diff_markdown, load_model
from .emit_python import GENERATED_PACKAGE
from .generate import generate
from .load import load_spec
from .problems import SpecError

DEFAULT_SPEC = Path("spec/scforhis.yaml")


def main(argv: list[str] | None = None) -> int:
    """Run the generator's command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the spec and report every problem")
    check.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    gen = commands.add_parser("generate", help="write generated/ from the spec")
    gen.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    gen.add_argument("--out", type=Path, default=Path("generated"))
    gen.add_argument("--package", type=Path, default=Path(GENERATED_PACKAGE))
    diff = commands.add_parser("diff", help="print the changes between two specs in Markdown")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "diff":
            print(diff_markdown(load_model(arguments.old), load_model(arguments.new)), end="")
        elif arguments.command == "check":
            load_spec(arguments.spec)
            print(f"{arguments.spec}: ok")
        else:
            written = generate(arguments.spec, arguments.out, arguments.package)
            print(f"generated {written} files under {arguments.out}/ and {arguments.package}/")
    except SpecError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
