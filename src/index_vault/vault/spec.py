"""The basket spec file (YAML or JSON) that `ape run deploy` and `index-vault spec` read.

    name: Crypto Top 5 Index          # at most 25 characters (the token name)
    symbol: TOP5                      # at most 5 characters
    base_asset: WETH                  # the ERC-4626 asset (a constituent); the first one by default
    constituents:
      - symbol: WETH
        name: Wrapped Ether           # optional, for test tokens
        decimals: 18
        units: "0.01"                 # amount of the token per index share
        address: "0x..."              # required on live networks; local chains deploy test tokens
        price_usd: "1298.94"          # local chains: the price of its test feed and pools
        weight: "0.2"                 # optional target weight; all or none, summing to exactly 1

Units and prices are exact decimal amounts; units become integers in the token's base units.
"""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from eth_utils import is_address, to_checksum_address

from index_vault.common.units import format_units, parse_units
from index_vault.vault.basket import MAX_ASSETS, MIN_UNIT

MAX_NAME = 25
MAX_SYMBOL = 5


class SpecError(ValueError):
    """A spec file that cannot describe a vault; the message says where and why."""


@dataclass(frozen=True)
class Constituent:
    """One token of the basket."""

    symbol: str
    name: str
    decimals: int
    units: int
    address: str | None = None
    price_usd: Decimal | None = None
    weight: int | None = None  # target weight, 1e18 fixed point

    @property
    def units_text(self) -> str:
        """The units as a human amount."""
        return format_units(self.units, self.decimals)


@dataclass(frozen=True)
class BasketSpec:
    """A validated basket: what the vault constructor takes, plus token metadata."""

    name: str
    symbol: str
    constituents: tuple[Constituent, ...]
    base_asset: str = ""

    def __post_init__(self) -> None:
        if not self.base_asset:
            object.__setattr__(self, "base_asset", self.constituents[0].symbol)

    @property
    def base(self) -> Constituent:
        """The ERC-4626 asset's constituent."""
        return next(c for c in self.constituents if c.symbol == self.base_asset)

    @property
    def units(self) -> list[int]:
        """Starting units in base units, in basket order."""
        return [c.units for c in self.constituents]

    @property
    def weights(self) -> list[int] | None:
        """Target weights (1e18 fixed point), or None when the spec gives none."""
        if self.constituents[0].weight is None:
            return None
        return [c.weight or 0 for c in self.constituents]

    @property
    def has_all_addresses(self) -> bool:
        """Whether every constituent names a deployed token."""
        return all(c.address for c in self.constituents)

    def deploy_problems(self, *, local: bool, oracle: bool) -> list[str]:
        """What stops a deployment of this spec before anything is sent, or nothing.

        A local chain without `--oracle` builds test feeds and pools from each `price_usd`; with
        `--oracle` (and on live networks) every constituent must be a token the oracle prices, so
        it needs its `address`.
        """
        if local and not oracle:
            missing = [c.symbol for c in self.constituents if c.price_usd is None]
            if missing:
                return [f"price_usd missing for {', '.join(missing)}: a local chain prices its test feeds from it"]
            return []
        missing = [c.symbol for c in self.constituents if not c.address]
        if missing:
            why = "the oracle given prices existing tokens" if local else "live networks hold existing tokens"
            return [f"address missing for {', '.join(missing)}: {why}"]
        return []

    def to_dict(self) -> dict:
        """The spec as plain data, units as human amounts (round-trips through `parse_spec`)."""
        return {
            "name": self.name,
            "symbol": self.symbol,
            "base_asset": self.base_asset,
            "constituents": [
                {
                    "symbol": c.symbol,
                    "name": c.name,
                    "decimals": c.decimals,
                    "units": c.units_text.replace(",", ""),
                    **({"address": c.address} if c.address else {}),
                    **({"price_usd": str(c.price_usd)} if c.price_usd is not None else {}),
                    **({"weight": format_units(c.weight, 18).replace(",", "")} if c.weight is not None else {}),
                }
                for c in self.constituents
            ],
        }


def load_spec(path: str | Path) -> BasketSpec:
    """Reads and validates a spec file (`.yaml`, `.yml` or `.json`)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc


def parse_spec(data: object) -> BasketSpec:
    """Validates spec data already parsed from YAML or JSON."""
    if not isinstance(data, dict):
        raise SpecError("the spec must be a mapping with name, symbol and constituents")
    unknown = set(data) - {"name", "symbol", "base_asset", "constituents"}
    if unknown:
        raise SpecError(f"unknown keys: {', '.join(sorted(unknown))}")
    name = _text(data, "name", MAX_NAME)
    symbol = _text(data, "symbol", MAX_SYMBOL)
    items = data.get("constituents")
    if not isinstance(items, list) or not items:
        raise SpecError("constituents: a non-empty list is required")
    if len(items) > MAX_ASSETS:
        raise SpecError(f"constituents: {len(items)} given, the vault holds at most {MAX_ASSETS}")
    constituents = tuple(_constituent(item, i) for i, item in enumerate(items))
    for key in ("symbol", "address"):
        seen: set[str] = set()
        for c in constituents:
            value = getattr(c, key)
            if value is None:
                continue
            if value.lower() in seen:
                raise SpecError(f"constituents: duplicate {key} {value}")
            seen.add(value.lower())
    given = [c.weight is not None for c in constituents]
    if any(given) and not all(given):
        raise SpecError("constituents: give a weight for every constituent or for none")
    if all(given) and (total := sum(c.weight or 0 for c in constituents)) != 10**18:
        raise SpecError(f"constituents: weights must sum to exactly 1; they sum to {format_units(total, 18)}")
    base = data.get("base_asset") or constituents[0].symbol
    if base not in {c.symbol for c in constituents}:
        raise SpecError(f"base_asset: {base!r} is not one of the constituents")
    return BasketSpec(name=name, symbol=symbol, constituents=constituents, base_asset=base)


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{key}: a non-empty string is required")
    if len(value) > limit or not value.isascii():
        raise SpecError(f"{key}: at most {limit} ASCII characters ({value!r})")
    return value


def _constituent(item: object, index: int) -> Constituent:
    where = f"constituents[{index}]"
    if not isinstance(item, dict):
        raise SpecError(f"{where}: a mapping is required")
    unknown = set(item) - {"symbol", "name", "decimals", "units", "address", "price_usd", "weight"}
    if unknown:
        raise SpecError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    symbol = item.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise SpecError(f"{where}: symbol is required")
    where = f"{where} ({symbol})"
    decimals = item.get("decimals")
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 36:
        raise SpecError(f"{where}: decimals must be an integer in 0..36")
    if "units" not in item:
        raise SpecError(f"{where}: units is required")
    try:
        units = parse_units(item["units"], decimals)
    except ValueError as exc:
        raise SpecError(f"{where}: units: {exc}") from exc
    if units < MIN_UNIT:
        raise SpecError(
            f"{where}: units {item['units']} is {units} base units per share; the vault needs at least {MIN_UNIT}"
        )
    address = item.get("address")
    if address is not None:
        if not isinstance(address, str) or not is_address(address):
            raise SpecError(f"{where}: address {address!r} is not an address")
        address = to_checksum_address(address)
    name = item.get("name") or symbol
    if not isinstance(name, str):
        raise SpecError(f"{where}: name must be a string")
    price = None
    if item.get("price_usd") is not None:
        try:
            price = Decimal(str(item["price_usd"]))
        except InvalidOperation as exc:
            raise SpecError(f"{where}: price_usd {item['price_usd']!r} is not a number") from exc
        if not price.is_finite() or price <= 0:
            raise SpecError(f"{where}: price_usd must be positive")
    weight = None
    if item.get("weight") is not None:
        try:
            weight = parse_units(item["weight"], 18)
        except ValueError as exc:
            raise SpecError(f"{where}: weight: {exc}") from exc
    return Constituent(
        symbol=symbol, name=name, decimals=decimals, units=units, address=address, price_usd=price, weight=weight
    )
