"""Dutch auctions of the Rebalancer: opening, the price decay, fills whole and partial, expiry and abuse."""

import boa
import pytest

from tests.baskets import CONTRACTS
from tests.unit.conftest import WAD, limits, oracle_rate

DURATION = 3600  # the default limits: +2% to -1% of the oracle over an hour
AMOUNT = 300 * 10**6  # $300 of USDC for WETH


@pytest.fixture
def auction(trading, keeper, bob):
    """An open auction of USDC for WETH; bob holds WETH and approved the rebalancer (which moves it to the vault)."""
    vault, tokens, rebalancer, _ = trading()
    weth, usdc = tokens[0], tokens[2]
    with boa.env.prank(keeper):
        id_ = rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
    weth.mint(bob, 10**24)
    with boa.env.prank(bob):
        weth.approve(rebalancer.address, 2**256 - 1)
    return vault, tokens, rebalancer, id_


def test_open_auction__keeper__prices_from_above_to_below_the_oracle(auction):
    _, tokens, rebalancer, id_ = auction
    rate = oracle_rate(tokens, 2, 0)
    a = rebalancer.auctions(id_)

    assert (a.remaining, a.duration) == (AMOUNT, DURATION)
    assert a.start_rate == -(-rate * 10_200 // 10_000)
    assert a.end_rate == -(-rate * 9_900 // 10_000)
    assert rebalancer.auction_rate(id_) == a.start_rate


@pytest.mark.parametrize("elapsed", [0, 1, 900, 1800, 2700, 3599])
def test_fill__any_point_of_the_decay__pays_the_linear_price(auction, bob, elapsed):
    vault, tokens, rebalancer, id_ = auction
    weth, usdc = tokens[0], tokens[2]
    a = rebalancer.auctions(id_)
    boa.env.time_travel(seconds=elapsed)
    rate = a.start_rate - (a.start_rate - a.end_rate) * elapsed // DURATION
    want = -(-AMOUNT * rate // WAD)
    vault_weth, bob_usdc = weth.balanceOf(vault.address), usdc.balanceOf(bob)

    with boa.env.prank(bob):
        paid = rebalancer.fill(id_, AMOUNT, want)

    assert paid == want
    assert weth.balanceOf(vault.address) == vault_weth + want
    assert usdc.balanceOf(bob) == bob_usdc + AMOUNT
    assert rebalancer.auctions(id_).remaining == 0
    assert weth.balanceOf(rebalancer.address) == usdc.balanceOf(rebalancer.address) == 0


def test_fill__partial_fills__sell_the_rest_at_the_later_price(auction, bob, alice):
    _, _tokens, rebalancer, id_ = auction
    with boa.env.prank(bob):
        first = rebalancer.fill(id_, AMOUNT // 3, 2**256 - 1)
    boa.env.time_travel(seconds=1800)
    with boa.env.prank(bob):
        second = rebalancer.fill(id_, AMOUNT - AMOUNT // 3, 2**256 - 1)

    assert rebalancer.auctions(id_).remaining == 0
    assert second * (AMOUNT // 3) < first * (AMOUNT - AMOUNT // 3)  # later units were cheaper


def test_fill__more_than_remains__reverts(auction, bob):
    _, _, rebalancer, id_ = auction
    with boa.env.prank(bob):
        rebalancer.fill(id_, AMOUNT // 2, 2**256 - 1)
        with boa.reverts("rebalancer: amount not for sale"):
            rebalancer.fill(id_, AMOUNT // 2 + 1, 2**256 - 1)


def test_fill__price_above_fillers_maximum__reverts(auction, bob):
    _, _, rebalancer, id_ = auction
    a = rebalancer.auctions(id_)
    with boa.env.prank(bob), boa.reverts("rebalancer: price above maximum"):
        rebalancer.fill(id_, AMOUNT, AMOUNT * a.start_rate // WAD - 1)


def test_fill__after_expiry__reverts(auction, bob):
    _, _, rebalancer, id_ = auction
    boa.env.time_travel(seconds=DURATION)

    assert rebalancer.auction_rate(id_) == 0
    with boa.env.prank(bob), boa.reverts("rebalancer: auction not live"):
        rebalancer.fill(id_, 1, 2**256 - 1)


def test_fill__refreshed_price_moved_away__halts(auction, bob):
    vault, tokens, rebalancer, id_ = auction
    weth = tokens[0]
    oracle = boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy")).at(vault.oracle())
    oracle.set_price(weth.address, 1_900 * WAD, 1_900 * WAD, 1_900 * WAD, 18)  # WETH -5%: USDC buys more WETH
    boa.env.time_travel(seconds=DURATION - 1)
    with boa.env.anchor(), boa.env.prank(bob):  # the snapshot still has the old price: the fill goes through
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)

    rebalancer.refresh(weth.address)  # anyone brings the move in

    with boa.env.prank(bob), boa.reverts("rebalancer: auction price below oracle bound"):
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)


def test_fill__snapshot_older_than_max_age__reverts_until_refreshed(trading, keeper, bob):
    _, tokens, rebalancer, _ = trading()
    weth, usdc = tokens[0], tokens[2]
    rebalancer.set_limits(limits(max_age=600))
    with boa.env.prank(keeper):
        id_ = rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
    weth.mint(bob, 10**24)
    with boa.env.prank(bob):
        weth.approve(rebalancer.address, 2**256 - 1)
    boa.env.time_travel(seconds=601)

    with boa.env.prank(bob), boa.reverts("rebalancer: stale snapshot"):
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)
    rebalancer.refresh(usdc.address)
    with boa.env.prank(bob), boa.reverts("rebalancer: stale snapshot"):  # each side must be fresh
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)
    rebalancer.refresh(weth.address)
    with boa.env.prank(bob):
        assert rebalancer.fill(id_, AMOUNT, 2**256 - 1) > 0


def test_fill__paused_vault__reverts(auction, bob):
    vault, _, rebalancer, id_ = auction
    vault.pause()
    with boa.env.prank(bob), boa.reverts("pausable: contract is paused"):
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)
    assert rebalancer.auctions(id_).remaining == AMOUNT


def test_fill__filler_approved_only_the_vault__reverts(auction, bob):
    vault, tokens, rebalancer, id_ = auction
    weth = tokens[0]
    with boa.env.prank(bob):
        weth.approve(rebalancer.address, 0)
        weth.approve(vault.address, 2**256 - 1)  # an approval to the vault pays no fill
        with boa.reverts():
            rebalancer.fill(id_, AMOUNT, 2**256 - 1)
    assert rebalancer.auctions(id_).remaining == AMOUNT


def test_open_auction__anyone_before_delay__reverts_then_allowed_after(trading, bob):
    _, tokens, rebalancer, _ = trading()
    usdc, weth = tokens[2], tokens[0]
    with boa.env.prank(bob), boa.reverts("rebalancer: keepers still acting"):
        rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
    boa.env.time_travel(seconds=86400)
    with boa.env.prank(bob), boa.reverts("rebalancer: stale snapshot"):  # the keeper's start is a day old
        rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
    with boa.env.prank(bob):
        rebalancer.refresh(usdc.address)
        rebalancer.refresh(weth.address)
        rebalancer.open_auction(usdc.address, weth.address, AMOUNT)


@pytest.mark.parametrize(
    ("sell", "buy", "amount", "reason"),
    [
        (0, 2, 10**17, "rebalancer: sell is not overweight"),  # WETH is underweight
        (2, 0, 1_000 * 10**6, "rebalancer: sell would undershoot its target"),  # far past the target
        (2, 0, 0, "rebalancer: zero amount"),
    ],
)
def test_open_auction__would_not_reduce_drift__reverts(trading, keeper, sell, buy, amount, reason):
    _, tokens, rebalancer, _ = trading()
    with boa.env.prank(keeper), boa.reverts(reason):
        rebalancer.open_auction(tokens[sell].address, tokens[buy].address, amount)


def test_open_auction__pair_live__reverts_until_closed(auction, keeper):
    _, tokens, rebalancer, id_ = auction
    usdc, weth = tokens[2], tokens[0]
    with boa.env.prank(keeper):
        with boa.reverts("rebalancer: pair already in auction"):
            rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
        rebalancer.close_auction(id_)
        rebalancer.open_auction(usdc.address, weth.address, AMOUNT)


def test_open_auction__tiny_auction_live__twice_its_amount_replaces_it(trading, keeper, bob):
    _, tokens, rebalancer, _ = trading()
    usdc, weth = tokens[2], tokens[0]
    boa.env.time_travel(seconds=rebalancer.limits().open_delay)  # the keepers idle: anyone may open
    for token in (usdc, weth):
        rebalancer.refresh(token.address)  # a day old: fresh prices for both legs
    with boa.env.prank(bob):
        tiny = rebalancer.open_auction(usdc.address, weth.address, 1)  # a griefer's one wei

    with boa.env.prank(bob), boa.reverts("rebalancer: pair already in auction"):
        rebalancer.open_auction(usdc.address, weth.address, 1)  # not twice what is left
    with boa.env.prank(keeper):
        real = rebalancer.open_auction(usdc.address, weth.address, AMOUNT)
    closed = [e.id for e in rebalancer.get_logs() if type(e).__name__ == "AuctionClosed"]

    assert closed == [tiny]
    assert real == tiny + 1 and rebalancer.live_auction(usdc.address, weth.address) == real
    assert rebalancer.auctions(tiny).end == boa.env.evm.patch.timestamp  # closed now


def test_fill__basket_back_on_target_since_opening__reverts(auction, bob, keeper):
    vault, tokens, rebalancer, id_ = auction
    weth = tokens[0]
    # a donation doubling the WETH held takes it past its target units: buying more of it would add drift
    weth.mint(vault.address, vault.holdings()[0])
    with boa.env.prank(bob), boa.reverts("rebalancer: buy is not underweight"):
        rebalancer.fill(id_, AMOUNT, 2**256 - 1)


def test_pay_fill__anyone_but_the_vault__reverts(auction, bob):
    _, tokens, rebalancer, _ = auction

    with boa.env.prank(bob), boa.reverts("rebalancer: not the vault"):
        rebalancer.pay_fill(tokens[0].address, bob, 1)


def test_pay_fill__vault_outside_a_fill__reverts(auction, bob):
    """The callback spends only the fill in flight: the vault itself cannot make the rebalancer spend a filler's
    approval at another time."""
    vault, tokens, rebalancer, _ = auction

    with boa.env.prank(vault.address), boa.reverts("rebalancer: no such fill"):
        rebalancer.pay_fill(tokens[0].address, bob, 1)
    assert tokens[0].allowance(bob, rebalancer.address) == 2**256 - 1
