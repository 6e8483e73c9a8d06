# pragma version ~=0.4.3
"""
@title Mock Rebalancer
@notice Drives a vault's rebalancer entry points as a test wants: hands it
        any constituent list, and answers a swap callback by paying back
        whatever amount it is told to (enough, or short).
"""

from ethereum.ercs import IERC20

from ..lib import code_store


interface IIndexVault:
    def set_assets_pointer(pointer: address): nonpayable
    def rebalance_swap(sell: address, buy: address, amount_in: uint256, min_out: uint256) -> uint256: nonpayable


vault: public(address)
buy_token: address
pay_back: uint256


@deploy
def __init__(vault_: address):
    self.vault = vault_


@external
def set_assets(assets_: DynArray[address, 50]):
    encoded: Bytes[32 * 52] = abi_encode(assets_)
    extcall IIndexVault(self.vault).set_assets_pointer(code_store._write(slice(encoded, 32, len(encoded) - 32)))


@external
def swap(sell: address, buy: address, amount_in: uint256, min_out: uint256, pay_back: uint256) -> uint256:
    """
    @dev Calls the vault's `rebalance_swap`; the callback pays `pay_back` of
         `buy` from this contract's balance.
    """
    self.buy_token = buy
    self.pay_back = pay_back
    return extcall IIndexVault(self.vault).rebalance_swap(sell, buy, amount_in, min_out)


@external
def on_rebalance_swap():
    assert msg.sender == self.vault, "mock: not the vault"
    if self.pay_back != 0:
        extcall IERC20(self.buy_token).transfer(self.vault, self.pay_back, default_return_value=True)
