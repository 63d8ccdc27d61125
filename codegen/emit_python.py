"""The generated half of the Python package: `scforhis/_generated/` (validators, models,
operations, the typed client, the sandbox routes and the table of public names).

The emitter decides everything here (constant names, fast paths, what each field checks); the
templates in codegen/templates only lay the decisions out as code. Output is formatted by ruff.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .emit_client import ClientEmitter, emit_client
from .emit_sandbox import emit_sandbox
from .inline import RUNTIME_PACKAGE, SharedCall, inline_check, share_calls
from .model import Condition, Enum, Evidence, Field, Operation, Rule, SoftRange, Spec
from .naming import constant_name
from .patterns import (
    admits_any_character,
    character_run,
    fast_range,
    implies,
    small_integer_domain,
    tenths_domain,
    value_pattern,
)
from .render import render_template
from .semantics import RULE_FUNCTIONS, check_parameters

# How generated code parses a valid value of each kind, for rules that need it.
_PARSERS = {"gregorian": "parse_gregorian", "roc": "parse_roc"}
# Runtime checks that themselves refuse any text not in exactly this pattern's shape: a field
# with that pattern needs no regex before them (one test instead of two on the hot path).
_SHAPE_CHECKING = {
    "parse_gregorian": "^[0-9]{4}/[0-9]{2}/[0-9]{2}$",
    "id_checksum_ok": "^[A-Z][12ABCD89][0-9]{8}$",
}


def _number(value: float) -> float | int:
    """`5` rather than `5.0` in generated code, where the value is whole."""
    return int(value) if float(value).is_integer() else value


@dataclass
class FieldPlan:
    """How one field of one operation is checked, as the template lays it out."""

    field: Field
    info: str
    presence: str
    condition_var: str | None
    condition_const: str | None
    kind: str
    parsed: str | None
    key: str
    const: str | None = None
    regex: str | None = None
    choices: str | None = None
    expected: str | None = None
    minimum: str | None = None
    maximum: str | None = None
    parser: str | None = None
    parser_checks_shape: bool = False
    checksum: bool = False
    checksum_checks_shape: bool = False
    # (str method, shortest, longest) when a length test and str methods replace the regex.
    run: tuple[str, int, int] | None = None
    calendar: str | None = None
    depends: list[dict[str, str]] = dataclasses.field(default_factory=list)
    # Where a value failing its own check goes ("errors" or "warnings"), and the evidence kind.
    target: str = "errors"
    evidence: str = "manual"
    # Bounds constants for numbers: the range the value's check enforces, and the plausible one.
    bounds: str | None = None
    plausible: str = "None"
    # The longest value a text column holds.
    max_length: int | None = None
    # Soft checks after the value's own check passes: {"test": expression on v, "const": Advice}.
    advice: list[dict[str, str]] = dataclasses.field(default_factory=list)
    # The expression, on a non-blank string v, of the value's own check when advice follows it.
    hard_test: str | None = None
    # The Absence message constant: what to warn when the field is left out.
    absent: str | None = None
    # The advice is proved narrower than the value's own check: the fast path tests it alone.
    advice_covers: bool = False
    # The advice tests joined with `and`, for the fast path.
    advice_test: str = ""
    # The fast path's test may pass a string holding a lone surrogate (free text, a pattern
    # with `.` or `[^...]`): it then tests for one too.
    admits_surrogates: bool = False


@dataclass
class RulePlan:
    """One rule call: its guard, the call, and the issue it raises."""

    rule: Rule
    guard: str
    prelude: list[str]
    call: str
    info: str
    target: str


@dataclass
class OperationPlan:
    """Everything the template needs for one operation's validator."""

    operation: Operation
    function: str
    wires_const: str
    folded_const: str
    labels_const: str
    folded: dict[str, str]
    labels: dict[str, str]
    aliases_const: str
    aliases: dict[str, str]
    # (variable, wire name, value that makes it true, variable holding the field's value, and
    # the module variable holding the wire name)
    conditions: list[tuple[str, str, str, str, str]]
    fields: list[FieldPlan]
    rules: list[RulePlan]
    needs_today: bool
    shared: list[SharedCall] = dataclasses.field(default_factory=list)
    # The private function that does the checking; operations with the same fields and rules
    # (Update is Save's twin) share one, and only the first of them emits it.
    checker: str = ""
    emits_checker: bool = True


class _Constants:
    """Module-level constants, each written once and named after what it holds.

    Asking twice for the same name and value gives the one constant; the same name with another
    value gets a numbered name, so no constant is ever named after something it does not hold.
    """

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.known: dict[tuple[str, str], str] = {}

    def add(self, name: str, value: str) -> str:
        if (name, value) in self.known:
            return self.known[(name, value)]
        base, index = name, 2
        while name in self.items:
            name, index = f"{base}_{index}", index + 1
        self.items[name] = value
        self.known[(base, value)] = name
        return name


class PythonEmitter:
    """Plans and renders the validator module for a spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.constants = _Constants()
        # (module, name) pairs the validators import from the hand-written validation wing.
        self.imports: set[tuple[str, str]] = {
            (f"{RUNTIME_PACKAGE}.dates", "parse_gregorian"),
            (f"{RUNTIME_PACKAGE}.dates", "parse_roc"),
            (f"{RUNTIME_PACKAGE}.dates", "taiwan_today"),
        }
        # Each wire name the checks look up and the module variable that holds it.
        self.key_names: dict[str, str] = {}

    def key_name(self, field: Field) -> str:
        """The module variable holding `field`'s wire name, for look-ups (see share_key_objects)."""
        name = self.constants.add(constant_name("KEY", field.key), repr(field.wire))
        self.key_names[field.wire] = name
        return name

    def info(self, field: Field) -> str:
        args = [field.wire, field.table_name, field.label, field.label_en]
        text = ", ".join(repr(a) for a in args)
        if field.sensitive:
            text += f", {field.sensitive!r}"
        return self.constants.add(
            constant_name("F", field.origin or "", field.key), f"FieldInfo({text})"
        )

    def enum_set(self, enum: Enum) -> str:
        codes = ", ".join(repr(c) for c in sorted(enum.codes))
        return self.constants.add(constant_name("ENUM", enum.key), f"frozenset({{{codes}}})")

    def condition(self, condition: Condition) -> str:
        return self.constants.add(
            constant_name("WHEN", condition.key), f"({condition.label!r}, {condition.label_en!r})"
        )

    def regex(self, name: str, pattern: str) -> str:
        return self.constants.add(constant_name("RE", name), f"re.compile({pattern!r})")

    def bounds(
        self,
        name: str,
        low: float,
        high: float,
        evidence: Evidence,
        hint: str = "",
        hint_en: str = "",
    ) -> str:
        """A `Bounds` constant: a number range, its evidence and the hint shown outside it."""
        args = [repr(_number(low)), repr(_number(high)), repr(evidence.kind)]
        if hint or hint_en:
            args += [repr(hint), repr(hint_en)]
        return self.constants.add(name, f"Bounds({', '.join(args)})")

    def soft_bounds(self, name: str, soft: SoftRange) -> str:
        """A `Bounds` constant of a plausible range, with the hint shown outside it."""
        return self.bounds(name, soft.minimum, soft.maximum, soft.evidence, soft.hint, soft.hint_en)

    def text_test(self, pattern: str, name: str) -> str:
        """An expression true when a string `v` matches `pattern`: str methods where they say
        the same as the regex (a third of its cost), else the compiled regex."""
        run = character_run(pattern)
        if run is not None:
            test, shortest, longest = run
            size = (
                f"len(v) == {shortest}"
                if shortest == longest
                else f"{shortest} <= len(v) <= {longest}"
            )
            return f"{size} and v.{test}() and v.isascii()"
        return f"{self.regex(name, pattern)}.fullmatch(v) is not None"

    def field_plan(self, field: Field, needed: set[str]) -> FieldPlan:
        condition = field.condition
        plan = FieldPlan(
            field=field,
            info=self.info(field),
            presence="when" if condition else field.required,
            condition_var=f"c_{condition.key}" if condition else None,
            condition_const=self.condition(condition) if condition else None,
            kind=field.kind,
            parsed=f"p_{field.python_name}" if field.key in needed or field.depends else None,
            key=self.key_name(field),
        )
        evidence = field.value_evidence
        if evidence is not None:
            plan.evidence = evidence.kind
            plan.target = "errors" if evidence.severity == "error" else "warnings"
        if field.absent is not None:
            absence = field.absent
            plan.absent = self.constants.add(
                constant_name("ABSENT", field.key),
                f"({absence.message!r}, {absence.message_en!r}, {absence.evidence.kind!r})",
            )
        fmt = field.format
        if field.enum is not None:
            plan.const = self.enum_set(field.enum)
            plan.choices = f"{field.enum.choices!r}, {field.enum.choices_en!r}"
        elif fmt is not None and fmt.kind == "text":
            plan.max_length = fmt.max_length
            if fmt.max_length is not None:
                plan.hard_test = f"len(v) <= {fmt.max_length}"
        elif fmt is not None:
            pattern = value_pattern(field)
            assert pattern is not None
            plan.regex = self.regex(
                fmt.key if fmt.kind not in ("integer", "decimal") else field.key, pattern
            )
            plan.expected = f"{fmt.label!r}, {fmt.label_en!r}"
            plan.checksum = fmt.check == "tw_id_checksum"
            plan.checksum_checks_shape = _SHAPE_CHECKING["id_checksum_ok"] == pattern
            if fmt.kind in ("integer", "decimal"):
                self.number_plan(plan, field)
            plan.run = character_run(pattern)
            if fmt.kind == "date":
                plan.parser = _PARSERS[fmt.calendar or "gregorian"]
                plan.parser_checks_shape = _SHAPE_CHECKING.get(plan.parser) == pattern
            if fmt.kind in ("pattern", "list") and field.advice:
                plan.hard_test = (
                    f"{plan.regex}.fullmatch(v) is not None"
                    if fmt.kind == "list" or plan.run is None
                    else self.text_test(pattern, fmt.key)
                )
            plan.calendar = fmt.calendar
        for index, advice in enumerate(field.advice):
            name = constant_name("ADVICE", field.origin or "", field.key) + (
                f"_{index + 1}" if index else ""
            )
            regex = self.regex(name.removeprefix("ADVICE_"), advice.pattern)
            plan.advice.append(
                {
                    "test": self.text_test(advice.pattern, name.removeprefix("ADVICE_")),
                    "const": self.constants.add(
                        name,
                        f"Advice({regex}, {advice.label!r}, {advice.label_en!r}, "
                        f"{advice.hint!r}, {advice.hint_en!r}, {advice.evidence.kind!r})",
                    ),
                }
            )
        if field.advice and fmt is not None and fmt.kind in ("text", "pattern", "list"):
            hard = "" if fmt.kind == "text" else value_pattern(field) or ""
            plan.advice_covers = any(implies(a.pattern, hard, fmt.max_length) for a in field.advice)
            plan.advice_test = " and ".join(a["test"] for a in plan.advice)
        plan.admits_surrogates = self._admits_surrogates(field, plan)
        for dependent in field.depends:
            plan.depends.append(
                {
                    "var": f"c_{dependent.condition.key}",
                    "const": self.enum_set(dependent.enum),
                    "choices": f"{dependent.enum.choices!r}, {dependent.enum.choices_en!r}",
                    "when": self.condition(dependent.condition),
                    "target": "errors" if dependent.evidence.severity == "error" else "warnings",
                }
            )
        return plan

    @staticmethod
    def _admits_surrogates(field: Field, plan: FieldPlan) -> bool:
        """True when the fast path's test may pass a string holding a lone surrogate.

        The test is the value's own check (unless the advice covers it) and the advice's; it
        refuses surrogates when any of these does. Code sets, number tables, ID checksums,
        date parsers and character runs (`isascii`) refuse them; free text and patterns that
        may match any character (`admits_any_character`) do not.
        """
        fmt = field.format
        if field.enum is not None or plan.const is not None:
            return False
        own: bool
        if fmt is None or fmt.kind == "text":
            own = True
        elif plan.checksum or plan.run is not None or plan.parser_checks_shape:
            own = False
        else:
            own = admits_any_character(value_pattern(field))
        advice = [a.pattern for a in field.advice]
        if plan.advice_covers:
            return all(admits_any_character(p) for p in advice)
        return own and all(admits_any_character(p) for p in advice)

    def number_plan(self, plan: FieldPlan, field: Field) -> None:
        """Bounds, plausible range and the fast look-up table of a number field."""
        fmt = field.format
        assert fmt is not None
        soft = field.plausible
        if field.minimum is not None and field.maximum is not None:
            assert field.range_evidence is not None  # the spec check requires it
            plan.bounds = self.bounds(
                constant_name("BOUNDS", field.key),
                field.minimum,
                field.maximum,
                field.range_evidence,
            )
            if soft is not None:
                plan.plausible = self.soft_bounds(constant_name("PLAUSIBLE", field.key), soft)
        else:
            # No range the service enforces: the plausible one is the value's whole check.
            assert soft is not None
            plan.bounds = self.soft_bounds(constant_name("BOUNDS", field.key), soft)
        # The fast path takes only values that pass every check, the plausible range included.
        low, high = fast_range(field)
        plan.minimum, plan.maximum = repr(_number(low)), repr(_number(high))
        domain = small_integer_domain(field)
        if domain is None:
            raise ValueError(f"{field.key}: a number field needs a small plausible domain")
        # Whole numbers in a small range become one dict look-up giving the parsed value;
        # other spellings ("05", "170.5") take the full path.
        low_int, high_int = domain
        convert = "n" if fmt.kind == "integer" else "float(n)"
        table = f"{{str(n): {convert} for n in range({low_int}, {high_int + 1})}}"
        tenths = tenths_domain(field)
        if tenths is not None:
            # n / 10 and float("17.3") are the same float: both round 173/10 correctly.
            table = (
                f"{{**{table}, **{{f'{{n // 10}}.{{n % 10}}': n / 10 "
                f"for n in range({tenths[0]}, {tenths[1] + 1})}}}}"
            )
        plan.const = self.constants.add(
            constant_name("INT" if fmt.kind == "integer" else "NUMBER", field.key), table
        )
        if fmt.kind == "integer":
            plan.kind = "small_integer"

    def rule_plan(
        self, rule: Rule, plans: dict[str, FieldPlan], scores: dict[str, tuple[str, str]]
    ) -> RulePlan:
        guards = [f"c_{condition.key}" for condition in rule.when]
        values: dict[str, str] = {"today": "today"}
        for role, arg in rule.args:
            parsed = plans[arg.key].parsed
            guards.append(f"{parsed} is not None")
            values[role] = str(parsed)
        prelude = []
        for name, value in rule.params:
            if isinstance(value, str) and value in scores:
                variable, expression = scores[value]
                prelude.append(f"{variable} = {expression}")
                values[name] = variable
            else:
                values[name] = repr(value)
        parameters = check_parameters(rule.check)
        inlined = inline_check(RULE_FUNCTIONS[rule.check], {p: values[p] for p in parameters})
        if inlined is not None:
            call = inlined.expression
            self.imports.update(inlined.imports)
        else:
            # Positional, in the check's own parameter order: the cheapest call Python makes.
            call = f"rules.{rule.check}({', '.join(values[p] for p in parameters)})"
            self.imports.add((RUNTIME_PACKAGE, "rules"))
        return RulePlan(
            rule=rule,
            guard=" and ".join(guards) if guards else "True",
            prelude=prelude,
            call=call,
            info=plans[rule.field.key].info,
            target="errors" if rule.severity == "error" else "warnings",
        )

    def operation_plan(self, operation: Operation) -> OperationPlan:
        scores = [
            s
            for s in self.spec.scores
            if any(r for r in operation.rules if dict(r.params).get("score") == s.key)
        ]
        needed = {arg.key for rule in operation.rules for _, arg in rule.args}
        needed |= {key for score in scores for key, _ in score.points}
        plans = {f.key: self.field_plan(f, needed) for f in operation.fields}
        score_expressions = {}
        for score in scores:
            terms, parsed = [], []
            for key, points in score.points:
                table = ", ".join(f"{code!r}: {value}" for code, value in points)
                const = self.constants.add(constant_name("POINTS", score.key, key), f"{{{table}}}")
                terms.append(f"{const}[{plans[key].parsed}]")
                parsed.append(str(plans[key].parsed))
            # A score exists only when every answer is valid; it is computed only where a rule needs it.
            expression = f"({' + '.join(terms)}) if None not in ({', '.join(parsed)},) else None"
            score_expressions[score.key] = (f"s_{score.key}", expression)
        rule_plans = [self.rule_plan(rule, plans, score_expressions) for rule in operation.rules]
        shared, calls = share_calls([plan.call for plan in rule_plans])
        for plan, call in zip(rule_plans, calls, strict=True):
            plan.call = call
        fn = operation.python_name
        return OperationPlan(
            operation=operation,
            function=f"validate_{fn}",
            wires_const=self.constants.add(
                constant_name("WIRES", fn),
                "frozenset({" + ", ".join(repr(f.wire) for f in operation.fields) + "})",
            ),
            folded_const=constant_name("FOLDED", fn),
            labels_const=constant_name("LABELS", fn),
            folded={f.wire.lower(): f.wire for f in operation.fields},
            labels={f.wire: f.label for f in operation.fields},
            aliases_const=constant_name("ALIASES", fn),
            aliases={f.alias.lower(): f.wire for f in operation.fields if f.alias},
            conditions=[
                (
                    f"c_{c.key}",
                    field.wire,
                    c.equals,
                    f"value_{field.python_name}",
                    plans[c.field].key,
                )
                for c in operation.conditions
                for field in [operation.field(c.field)]
            ],
            fields=list(plans.values()),
            rules=rule_plans,
            needs_today=any("today" in check_parameters(rule.check) for rule in operation.rules),
            shared=shared,
        )

    def validators_module(self) -> str:
        operations = [self.operation_plan(op) for op in self.spec.operations]
        first_of: dict[tuple[object, ...], OperationPlan] = {}
        for plan in operations:
            shape = (
                tuple((f.key, f.wire, f.required, f.alias) for f in plan.operation.fields),
                tuple(rule.id for rule in plan.operation.rules),
            )
            twin = first_of.setdefault(shape, plan)
            plan.checker = f"_{twin.function}"
            if twin is not plan:
                plan.emits_checker = False
                plan.wires_const, plan.folded_const, plan.labels_const, plan.aliases_const = (
                    twin.wires_const,
                    twin.folded_const,
                    twin.labels_const,
                    twin.aliases_const,
                )
        ftnd = next((s for s in self.spec.scores if s.key == "ftnd"), None)
        score_functions = []
        for score in self.spec.scores:
            host = next(
                op
                for op in self.spec.operations
                if all(k in {f.key for f in op.fields} for k, _ in score.points)
            )
            terms = []
            for key, points in score.points:
                table = ", ".join(f"{code!r}: {value}" for code, value in points)
                const = self.constants.add(constant_name("POINTS", score.key, key), f"{{{table}}}")
                terms.append((const, host.field(key).wire))
            score_functions.append(
                {
                    "score": score,
                    "terms": terms,
                    "folded": constant_name("FOLDED", host.python_name),
                }
            )
        return render_template(
            "validators.py.j2",
            spec=self.spec,
            operations=operations,
            constants=self.constants.items,
            score_functions=score_functions,
            has_ftnd=ftnd is not None,
            encoding_evidence=self.spec.api.text_encoding.kind,
            key_names=dict(sorted(self.key_names.items())),
            imports={
                module: sorted(name for m, name in self.imports if m == module)
                for module in sorted({m for m, _ in self.imports})
            },
        )

    def init_module(self) -> str:
        client = ClientEmitter(self.spec)
        return render_template(
            "init.py.j2",
            spec=self.spec,
            operations=self.spec.operations,
            enums=list(client.enums.values()),
            models=[plan.model for plan in client.operations if plan.model],
        )


# Where the generated subpackage stands, relative to the repository root.
GENERATED_PACKAGE = "scforhis/_generated"


def emit_python(spec: Spec) -> dict[str, str]:
    """Every file of the generated subpackage, keyed by its path under GENERATED_PACKAGE."""
    emitter = PythonEmitter(spec)
    files: dict[str, Any] = {"validators.py": emitter.validators_module()}
    files["__init__.py"] = emitter.init_module()
    files.update(emit_client(spec))
    files.update(emit_sandbox(spec))
    return files
