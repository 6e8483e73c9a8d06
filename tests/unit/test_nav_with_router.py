"""The vault on the real OracleRouter: every entry point that uses prices, for every way a price fails."""

import boa
import pytest

from tests.baskets import MAX_UINT
from tests.oracle_helpers import set_twap

SHARE = 10**18

FAILURES = {
    "stale": (
        "oracle: stale price",
        lambda f, p, t: f["WBTC"].set_answer_at(30_000 * 10**18, boa.env.evm.patch.timestamp - 5_000),
    ),
    "incomplete": ("oracle: incomplete round", lambda f, p, t: f["WBTC"].set_incomplete()),
    "negative": ("oracle: non-positive answer", lambda f, p, t: f["WBTC"].set_answer(-1)),
    "clamped": ("oracle: answer at circuit-breaker clamp", lambda f, p, t: f["WETH"].set_answer(10**6)),
    "disputed": (
        "oracle: feed and twap disagree",
        lambda f, p, t: set_twap(p["WBTC"], t["WBTC"], t["USDC"], 33_000, 1),
    ),
}

REVERTING = [
    lambda v, who: v.total_value(),
    lambda v, who: v.value_per_share(),
    lambda v, who: v.totalAssets(),
    lambda v, who: v.convertToShares(10**18),
    lambda v, who: v.convertToAssets(SHARE),
    lambda v, who: v.previewDeposit(10**18),
    lambda v, who: v.previewMint(SHARE),
    lambda v, who: v.previewWithdraw(10**15),
    lambda v, who: v.previewRedeem(SHARE),
    lambda v, who: v.deposit(10**18, who),
    lambda v, who: v.mint(SHARE, who),
    lambda v, who: v.withdraw(10**15, who, who),
    lambda v, who: v.redeem(SHARE, who, who),
]
NAMES = ["total_value", "value_per_share", "totalAssets", "convertToShares", "convertToAssets", "previewDeposit",
         "previewMint", "previewWithdraw", "previewRedeem", "deposit", "mint", "withdraw", "redeem"]  # fmt: skip


@pytest.fixture
def vault_on_router(router_market, vault_deployer, fund, alice):
    router, tokens, feeds, pools = router_market
    assets = [tokens[s] for s in ("WETH", "WBTC", "USDC")]
    vault = vault_deployer.deploy(
        "Routed Index",
        "ROUTE",
        [t.address for t in assets],
        [10**16, 50_000, 30 * 10**6],
        assets[0],
        router,
        boa.env.eoa,
    )
    vault.set_flow_cap(10_000, 86400)
    fund(vault, assets, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(100 * SHARE, alice, [MAX_UINT] * 3)
    return vault, tokens, feeds, pools


def test_nav__healthy_router__values_the_basket(vault_on_router):
    vault, _, _, _ = vault_on_router

    assert abs(vault.value_per_share() - 65 * 10**18) < 10**12


@pytest.mark.parametrize("kind", FAILURES)
@pytest.mark.parametrize("call", REVERTING, ids=NAMES)
def test_price_entry_points__unusable_price__revert_with_oracle_reason(vault_on_router, alice, kind, call):
    vault, tokens, feeds, pools = vault_on_router
    reason, breaker = FAILURES[kind]
    breaker(feeds, pools, tokens)

    with boa.env.prank(alice), boa.reverts(reason):
        call(vault, alice)


@pytest.mark.parametrize("kind", FAILURES)
def test_max_functions__unusable_price__return_zero_and_in_kind_redemption_works(vault_on_router, alice, kind):
    vault, tokens, feeds, pools = vault_on_router
    FAILURES[kind][1](feeds, pools, tokens)

    assert [vault.maxDeposit(alice), vault.maxMint(alice), vault.maxWithdraw(alice), vault.maxRedeem(alice)] == [0] * 4
    with boa.env.prank(alice):
        assert vault.redeem_in_kind(SHARE, alice, [0, 0, 0]) == [10**16, 50_000, 30 * 10**6]


def _router_call_data(vault, router, fn: str) -> bytes:
    """The call data the vault sends the router while running the view `fn`."""
    computation = boa.env.execute_code(
        to_address=vault.address, data=getattr(vault, fn).prepare_calldata(), is_modifying=False
    )
    assert not computation.is_error
    (call,) = [c for c in computation.children if c.msg.to == router.address.canonical_address]
    return bytes(call.msg.data)


def test_nav_quote_call__assembled_from_the_stored_list__is_the_abi_encoding(
    router_market, vault_deployer, vault_on_router
):
    # the vault assembles the call data from its stored list rather than encoding it: byte for byte the same
    router, tokens, _, _ = router_market
    vault, _, _, _ = vault_on_router
    assets = [tokens[s] for s in ("WETH", "WBTC", "USDC")]
    holdings = [t.balanceOf(vault.address) for t in assets]
    units = [10**16, 50_000, 30 * 10**6]
    fresh = vault_deployer.deploy("Fresh", "FRESH", [t.address for t in assets], units, assets[0], router, boa.env.eoa)

    expected = router.nav_quote.prepare_calldata([t.address for t in assets], holdings, assets[0].address)
    assert _router_call_data(vault, router, "total_value") == expected
    # before the first mint, the starting units
    expected = router.nav_quote.prepare_calldata([t.address for t in assets], units, assets[0].address)
    assert _router_call_data(fresh, router, "value_per_share") == expected
