"""Nova's extra_specs_ops: match a host's capability value against a flavor extra-spec requirement.

A requirement is either a plain string (exact match) or `<op> operand...`:

    =  numeric >=          ==  !=  >=  <=  numeric comparisons
    s==  s!=  s<  s<=  s>  s>=     string comparisons
    <in> sub                       substring of the value
    <all-in> a b ...               every word is a substring of the value (e.g. str of a list)
    <or> a <or> b ...              value equals one of the alternatives
"""

from __future__ import annotations

import operator
from collections.abc import Callable


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def method(value: str, operand: str) -> bool:
        try:
            return compare(float(value), float(operand))
        except ValueError:
            # Nova let the ValueError escape and fail the whole request; a host whose value is not
            # a number simply does not satisfy a numeric requirement.
            return False

    return method


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": _numeric(operator.ge),  # "at least", as in Nova: `= 4` is satisfied by 8
    "==": _numeric(operator.eq),
    "!=": _numeric(operator.ne),
    ">=": _numeric(operator.ge),
    "<=": _numeric(operator.le),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda value, operand: operand in value,
}


def match(value: str | None, req: str) -> bool:
    """True when `value` satisfies requirement `req` (Nova's extra_specs_ops.match)."""
    words = req.split()
    op = words.pop(0) if words else None
    if op not in OPERATORS and op not in ("<or>", "<all-in>"):
        return value == req
    if value is None or not words:
        return False
    if op == "<or>":
        # Alternatives sit at even positions: `v1 <or> v2 <or> v3` (a trailing <or> is allowed).
        return value in words[::2]
    if op == "<all-in>":
        return all(word in value for word in words)
    return OPERATORS[op](value, words[0])
