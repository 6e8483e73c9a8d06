"""Pure logic of the index vault: specs, basket maths, artifact loading, manifests.

Nothing in this package needs a chain; the Ape layer lives in `index_vault.chain`
and in the `scripts/` folder.
"""

__version__ = "0.1.0"
