# pragma version ~=0.4.3
"""
@title Mock Reentrant Attacker
@custom:contract-name MockReentrant
@license GNU Affero General Public License v3.0 only
@notice A test-only token hook: on every transfer of the token that calls it,
        it replays a stored call (e.g. into the vault) and records whether the
        reentrant call succeeded. Never deploy it on a live network.
"""


# @dev The contract called back into.
target: public(address)

# @dev The calldata replayed on each callback.
payload: public(Bytes[4096])

# @dev Callbacks received.
calls: public(uint256)

# @dev Reentrant calls that succeeded.
successes: public(uint256)


@external
def arm(target: address, payload: Bytes[4096]):
    self.target = target
    self.payload = payload


@external
def on_token_transfer(sender: address, receiver: address, amount: uint256):
    self.calls += 1
    if self.target == empty(address):
        return
    ok: bool = raw_call(self.target, self.payload, max_outsize=0, revert_on_failure=False)
    if ok:
        self.successes += 1
