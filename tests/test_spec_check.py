"""`python -m codegen check`: broken specs give every problem at once, each with its location."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codegen.load import load_spec
from codegen.problems import SpecError
from tests.conftest import ROOT, SPEC_PATH

ORIGINAL = SPEC_PATH.read_text(encoding="utf-8")

# Each breakage: (old text, new text, expected dotted path, expected message).
BREAKAGES = {
    "missing field": (
        "      - use: HOSP_SEQ_NO\n      - use: ID\n      - use: BIRTHDAY\n      - use: FUNC_DATE\n      - use: PRSN_ID",
        "      - use: HOSP_SEQ_NO\n      - use: ID\n      - use: BIRTHDAY\n      - use: FUNC_DATE\n      - use: PRSN_IDX",
        "operations.Save.fields[7].use",
        "unknown field 'PRSN_IDX'",
    ),
    "duplicate wire name": (
        "      - use: CURE_TYPE\n      # In the manual's example",
        "      - use: CURE_TYPE\n      - use: HOSP_ID\n      # In the manual's example",
        "operations.Delete.fields[9]",
        "wire name 'hosP_ID' repeats 'hosP_ID' (names bind ignoring case)",
    ),
    "bad enum": (
        "    enum: smoke_first\n",
        "    enum: smoke_fist\n",
        "fields.SMOKE_FIRST.enum",
        "unknown enum 'smoke_fist'",
    ),
    "rule names a missing field": (
        "    args: {years: SMOKE_YEAR, birth: BIRTHDAY, at: FUNC_DATE}",
        "    args: {years: SMOKE_YEARS, birth: BIRTHDAY, at: FUNC_DATE}",
        "rules[5]",
        "rule names field 'SMOKE_YEARS', which Save and Update do not have",
    ),
    "schema: missing label": (
        "    label: 用藥備註\n    label_en: Medication note\n",
        "    label: 用藥備註\n",
        "fields.MEMO",
        "'label_en' is a required property",
    ),
}


# What the reported line must show, so that a person reading the problem lands on it.
LINE_SHOWS = {
    "missing field": "use: PRSN_IDX",
    "duplicate wire name": "use: HOSP_ID",
    "bad enum": "enum: smoke_fist",
    "rule names a missing field": "- id: years_smoked_within_age",
    "schema: missing label": "MEMO:",
}


def _write(tmp_path: Path, names: list[str]) -> Path:
    text = ORIGINAL
    for name in names:
        old, new, _, _ = BREAKAGES[name]
        assert text.count(old) == 1, f"the breakage {name!r} no longer applies to the spec"
        text = text.replace(old, new)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_real_spec_is_clean() -> None:
    load_spec(SPEC_PATH)


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_each_breakage_is_reported_where_it_is(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, [name])
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    found = [(p.path, p.message) for p in caught.value.problems]
    _, _, where, message = BREAKAGES[name]
    assert found == [(where, message)]
    line = path.read_text(encoding="utf-8").splitlines()[caught.value.problems[0].line - 1]
    assert LINE_SHOWS[name] in line


def test_all_breakages_at_once_are_all_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, sorted(BREAKAGES))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    found = sorted((p.path, p.message) for p in caught.value.problems)
    assert found == sorted((where, message) for _, _, where, message in BREAKAGES.values())


def test_check_command_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = _write(tmp_path, sorted(BREAKAGES))
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "5 problems in the spec" in done.stderr
    for _, _, where, message in BREAKAGES.values():
        assert f": {where}: {message}" in done.stderr


def test_check_command_on_the_real_spec(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("spec_version: 1\napi: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.problems[0].message.startswith("not valid YAML")
    assert caught.value.problems[0].line >= 2
