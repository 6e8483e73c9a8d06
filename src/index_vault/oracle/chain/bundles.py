"""A basket's oracle configurations in one read: `OracleRouter.bundle` for a vault's constituents."""

from collections.abc import Callable, Sequence

from ape.contracts import ContractInstance
from ape.exceptions import ContractLogicError
from ape.types import AddressType


def bundle_configs(
    router: ContractInstance, assets: Sequence[AddressType], sender, echo: Callable[[str], None] = print
) -> bool:
    """Bundles the router's configurations of `assets` (a vault's constituents, in the vault's order) unless
    a current bundle exists or the basket has one constituent; returns whether it sent the transaction.

    Pricing the basket then reads one data contract instead of a storage slot and a call per constituent.
    The bundle holds until the router's next configuration change; anyone may make it again. A basket the
    router refuses to bundle (more distinct quote assets than a bundle has slots) is said so and left unbundled:
    it is priced the same, reading each configuration.
    """
    if len(assets) < 2 or router.bundle_current(list(assets)):
        return False
    try:
        router.bundle.call(list(assets), sender=sender)
    except ContractLogicError as err:
        echo(f"  oracle configurations not bundled ({err.message}): each is read on its own")
        return False
    router.bundle(list(assets), sender=sender)
    echo(f"  oracle configurations of the {len(assets)} constituents bundled")
    return True
