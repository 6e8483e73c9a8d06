"""The vault on a chain (Ape): deployment, the `VaultClient`, the factory, governance, DEX adapters."""

import index_vault.chain  # noqa: F401 - the shared Ape layer first
