"""Property tests of in-kind minting and redemption: rounding always favours the vault."""

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.baskets import MAX_UINT
from tests.conftest import fuzz_examples
from tests.lens import lens

SETTINGS = settings(
    max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

shares_st = st.integers(min_value=1, max_value=10**24)
first_st = st.integers(min_value=10**16 + 1, max_value=10**24)
donation_st = st.lists(st.integers(min_value=0, max_value=10**24), min_size=3, max_size=3)
# units per share from the floor the vault accepts to absurdly large
units_st = st.lists(st.integers(min_value=100, max_value=10**30), min_size=3, max_size=3)


@pytest.fixture
def setup(vault_deployer, make_token, make_oracle, fund, alice, bob, deployer):
    def make(units):
        tokens = [make_token(f"T{i}", d) for i, d in enumerate((18, 8, 6))]
        addresses = [t.address for t in tokens]
        vault = vault_deployer.deploy(
            "Fuzz Index", "FUZZ", addresses, units, addresses[0], make_oracle(tokens), deployer
        )
        fund(vault, tokens, alice, 10**60)
        fund(vault, tokens, bob, 10**60)
        return vault, tokens

    return make


def _mint(vault, who, shares):
    with boa.env.prank(who):
        return vault.mint_in_kind(shares, who, [MAX_UINT] * 3)


def _redeem(vault, who, shares):
    with boa.env.prank(who):
        return vault.redeem_in_kind(shares, who, [0] * 3)


def _donate(tokens, vault, donations):
    for t, d in zip(tokens, donations, strict=True):
        t.mint(vault.address, d)


@SETTINGS
@given(units=units_st, first=first_st, donations=donation_st, shares=shares_st)
def test_mint_then_redeem__any_state__never_profits(setup, alice, bob, units, first, donations, shares):
    vault, tokens = setup(units)
    _mint(vault, alice, first)
    _donate(tokens, vault, donations)

    paid = _mint(vault, bob, shares)
    got = _redeem(vault, bob, shares)

    assert all(g <= p for g, p in zip(got, paid, strict=True))


@SETTINGS
@given(units=units_st, first=first_st, donations=donation_st, data=st.data())
def test_redeem_then_mint__any_state__never_profits(setup, alice, units, first, donations, data):
    vault, tokens = setup(units)
    _mint(vault, alice, first)
    _donate(tokens, vault, donations)
    shares = data.draw(st.integers(min_value=1, max_value=vault.balanceOf(alice)))

    got = _redeem(vault, alice, shares)
    paid = _mint(vault, alice, shares)

    assert all(p >= g for g, p in zip(got, paid, strict=True))


@SETTINGS
@given(units=units_st, first=first_st, donations=donation_st, shares=shares_st)
def test_mint_in_kind__any_state__rounds_against_the_minter(setup, alice, bob, units, first, donations, shares):
    vault, tokens = setup(units)
    _mint(vault, alice, first)
    _donate(tokens, vault, donations)
    holdings, supply = vault.holdings(), vault.totalSupply()

    paid = _mint(vault, bob, shares)

    for p, h in zip(paid, holdings, strict=True):
        assert p * supply >= shares * h  # at least the exact pro rata amount
        assert (p - 1) * supply < shares * h  # and at most one wei more


@SETTINGS
@given(units=units_st, first=first_st, mints=st.lists(shares_st, min_size=1, max_size=6), donations=donation_st)
def test_claims__many_holders__sum_to_holdings_within_rounding(setup, alice, units, first, mints, donations):
    vault, tokens = setup(units)
    _mint(vault, alice, first)
    holders = [alice, vault.DEAD_ADDRESS()]
    for i, shares in enumerate(mints):
        who = boa.env.generate_address(f"holder{i}")
        for t in tokens:
            t.mint(who, 10**60)
            with boa.env.prank(who):
                t.approve(vault.address, MAX_UINT)
        _mint(vault, who, shares)
        holders.append(who)
    _donate(tokens, vault, donations)

    balances = [vault.balanceOf(h) for h in holders]
    assert sum(balances) == vault.totalSupply()
    claims = [lens().preview_redeem_in_kind(vault, b) for b in balances]
    for i, held in enumerate(vault.holdings()):
        total = sum(c[i] for c in claims)
        assert total <= held
        assert held - total < len(holders)  # only the rounding of each claim stays behind
