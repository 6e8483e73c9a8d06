"""Exact conversion between human amounts ("1.5") and integer base units."""

from decimal import Decimal, InvalidOperation

WAD = 10**18  # 1e18 fixed point: shares, weights, USD prices
BPS = 10_000  # basis points in one


def parse_units(value: str | int | float | Decimal, decimals: int) -> int:
    """Converts a human amount to base units, refusing precision the token cannot hold.

    Floats are read through their shortest decimal representation, so YAML's `0.01` is exact.
    """
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount must be a non-negative number: {value!r}")
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {decimals} decimals")
    return int(scaled)


def format_units(amount: int, decimals: int, places: int | None = None) -> str:
    """Formats base units as a human amount; exact unless `places` asks to round down."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    text = str(frac).rjust(decimals, "0") if decimals else ""
    if places is not None:
        text = text[:places]
    text = text.rstrip("0")
    return f"{sign}{whole:,}" + (f".{text}" if text else "")
