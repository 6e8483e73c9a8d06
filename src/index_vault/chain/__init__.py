"""The Ape plumbing the domains share: contract containers, the transaction sender, script helpers.

Import only inside an Ape session (`ape run`, `ape test`): it needs a provider. Every `chain` package of a
domain imports this one first, so the warning filter below is always installed.
"""

import warnings

# ape-vyper's settings model trips a pydantic-settings warning on every compile; it is noise.
warnings.filterwarnings("ignore", message="Field 'import_remapping' has an incomplete definition")
