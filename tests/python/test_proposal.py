"""Target-weight proposal files."""

import json

import pytest

from index_vault.proposal import ProposalError, load_proposal


def _write(tmp_path, **data):
    path = tmp_path / "proposal.json"
    path.write_text(json.dumps({"date": "2022-12-01", "method": "equal", **data}))
    return path


def test_load_proposal__valid_file__orders_weights_by_basket_and_maps_wrapped_symbols(tmp_path):
    path = _write(tmp_path, assets=["ETH", "USDC", "BTC"], weights=["500000000000000000", 3 * 10**17, 2 * 10**17])

    proposal = load_proposal(path)

    assert proposal.weights_for(["WBTC", "WETH", "USDC"]) == [2 * 10**17, 5 * 10**17, 3 * 10**17]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"assets": ["ETH"], "weights": [10**18 - 1]}, "sum to exactly"),
        ({"assets": ["ETH", "BTC"], "weights": [10**18]}, "one weight per asset"),
        ({"assets": ["ETH", "eth"], "weights": [5 * 10**17, 5 * 10**17]}, "named twice"),
        ({"weights": [10**18]}, "not a proposal file"),
    ],
)
def test_load_proposal__bad_file__raises_with_reason(tmp_path, data, reason):
    with pytest.raises(ProposalError, match=reason):
        load_proposal(_write(tmp_path, **data))


def test_weights_for__basket_differs__names_what_is_missing_and_extra(tmp_path):
    proposal = load_proposal(_write(tmp_path, assets=["ETH", "LINK"], weights=[5 * 10**17, 5 * 10**17]))

    with pytest.raises(ProposalError, match=r"missing USDC.*not constituents LINK"):
        proposal.weights_for(["WETH", "USDC"])
