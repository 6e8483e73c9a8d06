"""Known attacks on index funds, vaults and oracles, each tried for real against the real contracts.

One test per attack class, named after the incident that made it famous. Each test runs the attack
(the attacker's calls, with the amounts and prices of the exploit) and asserts that it reverts with
the defence's reason, or that what the attacker keeps is bounded by rounding, with the bound written
out. Prices are the oracle's (mock oracle) or the feeds' (real OracleRouter), in exact fractions.
"""

import random
from fractions import Fraction

import boa
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

from tests.baskets import CONTRACTS, MAX_UINT, THREE_ASSETS
from tests.lens import lens
from tests.oracle_helpers import WAD, params, set_twap
from tests.security.conftest import ROUTED_UNITS
from tests.unit.conftest import PRICES, limits, oracle_rate

SHARE = 10**18
DAY = 86400
MISSING_ROLE = "access_control: account is missing role"
NOT_REBALANCER = "vault: caller is not the rebalancer"


def _call(signature: str, types: list[str], args: list) -> bytes:
    return selector(signature) + encode(types, args)


def _usd(amounts, tokens, prices) -> Fraction:
    """Exact USD value of `amounts` of `tokens` at whole-token `prices`."""
    return sum(
        (Fraction(a * p, 10 ** t.decimals()) for a, p, t in zip(amounts, prices, tokens, strict=True)), Fraction(0)
    )


def _balances(tokens, who) -> list[int]:
    return [t.balanceOf(who) for t in tokens]


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def _floor_out(tokens, amount: int, i: int, j: int, slippage_bps: int = 100) -> int:
    """The Rebalancer's least acceptable out for `amount` of token i sold for token j (mock oracle PRICES)."""
    value = amount * PRICES[i] * WAD // 10 ** tokens[i].decimals()
    oracle_out = value * 10 ** tokens[j].decimals() // (PRICES[j] * WAD)
    return -(-oracle_out * (10_000 - slippage_bps) // 10_000)


# ---------------------------------------------------------------------------------------------------------------
# 1. Weight and basket manipulation
# ---------------------------------------------------------------------------------------------------------------


def test_indexed_finance_reindex__outsider_or_keeper_reweights_or_trades_at_skewed_dex__reverts(
    trading, keeper, bob, make_token
):
    """Indexed Finance (Oct 2021, $16M): anyone could trigger a reindex that priced tokens from pool balances
    the attacker had skewed with flash loans. Here only the admin (a Governor) sets weights or the basket, a new
    constituent needs an oracle price, and every trade must return the snapshot value less max_slippage_bps
    (the start that priced it is checked against the TWAP: see the next test)."""
    vault, tokens, rebalancer, dex = trading()
    weth, _wbtc, usdc = tokens
    evil = make_token("EVIL", 18)
    weights, assets, holdings = lens().target_weights(vault), vault.assets(), vault.holdings()
    rogue_limits = limits(max_slippage_bps=500, weight_tolerance=5 * 10**16, max_trade_bps=10_000,
                          period_cap_bps=10_000, period=3600, cooldown=0, auction_duration=900,
                          auction_premium_bps=2_000, auction_discount_bps=500, open_delay=3600)  # fmt: skip
    pointer = vault.assets_pointer()

    for who in (bob, keeper):
        for fn, args in (
            (rebalancer.set_target_weights, ([8 * 10**17, 10**17, 10**17],)),
            (rebalancer.add_constituent, (evil.address,)),
            (rebalancer.remove_constituent, (usdc.address,)),
            (rebalancer.set_limits, (rogue_limits,)),
            (rebalancer.set_adapter, (evil.address, True)),
            (vault.set_rebalancer, (who,)),
        ):
            with boa.env.prank(who), boa.reverts(MISSING_ROLE):
                fn(*args)
        with boa.env.prank(who), boa.reverts(NOT_REBALANCER):
            vault.set_assets_pointer(pointer)
        for fill in (False, True):  # straight to the vault, as an adapter's caller or as a filler
            with boa.env.prank(who), boa.reverts(NOT_REBALANCER):
                vault.rebalance_swap(usdc.address, weth.address, 10**6, 0, dex.address if fill else who, b"", fill)
    with boa.reverts("oracle: no feed"):  # even the admin cannot list a token the oracle does not price
        rebalancer.add_constituent(evil.address)

    # the DEX skewed 30% against the vault before the keeper's trade of $300 of USDC for WETH
    amount = 300 * 10**6
    skewed_rate = oracle_rate(tokens, 2, 0) * 70 // 100
    dex.set_rate(usdc.address, weth.address, skewed_rate)
    with boa.env.prank(keeper), boa.reverts("rebalancer: minimum out below oracle bound"):
        rebalancer.trade(usdc.address, weth.address, amount, amount * skewed_rate // WAD, dex.address, b"")
    with boa.env.prank(keeper), boa.reverts("mock dex: too little received"):
        rebalancer.trade(usdc.address, weth.address, amount, _floor_out(tokens, amount, 2, 0), dex.address, b"")
    dex.set_misbehaviour(0, True)  # an adapter that ignores the minimum: the vault counts what came back
    with boa.env.prank(keeper), boa.reverts("vault: swap short"):
        rebalancer.trade(usdc.address, weth.address, amount, _floor_out(tokens, amount, 2, 0), dex.address, b"")

    assert (lens().target_weights(vault), vault.assets(), vault.holdings()) == (weights, assets, holdings)


def test_indexed_finance_reindex__rebalance_started_or_refreshed_at_skewed_pool__refused_by_twap_check(
    vault_on_router, make_rebalancer, keeper, bob
):
    """Indexed Finance again, on the real OracleRouter: the reindex itself (here `start_rebalance`, which sets
    every unit target, and `refresh`, which anyone may call) at a pool price the attacker moved. A start or a
    refresh takes the Chainlink feed checked against the pool's 30-minute TWAP: a pool moved past the deviation
    bound stops both, and one moved inside it leaves the snapshot at the feed's price, untouched."""
    vault, _router, tokens, _feeds, pools = vault_on_router
    weth, wbtc, usdc = tokens["WETH"], tokens["WBTC"], tokens["USDC"]
    rebalancer = make_rebalancer(vault)
    rebalancer.set_target_weights([4 * 10**17, 3 * 10**17, 3 * 10**17])
    vault.grantRole(vault.KEEPER_ROLE(), keeper)

    set_twap(pools["WBTC"], wbtc, usdc, 39_000, 1)  # the pool held 30% up: a flash-loan skew
    with boa.env.prank(keeper), boa.reverts("oracle: feed and twap disagree"):
        rebalancer.start_rebalance()
    assert rebalancer.rebalance().started_at == 0

    set_twap(pools["WBTC"], wbtc, usdc, 30_450, 1)  # 1.5% up: inside the bound, so priced, at the feed's price
    with boa.env.prank(keeper):
        rebalancer.start_rebalance()
    snapshots = {t: rebalancer.snapshot(t.address) for t in (weth, wbtc, usdc)}
    assert [snapshots[t].price for t in (weth, wbtc, usdc)] == [2_000 * WAD, 30_000 * WAD, WAD]

    set_twap(pools["WETH"], weth, usdc, 1_400, 1)  # the WETH/USDC pool skewed 30%: it prices both
    for token in (weth, usdc):
        with boa.env.prank(bob), boa.reverts("oracle: feed and twap disagree"):
            rebalancer.refresh(token.address)
    assert {t: rebalancer.snapshot(t.address) for t in (weth, wbtc, usdc)} == snapshots


# ---------------------------------------------------------------------------------------------------------------
# 2-4. Oracle manipulation: AMM spot, short or thin TWAP, stale or clamped feed
# ---------------------------------------------------------------------------------------------------------------


def test_harvest_spot_price_deposit__pools_pushed_inside_or_beyond_deviation__attacker_loses_or_reverts(
    vault_on_router, fund, bob
):
    """Harvest Finance (Oct 2020, $24M): the vault priced shares from Curve's spot price; the attacker pushed the
    pool with a flash loan, deposited, pushed it back and withdrew more. Here NAV flows take the Chainlink feed
    checked against a 30-minute TWAP, at the band's worse end: a push inside the deviation bound only costs."""
    vault, _router, tokens, _feeds, pools = vault_on_router
    weth, wbtc, usdc = tokens["WETH"], tokens["WBTC"], tokens["USDC"]
    fund(vault, [weth], bob)
    start = weth.balanceOf(bob)
    deposit = 10**18  # 1 WETH, $2,000, into a $6,500 vault

    def push(weth_usd=2_000.0, wbtc_usd=30_000.0):
        set_twap(pools["WETH"], weth, usdc, weth_usd, 1)  # this pool also prices USDC, the other way
        set_twap(pools["WBTC"], wbtc, usdc, wbtc_usd, 1)

    pushes = [{"weth_usd": 2_000 * f} for f in (0.985, 1.015)] + [{"wbtc_usd": 30_000 * f} for f in (0.985, 1.015)]
    pushes.append({"weth_usd": 2_030.0, "wbtc_usd": 29_550.0})  # base worth more, NAV less: the best entry
    for moved in pushes:  # 1.5%: inside the 2% deviation bound, so the prices stay usable
        for phase in ("entry", "exit"):
            with boa.env.anchor():
                if phase == "entry":
                    push(**moved)
                with boa.env.prank(bob):
                    shares = vault.deposit(deposit, bob)
                if phase == "exit":
                    push(**moved)
                else:
                    push()
                in_kind = lens().preview_redeem_in_kind(vault, shares)
                with boa.env.prank(bob):
                    vault.redeem(shares, bob, bob)
                assert weth.balanceOf(bob) < start, (moved, phase)
                assert _usd(in_kind, [weth, wbtc, usdc], [2_000, 30_000, 1]) < 2_000, (moved, phase)

    for far in ({"wbtc_usd": 15_000.0}, {"weth_usd": 20_000.0}):  # pushed far: the NAV path halts
        push(**far)
        with boa.env.prank(bob), boa.reverts("oracle: feed and twap disagree"):
            vault.deposit(deposit, bob)
    assert (weth.balanceOf(bob), vault.balanceOf(bob)) == (start, 0)


def test_inverse_finance_twap__short_thin_or_moved_twap__price_refused(vault_on_router, fund, alice, bob):
    """Inverse Finance (Apr 2022, $15.6M): INV was priced from a SushiSwap TWAP over a few blocks of a shallow
    pool, which the attacker moved and borrowed against. Here no asset can be set up with a window under 30
    minutes or a depth floor under $25,000, a thin pool's TWAP is refused, and a moved TWAP disputes the feed."""
    vault, router, tokens, feeds, pools = vault_on_router
    weth, wbtc, usdc = tokens["WETH"], tokens["WBTC"], tokens["USDC"]
    fund(vault, [weth], bob)
    for override, reason in (
        ({"twap_window": 60}, "oracle: twap window too short"),
        ({"min_depth": 1_000 * WAD}, "oracle: depth floor too low"),
    ):
        with boa.reverts(reason):
            router.set_feed(wbtc.address, params(feeds["WBTC"], pools["WBTC"], 30_000, **override))
    pools["WBTC"].set_expected_window(1800)  # the pool now answers only a request for the full 30 minutes
    assert vault.previewDeposit(10**18) > 0

    cases = (
        (10**8, 39_000, "oracle: twap liquidity too thin"),  # a $3,500-deep pool moved 30%: cheap to do
        (10**8, 30_000, "oracle: twap liquidity too thin"),  # the same pool at the right price: still too thin
        (None, 39_000, "oracle: feed and twap disagree"),  # a deep pool held 30% up for the whole window
    )
    for liquidity, wbtc_usd, reason in cases:
        if liquidity:
            set_twap(pools["WBTC"], wbtc, usdc, wbtc_usd, 1, liquidity=liquidity)
        else:
            set_twap(pools["WBTC"], wbtc, usdc, wbtc_usd, 1)
        with boa.env.prank(bob), boa.reverts(reason):
            vault.deposit(10**18, bob)
        with boa.env.prank(alice), boa.reverts(reason):
            vault.redeem(SHARE, alice, alice)
        with boa.reverts(reason):
            vault.total_value()
        assert vault.maxDeposit(bob) == 0
    assert vault.balanceOf(bob) == 0
    with boa.env.prank(alice):  # in kind needs no price
        assert vault.redeem_in_kind(SHARE, alice, [0] * 3) == ROUTED_UNITS


def test_venus_luna_clamp__feed_stale_or_at_circuit_breaker__nav_flows_refused(
    vault_on_router, aggregator_deployer, fund, alice, bob
):
    """Venus (May 2022, ~$11M): Chainlink's LUNA feed stopped at its minAnswer of $0.10 while LUNA fell below it;
    attackers bought LUNA cheap and borrowed against it at the floor. Here an answer at the aggregator's min or max
    clamp, or older than heartbeat plus grace, makes the price unusable: NAV flows revert, in kind still works."""
    vault, router, tokens, _feeds, pools = vault_on_router
    weth, usdc = tokens["WETH"], tokens["USDC"]
    feed = aggregator_deployer.deploy(8, 2_000 * 10**8, 1_000 * 10**8, 3_000 * 10**8)  # clamps at $1,000 / $3,000
    router.set_feed(weth.address, params(feed, pools["WETH"], 2_000))
    assert (router.feed_config(weth.address).clamp_min, router.feed_config(weth.address).clamp_max) == (
        1_000 * 10**8,
        3_000 * 10**8,
    )
    fund(vault, [weth], bob)
    now = boa.env.evm.patch.timestamp

    def at(answer_usd, market_usd, age=0):
        feed.set_answer_at(answer_usd * 10**8, now - age)
        set_twap(pools["WETH"], weth, usdc, market_usd, 1)

    clamped, stale = "oracle: answer at circuit-breaker clamp", "oracle: stale price"
    cases = (
        ((1_000, 990), clamped),  # the market 1% under the floor (inside the TWAP bound), the feed stuck at it
        ((3_000, 3_030), clamped),  # the same at the ceiling
        ((2_000, 1_980, 3600 + 601), stale),  # the last round older than heartbeat + grace
    )
    for state, reason in cases:
        with boa.env.anchor():
            at(*state)
            with boa.env.prank(bob), boa.reverts(reason):
                vault.deposit(10**18, bob)
            with boa.env.prank(alice), boa.reverts(reason):
                vault.redeem(SHARE, alice, alice)
            assert (vault.maxDeposit(bob), vault.maxRedeem(alice)) == (0, 0)
            with boa.env.prank(alice):
                assert vault.redeem_in_kind(SHARE, alice, [0] * 3) == ROUTED_UNITS

    # the same markets one dollar off the clamp, or one minute inside the grace, are priced: the clamp and
    # the age are what refuses them above, not the TWAP cross-check
    for state in ((1_001, 990), (2_999, 3_030), (2_000, 1_980, 3600 + 541)):
        at(*state)
        assert router.price(weth.address) == state[0] * WAD


# ---------------------------------------------------------------------------------------------------------------
# 5-7. Share accounting: donation, compounded rounding, fee-on-transfer
# ---------------------------------------------------------------------------------------------------------------


def test_erc4626_inflation__least_first_mint_then_huge_donation__victims_lose_at_most_rounding(
    make_vault, fund, alice, bob
):
    """ERC-4626 inflation, the first-depositor attack (e.g. Hundred Finance, Apr 2023, $7M, on an empty market):
    mint one wei of share, donate a fortune so the next deposit rounds to almost no shares, take it back. Here
    the first mint locks 0.01 share at a dead address: the donation goes to it, victims lose rounding only."""
    prices = [2_000, 30_000, 1]
    vault, tokens = make_vault(THREE_ASSETS, prices=prices)  # no price band: rounding alone must protect
    vault.set_flow_cap(10_000, DAY)
    carol = boa.env.generate_address("carol")
    for who in (alice, bob, carol):
        fund(vault, tokens, who)

    attacker_start = _usd(_balances(tokens, alice), tokens, prices)
    with boa.env.prank(alice):
        vault.mint_in_kind(vault.LOCKED_SHARES() + 1, alice, [MAX_UINT] * 3)  # 1 wei of share for the attacker
    assert vault.balanceOf(alice) == 1
    donation = 500 * 10**18  # $1,000,000 of WETH sent to the vault
    tokens[0].mint(vault.address, donation)
    with boa.env.prank(bob):  # victim at NAV: an odd amount, about 1 WETH
        deposit = 10**18 + 123_456_789
        shares = vault.deposit(deposit, bob)
    with boa.env.prank(carol):  # victim in kind, about $1,000 of basket
        paid = vault.mint_in_kind(7 * 10**12 + 3, carol, [MAX_UINT] * 3)

    def claim(who) -> Fraction:
        return _usd(lens().preview_redeem_in_kind(vault, vault.balanceOf(who)), tokens, prices)

    share_wei = _usd(vault.holdings(), tokens, prices) / vault.totalSupply()
    rounding = share_wei + _usd([1, 1, 1], tokens, prices)  # one wei of share and one unit of each constituent
    assert shares > 0
    assert _usd([deposit, 0, 0], tokens, prices) - claim(bob) <= rounding
    assert _usd(paid, tokens, prices) - claim(carol) <= rounding
    attacker_cost = (
        attacker_start - _usd(_balances(tokens, alice), tokens, prices) + _usd([donation, 0, 0], tokens, prices)
    )
    assert attacker_cost > 999_999
    assert claim(alice) < Fraction(1, 100)  # the attacker's wei of share is worth under a cent


def test_balancer_2025_rounding__200_tiny_mint_redeem_cycles__attacker_gains_nothing_holders_never_lose(
    make_vault, fund, alice, bob
):
    """Balancer V2 (Nov 2025, ~$128M): batches of tiny swaps each rounded the same way in the attacker's favour,
    compounding into a mispriced invariant. Here an in-kind mint rounds up, a redemption down, and every NAV step
    against the caller: 200 tiny cycles in kind, at NAV and across both leave the attacker no richer and never
    lower the value of a share."""
    vault, tokens = make_vault(THREE_ASSETS, prices=PRICES)  # no price band: rounding alone must protect
    fund(vault, tokens, alice)
    fund(vault, tokens, bob)
    with boa.env.prank(alice):
        vault.mint_in_kind(100 * SHARE, alice, [MAX_UINT] * 3)
    start = _usd(_balances(tokens, bob), tokens, PRICES)

    def per_share() -> Fraction:
        return _usd(_balances(tokens, vault.address), tokens, PRICES) / vault.totalSupply()

    first = floor = per_share()
    exact = 2 * 10**13  # the size that pays whole units of every constituent
    rng = random.Random(2025)
    for cycle in range(200):
        tiny = rng.choice([1, 2, 3, 999, exact - 1, exact, exact + 1, rng.randrange(1, 10**14)])
        shares = tiny + 100  # from 100 wei of share up, so that a NAV exit pays at least one wei of WETH
        weth_in = rng.randrange(10, 10**10)  # 10 wei to $0.00000002 of WETH
        with boa.env.prank(bob):
            if cycle % 4 == 0:  # in kind both ways, from one wei of share
                vault.mint_in_kind(tiny, bob, [MAX_UINT] * 3)
                vault.redeem_in_kind(tiny, bob, [0] * 3)
            elif cycle % 4 == 1:  # at NAV both ways
                vault.redeem(vault.deposit(weth_in, bob), bob, bob)
            elif cycle % 4 == 2:  # in kind in, NAV out
                vault.mint_in_kind(shares, bob, [MAX_UINT] * 3)
                vault.redeem(shares, bob, bob)
            else:  # NAV in, in kind out
                vault.redeem_in_kind(vault.deposit(weth_in, bob), bob, [0] * 3)
        now = per_share()
        assert now >= floor, cycle  # no holder's claim ever falls
        floor = now

    assert vault.balanceOf(bob) == 0
    assert _usd(_balances(tokens, bob), tokens, PRICES) <= start
    assert per_share() >= first


def test_balancer_sta_fee_on_transfer__deflationary_constituent_or_base__mint_and_deposit_revert(minted, fund, bob):
    """Balancer (Jun 2020, ~$500k): STA burnt 1% of every transfer, so the pool credited more than it received and
    was drained by repeated swaps. Here every pull is checked against the vault's balance delta: a mint in kind
    or a deposit of a fee-on-transfer token reverts, and nothing is credited."""
    vault, tokens = minted()
    vault.set_flow_cap(10_000, DAY)
    fund(vault, tokens, bob)
    holdings, supply = vault.holdings(), vault.totalSupply()

    tokens[2].set_fee_bps(100)  # a constituent burns 1% of each transfer
    with boa.env.prank(bob), boa.reverts("vault: fee-on-transfer token"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)
    tokens[2].set_fee_bps(0)
    tokens[0].set_fee_bps(100)  # the base asset does
    with boa.env.prank(bob), boa.reverts("vault: fee-on-transfer token"):
        vault.deposit(10**17, bob)
    with boa.env.prank(bob), boa.reverts("vault: fee-on-transfer token"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)

    assert (vault.holdings(), vault.totalSupply(), vault.balanceOf(bob)) == (holdings, supply, 0)


# ---------------------------------------------------------------------------------------------------------------
# 8-9. Reentrancy: through token hooks, and through views
# ---------------------------------------------------------------------------------------------------------------


def test_imbtc_erc777_reentrancy__token_hook_reenters_mint_redeem_or_trade__every_reentry_reverts(
    trading, keeper, fund, reentrant_deployer, alice, bob
):
    """Uniswap V1 imBTC and Lendf.me (Apr 2020, ~$25M): ERC-777 hooks called the attacker mid-transfer, who
    re-entered before balances were updated. Here every state-changing vault entry point (and rebalance_swap,
    under a keeper's trade or an auction fill) holds one lock, and the rebalancer's refresh another: a hook's
    re-entry reverts, the same call outside a transfer works."""
    vault, tokens, rebalancer, dex = trading()
    weth, wbtc, usdc = tokens
    attacker = reentrant_deployer.deploy()
    fund(vault, tokens, attacker.address)
    fund(vault, tokens, bob)
    with boa.env.prank(attacker.address):
        vault.mint_in_kind(2 * SHARE, attacker.address, [MAX_UINT] * 3)
    for token in tokens:
        token.set_hook(attacker.address)
    me = attacker.address
    reentries = {
        "mint_in_kind": _call("mint_in_kind(uint256,address,uint256[])", ["uint256", "address", "uint256[]"],
                              [SHARE, me, [MAX_UINT] * 3]),
        "redeem_in_kind": _call("redeem_in_kind(uint256,address,uint256[])", ["uint256", "address", "uint256[]"],
                                [SHARE, me, [0] * 3]),
        "redeem_in_kind_skipping": _call("redeem_in_kind_skipping(uint256,address,uint256[],address[])",
                                         ["uint256", "address", "uint256[]", "address[]"],
                                         [SHARE, me, [0] * 3, [wbtc.address]]),
        "deposit": _call("deposit(uint256,address)", ["uint256", "address"], [10**15, me]),
        "redeem": _call("redeem(uint256,address,address)", ["uint256", "address", "address"], [SHARE // 10, me, me]),
    }  # fmt: skip
    targets = dict.fromkeys(reentries, vault.address)
    # the rebalancer's refresh, mid-trade or mid-fill, would re-price a side of a trade in flight (anywhere else
    # it only copies the oracle's price, which reads no balance: a hook may call it mid-mint)
    reentries["refresh"] = _call("refresh(address)", ["address"], [weth.address])
    targets["refresh"] = rebalancer.address
    rebalancer_triggers = ("keeper trade", "auction fill")
    amount = 100 * 10**6
    with boa.env.prank(bob):
        weth.approve(rebalancer.address, MAX_UINT)  # bob fills the auction below
    with boa.env.prank(keeper):
        auction = rebalancer.open_auction(usdc.address, weth.address, amount)

    def keeper_trade():
        with boa.env.prank(keeper):
            rebalancer.trade(usdc.address, weth.address, amount, _floor_out(tokens, amount, 2, 0), dex.address, b"")

    triggers = {
        "mint_in_kind": lambda: vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3, sender=bob),
        "redeem_in_kind": lambda: vault.redeem_in_kind(SHARE, alice, [0] * 3, sender=alice),
        "deposit": lambda: vault.deposit(10**16, bob, sender=bob),
        "keeper trade": keeper_trade,
        "auction fill": lambda: rebalancer.fill(auction, amount, MAX_UINT, sender=bob),
    }
    for name, payload in reentries.items():
        attacker.arm(targets[name], payload)
        for when, trigger in triggers.items():
            if targets[name] == rebalancer.address and when not in rebalancer_triggers:
                continue
            with boa.env.anchor():
                trigger()
                assert attacker.calls() > 0, (name, when)
                assert attacker.successes() == 0, (name, when)
                assert vault.balanceOf(attacker.address) == 2 * SHARE, (name, when)
        with boa.env.anchor():
            attacker.on_token_transfer(bob, bob, 0)  # the same call outside a transfer goes through
            assert attacker.successes() == 1, name


def test_curve_read_only_reentrancy__views_read_mid_redeem_or_mid_trade__refuse_to_answer(
    trading, keeper, reentrant_deployer, alice
):
    """Read-only reentrancy (dForce, Feb 2023, $3.6M, through Curve; Sentiment, Apr 2023, through Balancer): a lender
    read the pool's price in a callback of remove_liquidity, after the LP supply was burnt but before the pool paid
    out. Here every value view takes the vault's lock: mid-redemption or mid-trade they revert (and so do the lens
    and the NAV feed, which read them), outside they answer."""
    vault, tokens, rebalancer, dex = trading()
    weth, _wbtc, usdc = tokens
    reader = reentrant_deployer.deploy()
    usdc.set_hook(reader.address)  # USDC is paid last by a redemption and sold by the trade below
    views = [
        ("total_value()", [], []),
        ("value_per_share()", [], []),
        ("totalAssets()", [], []),
        ("convertToAssets(uint256)", ["uint256"], [SHARE]),
        ("convertToShares(uint256)", ["uint256"], [10**18]),
        ("previewDeposit(uint256)", ["uint256"], [10**18]),
        ("previewRedeem(uint256)", ["uint256"], [SHARE]),
        ("maxDeposit(address)", ["address"], [alice]),
        ("maxRedeem(address)", ["address"], [alice]),
        ("maxWithdraw(address)", ["address"], [alice]),
        ("holdings()", [], []),
        ("oldest_price_update()", [], []),
        ("pending_management_fee()", [], []),
    ]
    views = [(vault.address, *view) for view in views]
    # the lens's derived views and the NAV feed read the vault's guarded ones, so they refuse too
    nav_feed = boa.load(str(CONTRACTS / "feed" / "NavFeed.vy"), vault.address)
    views += [
        (lens().address, "preview_redeem_in_kind(address,uint256)", ["address", "uint256"], [vault.address, SHARE]),
        (lens().address, "preview_mint_in_kind(address,uint256)", ["address", "uint256"], [vault.address, SHARE]),
        (lens().address, "units_per_share(address)", ["address"], [vault.address]),
        (nav_feed.address, "latestRoundData()", [], []),
        (nav_feed.address, "latestAnswer()", [], []),
    ]
    amount = 100 * 10**6
    weth.mint(alice, 10**18)
    with boa.env.prank(alice):
        weth.approve(rebalancer.address, MAX_UINT)  # a filler approves the rebalancer
    with boa.env.prank(keeper):
        auction = rebalancer.open_auction(usdc.address, weth.address, amount)

    def keeper_trade():
        with boa.env.prank(keeper):
            rebalancer.trade(usdc.address, weth.address, amount, _floor_out(tokens, amount, 2, 0), dex.address, b"")

    triggers = {
        "redeem_in_kind": lambda: vault.redeem_in_kind(SHARE, alice, [0] * 3, sender=alice),
        "trade": keeper_trade,
        "fill": lambda: rebalancer.fill(auction, amount, MAX_UINT, sender=alice),
    }
    # control: the unguarded ERC-20 getter answers mid-call (documented), so the hook does reach the vault
    reader.arm(vault.address, _call("totalSupply()", [], []))
    with boa.env.anchor():
        triggers["redeem_in_kind"]()
        assert reader.successes() == reader.calls() == 1
    for target, signature, types, args in views:
        reader.arm(target, _call(signature, types, args))
        for when, trigger in triggers.items():
            with boa.env.anchor():
                trigger()
                assert reader.calls() > 0 and reader.successes() == 0, (signature, when)
        with boa.env.anchor():
            reader.on_token_transfer(alice, alice, 0)  # outside a callback the view answers
            assert reader.successes() == 1, signature


# ---------------------------------------------------------------------------------------------------------------
# 10. Keepers: sandwiches and a rogue keeper
# ---------------------------------------------------------------------------------------------------------------


def test_keeper_sandwich_and_rogue_keeper__bad_min_out_or_moved_pool_or_colluding_dex__loss_bounded_by_caps(
    trading, keeper
):
    """Keeper sandwiches (rebalances and harvests sent with loose minimums, sandwiched by MEV bots since 2020) and
    rogue keepers: here a trade's minimum is the oracle value less max_slippage_bps (1%), a trade is at most 5% of
    NAV and a day's trades 20%, only toward the targets: a rogue keeper costs at most 1% of 20% of NAV a day."""
    vault, tokens, rebalancer, dex = trading([45 * 10**16, 45 * 10**16, 10 * 10**16])  # USDC 43%, target 10%
    weth, wbtc, usdc = tokens
    nav0 = _usd(vault.holdings(), tokens, PRICES)
    amount = 343 * 10**6  # $343 of USDC: 4.9% of the $7,000 NAV
    floor_weth = _floor_out(tokens, amount, 2, 0)

    def trade(sell, buy, amount_in, min_out):
        with boa.env.prank(keeper):
            return rebalancer.trade(sell.address, buy.address, amount_in, min_out, dex.address, b"")

    with boa.reverts("rebalancer: minimum out below oracle bound"):  # a keeper leaving room for a sandwich
        trade(usdc, weth, amount, floor_weth - 1)
    dex.set_rate(usdc.address, weth.address, oracle_rate(tokens, 2, 0) * 97 // 100)  # front-run: pool 3% worse
    with boa.reverts("mock dex: too little received"):
        trade(usdc, weth, amount, floor_weth)
    dex.set_misbehaviour(0, True)  # an adapter that ignores the minimum
    with boa.reverts("vault: swap short"):
        trade(usdc, weth, amount, floor_weth)
    dex.set_misbehaviour(0, False)
    with boa.reverts("rebalancer: trade above size cap"):  # 6% of NAV at once
        trade(usdc, weth, 420 * 10**6, _floor_out(tokens, 420 * 10**6, 2, 0))
    weth_in = 10**17
    with boa.reverts("rebalancer: sell is not overweight"):  # WETH is underweight: selling it moves it away
        trade(weth, usdc, weth_in, _floor_out(tokens, weth_in, 0, 2))
    assert _usd(vault.holdings(), tokens, PRICES) == nav0

    # the rogue keeper: the DEX it routes through pays exactly the oracle floor, every trade as large as allowed
    traded, trades = Fraction(0), 0
    for buy in (weth, wbtc, weth, wbtc, weth):
        j = tokens.index(buy)
        floor = _floor_out(tokens, amount, 2, j)
        dex.set_rate(usdc.address, buy.address, -(-floor * WAD // amount))
        if trades == 4:
            with boa.reverts("rebalancer: period cap reached"):
                trade(usdc, buy, amount, floor)
            break
        assert trade(usdc, buy, amount, floor) == floor
        (event,) = _events(rebalancer, "TradeExecuted")
        assert event.shortfall * 10_000 <= event.oracle_out * 100
        traded += _usd([0, 0, amount], tokens, PRICES)
        trades += 1
        if trades % 2 == 0:
            boa.env.time_travel(seconds=300)  # the pair's cooldown

    loss = nav0 - _usd(vault.holdings(), tokens, PRICES)
    one_unit = max(_usd([1, 0, 0], tokens, PRICES), _usd([0, 1, 0], tokens, PRICES))
    assert rebalancer.period_used() * 10_000 <= nav0 * WAD * 2_000
    assert 0 < loss <= traded * 100 / 10_000 + trades * one_unit  # 1% of what traded, and one unit of rounding
    assert loss <= nav0 * 20 / 10_000 + trades * one_unit  # so at most 0.2% of NAV a day


# ---------------------------------------------------------------------------------------------------------------
# 11-12. Trapped exits and governance
# ---------------------------------------------------------------------------------------------------------------


def test_usdc_blocklist_trap__vault_blocklisted_and_paused__holders_exit_in_kind_skipping_it(minted, fund, alice, bob):
    """USDC/USDT blocklists (e.g. Circle freezing the Tornado Cash addresses, Aug 2022): a frozen constituent would
    make every pro-rata redemption revert and trap holders. Here a holder redeems in kind skipping it (their share
    of it stays with the others), and a guardian's pause never blocks in-kind redemption."""
    vault, tokens = minted(10 * SHARE)
    usdc = tokens[2]
    fund(vault, tokens, bob)
    with boa.env.prank(bob):
        vault.mint_in_kind(5 * SHARE, bob, [MAX_UINT] * 3)
    usdc.set_blocked(vault.address, True)  # the issuer freezes the vault's USDC
    vault.pause()  # and the guardian pauses the vault in the panic

    with boa.env.prank(bob), boa.reverts("pausable: contract is paused"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)
    held = vault.balanceOf(alice)
    with boa.env.prank(alice), boa.reverts("mock: transfer refused"):  # the trap: a plain exit pays USDC too
        vault.redeem_in_kind(held, alice, [0] * 3)

    preview, usdc_per_share = lens().preview_redeem_in_kind(vault, held), lens().units_per_share(vault)[2]
    before = _balances(tokens, alice)
    with boa.env.prank(alice):
        out = vault.redeem_in_kind_skipping(held, alice, [0] * 3, [usdc.address])

    assert out == [preview[0], preview[1], 0] and min(out[:2]) > 0
    assert [b - a for a, b in zip(before, _balances(tokens, alice), strict=True)] == out
    assert lens().units_per_share(vault)[2] > usdc_per_share  # alice's USDC stays with those who remain

    usdc.set_blocked(vault.address, False)  # once the freeze lifts, bob takes his larger share, still paused
    usdc_held, supply, bob_shares = vault.holdings()[2], vault.totalSupply(), vault.balanceOf(bob)
    with boa.env.prank(bob):
        out = vault.redeem_in_kind(bob_shares, bob, [0] * 3)
    assert out[2] == bob_shares * usdc_held // supply > 5 * 30 * 10**6
    assert vault.paused()


def test_beanstalk_instant_governance__basket_change_without_notice__timelocked_cancellable_admin_only(
    governor_deployer, minted, make_rebalancer, make_token, mock_oracle_deployer, deployer, keeper, bob
):
    """Beanstalk (Apr 2022, $182M): flash-loaned votes passed and executed a proposal in one transaction that sent
    the treasury to the attacker. Here weights, basket, fees, oracle and roles belong to a Governor: each change
    shows in pending() for at least its delay, a guardian can cancel it, and no one can make it directly."""
    delay = 2 * DAY
    proposer, guardian = boa.env.generate_address("proposer"), boa.env.generate_address("guardian")
    vault, tokens = minted()
    governor = governor_deployer.deploy([proposer], [guardian], delay)
    rebalancer = make_rebalancer(vault, admin=governor.address)
    newcomer = make_token("NEW", 18)
    mock_oracle_deployer.at(vault.oracle()).set_price(newcomer.address, 15 * WAD, 15 * WAD, 15 * WAD, 18)
    admin_role = vault.DEFAULT_ADMIN_ROLE()
    vault.grantRole(vault.KEEPER_ROLE(), keeper)
    vault.grantRole(admin_role, governor.address)
    vault.renounceRole(admin_role, deployer)
    basket = vault.assets()
    weights = [5 * 10**17, 3 * 10**17, 2 * 10**17]

    for who in (deployer, proposer, guardian, keeper, bob):
        for fn, args in (
            (rebalancer.set_target_weights, (weights,)),
            (rebalancer.add_constituent, (newcomer.address,)),
            (rebalancer.remove_constituent, (tokens[2].address,)),
            (vault.set_rebalancer, (who,)),
            (vault.set_oracle, (newcomer.address,)),
            (vault.set_fees, (0, 100, 100, 500, 500)),
            (vault.grantRole, (admin_role, who)),
            (governor.grantRole, (governor.PROPOSER_ROLE(), who)),
        ):
            with boa.env.prank(who), boa.reverts(MISSING_ROLE):
                fn(*args)
        with boa.env.prank(who), boa.reverts("governor: only through a proposal"):
            governor.set_delay(governor.MIN_DELAY())
    with boa.env.prank(bob), boa.reverts(MISSING_ROLE):
        governor.propose(rebalancer.address, _call("add_constituent(address)", ["address"], [newcomer.address]), "")

    add = _call("add_constituent(address)", ["address"], [newcomer.address])
    reweight = _call("set_target_weights(uint256[])", ["uint256[]"], [weights])
    with boa.env.prank(proposer):
        add_id = governor.propose(rebalancer.address, add, "list NEW")
        reweight_id = governor.propose(rebalancer.address, reweight, "50/30/20")
    assert {(p.id, bytes(p.data)) for p in governor.pending()} == {(add_id, add), (reweight_id, reweight)}

    boa.env.time_travel(seconds=delay - 1)
    for id_ in (add_id, reweight_id):
        with boa.reverts("governor: too early"):
            governor.execute(id_)
    with boa.env.prank(guardian):
        governor.cancel(add_id)
    boa.env.time_travel(seconds=1)
    with boa.reverts("governor: not pending"):
        governor.execute(add_id)
    governor.execute(reweight_id)  # what nobody cancelled applies once its delay is over

    assert vault.assets() == basket
    assert lens().target_weights(vault) == weights
