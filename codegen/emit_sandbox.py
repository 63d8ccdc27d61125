"""The sandbox's routes: `sandbox_routes.py` in the generated package.

The sandbox server (scforhis/sandbox/) serves one route per operation of the spec.
Its business logic is hand-written; what it must not retype is decided here from the model:
each operation's method and path (through the client's operation table) and the wire names and
codes of its answer (`msG_CODE`, `msG_INFO`, `tokenid`, `Y`/`N`), which the client's table keeps
only lower-cased. The template `sandbox_routes.py.j2` lays the plans out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Operation, Spec
from .render import render_template


@dataclass(frozen=True)
class EndpointPlan:
    """How the sandbox answers one operation."""

    operation: Operation
    kind: str
    code: str | None
    info: str | None
    token: str | None
    success_code: str | None
    failure_code: str | None
    success_message: str


def endpoint_plan(spec: Spec, operation: Operation) -> EndpointPlan:
    """The answer of `operation`: outcome-code and message members, token member, codes."""
    response = operation.response
    code = next((f for f in response.fields if f.enum), None)
    info = next(
        (f for f in response.fields if f is not code and not f.sensitive and not f.enum), None
    )
    token = next((f for f in response.fields if f.sensitive == "secret"), None)
    success = failure = None
    if code is not None and code.enum is not None:
        success = next(c.equals for c in spec.conditions.values() if c.field == code.key)
        failure = next(c for c in sorted(code.enum.codes) if c != success)
    if not response.success_messages:
        raise ValueError(f"{operation.name}: the sandbox needs a documented success message")
    return EndpointPlan(
        operation=operation,
        kind=response.kind,
        code=code.wire if code else None,
        info=info.wire if info else None,
        token=token.wire if token else None,
        success_code=success,
        failure_code=failure,
        success_message=response.success_messages[0],
    )


def emit_sandbox(spec: Spec) -> dict[str, str]:
    """The generated sandbox route table, keyed by its path under generated/."""
    plans = [endpoint_plan(spec, op) for op in spec.operations]
    text = render_template("routes.py.j2", spec=spec, endpoints=plans)
    return {"routes.py": text}
