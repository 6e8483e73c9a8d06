"""In-kind redemption: pro rata, rounded down, unstoppable, and able to skip a broken token."""

import boa
import pytest

from tests.baskets import MAX_UINT
from tests.lens import lens

SHARE = 10**18
ZERO = "0x" + "00" * 20


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def test_redeem_in_kind__steady_state__pays_pro_rata_rounded_down(minted, alice, bob):
    vault, tokens = minted(10 * SHARE)
    holdings, supply = vault.holdings(), vault.totalSupply()
    shares = SHARE // 7

    with boa.env.prank(alice):
        amounts = vault.redeem_in_kind(shares, bob, [0] * 3)

    assert amounts == [shares * h // supply for h in holdings]
    assert [t.balanceOf(bob) for t in tokens] == amounts
    assert vault.totalSupply() == supply - shares
    assert vault.balanceOf(alice) == 10 * SHARE - vault.LOCKED_SHARES() - shares


def test_redeem_in_kind__steady_state__preview_matches_execution(minted, alice):
    vault, _ = minted()
    preview = lens().preview_redeem_in_kind(vault, SHARE + 1)

    with boa.env.prank(alice):
        assert vault.redeem_in_kind(SHARE + 1, alice, preview) == preview


def test_redeem_in_kind__steady_state__logs_redeemed_in_kind(minted, alice, bob):
    vault, _ = minted()

    with boa.env.prank(alice):
        amounts = vault.redeem_in_kind(SHARE, bob, [0] * 3)

    (event,) = _events(vault, "RedeemedInKind")
    assert (event.owner, event.receiver, event.shares, list(event.amounts)) == (alice, bob, SHARE, amounts)


@pytest.mark.parametrize(
    ("shares", "receiver", "min_out", "reason"),
    [
        (SHARE, None, [0] * 3, "vault: zero receiver"),
        (SHARE, "bob", [0] * 4, "vault: wrong array length"),
        (SHARE, "bob", [0, 0, 30 * 10**6 + 1], "vault: amount out below minimum"),
        (100 * SHARE, "bob", [0] * 3, "erc20: burn amount exceeds balance"),
        (0, "bob", [0] * 3, "vault: zero shares"),
    ],
    ids=["zero-receiver", "wrong-length", "slippage", "over-balance", "zero-shares"],
)
def test_redeem_in_kind__bad_input__reverts_with_reason(minted, alice, bob, shares, receiver, min_out, reason):
    vault, _ = minted()
    to = bob if receiver else ZERO

    with boa.env.prank(alice), boa.reverts(reason):
        vault.redeem_in_kind(shares, to, min_out)


def test_redeem_in_kind__all_holder_shares__leaves_locked_shares_value_priced(minted, fund, alice, bob):
    vault, tokens = minted(10 * SHARE)
    with boa.env.prank(alice):
        vault.redeem_in_kind(vault.balanceOf(alice), alice, [0] * 3)
    leftover = vault.holdings()
    assert vault.totalSupply() == vault.LOCKED_SHARES()
    assert all(h > 0 for h in leftover)  # every constituent stays in the basket

    fund(vault, tokens, bob)
    with boa.env.prank(bob):
        paid = vault.mint_in_kind(vault.LOCKED_SHARES(), bob, [MAX_UINT] * 3)

    assert paid == leftover  # the next minter pays for what the locked shares hold


def test_redeem_in_kind__paused_constituent__reverts(minted, alice):
    vault, tokens = minted()
    tokens[1].set_paused(True)

    with boa.env.prank(alice), boa.reverts("mock: transfer refused"):
        vault.redeem_in_kind(SHARE, alice, [0] * 3)


def test_redeem_in_kind_skipping__paused_constituent__pays_the_others(minted, alice):
    vault, tokens = minted()
    tokens[1].set_paused(True)
    preview = lens().preview_redeem_in_kind(vault, SHARE)

    with boa.env.prank(alice):
        amounts = vault.redeem_in_kind_skipping(SHARE, alice, [0] * 3, [tokens[1].address])

    assert amounts == [preview[0], 0, preview[2]]
    (event,) = _events(vault, "ConstituentSkipped")
    assert (event.owner, event.asset, event.shares) == (alice, tokens[1].address, SHARE)


def test_redeem_in_kind_skipping__skipped_share__stays_with_remaining_holders(minted, alice):
    vault, tokens = minted()
    supply_before = vault.totalSupply()
    held_before = vault.holdings()[1]

    with boa.env.prank(alice):
        vault.redeem_in_kind_skipping(SHARE, alice, [0] * 3, [tokens[1].address])

    assert vault.holdings()[1] == held_before
    # each remaining share now holds more of the skipped constituent
    assert lens().units_per_share(vault)[1] > held_before * SHARE // supply_before


def test_redeem_in_kind_skipping__blocklisted_receiver__pays_the_others(minted, alice, bob):
    vault, tokens = minted()
    tokens[2].set_blocked(bob, True)

    with boa.env.prank(alice):
        amounts = vault.redeem_in_kind_skipping(SHARE, bob, [0] * 3, [tokens[2].address])

    assert amounts[2] == 0
    assert tokens[0].balanceOf(bob) == amounts[0] > 0


@pytest.mark.parametrize(
    ("skip", "min_out", "reason"),
    [
        (lambda t: [t[1].address, t[1].address], [0] * 3, "vault: constituent skipped twice"),
        (lambda t: ["0x" + "ab" * 20], [0] * 3, "basket: not a constituent"),
        (lambda t: [t[1].address], [0, 1, 0], "vault: amount out below minimum"),
    ],
    ids=["twice", "unknown", "min-out-on-skipped"],
)
def test_redeem_in_kind_skipping__bad_skip_list__reverts_with_reason(minted, alice, skip, min_out, reason):
    vault, tokens = minted()

    with boa.env.prank(alice), boa.reverts(reason):
        vault.redeem_in_kind_skipping(SHARE, alice, min_out, skip(tokens))


def test_preview_redeem_in_kind__more_than_supply__reverts(minted):
    vault, _ = minted()

    with boa.reverts("lens: shares exceed supply"):
        lens().preview_redeem_in_kind(vault, vault.totalSupply() + 1)
