"""Taiwan identity numbers: national IDs and resident certificates, their check digit, masking.

Shapes (after the format's pattern `^[A-Z][12ABCD89][0-9]{8}$`):
national ID `[A-Z][12]` + 8 digits, new resident certificate `[A-Z][89]` + 8 digits (from
2021-01-02), old resident certificate `[A-Z][A-D]` + 8 digits. All three share one checksum:
the first letter's two-digit value n gives n // 10 + (n % 10) * 9, then weights 8..1 for the next
eight characters and 1 for the check digit; the sum is a multiple of 10. The old certificate's
second letter counts as its value mod 10 (A -> 0 ... D -> 3).
"""

from __future__ import annotations

LETTER_VALUES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
# The first letter's part of the sum, and the second character's value (digit, or A-D as 0-3).
_LEAD = {letter: value // 10 + (value % 10) * 9 for letter, value in LETTER_VALUES.items()}
_SECOND = {"A": 0, "B": 1, "C": 2, "D": 3, **{str(digit): digit for digit in range(10)}}
# Weights 7..1 of the third to ninth characters and 1 of the check digit sum to 29; each ASCII
# digit's ord() carries an extra 48, taken off once. Straight-line because validators call this
# for every record.
_ORD_OFFSET = 48 * 29


def _weighted_sum(text: str) -> int:
    """The checksum sum over the first ten characters (the check digit included when present)."""
    o = ord
    return (
        _LEAD[text[0]]
        + 8 * _SECOND[text[1]]
        + 7 * o(text[2])
        + 6 * o(text[3])
        + 5 * o(text[4])
        + 4 * o(text[5])
        + 3 * o(text[6])
        + 2 * o(text[7])
        + o(text[8])
        + o(text[9])
        - _ORD_OFFSET
    )


def id_checksum_ok(text: str) -> bool:
    """True when the check digit of a 10-character ID in the pattern's shape is right."""
    return _weighted_sum(text) % 10 == 0


def check_digit(first_nine: str) -> str:
    """The check digit that completes `first_nine` (`A12345678` -> `9`)."""
    return str(-_weighted_sum(first_nine + "0") % 10)


def id_kind(text: str) -> str:
    """Which document an ID in the pattern's shape is: national, resident_new or resident_old."""
    second = text[1]
    if second in "12":
        return "national"
    return "resident_new" if second in "89" else "resident_old"


def mask_id(text: str) -> str:
    """Mask an ID for people to read: `A123456789` -> `A12****789`; short text is hidden whole."""
    if len(text) < 8:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 6) + text[-3:]
