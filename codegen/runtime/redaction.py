"""Keeping secrets out of what people read: logs, exception messages, reprs.

Known secret values (account, password, token) are replaced outright; values of secret-named
fields in JSON or a query string are hidden whatever they hold; anything shaped like a Taiwan ID
number is masked (`A12****789`); long texts are cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .idnumbers import mask_id

HIDDEN = "******"

# A national ID or resident certificate number inside longer text, in either letter case.
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][12ABCDabcd89][0-9]{8}(?![0-9A-Za-z])")
# The shortest secret replaced by value: shorter ones would garble innocent text.
_MIN_SECRET = 3


def _names(names: Iterable[str]) -> str:
    return "|".join(re.escape(name) for name in sorted(set(names), key=lambda n: (-len(n), n)))


def secret_patterns(names: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Patterns for `"name": "value"` and `name=value` with a secret `name` (any letter case)."""
    alternatives = _names(names)
    if not alternatives:
        return None
    json_field = re.compile(
        rf'(["\']?(?:{alternatives})["\']?\s*:\s*)("(?:[^"\\]|\\.)*"|[^,;}}\s]+)', re.IGNORECASE
    )
    query_field = re.compile(rf"((?<![0-9A-Za-z_])(?:{alternatives})=)[^&\s#]*", re.IGNORECASE)
    return json_field, query_field


def redact(
    text: str,
    secrets: Iterable[str | None] = (),
    patterns: tuple[re.Pattern[str], re.Pattern[str]] | None = None,
    limit: int = 300,
) -> str:
    """`text` with secrets hidden, ID numbers masked, and at most `limit` characters."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len)[::-1]:
        text = text.replace(secret, HIDDEN)
    if patterns is not None:
        json_field, query_field = patterns
        text = json_field.sub(lambda m: f'{m.group(1)}"{HIDDEN}"', text)
        text = query_field.sub(lambda m: m.group(1) + HIDDEN, text)
    text = _ID_LIKE.sub(lambda m: mask_id(m.group()), text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def shown_value(value: object, sensitive: str | None) -> str:
    """A field value as a repr may show it: secrets hidden, ID numbers masked."""
    if value is None:
        return "None"
    if sensitive == "secret":
        return HIDDEN
    if sensitive == "national_id" and isinstance(value, str):
        return repr(mask_id(value))
    return repr(value)
