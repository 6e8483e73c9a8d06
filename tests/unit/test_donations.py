"""Donations go to holders pro rata and cannot be turned against the next minter."""

import boa

from tests.baskets import MAX_UINT
from tests.lens import lens

SHARE = 10**18


def test_donation__steady_state__raises_every_claim_pro_rata(minted, alice):
    vault, tokens = minted(10 * SHARE)
    held, supply, shares = vault.holdings()[0], vault.totalSupply(), vault.balanceOf(alice)
    before = lens().preview_redeem_in_kind(vault, shares)
    tokens[0].mint(vault.address, 10**18)  # someone sends 1 WETH to the vault

    after = lens().preview_redeem_in_kind(vault, shares)

    assert after[0] == (held + 10**18) * shares // supply  # alice's pro rata part of the gift
    assert after[0] - before[0] >= 10**18 * shares // supply
    assert after[1:] == before[1:]


def test_first_depositor_donation__attacker_inflates_share__victim_loses_at_most_rounding(make_vault, fund, alice, bob):
    """The ERC-4626 inflation attack, tried in kind: mint the least, donate a fortune, wait."""
    vault, tokens = make_vault()
    fund(vault, tokens, alice)
    fund(vault, tokens, bob)
    with boa.env.prank(alice):  # attacker: smallest possible first mint, then a huge donation
        vault.mint_in_kind(vault.LOCKED_SHARES() + 1, alice, [MAX_UINT] * 3)
    for t in tokens:
        t.mint(vault.address, 10**24)

    victim_shares = 3
    with boa.env.prank(bob):
        paid = vault.mint_in_kind(victim_shares, bob, [MAX_UINT] * 3)
    with boa.env.prank(bob):
        got = vault.redeem_in_kind(victim_shares, bob, [0] * 3)

    for p, g in zip(paid, got, strict=True):
        assert g <= p  # no profit
        assert p - g <= 1 + p // vault.totalSupply()  # the loss is rounding, not theft


def test_donation__before_first_mint__does_not_change_first_mint_price(make_vault, fund, alice, bob):
    vault, tokens = make_vault()
    fund(vault, tokens, alice)
    tokens[0].mint(vault.address, 5 * 10**18)

    with boa.env.prank(alice):
        paid = vault.mint_in_kind(SHARE, alice, [MAX_UINT] * 3)

    assert paid == [vault.initial_units(i) for i in range(3)]
