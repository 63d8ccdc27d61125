"""Keeping secrets out of what people read: logs, exception messages, reprs.

Known secret values (account, password, token) are replaced outright, in every form a service or a
gateway may echo them: plain, URL-encoded once or twice (`%26pwd%3D...`, `%2526pwd%253D...`),
JSON-escaped, as HTML entities. Values of secret-named fields in JSON or a query string are hidden
whatever they hold; anything shaped like a Taiwan ID number is masked (`A12****789`); long texts
are cut short.

The text is first decoded (percent escapes, HTML entities, JSON escapes, repeatedly), so that an
encoded secret, field name or ID number reads as itself before the patterns run: what people see is
the decoded text, redacted. A text still encoded after a few rounds is hostile or broken; its
remaining escapes are hidden as a whole. At most `SCAN_LIMIT` characters are ever looked at.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote

from scforhis.validation.idnumbers import mask_id

HIDDEN = "******"
# No text longer than this is scanned: the reply cap (64 KiB) bounds what arrives, this bounds
# every other text (an exception's message, a log line).
SCAN_LIMIT = 64 * 1024

# A national ID or resident certificate number inside longer text, in either letter case; an
# escape just before it (`%3D`, `\u003d`, `\n`) does not hide it.
_ID_LIKE = re.compile(
    r"(?:(?<![0-9A-Za-z])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\[nrtbf]))"
    r"[A-Za-z][12ABCDabcd89][0-9]{8}(?![0-9A-Za-z])"
)
# The shortest secret replaced by value: shorter ones would garble innocent text.
_MIN_SECRET = 3
# What a scan cut short drops from its end at least (more when a secret's form is longer).
_CUT_TAIL = 256
# Decoding rounds before a text that is still encoded is treated as hostile.
_DECODE_ROUNDS = 6
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_JSON_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|[\"\\/bfnrt])")
_JSON_SIMPLE = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


def _names(names: Iterable[str]) -> str:
    return "|".join(re.escape(name) for name in sorted(set(names), key=lambda n: (-len(n), n)))


def secret_patterns(names: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Patterns for `"name": "value"` and `name=value` with a secret `name` (any letter case)."""
    alternatives = _names(names)
    if not alternatives:
        return None
    json_field = re.compile(
        rf'(["\']?(?<![0-9A-Za-z_])(?:{alternatives})["\']?\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,;}}\s]+)',
        re.IGNORECASE,
    )
    query_field = re.compile(
        rf"((?<![0-9A-Za-z_])(?:{alternatives})\s*=)[^&\s#'\"<>]*", re.IGNORECASE
    )
    return json_field, query_field


def _json_unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape[0] == "u":
        return chr(int(escape[1:], 16))
    return _JSON_SIMPLE[escape]


def _decode_once(text: str) -> str:
    if "%" in text:
        text = unquote(text, errors="replace")
    if "&" in text:
        # Only complete entities: `html.unescape` alone would read `&not=` in a query as `¬=`.
        text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    if "\\" in text:
        text = _JSON_ESCAPE.sub(_json_unescape, text)
    return text


def decoded(text: str) -> str:
    """`text` with percent escapes, HTML entities and JSON escapes decoded, repeatedly.

    Escapes that remain after a few rounds (a text encoded over and over) are replaced by `HIDDEN`:
    nothing encoded more deeply than that is shown.
    """
    for _ in range(_DECODE_ROUNDS):
        plain = _decode_once(text)
        if plain == text:
            return text
        text = plain
    if _decode_once(text) == text:
        return text
    text = _PERCENT.sub(HIDDEN, text)
    text = _ENTITY.sub(HIDDEN, text)
    return _JSON_ESCAPE.sub(HIDDEN, text)


def secret_forms(secret: str) -> set[str]:
    """The forms in which `secret` may be echoed: plain, URL-encoded once or twice (with `%20` or
    `+` for a space), JSON-escaped (with or without `\\u` escapes), HTML-escaped."""
    try:
        once = {quote(secret, safe=""), quote_plus(secret, safe="")}
    except UnicodeEncodeError:  # a lone surrogate: such a secret is never sent, so never encoded
        once = set()
    forms = {secret, *once, *(quote(form, safe="") for form in once)}
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {html.escape(secret), html.escape(secret, quote=False)}
    return forms


def redact(
    text: str,
    secrets: Iterable[str | None] = (),
    patterns: tuple[re.Pattern[str], re.Pattern[str]] | None = None,
    limit: int = 300,
) -> str:
    """`text` decoded, with secrets hidden, ID numbers masked, and at most `limit` characters."""
    cut = len(text) > SCAN_LIMIT
    text = text[:SCAN_LIMIT]
    known = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    forms = sorted({form for s in known for form in secret_forms(s)}, key=len, reverse=True)
    # Encoded forms first, on the text as it came (decoding `+` would change a token's own `+`),
    # then the plain values once more on the decoded text.
    text = _replace_all(text, forms)
    text = _hide_remainders(_replace_all(decoded(text), known), known)
    if patterns is not None:
        json_field, query_field = patterns
        text = json_field.sub(lambda m: f'{m.group(1)}"{HIDDEN}"', text)
        text = query_field.sub(lambda m: m.group(1) + HIDDEN, text)
    text = _ID_LIKE.sub(lambda m: mask_id(m.group()), text)
    if cut:
        # The scan stopped inside the text: its end may hold the beginning of a secret cut in two,
        # which no form matched. Drop as much as the longest form could leave there.
        tail = max([_CUT_TAIL, *map(len, forms)])
        text = text[: max(len(text) - tail, 0)] + "..."
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _hide_remainders(text: str, known: list[str]) -> str:
    """Hide what is left of a secret that holds a shorter one (a password that begins with the
    account). The first pass hides the shorter one wherever it shows, also inside an echo of the
    longer one that only decoding reveals (`&#120;abcx` for `xabcx`): the longer one then reads
    `x******x`, which is hidden here. `known` is longest first."""
    for index, longer in enumerate(known):
        inner = [s for s in known[index + 1 :] if s.lower() in longer.lower()]
        if inner and (remainder := _replace_all(longer, inner)) != HIDDEN:
            text = _replace_all(text, [remainder])
    return text


def _replace_all(text: str, values: list[str]) -> str:
    if not values:
        return text
    alternatives = re.compile("|".join(re.escape(value) for value in values), re.IGNORECASE)
    return alternatives.sub(HIDDEN, text)


def shown_value(value: object, sensitive: str | None) -> str:
    """A field value as a repr may show it: secrets hidden, ID numbers masked."""
    if value is None:
        return "None"
    if sensitive == "secret":
        return HIDDEN
    if sensitive == "national_id" and isinstance(value, str):
        return repr(mask_id(value))
    return repr(value)
