"""The market on a chain (Ape/web3): Uniswap V2 and V3 building blocks, the builder and the mover."""

import index_vault.chain  # noqa: F401 - the shared Ape layer first
