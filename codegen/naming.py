"""Names: the service's wire names and the identifiers generated code uses."""

from __future__ import annotations

import re

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def aspnet_camel_case(name: str) -> str:
    """Return the name ASP.NET's camelCase policy gives the C# property `name`.

    The leading run of capitals is lowered up to, but not including, the last capital before a
    non-capital (`HOSP_ID` -> `hosP_ID`, `MEMO2` -> `memO2`, `TOKENID` -> `tokenid`). This is the
    rule of System.Text.Json's `JsonNamingPolicy.CamelCase`; `_` and digits are not capitals.
    """
    if not name or not name[0].isupper():
        return name
    chars = list(name)
    for i, char in enumerate(chars):
        if i == 1 and not char.isupper():
            break
        has_next = i + 1 < len(chars)
        if i > 0 and has_next and not chars[i + 1].isupper():
            if chars[i + 1] == " ":
                chars[i] = char.lower()
            break
        chars[i] = char.lower()
    return "".join(chars)


def snake_case(name: str) -> str:
    """Return a Python identifier for a manual name: `HOSP_ID` -> `hosp_id`, `isBooking` -> `is_booking`."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def constant_name(*parts: str) -> str:
    """Return an UPPER_SNAKE module constant built from `parts`."""
    joined = "_".join(snake_case(part) for part in parts if part)
    return re.sub(r"[^0-9A-Za-z_]", "_", joined).upper()


def pascal_case(name: str) -> str:
    """Return `name` in PascalCase: `cure_type` -> `CureType`, `GetSCDataB` stays as it is."""
    if "_" not in name and name[:1].isupper():
        return name
    return "".join(part[:1].upper() + part[1:] for part in snake_case(name).split("_") if part)


# Words that cannot name an enum member in one of the languages OpenAPI Generator writes for
# vendors (C#, Java, PHP, Python, TypeScript), compared ignoring case as PHP does. Generators
# escape some of them and not others (Python's `None` makes a whole generated client fail to
# import), so the document never offers one.
_RESERVED = frozenset(
    [
        "abstract",
        "and",
        "array",
        "as",
        "assert",
        "async",
        "await",
        "base",
        "bool",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "checked",
        "class",
        "clone",
        "const",
        "continue",
        "decimal",
        "declare",
        "default",
        "del",
        "delegate",
        "do",
        "double",
        "echo",
        "elif",
        "else",
        "empty",
        "enum",
        "eval",
        "event",
        "exit",
        "explicit",
        "extends",
        "extern",
        "false",
        "final",
        "finally",
        "fixed",
        "float",
        "fn",
        "for",
        "foreach",
        "from",
        "function",
        "global",
        "goto",
        "if",
        "implements",
        "implicit",
        "import",
        "in",
        "include",
        "instanceof",
        "int",
        "interface",
        "internal",
        "is",
        "isset",
        "lambda",
        "let",
        "list",
        "lock",
        "long",
        "match",
        "namespace",
        "native",
        "new",
        "none",
        "nonlocal",
        "not",
        "null",
        "object",
        "operator",
        "or",
        "out",
        "override",
        "package",
        "params",
        "pass",
        "print",
        "private",
        "protected",
        "public",
        "raise",
        "readonly",
        "ref",
        "require",
        "return",
        "sbyte",
        "sealed",
        "short",
        "sizeof",
        "static",
        "string",
        "struct",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "trait",
        "transient",
        "true",
        "try",
        "type",
        "typeof",
        "uint",
        "ulong",
        "unchecked",
        "unsafe",
        "unset",
        "ushort",
        "use",
        "using",
        "var",
        "virtual",
        "void",
        "volatile",
        "while",
        "with",
        "xor",
        "yield",
    ]
)


def enum_member_name(name: str) -> str:
    """An enum member name legal in C#, Java, PHP, Python and TypeScript (`None` -> `NoneValue`)."""
    return f"{name}Value" if name.lower() in _RESERVED else name
