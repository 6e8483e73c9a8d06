"""Tokens as mainnet has them: fee-on-transfer refused, no-bool works, callbacks cannot reenter."""

import boa
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

from tests.baskets import MAX_UINT
from tests.lens import lens

SHARE = 10**18


def test_mint_in_kind__fee_on_transfer_token__reverts(make_vault, fund, alice):
    vault, tokens = make_vault()
    fund(vault, tokens, alice)
    tokens[2].set_fee_bps(10)

    with boa.env.prank(alice), boa.reverts("vault: fee-on-transfer token"):
        vault.mint_in_kind(SHARE, alice, [MAX_UINT] * 3)


def test_mint_in_kind__fee_switched_on_later__reverts(minted, fund, bob):
    vault, tokens = minted()
    fund(vault, tokens, bob)
    tokens[0].set_fee_bps(1)

    with boa.env.prank(bob), boa.reverts("vault: fee-on-transfer token"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)


def test_mint_and_redeem__no_bool_token__work(make_vault, fund, alice):
    vault, tokens = make_vault()
    for t in tokens:
        t.set_no_return(True)
    fund(vault, tokens, alice)

    with boa.env.prank(alice):
        paid = vault.mint_in_kind(2 * SHARE, alice, [MAX_UINT] * 3)
        got = vault.redeem_in_kind(SHARE, alice, [0] * 3)

    assert [g * 2 for g in got] == paid
    assert tokens[0].balanceOf(alice) == 10**30 - paid[0] + got[0]


def test_mint_in_kind__token_returns_false__reverts(minted, fund, bob):
    vault, tokens = minted()
    fund(vault, tokens, bob)
    tokens[1].set_return_false(True)
    tokens[1].set_blocked(bob, True)

    with boa.env.prank(bob), boa.reverts("safe_erc20: transferFrom returned false"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)


def test_redeem_in_kind__token_returns_false__reverts(minted, alice):
    vault, tokens = minted()
    tokens[1].set_return_false(True)
    tokens[1].set_paused(True)

    with boa.env.prank(alice), boa.reverts("safe_erc20: transfer returned false"):
        vault.redeem_in_kind(SHARE, alice, [0] * 3)


def _call(signature: str, types: list[str], args: list) -> bytes:
    return selector(signature) + encode(types, args)


def test_mint_in_kind__reentrant_token__cannot_reenter(minted, fund, reentrant_deployer, bob):
    vault, tokens = minted()
    attacker = reentrant_deployer.deploy()
    fund(vault, tokens, attacker.address)
    fund(vault, tokens, bob)
    # the attacker holds shares too, and tries to redeem them mid-mint at a half-updated state
    with boa.env.prank(attacker.address):
        vault.mint_in_kind(SHARE, attacker.address, [MAX_UINT] * 3)
    attacker.arm(
        vault.address,
        _call(
            "redeem_in_kind(uint256,address,uint256[])",
            ["uint256", "address", "uint256[]"],
            [SHARE, attacker.address, [0, 0, 0]],
        ),
    )
    tokens[1].set_hook(attacker.address)
    supply = vault.totalSupply()

    with boa.env.prank(bob):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)

    assert attacker.calls() > 0
    assert attacker.successes() == 0
    assert vault.totalSupply() == supply + SHARE
    assert vault.balanceOf(attacker.address) == SHARE
    attacker.on_token_transfer(bob, bob, 0)  # the same call outside a transfer goes through
    assert attacker.successes() == 1


def test_redeem_in_kind__reentrant_token__cannot_reenter(minted, fund, reentrant_deployer, alice):
    vault, tokens = minted()
    attacker = reentrant_deployer.deploy()
    fund(vault, tokens, attacker.address)
    attacker.arm(
        vault.address,
        _call(
            "mint_in_kind(uint256,address,uint256[])",
            ["uint256", "address", "uint256[]"],
            [SHARE, attacker.address, [MAX_UINT] * 3],
        ),
    )
    tokens[0].set_hook(attacker.address)

    with boa.env.prank(alice):
        vault.redeem_in_kind(SHARE, alice, [0] * 3)

    assert attacker.calls() > 0
    assert attacker.successes() == 0
    assert vault.balanceOf(attacker.address) == 0
    attacker.on_token_transfer(alice, alice, 0)  # the same call outside a transfer goes through
    assert vault.balanceOf(attacker.address) == SHARE


def test_views__during_reentrant_callback__refuse_to_answer(minted, fund, reentrant_deployer, bob):
    vault, tokens = minted()
    attacker = reentrant_deployer.deploy()
    fund(vault, tokens, bob)
    tokens[0].set_hook(attacker.address)

    for target, call in (
        (vault.address, selector("holdings()")),
        (lens().address, _call("units_per_share(address)", ["address"], [vault.address])),
    ):
        attacker.arm(target, call)
        with boa.env.prank(bob):
            vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)
        assert attacker.successes() == 0
    attacker.arm(
        lens().address, _call("preview_redeem_in_kind(address,uint256)", ["address", "uint256"], [vault.address, SHARE])
    )
    with boa.env.prank(bob):
        vault.redeem_in_kind(SHARE, bob, [0] * 3)
    assert attacker.successes() == 0
    assert attacker.calls() == 3  # two mints and one redemption moved token 0
    attacker.on_token_transfer(bob, bob, 0)  # the same view outside a transfer answers
    assert attacker.successes() == 1
