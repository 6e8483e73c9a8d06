"""Real Chainlink price feeds on a local chain: a MockV3Aggregator behind an EACAggregatorProxy.

An oracle stores the proxy's address, as it would on mainnet; tests push answers to the aggregator
behind it (`set_feed_price`), including rounds with an old timestamp to make the feed stale.
"""

from decimal import Decimal, InvalidOperation

from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import npm_container
from index_vault.common.units import parse_units

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
INT256_MAX = 2**255 - 1

# Off-chain labels of the feeds deployed in this process, by proxy address: Chainlink's mock returns a
# constant `description()` ("v0.6/tests/MockV3Aggregator.sol") and takes none in its constructor.
FEED_DESCRIPTIONS: dict[str, str] = {}


def price_to_answer(price: Decimal | str | int, decimals: int) -> int:
    """A feed answer (int256) from an exact price, refusing precision the feed's decimals cannot hold.

    Zero and negative prices are allowed on purpose: an oracle under test must refuse them.
    """
    if isinstance(price, bool | float):
        raise ValueError(f"price must be a Decimal, str or int, not {type(price).__name__}: {price!r}")
    try:
        value = price if isinstance(price, Decimal) else Decimal(str(price).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a price: {price!r}") from exc
    magnitude = parse_units(abs(value), decimals)
    if magnitude > INT256_MAX:
        raise ValueError(f"price {price} does not fit an int256 answer at {decimals} decimals")
    return -magnitude if value < 0 else magnitude


def answer_to_price(answer: int, decimals: int) -> Decimal:
    """The exact price of a feed answer with `decimals` decimals."""
    return Decimal(answer).scaleb(-decimals)


def deploy_price_feed(
    deployer: AccountAPI, price: Decimal | str, decimals: int = 8, description: str = ""
) -> ContractInstance:
    """Deploys `MockV3Aggregator(decimals, price)` and an `EACAggregatorProxy` in front of it; returns the proxy.

    The proxy has no access controller (anyone may read it). Its `aggregator()` is the mock, which
    `aggregator_of` wraps. `description` is an off-chain label only (see `FEED_DESCRIPTIONS`).
    """
    if not 0 <= decimals <= 255:
        raise ValueError(f"decimals must fit a uint8: {decimals}")
    answer = price_to_answer(price, decimals)
    aggregator = npm_container("MockV3Aggregator").deploy(decimals, answer, sender=deployer)
    proxy = npm_container("EACAggregatorProxy").deploy(aggregator.address, ZERO_ADDRESS, sender=deployer)
    if description:
        FEED_DESCRIPTIONS[proxy.address] = description
    return proxy


def aggregator_of(proxy: ContractInstance) -> ContractInstance:
    """The MockV3Aggregator behind a feed proxy (the proxy's current `aggregator()`)."""
    return npm_container("MockV3Aggregator").at(proxy.aggregator())


def set_feed_price(
    proxy: ContractInstance, price: Decimal | str, deployer: AccountAPI, updated_at: int | None = None
) -> int:
    """Writes a new round with `price` to the feed's aggregator; returns its round id as the proxy reports it.

    Without `updated_at` the round is stamped with the block's timestamp (`updateAnswer`); with it, the round's
    `updatedAt` and `startedAt` are `updated_at` (`updateRoundData`), so a test can make the feed stale.
    """
    aggregator = aggregator_of(proxy)
    answer = price_to_answer(price, aggregator.decimals())
    if updated_at is None:
        aggregator.updateAnswer(answer, sender=deployer)
    else:
        if updated_at < 0:
            raise ValueError(f"updated_at must be a unix timestamp: {updated_at}")
        round_id = aggregator.latestRound() + 1
        aggregator.updateRoundData(round_id, answer, updated_at, updated_at, sender=deployer)
    # The proxy prefixes the aggregator's round with its phase: (phaseId << 64) | round.
    return (proxy.phaseId() << 64) | aggregator.latestRound()


def refresh_feeds(router: ContractInstance, assets: list[str], sender: AccountAPI) -> list[tuple[str, int]]:
    """Re-posts the latest answer of every test feed `router` reads for `assets` (their feeds, and those of
    their quote assets and pool quotes), stamped now: what keeps a persistent local chain's prices fresh.

    Returns (feed, answer) for each feed re-posted. Raises `ValueError` for a feed that is not a test feed
    (a `MockV3Aggregator` behind a proxy): real feeds are not ours to write.
    """
    seen: set[str] = set()
    queue, feeds = list(assets), []
    while queue:
        asset = queue.pop()
        if asset in seen or int(asset, 16) == 0:
            continue
        seen.add(asset)
        config = router.feed_config(asset)
        if int(str(config.params.feed), 16) == 0:
            continue
        proxy = npm_container("EACAggregatorProxy").at(config.params.feed)
        try:
            aggregator = aggregator_of(proxy)
        except Exception as exc:
            raise ValueError(f"the feed {proxy.address} of {asset} is not a local test feed") from exc
        feeds.append(aggregator)
        queue += [str(config.params.quote), str(config.pool_quote)]
    refreshed = []
    for aggregator in {a.address: a for a in feeds}.values():
        answer = aggregator.latestAnswer()
        aggregator.updateAnswer(answer, sender=sender)
        refreshed.append((aggregator.address, answer))
    return refreshed
