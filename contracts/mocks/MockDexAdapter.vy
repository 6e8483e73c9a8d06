# pragma version ~=0.4.3
"""
@title Mock DEX Adapter
@notice Swaps at a rate a test sets (units out per 10**18 units in), paying
        from its own balance; can be told to pull less than asked (leaving
        tokens behind) or to ignore the minimum out (as a broken or
        malicious adapter would).
"""

from ethereum.ercs import IERC20

rate: public(HashMap[address, HashMap[address, uint256]])
short_pull: public(uint256)
ignore_min_out: public(bool)


@external
def set_rate(token_in: address, token_out: address, out_per_wad_in: uint256):
    self.rate[token_in][token_out] = out_per_wad_in


@external
def set_misbehaviour(short_pull: uint256, ignore_min_out: bool):
    self.short_pull = short_pull
    self.ignore_min_out = ignore_min_out


@external
def swap(
    token_in: address, token_out: address, amount_in: uint256, min_out: uint256, route: Bytes[256], recipient: address
) -> uint256:
    pulled: uint256 = amount_in - self.short_pull
    extcall IERC20(token_in).transferFrom(msg.sender, self, pulled)
    out: uint256 = pulled * self.rate[token_in][token_out] // 10**18
    if not self.ignore_min_out:
        assert out >= min_out, "mock dex: too little received"
    extcall IERC20(token_out).transfer(recipient, out)
    return out
