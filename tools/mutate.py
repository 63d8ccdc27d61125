"""`make mutate`: change the code that guards data and secrets in small ways, and count how many
of those changes the tests notice.

Each mutant is one small edit of one hand-written module (a comparison flipped, a constant moved
by one, a boolean operator swapped, a statement dropped, two table values swapped). It is made in a
private copy of the repository, `make generate`'s step runs there when the module feeds the
generator, and the tests that guard the module run against it. A mutant the tests fail on is
killed; one they pass is a survivor and is printed with its edit. Mutants that cannot change
behaviour are listed in tools/mutate_equivalent.toml with the reason, and left out of the score.

    python -m tools.mutate                   every module, in two workers
    python -m tools.mutate --module ids      only the modules whose path contains "ids"
    python -m tools.mutate --list            the mutants, without running anything
    python -m tools.mutate --seed 7          another draw of mutants, to see the score hold

Not part of `make test`: a full run takes about as long as the README says.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = ROOT / "tools" / "mutate_equivalent.toml"
# Mutants at most per module, chosen by a fixed seed so that two runs list the same survivors.
DEFAULT_MOST = 25
SEED = 20261130
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Target:
    """A module under mutation, the tests that guard it, and whether the generator reads it."""

    path: str
    tests: tuple[str, ...]
    feeds_generator: bool = False


TARGETS = (
    Target(
        "scforhis/validation/idnumbers.py",
        ("tests/test_id_letters.py", "tests/test_runtime_ids_dates.py"),
    ),
    Target(
        "scforhis/validation/dates.py",
        ("tests/test_runtime_ids_dates.py", "tests/test_validator_edges.py",
         "tests/test_fix_hints.py", "tests/test_validator_cases.py"),
    ),
    Target(
        "scforhis/validation/rules.py",
        ("tests/test_validator_edges.py", "tests/test_validator_cases.py", "tests/test_inline.py",
         "tests/test_vectors.py"),
        feeds_generator=True,
    ),
    Target(
        "scforhis/validation/values.py",
        ("tests/test_validator_edges.py", "tests/test_validator_cases.py",
         "tests/test_fix_hints.py", "tests/test_evidence.py", "tests/test_text_encoding.py",
         "tests/test_vectors.py"),
    ),
    Target(
        "scforhis/validation/keys.py",
        ("tests/test_validator_edges.py", "tests/test_validator_cases.py",
         "tests/test_validator_tables.py", "tests/test_text_encoding.py", "tests/test_vectors.py"),
    ),
    Target(
        "scforhis/validation/issues.py",
        ("tests/test_validator_edges.py", "tests/test_validator_cases.py", "tests/test_evidence.py",
         "tests/test_text_encoding.py", "tests/test_cli_validate.py"),
    ),
    Target(
        "scforhis/redaction.py",
        ("tests/test_client_redaction.py", "tests/test_client_iis_leaks.py",
         "tests/test_client_unit.py"),
    ),
    Target(
        "scforhis/client/session.py",
        ("tests/test_client_unit.py", "tests/test_client_integration.py",
         "tests/test_client_iis.py", "tests/test_client_iis_leaks.py",
         "tests/test_client_reading.py"),
    ),
    Target(
        "scforhis/client/replies.py",
        ("tests/test_client_unit.py", "tests/test_client_reading.py",
         "tests/test_client_replies_property.py", "tests/test_reply_schemas.py",
         "tests/test_client_iis.py"),
    ),
    Target(
        "scforhis/batch/journal.py",
        ("tests/test_upload_journal.py", "tests/test_cli_upload.py"),
    ),
    Target(
        "scforhis/batch/send.py",
        ("tests/test_cli_upload.py",),
    ),
    Target(
        "scforhis/batch/input.py",
        ("tests/test_batch_input.py", "tests/test_cli_csv.py", "tests/test_validator_edges.py"),
    ),
    Target(
        "codegen/emit_schemas.py",
        ("tests/test_schemas.py", "tests/test_vectors.py"),
        feeds_generator=True,
    ),
)  # fmt: skip

_FLIPPED_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Lt: "<=",
    ast.LtE: "<",
    ast.Gt: ">=",
    ast.GtE: ">",
    ast.Eq: "!=",
    ast.NotEq: "==",
    ast.In: "not in",
    ast.NotIn: "in",
    ast.Is: "is not",
    ast.IsNot: "is",
}
_COMPARISON_TEXT = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_FLIPPED_ARITHMETIC: dict[type[ast.operator], str] = {
    ast.Add: "-",
    ast.Sub: "+",
    ast.Mult: "//",
    ast.Mod: "//",
}


@dataclass(frozen=True)
class Mutant:
    """One edit: replace [start, end) of the module's text by `replacement`."""

    path: str
    line: int
    column: int
    start: int
    end: int
    replacement: str
    kind: str
    original: str

    @property
    def key(self) -> str:
        """A name that stays the same while the edited text and its line do."""
        digest = hashlib.sha256(f"{self.original}\0{self.replacement}".encode()).hexdigest()[:8]
        return f"{self.path}:{self.line}:{self.column}:{self.kind}:{digest}"

    def describe(self) -> str:
        """The edit as a person reads it."""
        before = " ".join(self.original.split())[:70]
        after = " ".join(self.replacement.split())[:70]
        return f"{self.key}  `{before}` -> `{after}`"


def _offsets(text: str) -> list[int]:
    """The offset of each line's start, so AST positions become text offsets."""
    starts, total = [0], 0
    for line in text.splitlines(keepends=True):
        total += len(line.encode("utf-8"))
        starts.append(total)
    return starts


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _other_platform_lines(tree: ast.AST) -> set[int]:
    """Lines of the branch of an `if sys.platform == "..."` that this machine does not take: no
    test here can run them, so a mutant there would only ever survive."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq | ast.NotEq)
            and ast.unparse(test.left) == "sys.platform"
            and isinstance(test.comparators[0], ast.Constant)
        ):
            continue
        taken = (sys.platform == test.comparators[0].value) == isinstance(test.ops[0], ast.Eq)
        skipped = node.orelse if taken else node.body  # type: ignore[union-attr]
        for statement in skipped:
            lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def mutants_of(path: str, root: Path = ROOT) -> list[Mutant]:
    """Every mutant of one module (`path` under `root`), in source order; none in code for
    another platform (`_other_platform_lines`)."""
    text = (root / path).read_text("utf-8")
    data = text.encode("utf-8")
    starts = _offsets(text)
    tree = ast.parse(text)
    docstrings = _docstring_nodes(tree)
    elsewhere = _other_platform_lines(tree)
    found: list[Mutant] = []

    def span(node: ast.AST) -> tuple[int, int]:
        start = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def segment(node: ast.AST) -> str:
        start, end = span(node)
        return data[start:end].decode("utf-8")

    def add(node: ast.AST, replacement: str, kind: str, start: int = -1, end: int = -1) -> None:
        if start < 0:
            start, end = span(node)
        original = data[start:end].decode("utf-8")
        line = node.lineno  # type: ignore[attr-defined]
        if original != replacement and line not in elsewhere:
            found.append(
                Mutant(
                    path, line, start - starts[line - 1], start, end, replacement, kind, original
                )
            )

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            op = type(node.ops[0])
            left, right = segment(node.left), segment(node.comparators[0])
            add(node, f"{left} {_FLIPPED_COMPARISONS[op]} {right}", "compare")
        elif isinstance(node, ast.BoolOp):
            joiner = " or " if isinstance(node.op, ast.And) else " and "
            add(node, joiner.join(f"({segment(v)})" for v in node.values), "boolean")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, f"({segment(node.operand)})", "not")
        elif isinstance(node, ast.BinOp) and type(node.op) in _FLIPPED_ARITHMETIC:
            flipped = _FLIPPED_ARITHMETIC[type(node.op)]
            add(node, f"({segment(node.left)}) {flipped} ({segment(node.right)})", "arithmetic")
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            if isinstance(value, bool):
                add(node, repr(not value), "constant")
            elif isinstance(value, int) and 0 <= value < 100_000:
                add(node, repr(value + 1), "constant")
        elif isinstance(node, ast.Dict) and len(node.values) >= 2:
            for first, second in itertools.pairwise(node.values):
                both_constant = isinstance(first, ast.Constant) and isinstance(second, ast.Constant)
                if both_constant and first.value != second.value:  # type: ignore[union-attr]
                    start, end = span(first)
                    start2, end2 = span(second)
                    middle = data[end:start2].decode("utf-8")
                    swapped = f"{segment(second)}{middle}{segment(first)}"
                    add(first, swapped, "swap", start, end2)
        elif isinstance(node, ast.Return) and node.value is not None:
            # `return False` -> `return None` changes nothing a caller can tell in a test.
            if isinstance(node.value, ast.Constant) and node.value.value in (None, False):
                continue
            add(node, "return None", "return")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            add(node, "pass", "statement")
    return sorted(found, key=lambda m: (m.start, m.kind, m.replacement))


def chosen(target: Target, most: int, root: Path = ROOT, seed: int = SEED) -> list[Mutant]:
    """Up to `most` mutants of `target`, the same ones on every run with the same seed."""
    every = mutants_of(target.path, root)
    rng = random.Random(f"{seed}:{target.path}")
    picked = every if len(every) <= most else rng.sample(every, most)
    return sorted(picked, key=lambda m: m.start)


def equivalents() -> dict[str, str]:
    """Mutant key -> why it cannot change behaviour."""
    if not EQUIVALENT_FILE.exists():
        return {}
    table = tomllib.loads(EQUIVALENT_FILE.read_text("utf-8"))
    return {key: str(reason) for key, reason in table.get("equivalent", {}).items()}


class Workspace:
    """A private copy of the repository where one mutant at a time is applied and tested."""

    def __init__(self, parent: Path, number: int) -> None:
        self.root = parent / f"work{number}"
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, files):
            source = ROOT / name.decode()
            if source.is_file():
                target = self.root / name.decode()
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        node_modules = ROOT / "tools" / "ajv" / "node_modules"
        if node_modules.exists():
            (self.root / "tools" / "ajv" / "node_modules").symlink_to(node_modules)
        self.environment = {
            **os.environ,
            "PYTHONPATH": str(self.root),
            "HYPOTHESIS_PROFILE": "ci",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def _generate(self) -> bool:
        done = subprocess.run(
            [sys.executable, "-m", "codegen", "generate"],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def run_tests(self, target: Target) -> bool:
        """True when the target's tests pass here."""
        if target.feeds_generator and not self._generate():
            return False
        try:
            done = subprocess.run(
                # schemathesis's plugin costs a second of start-up and no guarded test uses it.
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 "-p", "no:schemathesis", *target.tests],
                cwd=self.root,
                env=self.environment,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def try_mutant(self, mutant: Mutant, target: Target) -> bool:
        """True when the mutant survives (the tests still pass)."""
        path = self.root / mutant.path
        original = path.read_bytes()
        mutated = original[: mutant.start] + mutant.replacement.encode() + original[mutant.end :]
        try:
            compile(mutated, str(path), "exec")
        except SyntaxError:
            return False  # not a program; never counted (see _score)
        path.write_bytes(mutated)
        try:
            return self.run_tests(target)
        finally:
            path.write_bytes(original)
            if target.feeds_generator:
                self._generate()


@dataclass
class Outcome:
    target: Target
    killed: list[Mutant]
    survived: list[Mutant]
    equivalent: list[tuple[Mutant, str]]
    invalid: list[Mutant]


def _is_valid(mutant: Mutant, root: Path) -> bool:
    data = (root / mutant.path).read_bytes()
    mutated = data[: mutant.start] + mutant.replacement.encode() + data[mutant.end :]
    try:
        ast.parse(mutated)
    except SyntaxError:
        return False
    return True


class _Attempt:
    """Tests one mutant in whichever workspace is free (as many workers as workspaces)."""

    def __init__(self, spaces: list[Workspace], target: Target) -> None:
        self.free = list(spaces)
        self.target = target

    def __call__(self, mutant: Mutant) -> tuple[Mutant, bool]:
        space = self.free.pop()
        try:
            return mutant, space.try_mutant(mutant, self.target)
        finally:
            self.free.append(space)


def run(targets: list[Target], most: int, jobs: int, seed: int = SEED) -> list[Outcome]:
    """Test every chosen mutant of every target; return the outcomes."""
    known = equivalents()
    with tempfile.TemporaryDirectory(prefix="scforhis-mutate-") as parent:
        spaces = [Workspace(Path(parent), n) for n in range(jobs)]
        for target in targets:
            if not spaces[0].run_tests(target):
                raise SystemExit(f"the tests of {target.path} fail without any mutant")
        outcomes = []
        for target in targets:
            # Mutants are made from the private copy, so that editing the tree during a run
            # cannot move them off the text they are applied to.
            plan = chosen(target, most, spaces[0].root, seed)
            outcome = Outcome(target, [], [], [], [])
            todo = []
            for mutant in plan:
                if mutant.key in known:
                    outcome.equivalent.append((mutant, known[mutant.key]))
                elif not _is_valid(mutant, spaces[0].root):
                    outcome.invalid.append(mutant)
                else:
                    todo.append(mutant)
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for mutant, survived in pool.map(_Attempt(spaces, target), todo):
                    (outcome.survived if survived else outcome.killed).append(mutant)
            _report(outcome)
            outcomes.append(outcome)
    return outcomes


def _score(outcome: Outcome) -> float:
    counted = len(outcome.killed) + len(outcome.survived)
    return 1.0 if counted == 0 else len(outcome.killed) / counted


def _report(outcome: Outcome) -> None:
    counted = len(outcome.killed) + len(outcome.survived)
    print(
        f"{outcome.target.path}: {len(outcome.killed)}/{counted} killed "
        f"({_score(outcome):.0%}); {len(outcome.equivalent)} equivalent",
        flush=True,
    )
    for mutant in outcome.survived:
        print(f"  survived  {mutant.describe()}", flush=True)


def stale_equivalents(targets: list[Target]) -> list[str]:
    """Keys of the equivalents file, for these targets, that name no mutant any more: their line
    changed, so the mutant (if it still exists) is tested again and its reason must be rechecked."""
    paths = {t.path for t in targets}
    keys = {m.key for t in targets for m in mutants_of(t.path)}
    return sorted(k for k in equivalents() if k.split(":")[0] in paths and k not in keys)


def _iterate(targets: list[Target], most: int, seed: int) -> Iterator[str]:
    known = equivalents()
    for target in targets:
        for mutant in chosen(target, most, seed=seed):
            mark = "equivalent " if mutant.key in known else ""
            yield f"{mark}{mutant.describe()}"


def main(argv: list[str] | None = None) -> int:
    """Run the mutation check; exit 1 when a module scores under the goal."""
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__)
    parser.add_argument("--module", action="append", default=[], help="path part to select")
    parser.add_argument("--most", type=int, default=DEFAULT_MOST, help="mutants per module")
    parser.add_argument(
        "--seed", type=int, default=SEED, help="another draw of mutants (default: the fixed one)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--goal", type=float, default=0.9, help="least score per module")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    arguments = parser.parse_args(argv)
    targets = [
        t for t in TARGETS if not arguments.module or any(m in t.path for m in arguments.module)
    ]
    if not targets:
        parser.error("no module matches --module")
    stale = stale_equivalents(targets)
    for key in stale:
        print(f"stale equivalent (no such mutant now; recheck it): {key}", file=sys.stderr)
    if arguments.list:
        for line in _iterate(targets, arguments.most, arguments.seed):
            print(line)
        return 0
    began = time.monotonic()
    outcomes = run(targets, arguments.most, max(1, arguments.jobs), arguments.seed)
    minutes = (time.monotonic() - began) / 60
    below = [o for o in outcomes if _score(o) < arguments.goal]
    killed = sum(len(o.killed) for o in outcomes)
    counted = killed + sum(len(o.survived) for o in outcomes)
    print(f"\n{killed}/{counted} non-equivalent mutants killed in {minutes:.1f} min")
    for outcome in below:
        print(f"under {arguments.goal:.0%}: {outcome.target.path} ({_score(outcome):.0%})")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
