"""Field names as ASP.NET binds them: ignoring case, unknown names ignored.

The validator maps every key of a payload to its canonical wire name, and reports an unknown
key as a warning with the closest known name, since the service would silently drop its value.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .issues import Issue, Unhashable


def _unknown(key: str, suggestion: str | None, labels: Mapping[str, str]) -> Issue:
    shown = key if len(key) <= 40 else key[:37] + "..."
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
) -> dict[str, Any]:
    """Return `payload` keyed by canonical wire names; warn of unknown and repeated names.

    `folded` maps each lower-cased wire name to its canonical spelling; `labels` maps canonical
    names to zh-TW labels for the did-you-mean hint. As with System.Text.Json, the last of two
    names differing only in case wins. `aliases` maps lower-cased other names of a field (the
    manual's `examyyear`) to its wire name: an alias stands in for a field that is absent, and
    the two are expected to agree when both are sent.
    """
    result: dict[str, Any] = {}
    aliased: dict[str, tuple[str, Any]] = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            warnings.append(_unknown(repr(key), None, labels))
            continue
        lowered = key.lower()
        wire = folded.get(lowered)
        if wire is None and aliases and lowered in aliases:
            aliased[aliases[lowered]] = (key, value)
            continue
        if wire is None:
            close = difflib.get_close_matches(lowered, list(folded), n=1, cutoff=0.75)
            warnings.append(_unknown(key, folded[close[0]] if close else None, labels))
            continue
        if wire in result:
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
        elif value is not None and value != result[wire]:
            warnings.append(_alias_issue(alias, wire, label, differs=True))
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
