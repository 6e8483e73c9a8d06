"""The demo's noise flows: the index token turns over like its basket (each constituent's trailing daily volume over
its market cap, weighted by the vault's weights, over the constituents the data covers)."""

import pytest

from index_vault.replay.flows import turnover


class StubHistory:
    """Volumes and market caps by symbol (None: not in the data)."""

    def __init__(self, volumes: dict, caps: dict):
        self.volumes, self.caps = volumes, caps

    def liquidity(self, symbol: str, i: int):
        volume = self.volumes.get(symbol)
        return (volume, "panel") if volume is not None else (None, "no volume")

    def market_cap(self, symbol: str, i: int):
        return self.caps.get(symbol)


def test_turnover__every_constituent_covered__weighted_volume_over_cap():
    history = StubHistory({"BTC": 30e9, "ETH": 12e9}, {"BTC": 400e9, "ETH": 200e9})

    value = turnover(history, ["BTC", "ETH"], {"BTC": 0.75, "ETH": 0.25}, 0)

    assert value == pytest.approx(0.75 * 30 / 400 + 0.25 * 12 / 200)


def test_turnover__a_constituent_without_volume__renormalised_over_the_rest():
    history = StubHistory({"BTC": 30e9}, {"BTC": 400e9, "AAVE": 1e9})

    value = turnover(history, ["BTC", "AAVE"], {"BTC": 0.6, "AAVE": 0.4}, 0)

    assert value == pytest.approx(30 / 400)


def test_turnover__no_data__zero():
    assert turnover(StubHistory({}, {}), ["BTC"], {"BTC": 1.0}, 0) == 0.0
