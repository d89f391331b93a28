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


Matcher = Callable[[str | None], bool]


def is_plain(req: str) -> bool:
    """True when `req` is matched by plain string equality (it starts with no operator)."""
    words = req.split()
    return not words or (words[0] not in OPERATORS and words[0] not in ("<or>", "<all-in>"))


def compile_requirement(req: str) -> Matcher:
    """Parse `req` once into a test of a host value (the scheduler runs it for every host)."""
    if is_plain(req):
        return lambda value: value == req
    op, *words = req.split()
    if not words:
        return lambda value: False
    if op == "<or>":
        # Alternatives sit at even positions: `v1 <or> v2 <or> v3` (a trailing <or> is allowed).
        alternatives = frozenset(words[::2])
        return lambda value: value is not None and value in alternatives
    if op == "<all-in>":
        return lambda value: value is not None and all(word in value for word in words)
    compare, operand = OPERATORS[op], words[0]
    return lambda value: value is not None and compare(value, operand)


def match(value: str | None, req: str) -> bool:
    """True when `value` satisfies requirement `req` (Nova's extra_specs_ops.match)."""
    return compile_requirement(req)(value)
