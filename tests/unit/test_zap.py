"""The zap: one token in for an exact number of shares, shares out for one token, within the caller's bounds and the
oracle's, leaving nothing behind."""

import boa
import pytest

from tests.baskets import CONTRACTS
from tests.unit.conftest import PRICES, WAD, oracle_rate

SHARE = WAD
PREMIUM_BPS, DISCOUNT_BPS, PRICE_AGE = 100, 100, 3600


@pytest.fixture
def zap_deployer():
    return boa.load_partial(str(CONTRACTS / "periphery" / "Zap.vy"))


@pytest.fixture
def zapping(trading, zap_deployer):
    """The trading vault (WETH, WBTC, USDC at $2,000, $40,000 and $1; a share holds about $70), its fair DEX, a
    zap, and carol holding USDC and no shares."""

    def make():
        vault, tokens, rebalancer, dex = trading()
        zap = zap_deployer.deploy(PREMIUM_BPS, DISCOUNT_BPS, PRICE_AGE)
        carol = boa.env.generate_address("carol")
        usdc = tokens[2]
        usdc.mint(carol, 10**12)  # $1M
        with boa.env.prank(carol):
            usdc.approve(zap.address, 2**256 - 1)
        return vault, tokens, rebalancer, dex, zap, carol

    return make


def buy_legs(vault, tokens, dex, shares: int, margin_bps: int = 100) -> list[tuple]:
    """USDC sold for each constituent: what the oracle says `shares` of it hold, plus `margin_bps`."""
    legs = []
    for i, held in enumerate(vault.holdings()):
        if i == 2:
            legs.append((dex.address, 0, b""))  # USDC itself: not swapped
            continue
        need = held * shares // vault.totalSupply() + 1
        usdc_for = need * oracle_rate(tokens, i, 2) // WAD * (10_000 + margin_bps) // 10_000
        legs.append((dex.address, usdc_for, b""))
    return legs


def sell_legs(tokens, dex) -> list[tuple]:
    return [(dex.address, 0, b"") for _ in tokens]


def test_mint__fair_dex__exact_shares_the_rest_back_and_nothing_left_in_the_zap(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    weth, wbtc, usdc = tokens
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    max_in = sum(leg[1] for leg in legs) + 310 * 10**6  # the USDC part: 300 USDC a 10 shares, and room
    before = usdc.balanceOf(carol)

    with boa.env.prank(carol):
        spent = zap.mint(vault.address, shares, usdc.address, max_in, legs, carol)

    assert vault.balanceOf(carol) == shares
    assert usdc.balanceOf(carol) == before - spent and spent < max_in  # the unspent USDC came back
    assert weth.balanceOf(carol) > 0 and wbtc.balanceOf(carol) > 0  # what the mint did not take of the buys
    for token in (*tokens, vault):
        assert token.balanceOf(zap.address) == 0
        if token != vault:
            assert token.allowance(zap.address, vault.address) == 0
    (event,) = [e for e in zap.get_logs() if type(e).__name__ == "ZapMinted"]
    assert (event.shares, event.spent) == (shares, spent) and event.value > 0
    # the cost, at the oracle, is within the premium of what the shares were minted with
    assert spent * 10**12 * 10_000 <= event.value * (10_000 + PREMIUM_BPS)


def test_mint__dex_pays_short__above_the_oracle_bound(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    weth, usdc = tokens[0], tokens[2]
    dex.set_rate(usdc.address, weth.address, oracle_rate(tokens, 2, 0) * 90 // 100)  # a sandwiched pool: 10% short
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares, margin_bps=1_200)  # enough to get the WETH anyway

    with boa.reverts("zap: above the oracle bound"), boa.env.prank(carol):
        zap.mint(vault.address, shares, usdc.address, 10**10, legs, carol)


def test_mint__max_in_too_small__nothing_moves(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    usdc = tokens[2]
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    max_in = sum(leg[1] for leg in legs) + 100 * 10**6  # 200 USDC short of the mint's USDC
    before = usdc.balanceOf(carol)

    with boa.reverts(), boa.env.prank(carol):
        zap.mint(vault.address, shares, usdc.address, max_in, legs, carol)

    assert usdc.balanceOf(carol) == before and vault.balanceOf(carol) == 0


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("stale", "oracle: stale price"),
        ("adapter", "zap: adapter not allowed"),
        ("legs", "zap: one leg per constituent"),
        ("fee-token", "zap: the token charges a transfer fee"),
    ],
)
def test_mint__bound_broken__reverts_with_reason(zapping, dex_deployer, make_token, case, reason):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    usdc = tokens[2]
    token_in = usdc.address
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    if case == "stale":  # the snapshot is too old and the router refuses WETH's price now
        boa.env.time_travel(seconds=PRICE_AGE + 1)
        boa.env.lookup_contract(vault.oracle()).set_status(tokens[0].address, 5)
    elif case == "adapter":
        legs[0] = (dex_deployer.deploy().address, legs[0][1], b"")
    elif case == "legs":
        legs = legs[:2]
    elif case == "fee-token":
        fee_token = make_token("FEE", 18)
        fee_token.set_fee_bps(100)
        fee_token.mint(carol, 10**24)
        with boa.env.prank(carol):
            fee_token.approve(zap.address, 2**256 - 1)
        token_in = fee_token.address

    with boa.reverts(reason), boa.env.prank(carol):
        zap.mint(vault.address, shares, token_in, 10**10, legs, carol)


def test_mint__adapter_asks_for_more_than_its_leg__reverts_and_nothing_moves(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    usdc = tokens[2]
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    dex.set_ask_extra(1)  # one unit more than the leg sells: the rest of carol's USDC stays out of reach
    before = usdc.balanceOf(carol)

    with boa.reverts("zap: more than the swap sells"), boa.env.prank(carol):
        zap.mint(vault.address, shares, usdc.address, 10**10, legs, carol)

    assert usdc.balanceOf(carol) == before and vault.balanceOf(carol) == 0


def test_mint__adapter_takes_part_of_its_leg__the_rest_back_to_the_caller(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    usdc = tokens[2]
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    untaken = min(legs[0][1], legs[1][1]) // 1_000
    dex.set_refund(untaken)  # each leg's pool leaves that much of what it is offered
    max_in = sum(leg[1] for leg in legs) + 310 * 10**6
    before = usdc.balanceOf(carol)

    with boa.env.prank(carol):
        spent = zap.mint(vault.address, shares, usdc.address, max_in, legs, carol)

    assert vault.balanceOf(carol) == shares
    assert usdc.balanceOf(carol) == before - spent and usdc.balanceOf(zap.address) == 0
    assert spent <= max_in - 2 * untaken  # the untaken input of both legs came back


@pytest.mark.parametrize("caller", ["anyone", "the adapter outside a swap"])
def test_pay_for_swap__caller_not_the_adapter_swapping__reverts(zapping, caller):
    _vault, tokens, _rebalancer, dex, zap, _carol = zapping()
    usdc = tokens[2]
    usdc.mint(zap.address, 10**6)  # something to steal (a donation)
    who = boa.env.generate_address("anyone") if caller == "anyone" else dex.address

    with boa.reverts("zap: caller is not the swapping adapter"), boa.env.prank(who):
        zap.pay_for_swap(usdc.address, who, 10**6)


def test_mint__snapshot_older_than_max_age__valued_at_the_routers_prices_now(zapping):
    vault, tokens, _rebalancer, dex, zap, carol = zapping()
    usdc = tokens[2]
    shares = 10 * SHARE
    legs = buy_legs(vault, tokens, dex, shares)
    boa.env.time_travel(seconds=PRICE_AGE + 1)
    oracle = boa.env.lookup_contract(vault.oracle())
    now = [p * 10**18 * 101 // 100 for p in PRICES]  # every price 1% above the snapshot's
    for token, price in zip(tokens, now, strict=True):
        oracle.set_price(token.address, price, price, price, token.decimals())
    before = [t.balanceOf(vault.address) for t in tokens]

    with boa.env.prank(carol):
        zap.mint(vault.address, shares, usdc.address, 10**10, legs, carol)

    paid = [t.balanceOf(vault.address) - b for t, b in zip(tokens, before, strict=True)]
    (event,) = [e for e in zap.get_logs() if type(e).__name__ == "ZapMinted"]
    assert vault.balanceOf(carol) == shares
    assert event.value == sum(a * p // 10 ** t.decimals() for a, p, t in zip(paid, now, tokens, strict=True))


def test_redeem__fair_dex__at_least_min_out_at_the_oracle_and_nothing_left(zapping, alice):
    vault, tokens, _rebalancer, dex, zap, _carol = zapping()
    usdc = tokens[2]
    shares = 10 * SHARE
    worth = sum(h * shares // vault.totalSupply() * PRICES[i] * 10**6 // 10 ** t.decimals()
                for i, (t, h) in enumerate(zip(tokens, vault.holdings(), strict=True)))  # fmt: skip
    before = usdc.balanceOf(alice)
    with boa.env.prank(alice):
        vault.approve(zap.address, shares)
        received = zap.redeem(vault.address, shares, usdc.address, worth * 99 // 100, sell_legs(tokens, dex), alice)

    assert usdc.balanceOf(alice) == before + received
    assert worth - 10 <= received <= worth  # a fair DEX: the oracle's value, less rounding
    for token in (*tokens, vault):
        assert token.balanceOf(zap.address) == 0


def test_redeem__min_out_or_oracle_bound__reverts(zapping, alice):
    vault, tokens, _rebalancer, dex, zap, _carol = zapping()
    weth, usdc = tokens[0], tokens[2]
    shares = 10 * SHARE
    with boa.env.prank(alice):
        vault.approve(zap.address, 2**256 - 1)
        with boa.reverts("zap: too little out"):
            zap.redeem(vault.address, shares, usdc.address, 10**12, sell_legs(tokens, dex), alice)
    dex.set_rate(weth.address, usdc.address, oracle_rate(tokens, 0, 2) * 90 // 100)  # 10% short on WETH
    with boa.env.prank(alice), boa.reverts("zap: below the oracle bound"):
        zap.redeem(vault.address, shares, usdc.address, 0, sell_legs(tokens, dex), alice)


@pytest.mark.parametrize(("premium", "discount", "age"), [(501, 100, 3600), (100, 501, 3600), (100, 100, 0)])
def test_constructor__bounds_out_of_range__reverts(zap_deployer, premium, discount, age):
    with boa.reverts():
        zap_deployer.deploy(premium, discount, age)


def test_mint_and_redeem__fifty_constituents__round_trip_within_the_bounds(
    make_vault, fund, alice, make_rebalancer, dex_deployer, zap_deployer, keeper
):
    n = 50
    vault, tokens = make_vault([(f"T{i}", 18, 10**16) for i in range(n)])  # $100 each: a share holds $50
    fund(vault, tokens, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(100 * SHARE, alice, [2**256 - 1] * n)
    rebalancer = make_rebalancer(vault)
    rebalancer.set_target_weights([WAD // n] * n)
    vault.grantRole(vault.KEEPER_ROLE(), keeper)
    with boa.env.prank(keeper):
        rebalancer.start_rebalance()
    dex = dex_deployer.deploy()
    rebalancer.set_adapter(dex.address, True)
    pay = tokens[0]  # the token paid and received: a constituent, not swapped
    for token in tokens:
        token.mint(dex.address, 10**30)
        if token != pay:
            dex.set_rate(pay.address, token.address, WAD)  # every token at the same price: one for one
            dex.set_rate(token.address, pay.address, WAD)
    zap = zap_deployer.deploy(PREMIUM_BPS, DISCOUNT_BPS, PRICE_AGE)
    carol = boa.env.generate_address("carol")
    pay.mint(carol, 10**24)
    shares = 10 * SHARE
    need = 10**17 + 1  # each constituent of 10 shares, rounded up
    legs = [(dex.address, 0 if t == pay else need, b"") for t in tokens]

    with boa.env.prank(carol):
        pay.approve(zap.address, 2**256 - 1)
        spent = zap.mint(vault.address, shares, pay.address, n * need + 10**18, legs, carol)
        vault.approve(zap.address, shares)
        received = zap.redeem(vault.address, shares, pay.address, 0, legs, carol)

    assert vault.balanceOf(carol) == 0
    assert spent <= n * need and received >= n * 10**17 - n  # a fair DEX: the value of the shares, less rounding
    assert all(t.balanceOf(zap.address) == 0 for t in tokens)
