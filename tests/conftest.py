"""Shared fixtures and the Hypothesis profiles: `ci` (bounded, for `make test`) and `fuzz`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from codegen.load import load_spec
from codegen.model import Spec, build_model

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "scforhis.yaml"

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_MODEL = build_model(load_spec(SPEC_PATH))


def spec_model() -> Spec:
    """The model of the real spec, built once (usable at collection time for parametrize)."""
    return _MODEL


@pytest.fixture(scope="session")
def spec() -> Spec:
    """The model of the real spec."""
    return _MODEL


def load_schema(operation: str, part: str) -> dict[str, Any]:
    """A generated schema from generated/schemas."""
    path = ROOT / "generated" / "schemas" / f"{operation}.{part}.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def wait_until(condition: Callable[[], bool], patience: float = 10.0) -> None:
    """Wait (at most `patience` seconds) for a server running in another thread to reach a state."""
    deadline = time.monotonic() + patience
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.01)
