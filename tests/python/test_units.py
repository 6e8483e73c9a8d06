"""Exact conversions between human amounts and base units."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.common.units import format_units, parse_units


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        ("1", 18, 10**18),
        ("0.01", 18, 10**16),
        (0.01, 6, 10_000),
        ("20", 6, 20_000_000),
        ("0.00000001", 8, 1),
        (3, 0, 3),
    ],
)
def test_parse_units__exact_amount__returns_base_units(value, decimals, expected):
    assert parse_units(value, decimals) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0.0000001", "more than 6 decimals"),
        ("-1", "non-negative"),
        ("abc", "not an amount"),
        (True, "not an amount"),
        ("nan", "non-negative"),
    ],
)
def test_parse_units__bad_amount__raises_with_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_units(value, 6)


@given(amount=st.integers(min_value=0, max_value=10**40), decimals=st.integers(min_value=0, max_value=36))
def test_format_units__any_amount__round_trips_through_parse_units(amount, decimals):
    assert parse_units(format_units(amount, decimals).replace(",", ""), decimals) == amount


def test_format_units__places__rounds_down():
    assert format_units(1_999_999, 6, places=2) == "1.99"
