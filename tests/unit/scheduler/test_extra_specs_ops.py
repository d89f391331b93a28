"""extra_specs_ops.match: every operator, both ways, plus Nova's edge cases."""

import pytest

from novactl.scheduler.filters.extra_specs_ops import match

CASES = [
    # plain string: exact match only
    ("1", "1", True),
    ("", "1", False),
    ("3", "1", False),
    ("222", "2", False),
    ("4", "> 2", False),  # '>' is not an operator: compared as a plain string
    (None, "1", False),
    # '=' means numeric "at least"
    ("123", "= 123", True),
    ("124", "= 123", True),
    ("34", "= 234", False),
    ("34", "=", False),
    ("abc", "= 1", False),  # not a number: no match (Nova raised)
    # numeric comparisons
    ("123", "== 123", True),
    ("123.0", "== 123", True),
    ("124", "== 123", False),
    ("124", "!= 123", True),
    ("123", "!= 123", False),
    ("3", ">= 1", True),
    ("3", ">= 3", True),
    ("2", ">= 3", False),
    ("2", "<= 10", True),
    ("2", "<= 2", True),
    ("3", "<= 2", False),
    # string comparisons (lexicographic)
    ("123", "s== 123", True),
    ("1234", "s== 123", False),
    ("1234", "s!= 123", True),
    ("123", "s!= 123", False),
    ("1000", "s>= 234", False),
    ("234", "s>= 234", True),
    ("1234", "s<= 1000", False),
    ("1000", "s<= 1000", True),
    ("2", "s< 12", False),
    ("12", "s< 2", True),
    ("12", "s> 2", False),
    ("2", "s> 12", True),
    # substring
    ("12311321", "<in> 11", True),
    ("12311321", "<in> 12311321", True),
    ("12311321", "<in> 12311321 <in>", True),
    ("12310321", "<in> 11", False),
    ("12310321", "<in> 11 <in>", False),
    ("abc", "<in>", False),
    # alternatives
    ("12", "<or> 11 <or> 12", True),
    ("12", "<or> 11 <or> 12 <or>", True),
    ("11", "<or> 11", True),
    ("13", "<or> 11 <or> 12", False),
    ("13", "<or> 11 <or> 12 <or>", False),
    ("<or>", "<or> 11 <or> 12", False),  # keywords are not alternatives
    ("12", "<or>", False),
    # every word a substring
    (str(["aes", "mmx", "aux"]), "<all-in> aes mmx", True),
    (str(["aes", "mmx", "aux"]), "<all-in> mmx", True),
    (str(["aes", "mmx", "aux"]), "<all-in>  txt", False),
    (str(["aes", "mmx", "aux"]), "<all-in> txt 3dnow", False),
    (str(["aes", "mmx", "aux"]), "<all-in> txt aes", False),
    (str(["aes"]), "<all-in>", False),
]


@pytest.mark.parametrize(("value", "req", "expected"), CASES)
def test_match(value, req, expected):
    assert match(value, req) is expected


def test_every_operator_is_covered():
    from novactl.scheduler.filters.extra_specs_ops import OPERATORS

    used = {req.split()[0] for _, req, _ in CASES if req.split()}
    assert set(OPERATORS) | {"<or>", "<all-in>"} <= used
