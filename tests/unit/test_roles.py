"""Every privileged function of the vault and its rebalancer, against every role without the right and an outsider."""

import boa
import pytest

MISSING_ROLE = "access_control: account is missing role"
NOT_REBALANCER = "vault: caller is not the rebalancer"
ROLES = ["DEFAULT_ADMIN_ROLE", "MANAGER_ROLE", "KEEPER_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE", None]

# vault function -> (call, the roles allowed, the reason everyone else gets)
PRIVILEGED = {
    "set_fees": (lambda v: v.set_fees(10**9, 1, 1, 1, 1), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "set_fee_recipient": (lambda v: v.set_fee_recipient(v.oracle()), {"FEE_MANAGER_ROLE"}, MISSING_ROLE),
    "set_rebalancer": (lambda v: v.set_rebalancer(v.address), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "set_flow_cap": (lambda v: v.set_flow_cap(100, 86400), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "set_oracle": (lambda v: v.set_oracle(v.address), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "unpause": (lambda v: v.unpause(), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "pause": (lambda v: v.pause(), {"GUARDIAN_ROLE"}, MISSING_ROLE),
    "grantRole": (lambda v: v.grantRole(v.KEEPER_ROLE(), v.address), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    "revokeRole": (lambda v: v.revokeRole(v.GUARDIAN_ROLE(), boa.env.eoa), {"DEFAULT_ADMIN_ROLE"}, MISSING_ROLE),
    # the rebalancer is a contract, never a role holder
    "set_assets_pointer": (lambda v: v.set_assets_pointer(v.assets_pointer()), set(), NOT_REBALANCER),
    "rebalance_swap": (
        lambda v: v.rebalance_swap(v.assets()[1], v.assets()[0], 1, 0, v.address, b"", False),
        set(),
        NOT_REBALANCER,
    ),
}

FORBIDDEN = [(name, role) for name, (_, allowed, _) in PRIVILEGED.items() for role in ROLES if role not in allowed]
ALLOWED = [(name, role) for name, (_, allowed, _) in PRIVILEGED.items() for role in sorted(allowed)]


def _holder_of(vault, role: str | None, who: str, deployer: str) -> None:
    """Gives `who` exactly `role` (None: nothing) and takes the deployer's admin and guardian roles."""
    if role:
        vault.grantRole(getattr(vault, role)(), who)
    for held in ("GUARDIAN_ROLE", "DEFAULT_ADMIN_ROLE"):
        if role != held or who != deployer:
            vault.renounceRole(getattr(vault, held)(), deployer)


@pytest.mark.parametrize(("name", "role"), FORBIDDEN, ids=[f"{n}-{r or 'outsider'}" for n, r in FORBIDDEN])
def test_privileged_function__role_without_the_right__reverts(make_vault, deployer, bob, name, role):
    vault, _ = make_vault()
    if name == "unpause":
        vault.pause()
    call, _, reason = PRIVILEGED[name]
    _holder_of(vault, role, bob, deployer)

    with boa.env.prank(bob), boa.reverts(reason):
        call(vault)


@pytest.mark.parametrize(("name", "role"), ALLOWED, ids=[f"{n}-{r}" for n, r in ALLOWED])
def test_privileged_function__role_with_the_right__succeeds(make_vault, deployer, bob, name, role):
    vault, _ = make_vault()
    if name == "unpause":
        vault.pause()
    _holder_of(vault, role, bob, deployer)

    with boa.env.prank(bob):
        PRIVILEGED[name][0](vault)
