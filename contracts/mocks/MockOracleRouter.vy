# pragma version ~=0.4.3
"""
@title Mock Oracle Router
@custom:contract-name MockOracleRouter
@license GNU Affero General Public License v3.0 only
@notice A test-only stand-in for OracleRouter with prices, bands and
        statuses set by hand, so the vault's NAV maths can be tested apart
        from the oracle's checks. Never deploy it on a live network.
"""


struct PriceData:
    status: uint8
    price: uint256
    twap_price: uint256
    low: uint256
    high: uint256
    updated_at: uint256


struct Valuation:
    mid: uint256
    low: uint256
    high: uint256
    oldest_update: uint256


# @dev Per asset: its price data and its decimals.
data: public(HashMap[address, PriceData])
decimals: public(HashMap[address, uint256])


@external
def set_price(asset: address, price: uint256, low: uint256, high: uint256, decimals_: uint256):
    self.data[asset] = PriceData(status=0, price=price, twap_price=price, low=low, high=high, updated_at=block.timestamp)
    self.decimals[asset] = decimals_


@external
def set_status(asset: address, status: uint8):
    self.data[asset].status = status


@external
@view
def price_data(asset: address) -> PriceData:
    return self.data[asset]


@external
@view
def price(asset: address) -> uint256:
    assert self.data[asset].price != 0, "oracle: no feed"
    assert self.data[asset].status == 0, "oracle: stale price"
    return self.data[asset].price


@external
@pure
def status_reason(status: uint8) -> String[40]:
    return "oracle: stale price"


@external
@view
def nav_quote(assets: DynArray[address, 50], amounts: DynArray[uint256, 50], base: address) -> (Valuation, PriceData):
    assert self.data[base].status == 0, "oracle: stale price"
    return self._valuation(assets, amounts), self.data[base]


@external
@view
def valuation(assets: DynArray[address, 50], amounts: DynArray[uint256, 50]) -> Valuation:
    return self._valuation(assets, amounts)


@internal
@view
def _valuation(assets: DynArray[address, 50], amounts: DynArray[uint256, 50]) -> Valuation:
    result: Valuation = Valuation(mid=0, low=0, high=0, oldest_update=max_value(uint256))
    for i: uint256 in range(len(assets), bound=50):
        d: PriceData = self.data[assets[i]]
        assert d.status == 0, "oracle: stale price"
        unit: uint256 = 10 ** self.decimals[assets[i]]
        result.mid += amounts[i] * d.price // unit
        result.low += amounts[i] * d.low // unit
        result.high += (amounts[i] * d.high + unit - 1) // unit
        result.oldest_update = min(result.oldest_update, d.updated_at)
    return result


@external
@view
def checked_prices(assets: DynArray[address, 50]) -> (DynArray[uint256, 50], DynArray[uint8, 50]):
    prices: DynArray[uint256, 50] = []
    decimals_: DynArray[uint8, 50] = []
    for asset: address in assets:
        assert self.data[asset].price != 0, "oracle: not configured"
        assert self.data[asset].status == 0, "oracle: stale price"
        prices.append(self.data[asset].price)
        decimals_.append(convert(self.decimals[asset], uint8))
    return prices, decimals_
