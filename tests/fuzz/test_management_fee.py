"""Property tests of the fees: random histories of time, in-kind flows and fee changes, to the wei
against the Python `FeeModel`."""

from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index_vault.vault.basket import mint_amounts
from index_vault.vault.fees import RAY, YEAR, FeeModel, pending_fee_shares, rate_from_annual_bps
from tests.baskets import MAX_UINT, THREE_ASSETS
from tests.conftest import fuzz_examples

SETTINGS = settings(
    max_examples=fuzz_examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SHARE = 10**18
CAP_RATE = rate_from_annual_bps(1_000)
UNITS = [u for _, _, u in THREE_ASSETS]

seconds_st = st.one_of(st.integers(0, 120), st.integers(0, 5 * YEAR))
rate_st = st.one_of(st.just(0), st.just(CAP_RATE), st.integers(0, CAP_RATE))
bps_st = st.one_of(st.just(0), st.just(100), st.integers(0, 100))
holder_st = st.sampled_from(["alice", "bob"])
step_st = st.one_of(
    st.tuples(st.just("wait"), seconds_st),
    st.tuples(st.just("mint"), holder_st, st.integers(1, 10**22)),
    st.tuples(st.just("redeem"), holder_st, st.integers(0, 1_000)),
    st.tuples(st.just("fees"), rate_st, bps_st, bps_st),
    st.tuples(st.just("recipient"), st.sampled_from(["deployer", "treasury", "alice"])),
)


@dataclass
class MultipliedFeeModel(FeeModel):
    """`FeeModel` with the vault's fee multiplier: each settlement multiplies it by the supply before over the
    supply after (rounded down), so that `supply * multiplier // RAY` (the undiluted supply) ignores the fee."""

    multiplier: int = RAY

    def accrue(self, now: int) -> int:
        supply = self.supply
        shares = super().accrue(now)
        if shares:
            self.multiplier = self.multiplier * supply // (supply + shares)
        return shares

    @property
    def undiluted_supply(self) -> int:
        return self.supply * self.multiplier // RAY


@pytest.fixture
def world(minted, fund, alice, bob, deployer):
    """One vault for every example (each runs inside an anchor): alice holds 10 shares, alice and
    bob are funded, the deployer is admin and fee manager."""
    vault, tokens = minted(10 * SHARE)
    fund(vault, tokens, alice, 10**60)
    fund(vault, tokens, bob, 10**60)
    vault.grantRole(vault.FEE_MANAGER_ROLE(), deployer)
    accounts = {
        "alice": alice,
        "bob": bob,
        "deployer": deployer,
        "treasury": boa.env.generate_address("treasury"),
        "dead": vault.DEAD_ADDRESS(),
    }
    return vault, accounts


def _now() -> int:
    return boa.env.evm.patch.timestamp


def _start(vault, accounts, rate, mint_bps, redeem_bps) -> MultipliedFeeModel:
    vault.set_fees(rate, mint_bps, redeem_bps, 0, 0)
    balances = {name: vault.balanceOf(address) for name, address in accounts.items()}
    model = MultipliedFeeModel("deployer", supply=vault.totalSupply(), balances=balances)
    model.set_fees(_now(), rate, mint_bps, redeem_bps)
    return model


def _check(vault, accounts, model: MultipliedFeeModel) -> None:
    assert vault.totalSupply() == model.supply
    assert vault.fee_recipient() == accounts[model.recipient]
    assert vault.balanceOf(accounts[model.recipient]) == model.recipient_balance
    assert {n: vault.balanceOf(a) for n, a in accounts.items()} == {n: model.balances.get(n, 0) for n in accounts}
    assert vault.last_fee_accrual() == model.last_accrual
    assert vault.pending_management_fee() == model.pending(_now())
    assert vault.fee_multiplier() == model.multiplier
    assert vault.undiluted_supply() == model.undiluted_supply


def _apply(vault, accounts, model: MultipliedFeeModel, step) -> None:
    kind, *args = step
    now = _now()
    if kind == "wait":
        boa.env.time_travel(seconds=args[0])
    elif kind == "mint":
        who, shares = accounts[args[0]], args[1]
        supply, holdings = model.supply_after_accrual(now), vault.holdings()
        paid_for, _ = model.mint(now, shares, args[0])
        with boa.env.prank(who):
            assert vault.mint_in_kind(shares, who, [MAX_UINT] * 3) == mint_amounts(paid_for, supply, holdings, UNITS)
    elif kind == "redeem":
        who = accounts[args[0]]
        shares = vault.balanceOf(who) * args[1] // 1_000
        holdings = vault.holdings()
        net, _, supply = model.redeem(now, shares, args[0])
        with boa.env.prank(who):
            if shares == 0:  # a redemption of nothing is refused: settling is what it would have done
                vault.settle_management_fee()
            else:
                assert vault.redeem_in_kind(shares, who, [0] * 3) == [net * h // supply for h in holdings]
    elif kind == "fees":
        vault.set_fees(args[0], args[1], args[2], 0, 0)
        model.set_fees(now, *args)
    else:
        vault.set_fee_recipient(accounts[args[0]])
        model.set_recipient(now, args[0])


@SETTINGS
@given(rate=rate_st, mint_bps=bps_st, redeem_bps=bps_st, steps=st.lists(step_st, min_size=1, max_size=12))
def test_fees__random_history__vault_matches_model_to_the_wei(world, rate, mint_bps, redeem_bps, steps):
    vault, accounts = world
    with boa.env.anchor():
        model = _start(vault, accounts, rate, mint_bps, redeem_bps)
        _check(vault, accounts, model)
        for step in steps:
            _apply(vault, accounts, model, step)
            _check(vault, accounts, model)


@SETTINGS
@given(rate=rate_st, pieces=st.lists(st.integers(1, YEAR), min_size=1, max_size=10))
def test_accrue__settled_in_pieces__same_fee_as_once_up_to_rounding(world, rate, pieces):
    vault, accounts = world
    with boa.env.anchor():
        vault.set_fees(rate, 0, 0, 0, 0)
        supply = vault.totalSupply()
        once = pending_fee_shares(supply, rate, sum(pieces))
        for seconds in pieces:
            boa.env.time_travel(seconds=seconds)
            with boa.env.prank(accounts["alice"]):
                vault.settle_management_fee()

        settled = vault.balanceOf(accounts["deployer"])
        assert settled <= once + len(pieces)  # settling often never raises the fee beyond rounding
        assert once - settled <= 2 * len(pieces)  # and loses at most a couple of wei per settlement


@SETTINGS
@given(
    rate=rate_st,
    seconds=st.lists(seconds_st, min_size=1, max_size=6),
    flows=st.lists(st.tuples(st.booleans(), st.integers(1, 10**22)), min_size=1, max_size=6),
)
def test_undiluted_supply__fee_accruals_between_flows__moved_only_by_the_flows(world, rate, seconds, flows):
    """Units per undiluted share stay put: each accrual leaves the undiluted supply within a wei, and each
    in-kind flow moves it in proportion to the holdings it moves (to rounding)."""
    vault, accounts = world
    alice = accounts["alice"]
    with boa.env.anchor():
        vault.set_fees(rate, 0, 0, 0, 0)
        for wait, (mint, shares) in zip(seconds, flows, strict=False):
            undiluted = vault.undiluted_supply()
            boa.env.time_travel(seconds=wait)
            with boa.env.prank(alice):
                vault.settle_management_fee()
            assert undiluted - 1 <= vault.undiluted_supply() <= undiluted
            undiluted, holdings = vault.undiluted_supply(), vault.holdings()
            with boa.env.prank(alice):
                if mint:
                    vault.mint_in_kind(shares, alice, [MAX_UINT] * 3)
                elif vault.balanceOf(alice) * (shares % 1_000) // 1_000 != 0:  # zero shares are refused
                    vault.redeem_in_kind(vault.balanceOf(alice) * (shares % 1_000) // 1_000, alice, [0] * 3)
            now = vault.undiluted_supply()
            for before, after in zip(holdings, vault.holdings(), strict=True):
                # after / now == before / undiluted, to a unit of each and a wei of undiluted supply each way
                assert abs(after * undiluted - before * now) <= undiluted + before + now
