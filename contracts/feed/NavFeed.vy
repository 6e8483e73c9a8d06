# pragma version ~=0.4.3
# pragma optimize gas
"""
@title NAV Feed
@custom:contract-name NavFeed
@license GNU Affero General Public License v3.0 only
@notice A Chainlink `AggregatorV3Interface` over an index vault's value per
        share (USD, 8 decimals), so that a lending market or a derivatives
        venue can price the index token with the code it already has.

        `updatedAt` is the oldest round among the constituents' feeds: the
        NAV is as fresh as its stalest input, and a consumer's own staleness
        check therefore sees the truth. While any price is unusable (stale,
        clamped, disputed), `latestRoundData` reverts with the oracle's
        reason instead of reporting a number that cannot be trusted. The
        feed keeps no history: `getRoundData` answers only for the latest
        round, whose id is its `updatedAt`.
"""


from ..interfaces import IIndexVault


# @dev The vault priced.
vault: public(immutable(address))

# @dev "<symbol> / USD".
description: public(immutable(String[16]))

# @dev Answers carry 8 decimals, as Chainlink's USD feeds do.
decimals: public(constant(uint8)) = 8

# @dev The interface version.
version: public(constant(uint256)) = 1

# @dev value_per_share has 18 decimals; the answer 8.
_SCALE: constant(uint256) = 10**10


@deploy
def __init__(vault_: address):
    """
    @dev Binds the feed to one vault for its whole life.
    @param vault_ The index vault.
    """
    assert vault_.is_contract, "navfeed: vault is not a contract"
    vault = vault_
    description = concat(staticcall IIndexVault(vault_).symbol(), " / USD")


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev The vault's value per share now; reverts with the oracle's reason
         while the NAV is unusable.
    @return uint80 The round id (its `updatedAt`).
    @return int256 Value per share, USD with 8 decimals.
    @return uint256 `startedAt`, equal to `updatedAt`.
    @return uint256 The oldest constituent round behind the answer.
    @return uint80 `answeredInRound`, equal to the round id.
    """
    return self._round()


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev The latest round, when `round_id` names it; the feed keeps no history.
    @param round_id A round id from `latestRoundData`.
    @return uint80 The round id.
    @return int256 Value per share, USD with 8 decimals.
    @return uint256 `startedAt`.
    @return uint256 `updatedAt`.
    @return uint80 `answeredInRound`.
    """
    result: (uint80, int256, uint256, uint256, uint80) = self._round()
    assert result[0] == round_id, "navfeed: no history for that round"
    return result


@external
@view
def latestAnswer() -> int256:
    """
    @dev The legacy (V2) read of the answer.
    @return int256 Value per share, USD with 8 decimals.
    """
    return self._round()[1]


@internal
@view
def _round() -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Reads the vault; reverts with its reason.
    """
    answer: uint256 = staticcall IIndexVault(vault).value_per_share() // _SCALE
    updated_at: uint256 = staticcall IIndexVault(vault).oldest_price_update()
    round_id: uint80 = convert(updated_at, uint80)
    return round_id, convert(answer, int256), updated_at, updated_at, round_id
