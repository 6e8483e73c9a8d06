"""The Ape scripts end to end on anvil: deploy, status, mint and redeem from accounts."""

import json
import re
import subprocess

from ape import Contract, accounts, networks
from ethpm_types import ContractType

from index_vault.chain.contracts import ERC20_ABI
from index_vault.vault.basket import LOCKED_SHARES
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC

SHARE = 10**18
SPEC = load_spec(DEMO_SPEC)


def _erc20(address):
    return Contract(address, contract_type=ContractType.model_validate({"contractName": "ERC20", "abi": ERC20_ABI}))


def test_deploy__demo_spec__deploys_vault_and_funds_test_accounts(deployed, project):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])

    assert vault.symbol() == "TOP5"
    assert vault.assets() == [deployed["tokens"][c.symbol] for c in SPEC.constituents]
    for c in SPEC.constituents:
        token = _erc20(deployed["tokens"][c.symbol])
        assert (token.symbol(), token.decimals()) == (c.symbol, c.decimals)
        assert token.balanceOf(accounts.test_accounts[1]) == c.units * 1000


def test_deploy__demo_spec__bundles_the_oracle_configurations_of_the_basket(deployed, project):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    router = project.OracleRouter.at(vault.oracle())

    assert router.bundle_current(vault.assets())


def test_deploy__demo_spec__rebalancer_with_targets_and_adapter(deployed, project):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    rebalancer = project.Rebalancer.at(deployed["rebalancers"]["TOP5"])

    assert vault.rebalancer() == rebalancer.address and rebalancer.vault() == vault.address
    assert rebalancer.target_weights() == [c.weight for c in SPEC.constituents]
    assert rebalancer.adapter_allowed(deployed["adapters"]["uniswap-v3"])
    quoter = deployed["quoters"]["uniswap-v3"]  # the keeper's pool quotes
    assert networks.provider.get_code(quoter) and quoter != deployed["adapters"]["uniswap-v3"]


def test_vault_propose_targets__proposal_file__sets_the_rebalancers_targets(deployed, run_script, project, tmp_path):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    weights = [30 * 10**16, 25 * 10**16, 15 * 10**16, 15 * 10**16, 15 * 10**16]
    path = tmp_path / "proposal.json"
    assets = ["ETH", "BTC", "USDC", "LINK", "UNI"]  # market symbols: ETH and BTC match WETH and WBTC
    path.write_text(json.dumps({"date": "2022-12-01", "method": "test", "assets": assets, "weights": weights}))

    out = run_script("vault", "propose-targets", str(path), "--account", "TEST::0").stdout

    assert "target weights set" in out
    assert project.Rebalancer.at(vault.rebalancer()).target_weights() == weights
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"date": "2022-12-01", "method": "test", "assets": ["ETH", "LINK"], "weights": [5 * 10**17] * 2})
    )
    failed = run_script("vault", "propose-targets", str(bad), "--account", "TEST::0", check=False)
    assert failed.returncode != 0 and "missing" in failed.stdout + failed.stderr
    original = [c.weight for c in SPEC.constituents]
    path.write_text(json.dumps({"date": "2022-12-01", "method": "spec", "assets": assets, "weights": original}))
    run_script("vault", "propose-targets", str(path), "--account", "TEST::0")


def test_vault_mint_and_redeem__test_account__moves_shares_and_tokens(deployed, run_script, project):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    holder = accounts.test_accounts[1]
    weth = _erc20(deployed["tokens"]["WETH"])
    weth_before = weth.balanceOf(holder)

    out = run_script("vault", "mint", "2", "--account", "TEST::1").stdout
    assert "minted 2 TOP5" in out
    assert vault.balanceOf(holder) == 2 * SHARE - LOCKED_SHARES
    assert weth.balanceOf(holder) == weth_before - 2 * SPEC.constituents[0].units

    out = run_script("vault", "redeem", "0.5", "--account", "TEST::1").stdout
    assert "redeemed 0.5 TOP5" in out
    assert vault.balanceOf(holder) == 15 * SHARE // 10 - LOCKED_SHARES
    assert weth.balanceOf(holder) == weth_before - 2 * SPEC.constituents[0].units + SPEC.constituents[0].units // 2

    status = run_script("vault", "status", "--account", "TEST::1").stdout
    assert "supply         1.5 shares" in status
    assert "your balance   1.49 shares" in status
    for c in SPEC.constituents:
        assert c.symbol in status


def test_vault_redeem__more_than_balance__fails_with_clear_error(deployed, run_script):
    proc = run_script("vault", "redeem", "5", "--account", "TEST::2", check=False)

    assert proc.returncode != 0
    assert "holds 0 TOP5, cannot redeem 5 TOP5" in proc.stderr


def test_deploy__bad_spec__fails_with_reason(run_script, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nsymbol: TOOLONG\nconstituents: []\n")

    proc = run_script("deploy", str(bad), check=False)

    assert proc.returncode != 0
    assert "symbol: at most 5" in proc.stdout + proc.stderr


def test_vault_deposit_and_redeem_nav__test_account__moves_base_asset_at_nav(deployed, run_script, project):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    holder = accounts.test_accounts[1]
    weth = _erc20(deployed["tokens"]["WETH"])
    run_script("vault", "mint", "20", "--account", "TEST::1")  # NAV: $2,000; flow cap 10% a day
    weth_before = weth.balanceOf(holder)

    out = run_script("vault", "deposit", "0.1", "--account", "TEST::1").stdout
    assert "deposited" in out
    bought = vault.balanceOf(holder) - (20 * SHARE - LOCKED_SHARES)
    assert bought > 0
    assert weth_before - weth.balanceOf(holder) <= 10**17  # never more than asked

    out = run_script("vault", "redeem-nav", str(bought / SHARE), "--account", "TEST::1").stdout
    assert "redeemed" in out
    assert weth.balanceOf(holder) < weth_before  # the band and rounding favour the vault


def test_vault_scripts__every_feed_stale__nav_halts_in_kind_works_and_refresh_reopens(
    deployed, run_script, project, chain
):
    vault = project.IndexVault.at(deployed["vaults"]["TOP5"])
    run_script("vault", "mint", "5", "--account", "TEST::1")
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * 86_400)  # past every heartbeat and grace

    status = run_script("vault", "status", "--account", "TEST::1").stdout
    assert "NAV            unusable: oracle: stale price" in status
    assert status.startswith("Demo Top 5 Index (TOP5)")  # no call tree of the reverted valuation above it
    assert status.count("stale price") >= len(SPEC.constituents)
    proc = run_script("vault", "deposit", "0.01", "--account", "TEST::1", check=False)
    assert proc.returncode != 0
    assert "takes at most 0 WETH now: the NAV path is halted: prices unusable for WETH (stale price)" in proc.stderr
    assert vault.maxDeposit(accounts.test_accounts[1]) == 0

    out = run_script("vault", "redeem", "1", "--account", "TEST::1").stdout
    assert "redeemed 1 TOP5" in out

    # a persistent local chain's feeds are posted again at their last answers: the NAV path reopens
    assert "feeds of TOP5's oracle re-posted" in run_script("market", "refresh").stdout
    assert vault.maxDeposit(accounts.test_accounts[1]) > 0
    assert "deposited" in run_script("vault", "deposit", "0.01", "--account", "TEST::1").stdout


def test_deploy__run_again__resumes_from_manifest_without_deploying_twice(run_script, tmp_path):
    env = {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path)}
    first = run_script("deploy", str(DEMO_SPEC), "--fund-shares", "0", env=env).stdout
    assert "will deploy:" in first
    (path,) = (tmp_path / "local").glob("*.json")
    manifest = json.loads(path.read_text())
    record = manifest["records"]["TOP5:IndexVault"]
    assert record["address"] == manifest["vaults"]["TOP5"]
    assert record["tx_hash"] and record["block"] and len(record["commit"]) == 40

    second = run_script("deploy", str(DEMO_SPEC), env=env).stdout
    assert "already deployed" in second and "nothing left to deploy" in second

    del manifest["nav_feeds"]["TOP5"]  # as if the run had died between the vault and its NAV feed
    path.write_text(json.dumps(manifest))
    third = run_script("deploy", str(DEMO_SPEC), env=env).stdout
    assert "(was missing)" in third
    assert json.loads(path.read_text())["vaults"]["TOP5"] == manifest["vaults"]["TOP5"]


# anvil's well-known test key for account 2 (the default test mnemonic), used by cast as an independent client
ACCOUNT_2_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"


def test_vault_status__mint_sent_by_cast__shows_the_new_balance(deployed, run_script):
    rpc, vault = networks.provider.uri, deployed["vaults"]["TOP5"]
    holder = accounts.test_accounts[2].address
    max_uint = str(2**256 - 1)

    def cast(*args: str) -> str:
        proc = subprocess.run(["cast", *args, "--rpc-url", rpc], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    for c in SPEC.constituents:
        cast(
            "send",
            "--private-key",
            ACCOUNT_2_KEY,
            deployed["tokens"][c.symbol],
            "approve(address,uint256)",
            vault,
            max_uint,
        )
    maxima = "[" + ",".join([max_uint] * len(SPEC.constituents)) + "]"
    cast(
        "send",
        "--private-key",
        ACCOUNT_2_KEY,
        vault,
        "mint_in_kind(uint256,address,uint256[])",
        str(3 * SHARE),
        holder,
        maxima,
    )

    assert int(cast("call", vault, "balanceOf(address)(uint256)", holder).split()[0]) == 3 * SHARE - LOCKED_SHARES
    status = run_script("vault", "status", "--account", "TEST::2").stdout
    assert "your balance   2.99 shares" in status


def test_deploy__spec_with_addresses_and_oracle__shows_gas_estimate_then_deploys(deployed, run_script, tmp_path):
    spec = SPEC.to_dict()
    for c in spec["constituents"]:
        c["address"] = deployed["tokens"][c["symbol"]]
    spec["symbol"] = "LIVE"
    path = tmp_path / "live.json"
    path.write_text(json.dumps(spec))
    env = {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path)}

    out = run_script("deploy", str(path), "--oracle", deployed["oracles"]["TOP5"], "--fund-shares", "0", env=env).stdout

    estimate = int(re.search(r"IndexVault: about ([\d,]+) gas", out).group(1).replace(",", ""))
    assert 1_000_000 < estimate < 10_000_000
    assert "vault LIVE at" in out
