"""In-kind minting: the first mint at the starting units, later mints pro rata, rounded up."""

import boa
import pytest

from tests.baskets import MAX_UINT, THREE_ASSETS
from tests.lens import lens

SHARE = 10**18


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def test_mint_in_kind__first_mint__takes_exact_units_and_locks_shares(make_vault, fund, alice):
    vault, tokens = make_vault()
    fund(vault, tokens, alice)

    with boa.env.prank(alice):
        amounts = vault.mint_in_kind(3 * SHARE, alice, [MAX_UINT] * 3)

    assert amounts == [3 * u for _, _, u in THREE_ASSETS]
    assert [t.balanceOf(vault.address) for t in tokens] == amounts
    assert vault.balanceOf(alice) == 3 * SHARE - vault.LOCKED_SHARES()
    assert vault.balanceOf(vault.DEAD_ADDRESS()) == vault.LOCKED_SHARES()
    assert vault.totalSupply() == 3 * SHARE


def test_mint_in_kind__first_mint_not_above_locked_shares__reverts(make_vault, fund, alice):
    vault, tokens = make_vault()
    fund(vault, tokens, alice)

    with boa.env.prank(alice), boa.reverts("vault: first mint too small"):
        vault.mint_in_kind(vault.LOCKED_SHARES(), alice, [MAX_UINT] * 3)


def test_mint_in_kind__steady_state__pays_pro_rata_rounded_up(minted, fund, bob):
    vault, tokens = minted(10 * SHARE)
    fund(vault, tokens, bob)
    holdings, supply = vault.holdings(), vault.totalSupply()
    shares = 10**18 // 3  # an awkward amount, so that every amount rounds

    with boa.env.prank(bob):
        amounts = vault.mint_in_kind(shares, bob, [MAX_UINT] * 3)

    assert amounts == [-(-shares * h // supply) for h in holdings]
    assert all(a * supply >= shares * h for a, h in zip(amounts, holdings, strict=True))
    assert vault.balanceOf(bob) == shares


def test_mint_in_kind__steady_state__preview_matches_execution(minted, fund, bob):
    vault, tokens = minted()
    fund(vault, tokens, bob)
    preview = lens().preview_mint_in_kind(vault, 12345 * 10**12)

    with boa.env.prank(bob):
        assert vault.mint_in_kind(12345 * 10**12, bob, preview) == preview


def test_mint_in_kind__steady_state__logs_minted_in_kind(minted, fund, bob, alice):
    vault, tokens = minted()
    fund(vault, tokens, bob)

    with boa.env.prank(bob):
        amounts = vault.mint_in_kind(SHARE, alice, [MAX_UINT] * 3)

    (event,) = _events(vault, "MintedInKind")
    assert (event.sender, event.receiver, event.shares, list(event.amounts)) == (bob, alice, SHARE, amounts)


@pytest.mark.parametrize(
    ("shares", "receiver", "max_in", "reason"),
    [
        (SHARE, None, [MAX_UINT] * 3, "erc20: mint to the zero address"),
        (SHARE, "alice", [MAX_UINT] * 2, "vault: wrong array length"),
        (SHARE, "alice", [MAX_UINT, MAX_UINT, 30 * 10**6 - 1], "vault: amount in exceeds maximum"),
        (0, "alice", [MAX_UINT] * 3, "vault: zero shares"),
    ],
    ids=["zero-receiver", "wrong-length", "slippage", "zero-shares"],
)
def test_mint_in_kind__bad_input__reverts_with_reason(minted, fund, bob, alice, shares, receiver, max_in, reason):
    vault, tokens = minted()
    fund(vault, tokens, bob)
    to = alice if receiver else "0x" + "00" * 20

    with boa.env.prank(bob), boa.reverts(reason):
        vault.mint_in_kind(shares, to, max_in)


def test_mint_in_kind__no_allowance__reverts_with_token_reason(minted, bob):
    vault, tokens = minted()
    for t in tokens:
        t.mint(bob, 10**30)

    with boa.env.prank(bob), boa.reverts("mock: insufficient allowance"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)


def test_mint_in_kind__dust_shares__still_pays_at_least_one_wei_each(minted, fund, bob):
    vault, tokens = minted()
    fund(vault, tokens, bob)

    with boa.env.prank(bob):
        amounts = vault.mint_in_kind(1, bob, [MAX_UINT] * 3)

    assert all(a >= 1 for a in amounts)


def test_preview_mint_in_kind__no_supply__returns_starting_units(make_vault):
    vault, _ = make_vault()

    assert lens().preview_mint_in_kind(vault, 2 * SHARE) == [2 * u for _, _, u in THREE_ASSETS]
