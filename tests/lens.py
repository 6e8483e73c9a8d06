"""The VaultLens in titanoboa tests: one stateless lens at a fixed address, deployed on first use in each state.

Tests run inside anchors that roll deployments back, so `lens()` checks for the lens's code and deploys it again
whenever a rollback removed it.
"""

import boa

from tests.baskets import CONTRACTS

LENS_ADDRESS = "0x000000000000000000000000000000000000c0DE"

_deployer = None


def lens():
    """The VaultLens (`contracts/periphery/VaultLens.vy`) of the current boa state."""
    global _deployer
    if _deployer is None:
        _deployer = boa.load_partial(str(CONTRACTS / "periphery" / "VaultLens.vy"))
    if not boa.env.get_code(LENS_ADDRESS):
        return _deployer.deploy(override_address=LENS_ADDRESS)
    return _deployer.at(LENS_ADDRESS)
