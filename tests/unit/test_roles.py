"""Every privileged function of the vault, against every role that must not call it and an outsider."""

import boa
import pytest

ROLES = ["MANAGER_ROLE", "KEEPER_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE", None]

# function -> (call, the roles allowed besides DEFAULT_ADMIN_ROLE)
PRIVILEGED = {
    "set_nav_fees": (lambda v: v.set_nav_fees(1, 1), set()),
    "set_flow_cap": (lambda v: v.set_flow_cap(100, 86400), set()),
    "set_oracle": (lambda v: v.set_oracle(v.address), set()),
    "set_target_weights": (lambda v: v.set_target_weights([10**18, 0, 0]), set()),
    "unpause": (lambda v: v.unpause(), set()),
    "pause": (lambda v: v.pause(), {"GUARDIAN_ROLE"}),
    "grantRole": (lambda v: v.grantRole(v.KEEPER_ROLE(), v.address), set()),
    "revokeRole": (lambda v: v.revokeRole(v.GUARDIAN_ROLE(), boa.env.eoa), set()),
}


FORBIDDEN = [(name, role) for name, (_, allowed) in PRIVILEGED.items() for role in ROLES if role not in allowed]


@pytest.mark.parametrize(("name", "role"), FORBIDDEN, ids=[f"{n}-{r or 'outsider'}" for n, r in FORBIDDEN])
def test_privileged_function__role_without_the_right__reverts(make_vault, bob, name, role):
    vault, _ = make_vault()
    call = PRIVILEGED[name][0]
    if role:
        vault.grantRole(getattr(vault, role)(), bob)
    if name == "unpause":
        vault.pause()

    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        call(vault)


@pytest.mark.parametrize("name", PRIVILEGED)
def test_privileged_function__admin__succeeds(make_vault, name):
    vault, _ = make_vault()
    if name == "unpause":
        vault.pause()

    PRIVILEGED[name][0](vault)
