# pragma version ~=0.4.3
"""
@title Mock DEX Adapter
@notice Swaps at a rate a test sets (units out per 10**18 units in). The
        vault pays it `amount_in` first; it pays the output to the
        recipient from its own balance. It can be told to misbehave as a
        broken or malicious adapter would: pay short by a number of units,
        ignore the minimum out, keep the input and pay nothing, or return
        part of the input unspent to its caller (swapping only the rest).
        `swap_with_callback` asks its caller to pay it the input instead
        (`IDexPayer.pay_for_swap`); it can be told to ask for more than
        `amount_in`.
"""

from ethereum.ercs import IERC20

from ..interfaces import IDexPayer

rate: public(HashMap[address, HashMap[address, uint256]])
short_pay: public(uint256)
ignore_min_out: public(bool)
keep_input: public(bool)
refund: public(uint256)
ask_extra: public(uint256)


@external
def set_rate(token_in: address, token_out: address, out_per_wad_in: uint256):
    self.rate[token_in][token_out] = out_per_wad_in


@external
def set_misbehaviour(short_pay: uint256, ignore_min_out: bool):
    """
    @dev Pays `short_pay` units less than the rate gives; with
         `ignore_min_out` it pays whatever that is, below the minimum or not.
    """
    self.short_pay = short_pay
    self.ignore_min_out = ignore_min_out


@external
def set_keep_input(keep_input: bool):
    """
    @dev Keeps whatever the caller paid and pays nothing.
    """
    self.keep_input = keep_input


@external
def set_refund(refund: uint256):
    """
    @dev Swaps only `amount_in - refund` and returns `refund` of the input
         to the caller unspent.
    """
    self.refund = refund


@external
def set_ask_extra(ask_extra: uint256):
    """
    @dev Asks the payer of a `swap_with_callback` for `ask_extra` units
         more than `amount_in`.
    """
    self.ask_extra = ask_extra


@external
def swap_with_callback(
    token_in: address, token_out: address, amount_in: uint256, min_out: uint256, route: Bytes[256], recipient: address
) -> uint256:
    spent: uint256 = amount_in - self.refund
    extcall IDexPayer(msg.sender).pay_for_swap(token_in, self, spent + self.ask_extra)
    if self.keep_input:
        return 0
    return self._pay_out(token_in, token_out, spent, min_out, recipient)


@internal
def _pay_out(token_in: address, token_out: address, spent: uint256, min_out: uint256, recipient: address) -> uint256:
    out: uint256 = spent * self.rate[token_in][token_out] // 10**18
    out -= min(out, self.short_pay)
    if not self.ignore_min_out:
        assert out >= min_out, "mock dex: too little received"
    extcall IERC20(token_out).transfer(recipient, out)
    return out


@external
def swap(
    token_in: address, token_out: address, amount_in: uint256, min_out: uint256, route: Bytes[256], recipient: address
) -> uint256:
    if self.keep_input:
        return 0
    out: uint256 = self._pay_out(token_in, token_out, amount_in - self.refund, min_out, recipient)
    if self.refund != 0:
        extcall IERC20(token_in).transfer(msg.sender, self.refund)
    return out
