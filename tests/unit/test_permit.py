"""EIP-2612 permit on the index token."""

import boa
from eth_account import Account
from eth_account.messages import encode_typed_data

SHARE = 10**18


def _sign_permit(vault, owner_key, spender: str, value: int, deadline: int, nonce: int):
    data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": vault.name(),
            "version": "1",
            "chainId": boa.env.evm.patch.chain_id,
            "verifyingContract": vault.address,
        },
        "message": {
            "owner": owner_key.address,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    return Account.sign_message(encode_typed_data(full_message=data), owner_key.key)


def test_permit__valid_signature__sets_allowance_and_bumps_nonce(make_vault, bob):
    vault, _ = make_vault()
    owner = Account.from_key(b"\x11" * 32)
    deadline = boa.env.evm.patch.timestamp + 3600
    sig = _sign_permit(vault, owner, bob, 5 * SHARE, deadline, 0)

    vault.permit(owner.address, bob, 5 * SHARE, deadline, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"))

    assert vault.allowance(owner.address, bob) == 5 * SHARE
    assert vault.nonces(owner.address) == 1


def test_permit__replayed_signature__reverts(make_vault, bob):
    vault, _ = make_vault()
    owner = Account.from_key(b"\x22" * 32)
    deadline = boa.env.evm.patch.timestamp + 3600
    sig = _sign_permit(vault, owner, bob, SHARE, deadline, 0)
    args = (owner.address, bob, SHARE, deadline, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"))
    vault.permit(*args)

    with boa.reverts("erc20: invalid signature"):
        vault.permit(*args)
