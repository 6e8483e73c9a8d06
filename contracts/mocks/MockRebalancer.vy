# pragma version ~=0.4.3
"""
@title Mock Rebalancer
@notice Drives a vault's rebalancer entry points as a test wants: hands it
        any constituent list, and asks it for any swap, with any
        counterparty (a DEX adapter, or a filler who approved this mock, which
        pays the vault when it calls `pay_fill` back),
        without the Rebalancer's bounds.
"""

from ..interfaces import IIndexVault
from ..lib import code_store
from ..lib import safe_erc20


vault: public(address)


@deploy
def __init__(vault_: address):
    self.vault = vault_


@external
def set_assets(assets_: DynArray[address, 50]):
    encoded: Bytes[32 * 52] = abi_encode(assets_)
    extcall IIndexVault(self.vault).set_assets_pointer(code_store._write(slice(encoded, 32, len(encoded) - 32)))


@external
def swap(
    sell: address, buy: address, amount_in: uint256, min_out: uint256, counterparty: address, fill: bool
) -> uint256:
    """
    @dev Calls the vault's `rebalance_swap` with an empty route.
    """
    return extcall IIndexVault(self.vault).rebalance_swap(sell, buy, amount_in, min_out, counterparty, b"", fill)


@external
def pay_fill(token: address, payer: address, amount: uint256):
    """
    @dev The vault's fill callback: moves `amount` of `token` from `payer`
         (who approved this mock) to the vault.
    """
    assert msg.sender == self.vault, "mock: not the vault"
    safe_erc20._transfer_from(token, payer, self.vault, amount)
