"""The keeper on a chain (Ape/web3): snapshot reading, venues, sending, rounds, auctions, status."""

import index_vault.chain  # noqa: F401 - the shared Ape layer first
