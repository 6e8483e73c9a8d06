"""Target weights and composition changes (Rebalancer), and the vault's own checks on them."""

import boa
import pytest

from tests.baskets import CONTRACTS, MAX_UINT
from tests.lens import lens
from tests.unit.conftest import limits

WAD = 10**18
SHARE = 10**18
WEIGHTS = [5 * 10**17, 3 * 10**17, 2 * 10**17]


@pytest.fixture(scope="session")
def mock_rebalancer_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockRebalancer.vy"))


@pytest.fixture
def managed(minted, make_rebalancer, make_token):
    """A minted vault with its Rebalancer, and a fourth token the oracle prices."""
    vault, tokens = minted()
    rebalancer = make_rebalancer(vault)
    extra = make_token("LINK", 18)
    oracle = boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy")).at(vault.oracle())
    oracle.set_price(extra.address, 15 * WAD, 15 * WAD, 15 * WAD, 18)
    return vault, tokens, rebalancer, extra


@pytest.fixture
def mocked(minted, mock_rebalancer_deployer):
    """A minted vault whose rebalancer is a mock that does as a test says."""
    vault, tokens = minted()
    mock = mock_rebalancer_deployer.deploy(vault.address)
    vault.set_rebalancer(mock.address)
    return vault, tokens, mock


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def test_set_target_weights__admin__stores_and_vault_reports_them(managed):
    vault, _, rebalancer, _ = managed
    assert lens().target_weights(vault) == [] and rebalancer.target_weights() == []

    rebalancer.set_target_weights(WEIGHTS)
    (event,) = _events(rebalancer, "TargetWeightsChanged")

    assert list(event.weights) == WEIGHTS
    assert lens().target_weights(vault) == WEIGHTS
    assert rebalancer.target_weights() == WEIGHTS


def test_target_weights__no_rebalancer__empty(make_vault):
    vault, _ = make_vault()

    assert vault.rebalancer() == "0x" + "00" * 20
    assert lens().target_weights(vault) == []


@pytest.mark.parametrize(
    ("weights", "reason"),
    [
        ([5 * 10**17, 5 * 10**17], "rebalancer: one weight per constituent"),
        ([5 * 10**17, 3 * 10**17, 2 * 10**17 - 1], "rebalancer: weights must sum to 10**18"),
        ([5 * 10**17, 3 * 10**17, 2 * 10**17 + 1], "rebalancer: weights must sum to 10**18"),
    ],
    ids=["length", "short", "over"],
)
def test_set_target_weights__bad_weights__reverts_with_reason(managed, weights, reason):
    _, _, rebalancer, _ = managed

    with boa.reverts(reason):
        rebalancer.set_target_weights(weights)


@pytest.mark.parametrize(
    "call",
    [
        lambda r, extra: r.set_target_weights(WEIGHTS),
        lambda r, extra: r.add_constituent(extra.address),
        lambda r, extra: r.remove_constituent(extra.address),
        lambda r, extra: r.grantRole(r.DEFAULT_ADMIN_ROLE(), extra.address),
        lambda r, extra: r.set_limits(limits()),
        lambda r, extra: r.set_adapter(extra.address, True),
    ],
    ids=["targets", "add", "remove", "grant", "limits", "adapter"],
)
def test_rebalancer_admin_functions__outsider__reverts(managed, bob, call):
    _, _, rebalancer, extra = managed

    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        call(rebalancer, extra)


def test_add_constituent__priced_asset__listed_with_weight_zero_and_minted_at_zero(managed, fund, bob):
    vault, tokens, rebalancer, extra = managed
    rebalancer.set_target_weights(WEIGHTS)

    rebalancer.add_constituent(extra.address)

    assert vault.assets() == [t.address for t in tokens] + [extra.address]
    assert lens().target_weights(vault) == [*WEIGHTS, 0]
    assert sum(lens().target_weights(vault)) == WAD
    fund(vault, [*tokens, extra], bob)
    with boa.env.prank(bob):
        amounts = vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 4)
    assert amounts[3] == 0  # nothing held yet: the rebalancer ramps it in
    assert _events(rebalancer, "ConstituentAdded")[0].asset == extra.address


def test_add_constituent__oracle_cannot_price__reverts_with_oracle_reason(managed, make_token):
    _, _, rebalancer, _ = managed
    unpriced = make_token("NEW", 18)

    with boa.reverts("oracle: no feed"):
        rebalancer.add_constituent(unpriced.address)


def test_add_constituent__already_listed__reverts(managed):
    vault, _, rebalancer, _ = managed

    with boa.reverts("rebalancer: already a constituent"):
        rebalancer.add_constituent(vault.assets()[1])


def test_add_constituent__no_shares_yet__vault_refuses(make_vault, make_rebalancer, make_token):
    vault, _ = make_vault()
    rebalancer = make_rebalancer(vault)
    extra = make_token("LINK", 18)
    boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy")).at(vault.oracle()).set_price(
        extra.address, WAD, WAD, WAD, 18
    )

    with boa.reverts("vault: no shares yet"):
        rebalancer.add_constituent(extra.address)


def test_remove_constituent__target_not_zero__reverts(managed):
    vault, _, rebalancer, _ = managed
    rebalancer.set_target_weights(WEIGHTS)

    with boa.reverts("rebalancer: target weight is not 0"):
        rebalancer.remove_constituent(vault.assets()[2])


def test_remove_constituent__balance_not_dust__vault_refuses(managed):
    vault, _, rebalancer, _ = managed
    rebalancer.set_target_weights([5 * 10**17, 5 * 10**17, 0])

    with boa.reverts("vault: balance is not dust"):
        rebalancer.remove_constituent(vault.assets()[2])


def test_remove_constituent__weight_zero_and_dust__removed_in_order(managed, fund, bob):
    vault, tokens, rebalancer, extra = managed
    rebalancer.add_constituent(extra.address)
    # the dust bound: at most one base unit per whole share
    extra.mint(vault.address, vault.totalSupply() // WAD)

    rebalancer.remove_constituent(extra.address)

    assert vault.assets() == [t.address for t in tokens]
    assert _events(rebalancer, "ConstituentRemoved")[0].asset == extra.address


def test_remove_constituent__one_wei_over_dust__vault_refuses(managed):
    vault, _, rebalancer, extra = managed
    rebalancer.add_constituent(extra.address)
    extra.mint(vault.address, vault.totalSupply() // WAD + 1)

    with boa.reverts("vault: balance is not dust"):
        rebalancer.remove_constituent(extra.address)


def test_remove_constituent__base_asset__vault_refuses(managed):
    _vault, tokens, rebalancer, _ = managed
    rebalancer.set_target_weights([0, 5 * 10**17, 5 * 10**17])
    # the base asset (the first) is never removable, dust or not
    with boa.reverts("vault: base asset must stay"):
        rebalancer.remove_constituent(tokens[0].address)


def test_constructor__defaults__documented_limits_within_the_hard_bounds(managed):
    _, _, rebalancer, _ = managed
    assert tuple(rebalancer.limits()) == limits()

    rebalancer.set_limits(rebalancer.limits())  # `_set_limits` checks them

    assert tuple(rebalancer.limits()) == limits()


def test_set_target_weights__basket_over_three_words__read_back_and_carried_through_changes(managed, make_token):
    vault, _, rebalancer, _ = managed
    oracle = boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy")).at(vault.oracle())
    extras = [make_token(f"X{i}", 18) for i in range(7)]
    for token in extras:
        oracle.set_price(token.address, WAD, WAD, WAD, 18)
        rebalancer.add_constituent(token.address)
    # ten weights: fields 3..12, three words; each distinct, so a shifted one shows
    weights = [WAD // 10 + i for i in range(10)]
    weights[5] = 0  # the third extra's: removable below
    weights[0] += WAD - sum(weights)

    rebalancer.set_target_weights(weights)
    assert rebalancer.target_weights() == weights
    rebalancer.remove_constituent(extras[2].address)  # index 5: the later ones move down one field
    assert rebalancer.target_weights() == weights[:5] + weights[6:]
    rebalancer.add_constituent(extras[2].address)  # back, last, at 0
    assert rebalancer.target_weights() == [*weights[:5], *weights[6:], 0]
    assert vault.assets()[-1] == extras[2].address


def test_start_rebalance__basket_changed_by_another_rebalancer__refused_until_weights_set_again(
    managed, mock_rebalancer_deployer, keeper
):
    vault, _, rebalancer, extra = managed
    rebalancer.set_target_weights(WEIGHTS)
    mock = mock_rebalancer_deployer.deploy(vault.address)
    vault.set_rebalancer(mock.address)
    assets = list(vault.assets())
    mock.set_assets([assets[0], extra.address, *assets[1:]])  # the others shift by one
    vault.set_rebalancer(rebalancer.address)
    vault.grantRole(vault.KEEPER_ROLE(), keeper)

    assert rebalancer.target_weights() == [] and rebalancer.targets_set()
    with boa.env.prank(keeper), boa.reverts("rebalancer: weights for another basket"):
        rebalancer.start_rebalance()

    rebalancer.set_target_weights([*WEIGHTS[:1], 0, *WEIGHTS[1:]])
    with boa.env.prank(keeper):
        rebalancer.start_rebalance()
    assert rebalancer.snapshot(extra.address).target_units == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda assets, eoa: [*assets, assets[1]], "vault: constituent is not a new contract"),
        (lambda assets, eoa: [*assets, eoa], "vault: constituent is not a new contract"),
        (lambda assets, eoa: assets[1:], "vault: base asset must stay"),
        (lambda assets, eoa: assets[:2], "vault: balance is not dust"),
    ],
    ids=["duplicate", "not-a-contract", "drops-base", "drops-holding"],
)
def test_set_assets_pointer__rebalancer_asks_harm__vault_refuses(mocked, bob, change, reason):
    vault, _, mock = mocked

    with boa.reverts(reason):
        mock.set_assets(change(list(vault.assets()), bob))


@pytest.fixture
def adapter(dex_deployer):
    """A DEX adapter paying `rate` units of `buy` per 10**18 units of `sell` from its own balance."""

    def make(sell, buy, rate: int):
        dex = dex_deployer.deploy()
        dex.set_rate(sell.address, buy.address, rate)
        buy.mint(dex.address, 10**30)
        return dex

    return make


def test_rebalance_swap__adapter_pays_enough__moves_exactly_two_holdings(mocked, adapter):
    vault, tokens, mock = mocked
    dex = adapter(tokens[1], tokens[0], 2 * 10**30)  # 2 * 10**12 WETH wei per WBTC sat
    before = vault.holdings()

    received = mock.swap(tokens[1].address, tokens[0].address, 10**5, 10**17, dex.address, False)

    after = vault.holdings()
    assert received == 2 * 10**17
    assert after[0] == before[0] + received and after[1] == before[1] - 10**5 and after[2] == before[2]
    assert tokens[1].balanceOf(dex.address) == 10**5  # the vault paid the adapter directly
    assert tokens[1].allowance(vault.address, dex.address) == 0  # and approved nothing
    assert tokens[0].balanceOf(mock.address) == tokens[1].balanceOf(mock.address) == 0


def test_rebalance_swap__adapter_returns_unspent_input__vault_keeps_it(mocked, adapter):
    vault, tokens, mock = mocked
    dex = adapter(tokens[1], tokens[0], 2 * 10**30)
    dex.set_refund(4 * 10**4)  # swaps 60,000 sats of the 100,000 paid, returns the rest
    before = vault.holdings()

    received = mock.swap(tokens[1].address, tokens[0].address, 10**5, 10**17, dex.address, False)

    after = vault.holdings()
    assert received == 12 * 10**16
    assert after[0] == before[0] + received and after[1] == before[1] - 6 * 10**4
    assert tokens[1].balanceOf(dex.address) == 6 * 10**4


@pytest.mark.parametrize(
    "misbehaviour",
    [
        lambda dex: dex.set_misbehaviour(1, True),  # one wei short, the minimum ignored
        lambda dex: dex.set_keep_input(True),  # keeps the input, pays nothing
        lambda dex: (dex.set_refund(10**5), dex.set_misbehaviour(0, True)),  # returns all the input, pays nothing
    ],
    ids=["pays-short", "keeps-input", "refunds-all"],
)
def test_rebalance_swap__adapter_pays_short__reverts(mocked, adapter, misbehaviour):
    vault, tokens, mock = mocked
    dex = adapter(tokens[1], tokens[0], 2 * 10**30)
    misbehaviour(dex)
    holdings = vault.holdings()

    with boa.reverts("vault: swap short"):
        mock.swap(tokens[1].address, tokens[0].address, 10**5, 2 * 10**17, dex.address, False)
    assert vault.holdings() == holdings


def test_rebalance_swap__fill__takes_min_out_through_the_rebalancer_and_pays_the_filler(mocked, bob):
    vault, tokens, mock = mocked
    tokens[0].mint(bob, 10**18)
    with boa.env.prank(bob):
        tokens[0].approve(mock.address, 2 * 10**17)  # the rebalancer, never the vault
    before = vault.holdings()

    received = mock.swap(tokens[1].address, tokens[0].address, 10**5, 2 * 10**17, bob, True)

    after = vault.holdings()
    assert received == 2 * 10**17
    assert after[0] == before[0] + received and after[1] == before[1] - 10**5
    assert (tokens[0].balanceOf(bob), tokens[1].balanceOf(bob)) == (8 * 10**17, 10**5)
    assert tokens[0].allowance(bob, mock.address) == 0


def test_rebalance_swap__fill_naming_a_holder_who_approved_the_vault__takes_none_of_the_holders_tokens(mocked, bob):
    """An approval given to the vault for minting (here unlimited) cannot be spent by a rebalancing, whatever
    counterparty the rebalancer names: the vault never pulls a fill's payment itself."""
    vault, tokens, mock = mocked
    tokens[0].mint(bob, 10**18)
    with boa.env.prank(bob):
        tokens[0].approve(vault.address, 2**256 - 1)
    holdings = vault.holdings()

    with boa.reverts():
        mock.swap(tokens[1].address, tokens[0].address, 10**5, 2 * 10**17, bob, True)

    assert tokens[0].balanceOf(bob) == 10**18 and tokens[1].balanceOf(bob) == 0
    assert vault.holdings() == holdings


@pytest.mark.parametrize("buy", ["unlisted", "sell"])
def test_rebalance_swap__not_a_constituent_pair__reverts(mocked, adapter, make_token, buy):
    _vault, tokens, mock = mocked
    other = make_token("OTHER", 18) if buy == "unlisted" else tokens[1]
    dex = adapter(tokens[1], other, 10**18)

    with boa.reverts("vault: not a constituent pair"):
        mock.swap(tokens[1].address, other.address, 10**5, 0, dex.address, False)


@pytest.mark.parametrize("fill", [False, True])
def test_rebalance_swap__paused__reverts(mocked, adapter, bob, fill):
    vault, tokens, mock = mocked
    dex = adapter(tokens[1], tokens[0], 2 * 10**30)
    vault.pause()

    with boa.reverts("pausable: contract is paused"):
        mock.swap(tokens[1].address, tokens[0].address, 10**5, 0, bob if fill else dex.address, fill)


@pytest.mark.parametrize("role", ["DEFAULT_ADMIN_ROLE", "MANAGER_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE", None])
def test_trade__caller_without_vault_keeper_role__reverts(managed, bob, role):
    vault, tokens, rebalancer, _ = managed
    if role:
        vault.grantRole(getattr(vault, role)(), bob)

    with boa.env.prank(bob), boa.reverts("rebalancer: caller is not a keeper"):
        rebalancer.trade(tokens[2].address, tokens[0].address, 1, 0, vault.address, b"")


@pytest.mark.parametrize(
    "changes",
    [
        {"max_slippage_bps": 501},
        {"weight_tolerance": 5 * 10**16 + 1},
        {"max_trade_bps": 10_001},
        {"period_cap_bps": 10_001},
        {"period": 3599},
        {"period": 7 * 86400 + 1},
        {"cooldown": 86401},
        {"auction_duration": 899},
        {"auction_duration": 7 * 86400 + 1},
        {"auction_premium_bps": 2_001},
        {"auction_discount_bps": 101},
        {"open_delay": 3599},
        {"open_delay": 365 * 86400 + 1},
        {"max_age": 59},
        {"max_age": 86401},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_set_limits__past_a_hard_bound__reverts(managed, changes):
    _, _, rebalancer, _ = managed

    with boa.reverts("rebalancer: limits out of bounds"):
        rebalancer.set_limits(limits(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"max_slippage_bps": 500, "weight_tolerance": 5 * 10**16, "max_trade_bps": 10_000, "period_cap_bps": 10_000},
        {"period": 3600, "cooldown": 86400, "auction_duration": 900, "auction_premium_bps": 2_000},
        {"period": 7 * 86400, "auction_duration": 7 * 86400, "auction_discount_bps": 100},
        {"open_delay": 3600, "max_age": 60},
        {"open_delay": 365 * 86400, "max_age": 86400},
    ],
    ids=["defaults", "high-bps", "low-times", "long-times", "low-delay-age", "high-delay-age"],
)
def test_set_limits__at_the_hard_bounds__stored_and_read_back(managed, changes):
    _, _, rebalancer, _ = managed

    rebalancer.set_limits(limits(**changes))
    (event,) = _events(rebalancer, "LimitsChanged")

    assert tuple(event.limits) == limits(**changes)
    assert tuple(rebalancer.limits()) == limits(**changes)
