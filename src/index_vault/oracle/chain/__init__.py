"""The oracle on a chain (Ape): Chainlink-style feeds and a local market of feeds and pools."""

import index_vault.chain  # noqa: F401 - the shared Ape layer first
