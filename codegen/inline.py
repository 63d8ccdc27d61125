"""Rule checks written inline: a check whose body is one `return` expression becomes that
expression, with the rule's arguments in place of its parameters.

A call to a small Python function costs more than the comparison inside it, and validators run
every rule on every record; inlining keeps `scforhis/validation/rules.py` the one place where a check
is written while the generated code pays only for the comparison. A check that is more than one
expression, or uses anything but names, constants, operators and calls of named functions, stays
a call.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Expression nodes whose meaning does not depend on where the code stands (no new scopes, no
# assignments, no attribute or subscript look-ups that could change with the substitution; so a
# call can only be of a plain name, with positional arguments).
# Inlined checks may only use names from the hand-written validation code: the generated module
# imports them from there, and the validation wing never imports generated code.
RUNTIME_PACKAGE = "scforhis.validation"

_ALLOWED = (
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)


@dataclass(frozen=True)
class Inlined:
    """An inlined check: the expression (parenthesised) and the names it needs imported,
    as (module, name) pairs, each module a dotted path inside the hand-written package."""

    expression: str
    imports: frozenset[tuple[str, str]]


def inline_check(function: Callable[..., Any], arguments: Mapping[str, str]) -> Inlined | None:
    """`function`'s return expression with `arguments` (parameter -> Python expression text)
    substituted, or None when the function is not a single allowed expression."""
    definition = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(definition, ast.FunctionDef)
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    expression = body[0].value
    if not all(isinstance(node, _ALLOWED) for node in ast.walk(expression)):
        return None
    imports: set[tuple[str, str]] = set()
    for node in ast.walk(expression):
        if isinstance(node, ast.Name) and node.id not in arguments:
            found = function.__globals__.get(node.id)
            if found is None:
                if not hasattr(builtins, node.id):
                    return None
                continue
            module = getattr(found, "__module__", "")
            if not module.startswith(RUNTIME_PACKAGE + "."):
                return None
            imports.add((module, node.id))

    class _Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id in arguments:
                return ast.parse(arguments[node.id], mode="eval").body
            return node

        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
            # `-after` with after = 0 reads better as `0` than as `-0`.
            self.generic_visit(node)
            operand = node.operand
            if isinstance(node.op, ast.USub) and isinstance(operand, ast.Constant):
                value = operand.value
                if type(value) is int or type(value) is float:
                    return ast.Constant(-value)
            return node

    substituted = _Substitute().visit(expression)
    return Inlined(f"({ast.unparse(substituted)})", frozenset(imports))


@dataclass(frozen=True)
class SharedCall:
    """A call that several inlined checks make with the same arguments, computed once: the
    variable that holds it, the call, and the test that its arguments are all parsed."""

    variable: str
    call: str
    guard: str


def share_calls(expressions: list[str]) -> tuple[list[SharedCall], list[str]]:
    """Calls of a named function on parsed values (`p_...` names) that appear more than once in
    `expressions`, and the expressions with each such call replaced by its variable.

    Age from the date of birth to the visit is asked by three rules of a Save; computing it once
    per record is a third of the cost. A rule reads the variable only under its own guard, which
    already requires every `p_` argument, so the variable is None only where no rule looks at it.
    """
    counts: dict[str, int] = {}
    arguments: dict[str, list[str]] = {}
    for text in expressions:
        for node in ast.walk(ast.parse(text, mode="eval")):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.args
                and not node.keywords
                and all(isinstance(a, ast.Name) and a.id.startswith("p_") for a in node.args)
            ):
                call = ast.unparse(node)
                counts[call] = counts.get(call, 0) + 1
                arguments[call] = [a.id for a in node.args if isinstance(a, ast.Name)]
    shared = []
    for call, count in sorted(counts.items()):
        if count < 2:
            continue
        names = arguments[call]
        func = call.split("(", 1)[0]
        variable = "_".join(["a", func, *(name.removeprefix("p_") for name in names)])
        guard = " and ".join(f"{name} is not None" for name in names)
        shared.append(SharedCall(variable, call, guard))
    replaced = []
    for text in expressions:
        for item in shared:
            text = text.replace(item.call, item.variable)
        replaced.append(text)
    return shared, replaced
