"""Field names as ASP.NET binds them: ignoring case, unknown names ignored.

The validator maps every key of a payload to its canonical wire name, and reports an unknown
key as a warning with the closest known name, since the service would silently drop its value.
The search for that name runs once per distinct unknown name, not once per record (an export
with 50 unknown columns has 50 names, but 50 of them in every row), and is skipped for a name
too long to be close to any known one.

A value the service drops still travels in the request: a lone surrogate in an unknown field's
value, in a name, or in the value of a name that another spelling overrides makes the whole
request unsendable, and is an error.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from typing import Any

from .issues import FieldInfo, Issue, Unhashable, unencodable, unencodable_name
from .text import echo, holds_surrogate, surrogate_at

# difflib's cutoff for a did-you-mean suggestion.
_CUTOFF = 0.75
# How many unknown names' warnings each name table remembers, and how many name tables.
_REMEMBERED_NAMES = 1024
_REMEMBERED_TABLES = 16
# Per name table (by identity; the table itself is kept, so that its id is not reused): the
# table's labels and the warning of each unknown name seen.
_WARNINGS: dict[int, tuple[Mapping[str, str], Mapping[str, str], dict[str, Issue]]] = {}


def _suggestion(lowered: str, folded: Mapping[str, str]) -> str | None:
    """The known name closest to `lowered`, or None; no search for a name too long to be close.

    difflib's ratio is 2M / T (M matching characters, T both lengths), at most
    2 * shorter / T: a name longer than (2 - cutoff) / cutoff times the longest known name
    cannot reach the cutoff, and searching it (a 10 MB name, say) would be wasted work.
    """
    longest = max(map(len, folded), default=0)
    if len(lowered) * _CUTOFF > longest * (2 - _CUTOFF):
        return None
    close = difflib.get_close_matches(lowered, list(folded), n=1, cutoff=_CUTOFF)
    return folded[close[0]] if close else None


def unknown_name(key: str, folded: Mapping[str, str], labels: Mapping[str, str]) -> Issue:
    """The warning for the unknown name `key`, with the closest known name; computed once per
    distinct name and name table, and remembered (bounded: the oldest are forgotten first)."""
    entry = _WARNINGS.get(id(folded))
    if entry is None or entry[0] is not folded or entry[1] is not labels:
        if len(_WARNINGS) >= _REMEMBERED_TABLES:
            _forget_oldest(_WARNINGS)
        entry = _WARNINGS[id(folded)] = (folded, labels, {})
    remembered = entry[2]
    issue = remembered.get(key)
    if issue is None:
        if len(remembered) >= _REMEMBERED_NAMES:
            _forget_oldest(remembered)
        issue = remembered[key] = _unknown(key, _suggestion(key.lower(), folded), labels)
    return issue


def _forget_oldest(table: dict[Any, Any]) -> None:
    """Drop the oldest entry of `table`; another thread may have changed it meanwhile, which
    only means a warning is computed again."""
    with contextlib.suppress(KeyError, RuntimeError, StopIteration):
        del table[next(iter(table))]


def _unknown(key: str, suggestion: str | None, labels: Mapping[str, str]) -> Issue:
    shown = echo(key)
    if suggestion is None:
        return Issue(
            shown,
            "",
            "unknown_field",
            f"未知欄位「{shown}」，服務會忽略它",
            f"Unknown field {shown!r}; the service ignores it",
            "warning",
        )
    label = labels.get(suggestion, "")
    return Issue(
        shown,
        "",
        "unknown_field",
        f"未知欄位「{shown}」，服務會忽略它；是否為「{suggestion}」（{label}）？",
        f"Unknown field {shown!r}; the service ignores it. Did you mean {suggestion!r}?",
        "warning",
    )


def _alias_issue(alias: str, wire: str, label: str, differs: bool) -> Issue:
    if differs:
        return Issue(
            wire,
            label,
            "alias_differs",
            f"「{alias}」與「{wire}」（{label}）的值不同；服務只綁定其中一個，請送相同的值",
            f"{alias!r} and {wire!r} carry different values; the service binds only one of them, so send the same value",
            "warning",
            None,
            "manual",
        )
    return Issue(
        wire,
        label,
        "alias_only",
        f"只送了「{alias}」（手冊範例的寫法）；表格寫「{wire}」（{label}），請兩個名稱都送同一個值",
        f"Only {alias!r} (the manual example's spelling) was sent; the table says {wire!r}: send the same value under both names",
        "warning",
        None,
        "manual",
    )


def canonical_keys(
    payload: Mapping[Any, Any],
    folded: Mapping[str, str],
    labels: Mapping[str, str],
    warnings: list[Issue],
    aliases: Mapping[str, str] | None = None,
    errors: list[Issue] | None = None,
    evidence: str = "manual",
) -> dict[str, Any]:
    """Return `payload` keyed by canonical wire names; warn of unknown and repeated names.

    `folded` maps each lower-cased wire name to its canonical spelling; `labels` maps canonical
    names to zh-TW labels for the did-you-mean hint. As with System.Text.Json, the last of two
    names differing only in case wins. `aliases` maps lower-cased other names of a field (the
    manual's `examyyear`) to its wire name: an alias stands in for a field that is absent, and
    the two are expected to agree when both are sent.

    A lone surrogate where no field check will see it (in a name, in an unknown field's value,
    in a value another spelling overrides) is reported in `errors`, with `evidence`; the
    values kept are checked by the fields' own checks.
    """
    result: dict[str, Any] = {}
    aliased: dict[str, tuple[str, Any]] = {}
    if errors is None:
        errors = []
    for key, value in payload.items():
        if not isinstance(key, str):
            warnings.append(_unknown(repr(key), None, labels))
            continue
        if surrogate_at(key) >= 0:
            errors.append(unencodable_name(key, evidence))
            continue
        lowered = key.lower()
        wire = folded.get(lowered)
        if wire is None and aliases and lowered in aliases:
            aliased[aliases[lowered]] = (key, value)
            continue
        if wire is None:
            warnings.append(unknown_name(key, folded, labels))
            if holds_surrogate(value):
                shown = echo(key)
                errors.append(unencodable(FieldInfo(shown, shown, "", ""), value, evidence))
            continue
        if wire in result:
            if holds_surrogate(result[wire]):
                info = FieldInfo(wire, wire, labels.get(wire, ""), wire)
                errors.append(unencodable(info, result[wire], evidence))
            warnings.append(
                Issue(
                    wire,
                    labels.get(wire, ""),
                    "duplicate_field",
                    f"欄位「{wire}」出現多次（名稱只差大小寫），服務採用最後一個",
                    f"Field {wire!r} appears more than once (names differ only in case); the service keeps the last",
                    "warning",
                )
            )
        result[wire] = value
    for wire, (alias, value) in aliased.items():
        label = labels.get(wire, "")
        if result.get(wire) is None:
            result[wire] = value
            if value is not None:
                warnings.append(_alias_issue(alias, wire, label, differs=False))
            continue
        if value is not None and value != result[wire]:
            warnings.append(_alias_issue(alias, wire, label, differs=True))
        if holds_surrogate(value):
            errors.append(unencodable(FieldInfo(alias, alias, label, alias), value, evidence))
    return result


def hashable_values(payload: Mapping[Any, Any]) -> dict[Any, Any]:
    """`payload` with each value that cannot be hashed wrapped in `Unhashable`.

    Validators look values up in sets before checking their type (most values are valid
    strings); a list or an object where a string belongs makes that look-up raise, and the
    validator then checks this copy instead, where such values are plainly of the wrong type.
    """
    result: dict[Any, Any] = {}
    for key, value in payload.items():
        try:
            hash(value)
        except TypeError:
            value = Unhashable(value)
        result[key] = value
    return result
