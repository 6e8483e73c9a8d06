# pragma version ~=0.4.3
"""
@title Mock Aggregator
@custom:contract-name MockAggregator
@license GNU Affero General Public License v3.0 only
@notice A test-only Chainlink feed whose every round field can be set, with
        the circuit-breaker clamps (`minAnswer`/`maxAnswer`) of Chainlink's
        OffchainAggregator. It is its own proxy: `aggregator()` returns
        itself. Never deploy it on a live network.
"""


# @dev Decimals of the answers.
decimals: public(uint8)

# @dev The clamps an OffchainAggregator enforces on its answers.
minAnswer: public(int256)
maxAnswer: public(int256)

# @dev The latest round.
round_id: public(uint80)
answer: public(int256)
started_at: public(uint256)
updated_at: public(uint256)
answered_in_round: public(uint80)

# @dev When set, `latestRoundData` reverts.
broken: public(bool)


@deploy
def __init__(decimals_: uint8, answer_: int256, min_answer: int256, max_answer: int256):
    self.decimals = decimals_
    self.minAnswer = min_answer
    self.maxAnswer = max_answer
    self._set(answer_, block.timestamp)


@external
@view
def aggregator() -> address:
    return self


@external
@view
def description() -> String[32]:
    return "MOCK / USD"


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    assert not self.broken, "mock: feed down"
    return self.round_id, self.answer, self.started_at, self.updated_at, self.answered_in_round


@external
def set_answer(answer_: int256):
    self._set(answer_, block.timestamp)


@external
def set_answer_at(answer_: int256, updated_at_: uint256):
    self._set(answer_, updated_at_)


@external
def set_incomplete():
    # a round started but not answered: answeredInRound lags roundId
    self.round_id += 1


@external
def set_broken(broken_: bool):
    self.broken = broken_


@internal
def _set(answer_: int256, updated_at_: uint256):
    self.round_id += 1
    self.answer = answer_
    self.started_at = updated_at_
    self.updated_at = updated_at_
    self.answered_in_round = self.round_id
