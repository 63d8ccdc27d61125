"""Reading the spec: YAML with line numbers, then its schema and its semantic rules.

Every problem is collected before anything is reported, so one run shows all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .problems import Problem, SpecError
from .semantics import semantic_problems

PathKey = tuple[str | int, ...]


def dotted(path: PathKey) -> str:
    """Render a path as `operations.Save.fields[3].use`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_map(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            lines[(*path, key_node.value)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key_node.value), lines)
            lines[(*path, key_node.value)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)


class Locator:
    """Turns a path inside the spec into a `Problem` with the nearest known line number."""

    def __init__(self, file: str, lines: dict[PathKey, int]) -> None:
        self.file = file
        self.lines = lines

    def problem(self, path: PathKey, message: str) -> Problem:
        """Return a problem at `path`, located at the line of its deepest known ancestor."""
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return Problem(self.file, self.lines.get(probe, 1), dotted(path), message)


def spec_schema() -> dict[str, Any]:
    """The JSON Schema that every spec file must satisfy."""
    text = resources.files("codegen").joinpath("spec.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _schema_problems(data: Any, locate: Locator) -> Iterator[Problem]:
    validator = jsonschema.Draft202012Validator(spec_schema())
    for error in validator.iter_errors(data):
        # Report the most specific reason of a failed anyOf/oneOf rather than the umbrella.
        leaves = [error]
        while leaves[0].context:
            leaves = sorted(leaves[0].context, key=lambda e: len(e.absolute_path), reverse=True)[:1]
        leaf = leaves[0]
        yield locate.problem(tuple(leaf.absolute_path), leaf.message)


def load_spec(path: Path | str) -> dict[str, Any]:
    """Read and check the spec at `path`; raise `SpecError` listing every problem found."""
    path = Path(path)
    label = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError([Problem(label, 0, "", f"cannot read the spec: {error}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpecError([Problem(label, line, "", f"not valid YAML: {error}")]) from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    locate = Locator(label, lines)
    problems = list(_schema_problems(data, locate))
    if isinstance(data, dict):
        report: Callable[[PathKey, str], None] = lambda where, message: problems.append(  # noqa: E731
            locate.problem(where, message)
        )
        semantic_problems(data, report)
    if problems:
        raise SpecError(problems)
    assert isinstance(data, dict)
    return data
