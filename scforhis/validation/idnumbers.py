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
# The sum in look-ups, because validators check every record's IDs: the first two characters
# together, then the digits in threes (weights 7 6 5, then 4 3 2) and the last two (weights 1 1).
# The tables hold exactly the pattern's characters, so a missing key means a malformed ID.
_PAIR = {a + b: lead + 8 * _SECOND[b] for a, lead in _LEAD.items() for b in "12ABCD89"}
_TRIPLES_765 = {f"{n:03d}": 7 * (n // 100) + 6 * (n // 10 % 10) + 5 * (n % 10) for n in range(1000)}
_TRIPLES_432 = {f"{n:03d}": 4 * (n // 100) + 3 * (n // 10 % 10) + 2 * (n % 10) for n in range(1000)}
_PAIRS_11 = {f"{n:02d}": n // 10 + n % 10 for n in range(100)}


def id_checksum_ok(text: str) -> bool:
    """True when `text` is in the pattern's shape (`[A-Z][12ABCD89]` and eight ASCII digits)
    and its check digit is right."""
    if len(text) != 10:
        return False
    try:
        total = _PAIR[text[:2]] + _TRIPLES_765[text[2:5]] + _TRIPLES_432[text[5:8]]
        return (total + _PAIRS_11[text[8:]]) % 10 == 0
    except KeyError:
        return False


def check_digit(first_nine: str) -> str:
    """The check digit that completes `first_nine` (`A12345678` -> `9`)."""
    for digit in "0123456789":
        if id_checksum_ok(first_nine + digit):
            return digit
    raise ValueError(f"not the first nine characters of an ID: {mask_id(first_nine)}")


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
