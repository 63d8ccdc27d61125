"""Text the service can receive, and values as messages show them.

The service reads its JSON body and its query string as UTF-8 (JSON exchanged between systems is
UTF-8, RFC 8259 section 8.1). A Python string may hold a lone surrogate, a code point from U+D800
to U+DFFF: half of a UTF-16 pair, as `"\\ud800"` in JSON or a file read with `surrogateescape`
leaves it. It is no Unicode character, so no UTF-8 encoder writes it (RFC 3629 section 3): a
request holding one cannot be sent. `surrogate_at` finds one in a string, `holds_surrogate`
anywhere in a value (keys of nested objects too).

`echo` is how a message shows a value: a short prefix, with the value's length when it is cut,
and lone surrogates written as `\\udXXX`, so that a message about a 10 MB value stays short and
a message about text that cannot be encoded can itself be encoded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A lone surrogate: the only code points a Python string holds that UTF-8 cannot encode.
SURROGATE = re.compile("[\ud800-\udfff]")
# How many characters of a value a message shows.
ECHO_LENGTH = 40


def surrogate_at(text: str) -> int:
    """The index of the first lone surrogate in `text`, or -1 when it has none."""
    if text.isascii():
        return -1
    found = SURROGATE.search(text)
    return -1 if found is None else found.start()


def holds_surrogate(value: object) -> bool:
    """True when `value` (a string, or a JSON-like tree of lists, tuples and mappings) holds a
    lone surrogate in any string, mapping keys included; other values hold none.

    Walks with a stack rather than recursion, so any depth is fine.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if surrogate_at(item) >= 0:
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def printable(text: str) -> str:
    """`text` with each lone surrogate written as `\\udXXX`, so that it can be encoded."""
    if surrogate_at(text) < 0:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def echo(text: str, limit: int = ECHO_LENGTH) -> str:
    """`text` as a message shows it: whole when short, else its first `limit` characters and
    its length (`…(10000000 字元 characters)`); lone surrogates written as `\\udXXX`."""
    if len(text) <= limit:
        return printable(text)
    return f"{printable(text[:limit])}…({len(text)} 字元 characters)"
