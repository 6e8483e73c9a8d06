"""Deployments recorded in the network's manifest as they happen, and resumed after an interruption.

`ape run deploy` records each contract (address, transaction, block, constructor arguments, git commit) as
soon as it exists; run again, `resume_deployment` deploys only what is missing. `ape run factory create`
records what the factory made in one transaction. On local chains `fund_local` records the test tokens and
funds the first test accounts.
"""

from collections.abc import Callable, Sequence

from ape import accounts, chain, project
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.common.units import parse_units
from index_vault.vault.chain.deploy import (
    Deployed,
    DeployError,
    deploy_rebalancer,
    fund_test_accounts,
    vault_constructor_args,
)
from index_vault.vault.chain.factory import Created, FactoryDeployment
from index_vault.vault.manifest import Deployment, deployment_record
from index_vault.vault.spec import BasketSpec

ZERO_ADDRESS = "0x" + "00" * 20
FUNDED_ACCOUNTS = 3  # test accounts 0-2


def has_code(address: str | None) -> bool:
    return bool(address) and len(chain.provider.get_code(address)) > 0


def record_contract(deployment: Deployment, key: str, contract: ContractInstance, args: list) -> None:
    """Records a contract Ape deployed, with its transaction and block."""
    tx_hash = getattr(contract, "txn_hash", None)
    block = chain.provider.get_receipt(tx_hash).block_number if tx_hash else None
    deployment.records[key] = deployment_record(contract.address, str(tx_hash) if tx_hash else None, block, args)


def record_vault(deployment: Deployment, spec: BasketSpec, vault: ContractInstance, router, deployer: str) -> None:
    """Records the vault and its oracle (as soon as the vault exists: a resumed run finds it)."""
    deployment.vaults[spec.symbol] = vault.address
    deployment.oracles[spec.symbol] = router.address
    args = vault_constructor_args(spec, list(vault.assets()), router.address, deployer)
    record_contract(deployment, f"{spec.symbol}:IndexVault", vault, args)


def record_deployed(deployment: Deployment, spec: BasketSpec, deployed: Deployed, deployer: str) -> None:
    """Records the rest of `deploy_vault`'s contracts: NAV feed, rebalancer, adapters, the market's quoter."""
    deployment.nav_feeds[spec.symbol] = deployed.nav_feed.address
    record_contract(deployment, f"{spec.symbol}:NavFeed", deployed.nav_feed, [deployed.vault.address])
    deployment.rebalancers[spec.symbol] = deployed.rebalancer.address
    for name, adapter in deployed.adapters.items():
        deployment.adapters[name] = adapter.address
        init_hash = adapter.pool_init_code_hash() if name == "uniswap-v3" else adapter.pair_init_code_hash()
        record_contract(
            deployment, f"{spec.symbol}:{name}", adapter, [adapter.factory(), "0x" + bytes(init_hash).hex()]
        )
    if deployed.market:  # the keeper's pool quotes on the local market, and where it lives
        uni = deployed.market.uniswap
        deployment.quoters["uniswap-v3"] = uni.quoter_v2.address
        deployment.uniswap = {
            "factory": uni.factory.address,
            "position_manager": uni.position_manager.address,
            "swap_router": uni.swap_router.address,
            "quoter_v2": uni.quoter_v2.address,
            "weth": uni.weth,
        }
    args = [deployed.vault.address, deployer]
    record_contract(deployment, f"{spec.symbol}:Rebalancer", deployed.rebalancer, args)


def record_created(deployment: Deployment, spec: BasketSpec, created: Created, factory: str) -> None:
    """Records what `create_vault` made: the constructor arguments each contract really got (the factory was
    the first admin of both vault and rebalancer)."""
    vault, receipt = created.vault, created.receipt
    deployment.vaults[spec.symbol] = vault.address
    deployment.oracles[spec.symbol] = created.oracle.address
    deployment.rebalancers[spec.symbol] = created.rebalancer.address
    deployment.nav_feeds[spec.symbol] = created.nav_feed.address
    vault_args = vault_constructor_args(spec, list(vault.assets()), created.oracle.address, factory)
    for name, contract, args in (
        ("IndexVault", vault, vault_args),
        ("Rebalancer", created.rebalancer, [vault.address, factory]),
        ("NavFeed", created.nav_feed, [vault.address]),
    ):
        record = deployment_record(contract.address, str(receipt.txn_hash), receipt.block_number, args)
        deployment.records[f"{spec.symbol}:{name}"] = {**record, "factory": factory}


def record_factory(deployment: Deployment, deployed: FactoryDeployment) -> None:
    """Records a VaultFactory and what it was deployed with (its code chunks and blueprints)."""
    factory = deployed.factory
    args = [deployed.chunks, factory.vault_init_code_size(), deployed.rebalancer_blueprint, deployed.nav_feed_blueprint]
    for name, receipt in deployed.receipts.items():
        address = factory.address if name == "VaultFactory" else receipt.contract_address
        record_args = args if name == "VaultFactory" else []
        record = deployment_record(address, str(receipt.txn_hash), receipt.block_number, record_args)
        deployment.records[f"factory:{name}"] = record
    deployment.factory = factory.address


def fund_local(
    deployment: Deployment,
    spec: BasketSpec,
    tokens: Sequence[ContractInstance],
    fund_shares: str,
    sender: AccountAPI,
    echo: Callable[[str], None],
) -> None:
    """Local chains: records the test tokens and funds test accounts 0-2 (and the deployer, when it is another
    account) for `fund_shares` shares each."""
    deployment.tokens.update({c.symbol: t.address for c, t in zip(spec.constituents, tokens, strict=True)})
    shares = parse_units(fund_shares, 18)
    if shares:
        funded = list(accounts.test_accounts)[:FUNDED_ACCOUNTS]
        own = sender.address not in {a.address for a in funded}
        fund_test_accounts(spec, tokens, funded + ([sender] if own else []), shares, sender=sender)
        also = f" and the deployer {sender.address}" if own else ""
        echo(f"  funded test accounts 0-{FUNDED_ACCOUNTS - 1}{also} for {fund_shares} shares each")


def resume_deployment(
    spec: BasketSpec,
    deployment: Deployment,
    deployer: AccountAPI,
    echo: Callable[[str], None],
    before_sending: Callable[[str], None] = lambda _what: None,
) -> bool:
    """Finishes a deployment of `spec` recorded in the manifest; False when there is none to resume.

    `before_sending(what)` is called once, before the first transaction, with what is missing.

    Raises `DeployError` when the manifest's vault is another index or names a rebalancer it does not know.
    """
    vault_address = deployment.vaults.get(spec.symbol)
    if not has_code(vault_address):
        return False
    vault = project.IndexVault.at(vault_address)
    if (vault.name(), vault.symbol()) != (spec.name, spec.symbol):
        raise DeployError(f"the manifest's {spec.symbol} vault at {vault_address} is another index")
    if spec.has_all_addresses and [a.lower() for a in vault.assets()] != [c.address.lower() for c in spec.constituents]:
        raise DeployError(f"the manifest's {spec.symbol} vault holds other constituents than the spec")
    echo(f"  vault {spec.symbol} already deployed at {vault_address} (manifest)")
    missing_rebalancer = not has_code(deployment.rebalancers.get(spec.symbol))
    missing_feed = not has_code(deployment.nav_feeds.get(spec.symbol))
    if missing_rebalancer and vault.rebalancer() != ZERO_ADDRESS:
        raise DeployError(f"the {spec.symbol} vault names a rebalancer the manifest does not know")
    missing = [name for name, gone in (("Rebalancer", missing_rebalancer), ("NavFeed", missing_feed)) if gone]
    if missing:
        before_sending(f"deploy the missing {' and '.join(missing)}")
    done = True
    if missing_rebalancer:
        rebalancer = deploy_rebalancer(spec, vault, deployer, echo=echo)
        deployment.rebalancers[spec.symbol] = rebalancer.address
        record_contract(deployment, f"{spec.symbol}:Rebalancer", rebalancer, [vault_address, deployer.address])
        done = False
    if missing_feed:
        nav_feed = project.NavFeed.deploy(vault, sender=deployer)
        deployment.nav_feeds[spec.symbol] = nav_feed.address
        record_contract(deployment, f"{spec.symbol}:NavFeed", nav_feed, [vault_address])
        echo(f"  NAV feed {spec.symbol} / USD at {nav_feed.address} (was missing)")
        done = False
    if done:
        echo("  nothing left to deploy")
    return True
