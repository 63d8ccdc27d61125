"""`make mutate`'s harness (tools/mutate.py): the mutants it makes, and its list of equivalents."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools import mutate

SOURCE = '''"""A module docstring is never mutated."""


def judge(n, table, flag):
    """Nor a function's."""
    if n >= 3 and not flag:
        print("big")
        return {"W": 32, "X": 30}[table]
    return n * 2
'''


def _module(tmp_path: Path, text: str = SOURCE) -> str:
    path = tmp_path / "judged.py"
    path.write_text(text, "utf-8")
    return str(path)


def _apply(path: str, mutant: mutate.Mutant) -> str:
    data = Path(path).read_bytes()
    return (data[: mutant.start] + mutant.replacement.encode() + data[mutant.end :]).decode()


def test_every_kind_of_edit_is_made_and_each_is_a_program(tmp_path: Path) -> None:
    path = _module(tmp_path)
    found = mutate.mutants_of(path)
    assert {m.kind for m in found} == {
        "compare", "boolean", "not", "arithmetic", "constant", "swap", "return", "statement"
    }  # fmt: skip
    for mutant in found:
        changed = _apply(path, mutant)
        assert changed != SOURCE
        ast.parse(changed)
        assert "docstring is never" in changed and "Nor a function's." in changed
    swap = next(m for m in found if m.kind == "swap")
    assert '{"W": 30, "X": 32}' in _apply(path, swap)


def test_keys_follow_the_edited_line_not_the_lines_below(tmp_path: Path) -> None:
    before = {m.key for m in mutate.mutants_of(_module(tmp_path))}
    after_below = {m.key for m in mutate.mutants_of(_module(tmp_path, SOURCE + "\nX = 1\n"))}
    assert before <= after_below
    shifted = {m.key for m in mutate.mutants_of(_module(tmp_path, "\n" + SOURCE))}
    assert not before & shifted


def test_the_same_mutants_are_chosen_on_every_run() -> None:
    target = mutate.TARGETS[0]
    first = mutate.chosen(target, 5)
    assert len(first) == 5 and first == mutate.chosen(target, 5)
    others = [mutate.chosen(target, 5, seed=seed) for seed in (1, 2, 3)]
    assert any(draw != first for draw in others)


def test_every_equivalent_names_a_guarded_module_and_says_why() -> None:
    paths = {t.path for t in mutate.TARGETS}
    for key, reason in mutate.equivalents().items():
        path, line, column, kind, digest = key.split(":")
        assert path in paths and line.isdigit() and column.isdigit() and len(digest) == 8
        assert kind in {"compare", "boolean", "not", "arithmetic", "constant", "swap", "return",
                        "statement"}  # fmt: skip
        assert len(reason) > 20, key


def test_an_equivalent_whose_line_moved_is_reported_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _module(tmp_path)
    mutant = next(m for m in mutate.mutants_of(path) if m.kind == "compare")
    moved = mutant.key.replace(f":{mutant.line}:", f":{mutant.line + 1}:", 1)
    table = tmp_path / "equivalent.toml"
    table.write_text(f'[equivalent]\n"{mutant.key}" = "kept"\n"{moved}" = "moved"\n', "utf-8")
    monkeypatch.setattr(mutate, "EQUIVALENT_FILE", table)
    assert mutate.stale_equivalents([mutate.Target(path, ())]) == [moved]


def test_code_for_another_platform_is_not_mutated(tmp_path: Path) -> None:
    import sys

    other = "win32" if sys.platform != "win32" else "linux"
    text = f'import sys\nif sys.platform == "{other}":\n    A = 11\nelse:\n    B = 22\n'
    found = mutate.mutants_of(_module(tmp_path, text))
    constants = {m.original for m in found if m.kind == "constant"}
    assert constants == {"22"}
    assert any(m.kind == "compare" for m in found)  # the test itself is still mutated
