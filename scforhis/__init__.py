"""scforhis: the HPA smoking-cessation service API (ScForHisWebApi, 醫事機構戒菸服務系統).

Validate a request before sending it:

    >>> import scforhis
    >>> result = scforhis.validate("Save", record)
    >>> result.ok, [str(issue) for issue in result.errors]

or call the service with `scforhis.Client` (or `scforhis.AsyncClient`), which validates first:

    >>> with scforhis.Client() as client:  # settings from SCFORHIS_* environment variables
    ...     client.save(record).raise_for_code()

The package has wings (see README's map): `validation/` and `client/` are hand-written and never
import generated code; `_generated/` is written by `make generate` from the spec and imports
them; `sandbox/`, `batch/` and `cli.py` are applications on top of both.
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._generated import *  # noqa: F403  (the spec-derived names; their list is _generated.__all__)
    from .client.replies import (
        ApiResult as ApiResult,
    )
    from .client.replies import (
        Eligibility as Eligibility,
    )
    from .client.replies import (
        EligibilityResult as EligibilityResult,
    )
    from .client.replies import (
        Token as Token,
    )
    from .client.replies import (
        judge_eligibility as judge_eligibility,
    )
    from .client.settings import (
        RetryPolicy as RetryPolicy,
    )
    from .client.settings import (
        Settings as Settings,
    )
    from .errors import (
        ConfigurationError as ConfigurationError,
    )
    from .errors import (
        ConnectionFailedError as ConnectionFailedError,
    )
    from .errors import (
        HTTPStatusError as HTTPStatusError,
    )
    from .errors import (
        OutcomeUnknownError as OutcomeUnknownError,
    )
    from .errors import (
        ProtocolError as ProtocolError,
    )
    from .errors import (
        RejectedError as RejectedError,
    )
    from .errors import (
        RequestTimeoutError as RequestTimeoutError,
    )
    from .errors import (
        RetryLaterError as RetryLaterError,
    )
    from .errors import (
        ScForHisError as ScForHisError,
    )
    from .errors import (
        TransportError as TransportError,
    )
    from .errors import (
        UnencodableError as UnencodableError,
    )
    from .errors import (
        ValidationError as ValidationError,
    )
    from .validation.issues import (
        FieldInfo as FieldInfo,
    )
    from .validation.issues import (
        Issue as Issue,
    )
    from .validation.issues import (
        ValidationResult as ValidationResult,
    )

# Each hand-written public name and the module that holds it. Nothing is imported until a name is
# first used: the client needs httpx and the settings need ssl, and `scforhis validate` needs neither.
_HAND_WRITTEN = {
    "ApiResult": "client.replies",
    "Eligibility": "client.replies",
    "EligibilityResult": "client.replies",
    "Token": "client.replies",
    "judge_eligibility": "client.replies",
    "RetryPolicy": "client.settings",
    "Settings": "client.settings",
    "ConfigurationError": "errors",
    "ConnectionFailedError": "errors",
    "HTTPStatusError": "errors",
    "OutcomeUnknownError": "errors",
    "ProtocolError": "errors",
    "RejectedError": "errors",
    "RequestTimeoutError": "errors",
    "RetryLaterError": "errors",
    "ScForHisError": "errors",
    "TransportError": "errors",
    "UnencodableError": "errors",
    "ValidationError": "errors",
    "FieldInfo": "validation.issues",
    "Issue": "validation.issues",
    "ValidationResult": "validation.issues",
}
# The generated modules that earlier releases had at the top (`scforhis.validators.CHECKS`).
_GENERATED_MODULES = ("validators", "models", "operations")

__version__ = "0.1.0"


def _spec_exports() -> dict[str, str]:
    """The spec-derived public names and the generated module holding each (`""`: the subpackage
    itself). Read on first use, so the hand-written wings import before the first `make generate`."""
    generated = importlib.import_module("._generated", __name__)
    return {"API_NAME": "", "MANUAL_VERSION": "", **generated.EXPORTS}


def __getattr__(name: str) -> Any:
    if name in _HAND_WRITTEN:
        value = getattr(importlib.import_module(f".{_HAND_WRITTEN[name]}", __name__), name)
    elif name == "__all__":
        value = sorted({*_HAND_WRITTEN, *_spec_exports()})
    elif not name.startswith("_") and name in (spec := _spec_exports()):
        module = importlib.import_module(f"._generated.{spec[name]}".rstrip("."), __name__)
        value = getattr(module, name)
    elif name in _GENERATED_MODULES:
        value = importlib.import_module(f"._generated.{name}", __name__)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # `scforhis.cli` and the like
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups find it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HAND_WRITTEN, *_spec_exports()})
