"""The dashboard in a real browser: `ape run dashboard` serving the demo basket deployed by `ape run deploy` on
this session's anvil with its secondary market (`ape run arbitrage setup`: the index token's V3 pool against USDC,
the zap, the arbitrage contract; one arbitrage cycle), the page in headless Chromium (the system's, driven by
Playwright) with a test EIP-1193 wallet that forwards to anvil for an unlocked account. The page's figures are
compared with the chain's (the DEX price and its premium with the pool's `slot0` against NAV, each day's NAV and
DEX price with the state at that time); a mint and a redemption in kind, an ERC-4626 deposit, a zap buy and a zap
sale land through the wallet and the page follows; refused actions show why. Every request to a host other than
this machine fails the test, as does a console error."""

import json
import os
import select
import subprocess
import time
from fractions import Fraction

import pytest
import requests
from ape import accounts, chain, networks, project
from eth_abi import decode

from index_vault.arbitrage.chain.pools import INDEX_POOL_FEE
from index_vault.chain.contracts import npm_container
from index_vault.common.units import WAD
from index_vault.dashboard.browser import InjectedWallet, drawn_ms, open_page
from index_vault.dashboard.chain.bench import build_history
from index_vault.dashboard.chain.rpc import Rpc
from index_vault.keeper.routes import v3_route
from index_vault.market.chain.uniswap_v3 import UniswapV3, swap_exact_input
from index_vault.vault.chain.adapters import keeper_trade
from index_vault.vault.fees import rate_from_annual_bps
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC, NETWORK, ROOT

DAYS = 5
SHARE = 10**18


def _secondary_market(run_script, folder, vault) -> dict:
    """`ape run arbitrage setup` as the arbitrage test runs it, a trader's buy on the pool pushing it over NAV and
    one arbitrage cycle bringing it back (`ape run arbitrage run --once`); returns the manifest."""
    env = {"INDEX_VAULT_DEPLOYMENTS": str(folder)}
    run_script("vault", "mint", "30", env=env)
    run_script("arbitrage", "setup", "--shares", "20", "--yes", env=env)
    (path,) = (folder / "local").glob("*.json")
    manifest = json.loads(path.read_text())
    u, trader = manifest["uniswap"], accounts.test_accounts[4]
    uni = UniswapV3(
        npm_container("UniswapV3Factory").at(u["factory"]),
        npm_container("NonfungiblePositionManager").at(u["position_manager"]),
        npm_container("SwapRouter").at(u["swap_router"]),
        npm_container("QuoterV2").at(u["quoter_v2"]),
        u["weth"],
    )
    usdc = npm_container("StandardTokenMock").at(manifest["tokens"]["USDC"])
    usdc.mint(trader, 10**11, sender=trader)
    swap_exact_input(uni, usdc, vault.address, INDEX_POOL_FEE, 200 * 10**6, trader)
    ran = run_script("arbitrage", "run", "--once", "--yes", "--account", "TEST::5", env=env).stdout
    assert ran.startswith("mined: above the band (mint-and-sell"), ran
    return manifest


@pytest.fixture(scope="module")
def deployed_vault(run_script, tmp_path_factory):
    """The demo basket from `ape run deploy` (its own manifest folder), `DAYS` of history, a management fee,
    one keeper trade, the secondary market with one arbitrage cycle, then a day more of history; returns
    (manifest folder, vault, manifest)."""
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
    manifest = _secondary_market(run_script, folder, vault)
    build_history(Rpc(networks.provider.uri), load_spec(DEMO_SPEC), vault.address, holder, 1)  # the pool in the chart
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


def _dex_price(pool, usdc: str, vault, block_id="latest") -> int:
    """The index token's pool price in USD (18 decimals) at `block_id`: the pool's `slot0` in USDC (exact, as a
    fraction) at the oracle's USDC price then."""
    sqrt = pool.slot0(block_id=block_id).sqrtPriceX96
    ratio = Fraction(sqrt * sqrt, 2**192)  # token1 base units per token0 base unit
    in_usdc = ratio if pool.token0() == vault.address else 1 / ratio  # USDC base units per index base unit
    usdc_price = project.OracleRouter.at(vault.oracle()).price_data(usdc, block_id=block_id).price
    return int(in_usdc * 10**18 * WAD / 10**6) * usdc_price // WAD


def _check_history(url: str, vault, pool, usdc: str) -> None:
    """Each day's NAV per share, rebuilt from the logs and the feeds' rounds, is what the vault's
    `total_value` over its supply at that time (the test chain still holds those blocks' state): its
    `value_per_share` but for the management fee not settled yet (none before the fee was set);
    each day's DEX price, rebuilt from the pool's swaps, is its `slot0` then at the oracle's USDC price."""
    history = requests.get(f"{url}api/vault/{vault.address}/history?days=90", timeout=60).json()
    points = history["points"]
    opened = next(iter(pool.Initialize.range(0, chain.blocks.head.number + 1))).block_number
    blocks = [chain.blocks[n] for n in range(chain.blocks.head.number + 1)]
    assert history["dex"] is True
    for point in points[:-1]:
        block = max((b for b in blocks if b.timestamp <= point["timestamp"]), key=lambda b: b.number)
        at = block.number
        assert point["nav_per_share"] == vault.total_value(block_id=at) * WAD // vault.totalSupply(block_id=at), point
        if not vault.pending_management_fee(block_id=at):
            assert point["nav_per_share"] == vault.value_per_share(block_id=at), point
        expected = _dex_price(pool, usdc, vault, at) if at >= opened else None
        assert point["dex_price"] == expected, point
    assert sum(p["dex_price"] is not None for p in points[:-1]) >= 1  # a past day with the pool
    assert points[-1]["nav_per_share"] == vault.value_per_share()
    assert points[-1]["dex_price"] == _dex_price(pool, usdc, vault)


def _expected_weights(vault) -> list[int]:
    router = project.OracleRouter.at(vault.oracle())
    values = []
    for token, holding in zip(vault.assets(), vault.holdings(), strict=True):
        decimals = project.IndexVault.at(token).decimals()
        values.append(holding * router.price_data(token).price // 10**decimals)
    return [v * WAD // sum(values) for v in values]


def test_dashboard__page_of_a_deployed_vault__shows_the_chains_figures_and_its_actions_land(deployed_vault, dashboard):
    _, vault, manifest = deployed_vault
    pool = npm_container("UniswapV3Pool").at(next(iter(manifest["index_pools"].values())))
    zap = project.Zap.at(next(iter(manifest["zaps"].values())))
    usdc = project.IndexVault.at(manifest["tokens"]["USDC"])
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
        dex, nav = _dex_price(pool, usdc.address, vault), vault.value_per_share()
        assert _raw(page, "#dex-price") == dex
        bps_x100 = abs(dex - nav) * 1_000_000 // nav * (1 if dex >= nav else -1)
        label = "premium" if dex > nav else "discount"
        assert int(page.get_attribute("#premium", "data-bps")) == bps_x100
        assert page.inner_text("#premium") == f"{'+' if dex > nav else '-'}{abs(bps_x100) / 10_000:.2f}% {label}"
        assert int(page.get_attribute("#chart", "data-points")) == DAYS + 1  # a point a day since the first mint
        assert int(page.get_attribute("#chart", "data-dex-points")) >= 2  # the day after the pool opened, and now
        _check_history(dashboard, vault, pool, usdc.address)
        trade, cycle = (
            page.query_selector(f"#trades tbody tr[data-kind='{k}']") for k in ("keeper trade", "arbitrage")
        )
        receipt = chain.provider.get_receipt(trade.get_attribute("data-tx"))
        assert trade.query_selector("td.gas").inner_text() == f"{receipt.gas_used:,}"
        (event,) = project.IndexArbitrage.at(manifest["arbitrage"]).ArbitrageCycled.range(0, head + 1)
        assert cycle.get_attribute("data-direction") == "mint-and-sell" and event.minted
        assert int(cycle.get_attribute("data-shares")) == event.shares
        assert int(cycle.get_attribute("data-quote")) == event.quote
        assert int(cycle.query_selector("td.profit").get_attribute("data-raw")) == event.profit
        assert (
            cycle.query_selector("td.gas").inner_text()
            == f"{chain.provider.get_receipt(event.transaction_hash).gas_used:,}"
        )

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

        # a zap buy paying USDC: the exact approval of the zap's max in, then the zap's mint; nothing left in the zap
        shares, spent, sent = vault.balanceOf(user), usdc.balanceOf(user), len(wallet.sent)
        result, error = _act(page, "zap-buy", "1")
        assert error == "" and vault.balanceOf(user) == shares + SHARE, (result, error)
        approval, buy = wallet.sent[sent:]
        _, _, token, max_in, legs, receiver = decode(
            ["address", "uint256", "address", "uint256", "(address,uint256,bytes)[]", "address"],
            bytes.fromhex(buy["data"][10:]),
        )
        assert approval["to"] == usdc.address and int(approval["data"][-64:], 16) == max_in
        assert [leg[2] == b"" for leg in legs] == [a == usdc.address for a in vault.assets()]  # USDC paid directly
        assert (
            buy["to"] == zap.address
            and token.lower() == usdc.address.lower()
            and receiver.lower() == user.address.lower()
        )
        assert 0 < spent - usdc.balanceOf(user) <= max_in and usdc.allowance(user, zap) == 0
        assert all(project.IndexVault.at(a).balanceOf(zap) == 0 for a in [*vault.assets(), vault.address])
        page.wait_for_function(f"() => document.getElementById('account-shares').dataset.raw === '{shares + SHARE}'")
        plan = page.inner_text("#action-plan")  # the cost at the quotes against NAV, signed, and the bound
        assert plan.startswith("preview: about ") and "USDC: " in plan and "; bound: at most " in plan, plan
        assert page.get_attribute("#action-plan", "data-bps") is not None

        # a zap buy the vault refuses (paused): the contract's reason through the zap, nothing but the approval sent
        vault.pause(sender=accounts.test_accounts[0])
        try:
            sent = wallet.confirmations
            _, error = _act(page, "zap-buy", "1")
            assert error.startswith("the zap refuses it: ") and "paus" in error, error
            assert wallet.confirmations == sent + 1  # the approval; the refused buy never reaches the wallet
        finally:
            vault.unpause(sender=accounts.test_accounts[0])

        # a zap sale for USDC: the exact approval of the shares, then the zap's redemption; nothing left in the zap
        shares, received = vault.balanceOf(user), usdc.balanceOf(user)
        result, error = _act(page, "zap-sell", "0.5")
        assert error == "" and vault.balanceOf(user) == shares - SHARE // 2, (result, error)
        min_out = decode(["address", "uint256", "address", "uint256"], bytes.fromhex(wallet.sent[-1]["data"][10:266]))[
            3
        ]
        assert usdc.balanceOf(user) - received >= min_out > 0 and vault.allowance(user, zap) == 0
        assert all(project.IndexVault.at(a).balanceOf(zap) == 0 for a in [*vault.assets(), vault.address])

        assert log.problems() == []
