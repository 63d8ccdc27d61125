"""Checking a record: issues and results, values, field names, dates, ID numbers and rules.

Hand-written and standard-library only; the generated validators (scforhis/_generated) call it,
and it never imports them.
"""
