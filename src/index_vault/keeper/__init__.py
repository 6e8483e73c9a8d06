"""The rebalancing keeper, pure part: the planner, the policy (retries, logs, metrics, fees), routes.

`index_vault.keeper.chain` is the keeper on a chain: it reads, plans with these, simulates and sends.
"""
