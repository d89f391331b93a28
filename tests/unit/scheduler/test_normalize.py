"""Nova's normalize, and the weighers' preset bounds that widen with the values."""

from novactl.scheduler.weights import normalize
from novactl.scheduler.weights.ram import RAMWeigher

from .conftest import config


def test_min_max_over_values():
    assert normalize([1.0, 2.0, 3.0]) == [0.0, 0.5, 1.0]


def test_all_equal_gives_zeros():
    assert normalize([5, 5, 5]) == [0.0, 0.0, 0.0]


def test_empty():
    assert normalize([]) == []


def test_explicit_bounds():
    assert normalize([5.0, 10.0], minval=0) == [0.5, 1.0]
    assert normalize([5.0, 10.0], minval=0, maxval=20) == [0.25, 0.5]


def test_preset_minval_widened_by_negative_values():
    weigher = RAMWeigher(config())
    assert weigher.bounds([1024, 2048]) == (0, 2048)
    assert weigher.bounds([-512, 2048]) == (-512, 2048)
