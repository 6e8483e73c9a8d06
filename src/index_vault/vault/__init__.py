"""The vault: spec files, the basket and fee models (to the wei), deployment manifests (pure).

`index_vault.vault.chain` deploys vaults (directly or through the factory), uses them and drives governance.
"""
