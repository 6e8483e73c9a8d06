"""The thin Ape layer: deploy and use vaults on a connected network.

Import only inside an Ape session (`ape run`, `ape test`): it needs a provider.
"""

import warnings

# ape-vyper's settings model trips a pydantic-settings warning on every compile; it is noise.
warnings.filterwarnings("ignore", message="Field 'import_remapping' has an incomplete definition")
