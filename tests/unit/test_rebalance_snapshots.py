"""The two-step rebalance: `start_rebalance` snapshots unit targets and prices, `refresh` re-prices one asset, and
trades and fills are judged against the snapshot (age, caps, cool-down, bounds), across management fees."""

from fractions import Fraction

import boa
import pytest

from index_vault.vault.fees import YEAR, rate_from_annual_bps
from tests.baskets import CONTRACTS, MAX_UINT
from tests.unit.conftest import LIMITS, PRICES, SHARES, THIRDS, WAD, fair_dex, limits, oracle_rate

BPS = 10_000
KEEPERS_ACTING = "rebalancer: keepers still acting"
TARGETS_UNCHANGED = "rebalancer: targets unchanged"


def _oracle(vault):
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy")).at(vault.oracle())


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def _now() -> int:
    return boa.env.evm.patch.timestamp


def _floor(tokens, amount: int, i: int, j: int, prices=PRICES, slippage_bps: int = 100) -> int:
    """The least `min_out` a trade of `amount` of token i for token j may ask at snapshot `prices`."""
    value = amount * prices[i] * WAD // 10 ** tokens[i].decimals()
    oracle_out = value * 10 ** tokens[j].decimals() // (prices[j] * WAD)
    return -(-oracle_out * (BPS - slippage_bps) // BPS)


def _trade(rebalancer, keeper, sell, buy, amount, min_out, dex):
    with boa.env.prank(keeper):
        return rebalancer.trade(sell.address, buy.address, amount, min_out, dex.address, b"")


def _nav(vault, rebalancer) -> int:
    """The NAV the size caps apply to: the snapshot's NAV per share times the undiluted supply now."""
    return rebalancer.rebalance().nav_per_share * vault.undiluted_supply() // WAD


def _target_and_band(vault, rebalancer, token) -> tuple[int, int]:
    """A constituent's target and tolerance band for the whole vault now, in its units (the contract's `_leg`)."""
    snap = rebalancer.snapshot(token.address)
    supply = vault.undiluted_supply()
    band = LIMITS["weight_tolerance"] * _nav(vault, rebalancer) // WAD * 10**snap.decimals // snap.price
    return snap.target_units * supply // WAD, band


# --- start_rebalance ----------------------------------------------------------------------------------


def test_start_rebalance__keeper__snapshots_unit_targets_prices_and_time(trading, keeper):
    vault, tokens, rebalancer, _ = trading(start=False)
    supply = vault.undiluted_supply()
    nav = sum(h * p * WAD // 10 ** t.decimals() for h, p, t in zip(vault.holdings(), PRICES, tokens, strict=True))

    with boa.env.prank(keeper):
        rebalancer.start_rebalance()
    (event,) = _events(rebalancer, "RebalanceStarted")

    nav_per_share = nav * WAD // supply
    units = [
        w * nav_per_share // WAD * 10 ** t.decimals() // (p * WAD)
        for w, t, p in zip(THIRDS, tokens, PRICES, strict=True)
    ]
    assert (event.caller, event.nav, event.nav_per_share) == (keeper, nav, nav_per_share)
    assert list(event.prices) == [p * WAD for p in PRICES]
    for token, unit, price in zip(tokens, units, PRICES, strict=True):
        assert tuple(rebalancer.snapshot(token.address)) == (unit, price * WAD, _now(), token.decimals())
    assert tuple(rebalancer.rebalance())[:2] == (_now(), nav_per_share)
    assert rebalancer.last_keeper_action() == _now()
    # a third of $7,000 in each: 1.1667 WETH, 0.0583 WBTC, $2,333 of USDC
    assert units == [11_666_666_666_666_666, 58_333, 23_333_333]


def test_start_rebalance__keeper_targets_unchanged__starts_again_any_time(trading, keeper):
    _, tokens, rebalancer, _ = trading()
    first = rebalancer.rebalance().started_at
    boa.env.time_travel(seconds=1)

    with boa.env.prank(keeper):
        rebalancer.start_rebalance()

    assert rebalancer.rebalance().started_at == first + 1
    assert rebalancer.snapshot(tokens[0].address).updated_at == first + 1


def test_start_rebalance__outsider__only_after_targets_changed_and_open_delay_without_keepers(trading, keeper, bob):
    _, _, rebalancer, _ = trading()  # the keeper started at the targets
    with boa.env.prank(bob), boa.reverts(TARGETS_UNCHANGED):
        rebalancer.start_rebalance()
    boa.env.time_travel(seconds=10)
    rebalancer.set_target_weights([4 * 10**17, 3 * 10**17, 3 * 10**17])
    with boa.env.prank(bob), boa.reverts(KEEPERS_ACTING):
        rebalancer.start_rebalance()
    boa.env.time_travel(seconds=LIMITS["open_delay"] - 11)
    with boa.env.prank(bob), boa.reverts(KEEPERS_ACTING):  # one second short of the delay
        rebalancer.start_rebalance()
    boa.env.time_travel(seconds=1)

    with boa.env.prank(bob):
        rebalancer.start_rebalance()

    assert rebalancer.rebalance().started_at == _now()
    with boa.env.prank(bob), boa.reverts(TARGETS_UNCHANGED):  # once per change of the targets
        rebalancer.start_rebalance()


def test_start_rebalance__outsider_after_a_keeper_trade__waits_the_delay_again(trading, keeper, bob):
    _, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    boa.env.time_travel(seconds=1)
    rebalancer.set_target_weights([4 * 10**17, 3 * 10**17, 3 * 10**17])
    boa.env.time_travel(seconds=3000)
    _trade(rebalancer, keeper, usdc, weth, 100 * 10**6, _floor(tokens, 100 * 10**6, 2, 0), dex)
    boa.env.time_travel(seconds=LIMITS["open_delay"] - 1)

    with boa.env.prank(bob), boa.reverts(KEEPERS_ACTING):
        rebalancer.start_rebalance()
    boa.env.time_travel(seconds=1)
    with boa.env.prank(bob):
        rebalancer.start_rebalance()


def test_start_rebalance__targets_changed_in_the_block_of_the_last_start__outsider_may_start_after_delay(trading, bob):
    _, _, rebalancer, _ = trading()  # the keeper's start, then (same block) a Governor's new weights
    rebalancer.set_target_weights([4 * 10**17, 3 * 10**17, 3 * 10**17])
    boa.env.time_travel(seconds=LIMITS["open_delay"])

    with boa.env.prank(bob):
        rebalancer.start_rebalance()  # the weights changed after the start, within its second: they count

    assert rebalancer.rebalance().started_at == _now()


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no-targets", "rebalancer: no target weights"),
        ("paused", "rebalancer: vault paused"),
        ("stale-oracle", "oracle: stale price"),
        ("unpriced", "oracle: not configured"),
    ],
)
def test_start_rebalance__cannot_value_the_basket__reverts_with_reason(
    make_vault, fund, alice, make_rebalancer, make_token, keeper, setup, reason
):
    vault, tokens = make_vault()
    fund(vault, tokens, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(SHARES, alice, [MAX_UINT] * 3)
    rebalancer = make_rebalancer(vault)
    vault.grantRole(vault.KEEPER_ROLE(), keeper)
    if setup != "no-targets":
        rebalancer.set_target_weights(THIRDS)
    if setup == "paused":
        vault.pause()
    elif setup == "stale-oracle":
        _oracle(vault).set_status(tokens[1].address, 3)
    elif setup == "unpriced":  # a constituent the oracle forgot (its price zeroed)
        _oracle(vault).set_price(tokens[2].address, 0, 0, 0, 6)

    with boa.env.prank(keeper), boa.reverts(reason):
        rebalancer.start_rebalance()
    assert rebalancer.rebalance().started_at == 0


def test_start_rebalance__outsider_while_paused__reverts(trading, bob):
    vault, _, rebalancer, _ = trading()
    boa.env.time_travel(seconds=1)
    rebalancer.set_target_weights([4 * 10**17, 3 * 10**17, 3 * 10**17])
    boa.env.time_travel(seconds=LIMITS["open_delay"])
    vault.pause()

    with boa.env.prank(bob), boa.reverts("rebalancer: vault paused"):
        rebalancer.start_rebalance()


def test_start_rebalance__no_shares__reverts(make_vault, make_rebalancer, keeper):
    vault, _ = make_vault()
    rebalancer = make_rebalancer(vault)
    rebalancer.set_target_weights(THIRDS)
    vault.grantRole(vault.KEEPER_ROLE(), keeper)

    with boa.env.prank(keeper), boa.reverts("rebalancer: no shares yet"):
        rebalancer.start_rebalance()


# --- refresh ------------------------------------------------------------------------------------------


def test_refresh__before_any_start__reverts(trading, bob):
    _, tokens, rebalancer, _ = trading(start=False)

    with boa.env.prank(bob), boa.reverts("rebalancer: no rebalance started"):
        rebalancer.refresh(tokens[0].address)


def test_refresh__anyone__new_price_and_time_same_target_units(trading, bob):
    vault, tokens, rebalancer, _ = trading()
    weth = tokens[0]
    before = rebalancer.snapshot(weth.address)
    _oracle(vault).set_price(weth.address, 2_100 * WAD, 2_100 * WAD, 2_100 * WAD, 18)
    boa.env.time_travel(seconds=1234)

    with boa.env.prank(bob):
        rebalancer.refresh(weth.address)
    (event,) = _events(rebalancer, "PriceRefreshed")

    after = rebalancer.snapshot(weth.address)
    assert tuple(after) == (before.target_units, 2_100 * WAD, _now(), 18)
    assert (event.caller, event.asset, event.price) == (bob, weth.address, 2_100 * WAD)
    assert rebalancer.rebalance().started_at == before.updated_at  # the rebalance itself is the same


def test_refresh__oracle_price_unusable__reverts_with_oracle_reason_snapshot_kept(trading, bob):
    vault, tokens, rebalancer, _ = trading()
    wbtc = tokens[1]
    before = rebalancer.snapshot(wbtc.address)
    _oracle(vault).set_status(wbtc.address, 3)

    with boa.env.prank(bob), boa.reverts("oracle: stale price"):
        rebalancer.refresh(wbtc.address)
    assert rebalancer.snapshot(wbtc.address) == before


def test_refresh__asset_not_snapshotted__gets_target_zero_and_sells_into_the_basket(
    trading, keeper, make_token, dex_deployer
):
    vault, tokens, rebalancer, dex = trading()
    weth = tokens[0]
    air = make_token("AIR", 18)  # an airdrop the vault holds untracked, which the oracle prices at $10
    air.mint(vault.address, 20 * WAD)
    _oracle(vault).set_price(air.address, 10 * WAD, 10 * WAD, 10 * WAD, 18)
    assert tuple(rebalancer.snapshot(air.address)) == (0, 0, 0, 0)
    with boa.reverts("rebalancer: no snapshot"):
        _trade(rebalancer, keeper, air, weth, 10 * WAD, 0, dex)

    rebalancer.refresh(air.address)

    assert tuple(rebalancer.snapshot(air.address)) == (0, 10 * WAD, _now(), 18)
    dex.set_rate(air.address, weth.address, 5 * 10**15)  # $10 of WETH per AIR
    received = _trade(rebalancer, keeper, air, weth, 10 * WAD, _floor([air, weth], 10 * WAD, 0, 1, [10, 2_000]), dex)
    assert received == 5 * 10**16
    assert air.balanceOf(vault.address) == 10 * WAD
    # and it can never be bought: with target 0 it is never underweight
    usdc_in = 10 * 10**6
    with boa.reverts("rebalancer: buy is not underweight"):
        _trade(rebalancer, keeper, tokens[2], air, usdc_in, _floor([tokens[2], air], usdc_in, 0, 1, [1, 10]), dex)


def test_snapshot__from_an_earlier_rebalance__empty_after_a_new_start(trading, keeper, make_token):
    vault, _, rebalancer, _ = trading()
    air = make_token("AIR", 18)
    _oracle(vault).set_price(air.address, 10 * WAD, 10 * WAD, 10 * WAD, 18)
    rebalancer.refresh(air.address)
    boa.env.time_travel(seconds=1)

    with boa.env.prank(keeper):
        rebalancer.start_rebalance()

    assert tuple(rebalancer.snapshot(air.address)) == (0, 0, 0, 0)


def test_trade__buy_removed_since_the_start__snapshot_says_underweight_but_vault_refuses(trading, keeper, make_token):
    vault, tokens, rebalancer, dex = trading()
    extra = make_token("LINK", 18)
    _oracle(vault).set_price(extra.address, 15 * WAD, 15 * WAD, 15 * WAD, 18)
    extra.mint(dex.address, 10**30)
    dex.set_rate(tokens[2].address, extra.address, 10**30 // 15)  # LINK wei per 10**18 USDC units at $15
    rebalancer.add_constituent(extra.address)
    boa.env.time_travel(seconds=1)
    rebalancer.set_target_weights([3 * 10**17, 3 * 10**17, 3 * 10**17, 10**17])
    with boa.env.prank(keeper):
        rebalancer.start_rebalance()  # LINK's target: 10% of the NAV, none held
    rebalancer.set_target_weights([*THIRDS, 0])
    rebalancer.remove_constituent(extra.address)  # nothing held: dust; its snapshot stays current
    assert rebalancer.snapshot(extra.address).target_units > 0
    amount = 100 * 10**6

    with boa.reverts("vault: not a constituent pair"):
        _trade(rebalancer, keeper, tokens[2], extra, amount, _floor([tokens[2], extra], amount, 0, 1, [1, 15]), dex)


# --- trades and fills on the snapshot ------------------------------------------------------------------


def test_trade__no_rebalance_started__reverts(trading, keeper):
    _, tokens, rebalancer, dex = trading(start=False)
    with boa.reverts("rebalancer: no rebalance started"):
        _trade(rebalancer, keeper, tokens[2], tokens[0], 10**8, _floor(tokens, 10**8, 2, 0), dex)


def test_trade__snapshot_older_than_max_age__reverts_until_both_sides_refreshed(trading, keeper):
    _, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    amount = 100 * 10**6
    min_out = _floor(tokens, amount, 2, 0)
    boa.env.time_travel(seconds=LIMITS["max_age"])
    with boa.env.anchor():  # exactly max_age old: still tradable
        _trade(rebalancer, keeper, usdc, weth, amount, min_out, dex)
    boa.env.time_travel(seconds=1)

    with boa.reverts("rebalancer: stale snapshot"):
        _trade(rebalancer, keeper, usdc, weth, amount, min_out, dex)
    rebalancer.refresh(usdc.address)
    with boa.reverts("rebalancer: stale snapshot"):  # the side bought too
        _trade(rebalancer, keeper, usdc, weth, amount, min_out, dex)
    rebalancer.refresh(weth.address)
    assert _trade(rebalancer, keeper, usdc, weth, amount, min_out, dex) == amount * oracle_rate(tokens, 2, 0) // WAD


def test_trade__min_out_one_unit_below_the_floor__reverts_at_the_floor_passes(trading, keeper):
    _, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    amount = 123_456_789
    floor = _floor(tokens, amount, 2, 0)

    with boa.reverts("rebalancer: minimum out below oracle bound"):
        _trade(rebalancer, keeper, usdc, weth, amount, floor - 1, dex)
    dex.set_rate(usdc.address, weth.address, -(-floor * WAD // amount))  # pays the floor: a sandwich at the bound
    assert _trade(rebalancer, keeper, usdc, weth, amount, floor, dex) == floor
    (event,) = _events(rebalancer, "TradeExecuted")
    assert event.shortfall == event.oracle_out - floor
    assert event.shortfall * BPS <= event.oracle_out * LIMITS["max_slippage_bps"]


def test_trade__one_unit_above_the_size_cap__reverts_at_the_cap_passes(trading, keeper):
    vault, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    cap = _nav(vault, rebalancer) * LIMITS["max_trade_bps"] // BPS // 10**12  # USDC units ($1 = 10**6)

    with boa.reverts("rebalancer: trade above size cap"):
        _trade(rebalancer, keeper, usdc, weth, cap + 1, _floor(tokens, cap + 1, 2, 0), dex)
    _trade(rebalancer, keeper, usdc, weth, cap, _floor(tokens, cap, 2, 0), dex)
    assert rebalancer.period_used() == cap * 10**12


def test_trade__period_cap__one_unit_over_reverts_next_period_passes(trading, keeper):
    vault, tokens, rebalancer, dex = trading()
    weth, wbtc, usdc = tokens
    rebalancer.set_limits(limits(period_cap_bps=600))  # 6% a day
    nav = _nav(vault, rebalancer)
    first = 300 * 10**6
    _trade(rebalancer, keeper, usdc, weth, first, _floor(tokens, first, 2, 0), dex)
    rest = (nav * 600 // BPS - first * 10**12) // 10**12

    with boa.reverts("rebalancer: period cap reached"):
        _trade(rebalancer, keeper, usdc, wbtc, rest + 1, _floor(tokens, rest + 1, 2, 1), dex)
    with boa.env.anchor():
        _trade(rebalancer, keeper, usdc, wbtc, rest, _floor(tokens, rest, 2, 1), dex)
    boa.env.time_travel(seconds=LIMITS["period"])
    for token in (usdc, wbtc):
        rebalancer.refresh(token.address)
    _trade(rebalancer, keeper, usdc, wbtc, rest + 1, _floor(tokens, rest + 1, 2, 1), dex)
    assert (rebalancer.period_start(), rebalancer.period_used()) == (_now(), (rest + 1) * 10**12)


def test_trade__cool_down__pair_refused_until_it_ends_other_pairs_free(trading, keeper):
    _, tokens, rebalancer, dex = trading()
    weth, wbtc, usdc = tokens
    amount = 50 * 10**6
    _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)
    _trade(rebalancer, keeper, usdc, wbtc, amount, _floor(tokens, amount, 2, 1), dex)  # another pair: free
    boa.env.time_travel(seconds=LIMITS["cooldown"] - 1)

    with boa.reverts("rebalancer: pair cooling down"):
        _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)
    boa.env.time_travel(seconds=1)
    _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)


def test_trade__reverse_of_a_pair_within_its_cool_down__reverts_as_the_pair(trading, keeper):
    _, tokens, rebalancer, dex = trading()
    weth, _, usdc = tokens
    amount = 50 * 10**6
    _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)
    low, high = sorted((usdc.address, weth.address), key=lambda a: int(a, 16))
    assert (rebalancer.last_trade(low, high), rebalancer.last_trade(high, low)) == (_now(), 0)
    boa.env.time_travel(seconds=LIMITS["cooldown"] - 1)

    # the cool-down is the pair's either way: checked before the legs
    with boa.reverts("rebalancer: pair cooling down"):
        _trade(rebalancer, keeper, weth, usdc, 10**15, _floor(tokens, 10**15, 0, 2), dex)
    boa.env.time_travel(seconds=1)
    with boa.reverts("rebalancer: sell is not overweight"):
        _trade(rebalancer, keeper, weth, usdc, 10**15, _floor(tokens, 10**15, 0, 2), dex)


def test_trade__received_past_the_buy_ceiling__reverts_at_the_fair_rate_passes(trading, keeper):
    vault, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    rebalancer.set_limits(limits(max_trade_bps=BPS, period_cap_bps=BPS))
    target, band = _target_and_band(vault, rebalancer, weth)
    room = target + band - vault.holdings()[0]  # WETH the vault may still take in
    amount = room * 2_000 // 10**12 // 2  # USDC worth about half the room... then paid double below
    dex.set_rate(usdc.address, weth.address, oracle_rate(tokens, 2, 0) * 21 // 10)

    with boa.reverts("rebalancer: buy would overshoot its target"):  # checked on what came in, not on the oracle
        _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)
    dex.set_rate(usdc.address, weth.address, oracle_rate(tokens, 2, 0))
    received = _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)
    assert vault.holdings()[0] == target + band - room + received <= target + band


def test_trade__adapter_returns_unspent_input__vault_keeps_it_and_books_the_whole_amount(trading, keeper):
    vault, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    amount = 200 * 10**6
    floor = _floor(tokens, amount, 2, 0)
    dex.set_refund(amount // 10)  # swaps 90%, at a rate that still pays the floor for the whole amount
    dex.set_rate(usdc.address, weth.address, oracle_rate(tokens, 2, 0) * 10 // 9)
    before = vault.holdings()

    received = _trade(rebalancer, keeper, usdc, weth, amount, floor, dex)

    after = vault.holdings()
    assert received >= floor
    assert (after[0], after[2]) == (before[0] + received, before[2] - amount + amount // 10)
    assert usdc.balanceOf(dex.address) == 10**40 + amount - amount // 10
    assert rebalancer.period_used() == amount * 10**12  # the cap counts what was put at risk


@pytest.mark.parametrize("misbehaviour", ["keeps-input", "pays-short"])
def test_trade__malicious_adapter__vault_swap_short_and_nothing_moves(trading, keeper, misbehaviour):
    vault, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    amount = 200 * 10**6
    floor = _floor(tokens, amount, 2, 0)
    if misbehaviour == "keeps-input":
        dex.set_keep_input(True)
    else:  # pays one wei under the keeper's minimum, ignoring it
        dex.set_rate(usdc.address, weth.address, -(-floor * WAD // amount))
        dex.set_misbehaviour(1, True)
    holdings, used = vault.holdings(), rebalancer.period_used()

    with boa.reverts("vault: swap short"):
        _trade(rebalancer, keeper, usdc, weth, amount, floor, dex)
    assert (vault.holdings(), rebalancer.period_used()) == (holdings, used)


@pytest.mark.parametrize("call", ["trade", "fill", "start"])
def test_rebalancing__vault_paused__every_step_reverts_until_unpaused(trading, keeper, bob, call):
    vault, tokens, rebalancer, dex = trading()
    weth, usdc = tokens[0], tokens[2]
    amount = 100 * 10**6
    with boa.env.prank(keeper):
        id_ = rebalancer.open_auction(usdc.address, weth.address, amount)
    weth.mint(bob, WAD)
    with boa.env.prank(bob):
        weth.approve(rebalancer.address, MAX_UINT)
    steps = {
        "trade": (lambda: _trade(rebalancer, keeper, usdc, weth, amount, _floor(tokens, amount, 2, 0), dex)),
        "fill": (lambda: rebalancer.fill(id_, amount, MAX_UINT, sender=bob)),
        "start": (lambda: rebalancer.start_rebalance(sender=keeper)),
    }
    reasons = {"trade": "pausable: contract is paused", "fill": "pausable: contract is paused"}
    vault.pause()
    holdings = vault.holdings()

    with boa.reverts(reasons.get(call, "rebalancer: vault paused")):
        steps[call]()
    assert vault.holdings() == holdings
    vault.unpause()
    steps[call]()  # the same step goes through once unpaused


# --- the snapshot's age: what a keeper can make of a price move within max_age -------------------------


@pytest.mark.parametrize("move_bps", [100, 300, 500])
def test_trade__keeper_trades_a_stale_snapshot_after_a_price_move__loss_within_move_times_caps_plus_slippage(
    trading, keeper, move_bps
):
    """A rogue keeper waits until WETH and WBTC fell `move_bps` on the market (the oracle) but not in the snapshot,
    then sells USDC for them at the snapshot's floor through a DEX it controls, as much as the caps allow within
    max_age. The vault overpays by the move and the slippage on what traded, and no more than the period cap lets
    trade: loss <= traded * (move + slippage) <= period cap * NAV * (move + slippage)."""
    vault, tokens, rebalancer, dex = trading([45 * 10**16, 45 * 10**16, 10 * 10**16])  # USDC 43%, target 10%
    weth, wbtc, usdc = tokens
    market = [Fraction(PRICES[0] * (BPS - move_bps), BPS), Fraction(PRICES[1] * (BPS - move_bps), BPS), 1]
    oracle = _oracle(vault)
    for i in (0, 1):
        price = int(market[i] * WAD)
        oracle.set_price(tokens[i].address, price, price, price, tokens[i].decimals())

    def usd(holdings) -> Fraction:
        return sum(
            (Fraction(h, 10 ** t.decimals()) * p for h, t, p in zip(holdings, tokens, market, strict=True)), Fraction(0)
        )

    nav0, snapshot_nav = usd(vault.holdings()), Fraction(_nav(vault, rebalancer), WAD)
    boa.env.time_travel(seconds=LIMITS["max_age"] - 2 * LIMITS["cooldown"])  # the keeper waits as long as it can
    amount = 343 * 10**6  # 4.9% of the NAV: as large as one trade may be
    traded, trades = Fraction(0), 0
    for step, buy in enumerate((weth, wbtc, weth, wbtc, weth)):
        j = tokens.index(buy)
        floor = _floor(tokens, amount, 2, j)  # at the snapshot's prices, not the market's
        dex.set_rate(usdc.address, buy.address, -(-floor * WAD // amount))
        if step == 4:
            with boa.reverts("rebalancer: period cap reached"):
                _trade(rebalancer, keeper, usdc, buy, amount, floor, dex)
            break
        assert _trade(rebalancer, keeper, usdc, buy, amount, floor, dex) == floor
        traded += Fraction(amount, 10**6)
        trades += 1
        if step % 2 == 1:
            boa.env.time_travel(seconds=LIMITS["cooldown"])  # the pairs' cool-down: at max_age after the second
    assert rebalancer.snapshot(weth.address).updated_at + LIMITS["max_age"] == _now()

    loss = nav0 - usd(vault.holdings())
    move, slippage = Fraction(move_bps, BPS), Fraction(LIMITS["max_slippage_bps"], BPS)
    rounding = trades * market[0] / WAD  # a wei of WETH (WBTC's satoshi rounds in the vault's favour)
    assert loss <= traded * (move + slippage) + rounding
    assert loss <= snapshot_nav * Fraction(LIMITS["period_cap_bps"], BPS) * (move + slippage) + rounding
    assert loss >= traded * move  # the move is what the stale snapshot cost, on top of the slippage

    boa.env.time_travel(seconds=1)  # past max_age the stale snapshot trades no more
    with boa.reverts("rebalancer: stale snapshot"):
        _trade(rebalancer, keeper, usdc, weth, 10**6, _floor(tokens, 10**6, 2, 0), dex)


# --- unit targets across the management fee -------------------------------------------------------------

ON_TARGET = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 40 * 10**6)]  # $20, $20, $40 at PRICES
ON_TARGET_WEIGHTS = [25 * 10**16, 25 * 10**16, 50 * 10**16]


@pytest.fixture
def on_target(make_vault, fund, alice, bob, make_rebalancer, dex_deployer, keeper, deployer):
    """A vault exactly on its 25/25/50 weights at the oracle's prices, started, a 10% annual fee, a fair DEX."""
    vault, tokens = make_vault(ON_TARGET, prices=PRICES)
    fund(vault, tokens, alice)
    fund(vault, tokens, bob)
    with boa.env.prank(alice):
        vault.mint_in_kind(SHARES, alice, [MAX_UINT] * 3)
    vault.set_fees(rate_from_annual_bps(1_000), 0, 0, 0, 0)
    rebalancer = make_rebalancer(vault)
    rebalancer.set_target_weights(ON_TARGET_WEIGHTS)
    vault.grantRole(vault.KEEPER_ROLE(), keeper)
    dex = fair_dex(dex_deployer, rebalancer, tokens)
    with boa.env.prank(keeper):
        rebalancer.start_rebalance()
    return vault, tokens, rebalancer, dex


def test_start_rebalance__a_year_of_management_fee__unit_targets_still_match_the_holdings(on_target, alice, bob):
    vault, tokens, rebalancer, _ = on_target
    targets = [_target_and_band(vault, rebalancer, t)[0] for t in tokens]
    assert targets == vault.holdings()  # exactly on target at the start
    supply, undiluted = vault.totalSupply(), vault.undiluted_supply()
    boa.env.time_travel(seconds=YEAR)

    with boa.env.prank(alice):  # anyone
        vault.settle_management_fee()  # the year's fee

    assert abs(vault.totalSupply() * 9 - supply * 10) <= 10**3  # a ninth more shares...
    assert undiluted - 1 <= vault.undiluted_supply() <= undiluted  # ...and the same undiluted supply
    for token, held in zip(tokens, vault.holdings(), strict=True):
        target, band = _target_and_band(vault, rebalancer, token)
        assert abs(target - held) <= held // 10**6 + 2 and band > 0, token.symbol()
        # per share of the diluted supply the target would be a ninth off: over five bands away
        assert abs(rebalancer.snapshot(token.address).target_units * vault.totalSupply() // WAD - held) > 5 * band
    # and a mint and a redemption after the fee keep it on target
    with boa.env.prank(bob):
        vault.mint_in_kind(37 * WAD, bob, [MAX_UINT] * 3)
    with boa.env.prank(alice):
        vault.redeem_in_kind(vault.balanceOf(alice) // 2, alice, [0] * 3)
    for token, held in zip(tokens, vault.holdings(), strict=True):
        target, _ = _target_and_band(vault, rebalancer, token)
        assert abs(target - held) <= held // 10**6 + 2, token.symbol()


@pytest.mark.parametrize("pair", [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)])
def test_trade__on_target_basket_after_a_year_of_fee__no_trade_passes_the_drift_checks(on_target, keeper, pair):
    vault, tokens, rebalancer, dex = on_target
    i, j = pair
    boa.env.time_travel(seconds=YEAR)
    vault.settle_management_fee()
    for token in tokens:
        rebalancer.refresh(token.address)  # a year old: fresh prices, the same unit targets
    amount = 10 * 10 ** tokens[i].decimals() // PRICES[i]  # $10

    with boa.reverts("rebalancer: sell is not overweight"):
        _trade(rebalancer, keeper, tokens[i], tokens[j], amount, _floor(tokens, amount, i, j), dex)
