"""An on-chain crypto index: the Python side, grouped by domain.

- `vault`: spec files, the basket and fee models, deployment manifests; `vault.chain` deploys (and records,
  resumes) vaults, uses them, creates them through the factory and drives governance.
- `oracle`: `oracle.chain` deploys Chainlink-style feeds and the OracleRouter on local chains.
- `keeper`: the planner, the keeper's policy and routes; `keeper.chain` is the keeper on a chain.
- `methodology`: target weights, proposals, backtests and their analytics.
- `market`: the local market's liquidity model and V2 maths; `market.chain` builds and moves it.
- `replay`: the main job's records and summary; `replay.chain` runs it.
- `bench`: the gas benchmark against the field; `bench.chain` measures, `bench.report` checks and writes.
- `common`: units, artifact loading, tables, anvil; `chain`: the Ape plumbing every domain shares.

Only modules named `chain` (a package or a module) import Ape, web3 or silverback; the rest is pure
(`tests/python/test_layering.py` checks it).
"""

__version__ = "0.1.0"
