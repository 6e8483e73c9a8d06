"""The dashboard in a real browser: `ape run dashboard` serving the demo basket deployed by `ape run deploy` on
this session's anvil, the page in headless Chromium (the system's, driven by Playwright) with a test EIP-1193
wallet that forwards to anvil for an unlocked account. The page's figures are compared with the chain's; a
mint and a redemption in kind and an ERC-4626 deposit land through the wallet and the page follows; refused
actions show why. Every request to a host other than this machine fails the test, as does a console error."""

import json
import os
import select
import subprocess
import time

import pytest
import requests
from ape import accounts, chain, networks, project
from eth_abi import decode

from index_vault.common.units import WAD
from index_vault.dashboard.browser import InjectedWallet, drawn_ms, open_page
from index_vault.dashboard.chain.bench import build_history
from index_vault.dashboard.chain.rpc import Rpc
from index_vault.keeper.routes import v3_route
from index_vault.vault.chain.adapters import keeper_trade
from index_vault.vault.fees import rate_from_annual_bps
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC, NETWORK, ROOT

DAYS = 5
SHARE = 10**18


@pytest.fixture(scope="module")
def deployed_vault(run_script, tmp_path_factory):
    """The demo basket from `ape run deploy` (its own manifest folder), `DAYS` of history, a management fee and
    one keeper trade; returns (manifest folder, vault, manifest)."""
    folder = tmp_path_factory.mktemp("dashboard-deployments")
    run_script("deploy", str(DEMO_SPEC), env={"INDEX_VAULT_DEPLOYMENTS": str(folder)})
    (path,) = (folder / "local").glob("*.json")
    manifest = json.loads(path.read_text())
    vault = project.IndexVault.at(manifest["vaults"]["TOP5"])
    holder = str(accounts.test_accounts[1].address)
    build_history(Rpc(networks.provider.uri), load_spec(DEMO_SPEC), vault.address, holder, DAYS)
    deployer, keeper = accounts.test_accounts[0], accounts.test_accounts[3]
    vault.set_fees(rate_from_annual_bps(100), 10, 10, 20, 20, sender=deployer)
    rebalancer = project.Rebalancer.at(vault.rebalancer())
    rebalancer.set_target_weights([30 * 10**16, 20 * 10**16, 10 * 10**16, 20 * 10**16, 20 * 10**16], sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    rebalancer.start_rebalance(sender=keeper)
    weth, usdc = vault.assets()[0], vault.assets()[2]
    adapter = project.UniswapV3Adapter.at(manifest["adapters"]["uniswap-v3"])
    keeper_trade(rebalancer, keeper, usdc, weth, 5 * 10**6, adapter, v3_route([usdc, weth], [3000]))
    chain.mine(timestamp=chain.blocks.head.timestamp + 3_600)  # an hour of management fee accrues
    return folder, vault, manifest


@pytest.fixture(scope="module")
def dashboard(deployed_vault):
    """`ape run dashboard` on this session's chain: its URL; the process is stopped at the end."""
    folder, _, _ = deployed_vault
    env = {**os.environ, "APE_FOUNDRY_HOST": networks.provider.uri, "INDEX_VAULT_DEPLOYMENTS": str(folder)}
    proc = subprocess.Popen(
        ["ape", "run", "dashboard", "--network", NETWORK], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline, url = time.monotonic() + 120, None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 1)[0]:
                line = proc.stdout.readline()
                if line.startswith("dashboard at "):
                    url = line.split()[2]
        assert url, f"ape run dashboard printed no URL (exit {proc.poll()})"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _raw(page, selector: str) -> int:
    return int(page.get_attribute(selector, "data-raw"))


def _act(page, action: str, amount: str) -> tuple[str, str]:
    """Submits a wallet form; waits until it ends; returns (result text, error text)."""
    page.fill(f"form[data-action='{action}'] input[name='amount']", amount)
    page.click(f"form[data-action='{action}'] button")
    page.wait_for_function(
        "() => document.getElementById('action-error').textContent || "
        "document.getElementById('action-result').textContent.startsWith('done')",
        timeout=60_000,
    )
    page.wait_for_function("() => !document.body.dataset.busy", timeout=60_000)
    return page.inner_text("#action-result"), page.inner_text("#action-error")


def _check_history(url: str, vault) -> None:
    """Each day's NAV per share, rebuilt from the logs and the feeds' rounds, is what the vault's
    `value_per_share` said at that time (the test chain still holds those blocks' state; no fee was due then)."""
    points = requests.get(f"{url}api/vault/{vault.address}/history?days=90", timeout=60).json()["points"]
    blocks = [chain.blocks[n] for n in range(chain.blocks.head.number + 1)]
    for point in points[:-1]:
        block = max((b for b in blocks if b.timestamp <= point["timestamp"]), key=lambda b: b.number)
        assert point["nav_per_share"] == vault.value_per_share(block_id=block.number), point
    assert points[-1]["nav_per_share"] == vault.value_per_share()


def _expected_weights(vault) -> list[int]:
    router = project.OracleRouter.at(vault.oracle())
    values = []
    for token, holding in zip(vault.assets(), vault.holdings(), strict=True):
        decimals = project.IndexVault.at(token).decimals()
        values.append(holding * router.price_data(token).price // 10**decimals)
    return [v * WAD // sum(values) for v in values]


def test_dashboard__page_of_a_deployed_vault__shows_the_chains_figures_and_its_actions_land(deployed_vault, dashboard):
    _, vault, _ = deployed_vault
    user = accounts.test_accounts[2]  # funded by `ape run deploy`, no allowance to the vault yet
    wallet = InjectedWallet(networks.provider.uri, str(user.address))
    rebalancer = project.Rebalancer.at(vault.rebalancer())
    with open_page(wallet) as (page, log):
        drawn_ms(page, dashboard)
        head = chain.blocks.head.number
        assert int(page.inner_text("#block").split()[1].rstrip(",")) == head
        assert _raw(page, "#nav-per-share") == vault.value_per_share()
        assert _raw(page, "#nav") == vault.total_value()
        assert _raw(page, "#supply") == vault.totalSupply()
        assert _raw(page, "#fee-management") == vault.management_fee_rate() == rate_from_annual_bps(100)
        assert _raw(page, "#fee-accrued") == vault.pending_management_fee() > 0
        assert page.inner_text("#fee-recipient") == vault.fee_recipient()
        symbols = [project.IndexVault.at(a).symbol() for a in vault.assets()]
        for symbol, weight, target in zip(symbols, _expected_weights(vault), rebalancer.target_weights(), strict=True):
            row = f"#composition tr[data-symbol='{symbol}']"
            assert _raw(page, f"{row} td.weight") == weight, symbol
            assert _raw(page, f"{row} td.target") == target, symbol
            assert page.inner_text(f"{row} td.status") == "ok"
        assert page.inner_text("#premium") == "no DEX pool recorded for the index token"
        assert int(page.get_attribute("#chart", "data-points")) == DAYS  # a point a day since the first mint
        _check_history(dashboard, vault)
        (trade,) = page.query_selector_all("#trades tbody tr[data-tx]")
        receipt = chain.provider.get_receipt(trade.get_attribute("data-tx"))
        assert trade.query_selector("td.gas").inner_text() == f"{receipt.gas_used:,}"

        page.click("#connect")
        page.wait_for_selector("#account-shares[data-raw]")
        assert _raw(page, "#account-shares") == vault.balanceOf(user) == 0

        result, error = _act(page, "mint", "2")
        assert error == "" and vault.balanceOf(user) == 2 * SHARE, (result, error)
        assert wallet.confirmations == len(symbols) + 1  # one approval a constituent, then the mint
        # the mint's bound is the preview plus 50 bps; each approval is that bound as the first preview had it
        _, _, max_in = decode(["uint256", "address", "uint256[]"], bytes.fromhex(wallet.sent[-1]["data"][10:]))
        for token, approval, bound in zip(vault.assets(), wallet.sent[:-1], max_in, strict=True):
            approved = int(approval["data"][-64:], 16)
            assert approval["to"] == token and bound <= approved <= bound * 10_001 // 10_000, (approved, bound)
        page.wait_for_function(f"() => document.getElementById('account-shares').dataset.raw === '{2 * SHARE}'")
        assert _raw(page, "#supply") == vault.totalSupply()

        result, error = _act(page, "redeem", "1")
        assert error == "" and vault.balanceOf(user) == SHARE and wallet.confirmations == len(symbols) + 2

        base = project.IndexVault.at(vault.asset())
        before, shares_before, sent = base.balanceOf(user), vault.balanceOf(user), len(wallet.sent)
        result, error = _act(page, "deposit", "0.01")
        assert error == "" and vault.balanceOf(user) > shares_before, (result, error)
        # the mint's leftover allowance set to 0 first (USDT-style tokens), then exactly the amount, then the deposit
        reset, approval, deposit = wallet.sent[sent:]
        assert reset["to"] == approval["to"] == base.address and int(reset["data"][-64:], 16) == 0
        assert int(approval["data"][-64:], 16) == 10**16
        assert deposit["to"] == vault.address and before - base.balanceOf(user) <= 10**16

        # refused by the vault: the contract's reason, and nothing to sign
        sent = wallet.confirmations
        data = vault.redeem_in_kind.encode_input(50 * SHARE, user, [0] * len(symbols))
        with pytest.raises(Exception) as refused:
            networks.provider.web3.eth.call({"from": user.address, "to": vault.address, "data": data})
        reason = str(refused.value.message).removeprefix("execution reverted: ")
        _, error = _act(page, "redeem", "50")
        assert error == f"the vault refuses it: {reason}" and wallet.confirmations == sent
        # refused by the wallet's user: nothing sent
        wallet.refuse_next = True
        _, error = _act(page, "redeem", "0.5")
        assert error == "you declined it in your wallet: nothing was sent" and wallet.refusals == 1

        assert log.problems() == []
