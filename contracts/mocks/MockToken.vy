# pragma version ~=0.4.3
"""
@title Mock Token
@custom:contract-name MockToken
@license GNU Affero General Public License v3.0 only
@notice A test-only ERC-20 whose misbehaviours can be switched on one by one,
        to show the vault handles the tokens found on mainnet: a fee on
        transfer, no return value (USDT), `False` instead of a revert, a pause
        or blocklist, and a callback into an attacker on every transfer
        (ERC-777 style hooks). Anyone may mint. Never deploy it on a live
        network.
"""


interface ITransferHook:
    def on_token_transfer(sender: address, receiver: address, amount: uint256): nonpayable


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The token name.
name: public(String[32])

# @dev The token symbol.
symbol: public(String[16])

# @dev The decimal places.
decimals: public(uint8)

# @dev Balances by account.
balanceOf: public(HashMap[address, uint256])

# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])

# @dev Tokens in existence.
totalSupply: public(uint256)

# @dev Fee burnt from each transfer, in basis points.
fee_bps: public(uint256)

# @dev When set, `transfer` and `transferFrom` return no data (USDT style).
no_return: public(bool)

# @dev When set, failing transfers return `False` instead of reverting.
return_false: public(bool)

# @dev When set, every transfer reverts.
paused: public(bool)

# @dev Accounts that may neither send nor receive.
blocked: public(HashMap[address, bool])

# @dev Called before each transfer when set (a reentrancy attacker).
hook: public(address)


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(name_: String[32], symbol_: String[16], decimals_: uint8):
    self.name = name_
    self.symbol = symbol_
    self.decimals = decimals_


# ---------------------------------------------------------------------------
#                                 TEST SWITCHES
# ---------------------------------------------------------------------------


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_fee_bps(fee_bps: uint256):
    self.fee_bps = fee_bps


@external
def set_no_return(no_return: bool):
    self.no_return = no_return


@external
def set_return_false(return_false: bool):
    self.return_false = return_false


@external
def set_paused(paused: bool):
    self.paused = paused


@external
def set_blocked(account: address, blocked: bool):
    self.blocked[account] = blocked


@external
def set_hook(hook: address):
    self.hook = hook


# ---------------------------------------------------------------------------
#                                    ERC-20
# ---------------------------------------------------------------------------


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


# @dev `transfer` and `transferFrom` return raw bytes so that the token can
# return nothing at all, as USDT does; their ABI therefore says `bytes`.
@external
@raw_return
def transfer(to: address, amount: uint256) -> Bytes[32]:
    return self._result(self._move(msg.sender, to, amount))


@external
@raw_return
def transferFrom(owner: address, to: address, amount: uint256) -> Bytes[32]:
    if self.allowance[owner][msg.sender] < amount:
        assert self.return_false, "mock: insufficient allowance"
        return self._result(False)
    self.allowance[owner][msg.sender] -= amount
    return self._result(self._move(owner, to, amount))


@internal
@view
def _result(ok: bool) -> Bytes[32]:
    if self.no_return:
        return b""
    return abi_encode(ok)


@internal
def _move(owner: address, to: address, amount: uint256) -> bool:
    if self.paused or self.blocked[owner] or self.blocked[to] or self.balanceOf[owner] < amount:
        assert self.return_false, "mock: transfer refused"
        return False
    if self.hook != empty(address):
        extcall ITransferHook(self.hook).on_token_transfer(owner, to, amount)
    fee: uint256 = amount * self.fee_bps // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log Transfer(sender=owner, receiver=to, value=amount - fee)
    return True
