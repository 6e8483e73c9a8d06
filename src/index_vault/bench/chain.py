"""The gas benchmark harness (`ape run bench`, what `make bench` runs): the vault's flows beside its peers and
its floor.

One anvil, one run, steady state: every measured holder has used the flow before, the vault (or SetToken)
already holds every constituent, the tokens are OpenZeppelin ERC-20s (Set Protocol V2's StandardTokenMock
build). The chain's clock is fixed: the first block is stamped `T0`, every block after it `BLOCK_TIME`
seconds after the one before, and each measured transaction's block has its timestamp set explicitly, so
that two runs give the same figures.

- In kind, N = 2..50: `mint_in_kind` and `redeem_in_kind` beside Set Protocol V2's BasicIssuanceModule
  `issue` and `redeem` (the npm build of @setprotocol/set-protocol-v2 0.1.16: Controller, SetTokenCreator,
  BasicIssuanceModule) over the same tokens, units and holder; and beside the floor, one transaction that
  only moves the same N tokens by `transferFrom` (contracts/bench/TransferFloor.vy).
- NAV-priced, on a local market (Chainlink feeds and Uniswap V3 pools from npm, the real oracle): ERC-4626
  deposit and redeem, `total_value` (a transaction calling the view), a rebalance's start, a refresh, a
  keeper trade through the Uniswap V3 adapter and an auction fill, both beside the bare
  `SwapRouter.exactInput` of the same pair and amount; the zap's mint of a share for USDC and its redemption
  to USDC, beside the same swaps sent alone plus the in-kind flow alone; at N = 2, 10 and 50; at N = 10 also
  `create_vault` through the VaultFactory.

`run_bench` returns the rows ({op, n_assets, gas[, peer, peer_gas][, floor_gas]});
`index_vault.bench.report` checks the gas targets and writes bench/results/gas.json and gas.md.
"""

from collections.abc import Callable
from decimal import Decimal

from ape import accounts, chain, networks, project
from eth_utils import to_hex

from index_vault.chain.contracts import npm_container
from index_vault.keeper.routes import v3_route
from index_vault.oracle.chain.local import POOL_FEE
from index_vault.vault.basket import with_slippage
from index_vault.vault.chain.adapters import keeper_trade
from index_vault.vault.chain.client import VaultClient
from index_vault.vault.chain.deploy import Deployed, deploy_vault
from index_vault.vault.chain.factory import Roles, create_args, deploy_factory
from index_vault.vault.spec import BasketSpec, parse_spec

SHARE = 10**18
WAD = 10**18
MAX_UINT = 2**256 - 1
ZERO_ADDRESS = "0x" + "00" * 20
T0 = 2_000_000_000  # the first block's timestamp (2033-05-18): later than any chain's start on a wall clock
BLOCK_TIME = 12  # seconds between two blocks, measured or not
REBALANCE_N = 10  # the basket of the factory row
SLIPPAGE_BPS = 50  # the client's default bounds around the previews
QUICK_GAS = 300_000  # gas limit of the setup transactions sent straight to anvil (mints, approvals)


class BenchError(RuntimeError):
    """The benchmark cannot run on this chain."""


def _noop(_: str) -> None:
    pass


# ---------------------------------------------------------------------------
#                                 chain helpers
# ---------------------------------------------------------------------------


def _fix_clock() -> None:
    """Stamps the next block `T0` and every block after it `BLOCK_TIME` seconds after the one before."""
    if chain.blocks.head.timestamp >= T0:
        raise BenchError("the chain's clock is past the benchmark's start: run on a fresh local chain")
    networks.provider.make_request("anvil_setBlockTimestampInterval", [BLOCK_TIME])
    chain.mine(timestamp=T0)


def _pin(seconds: int = BLOCK_TIME) -> None:
    """Sets the timestamp of the next block (the measured transaction's) explicitly: `seconds` after the head."""
    chain.pending_timestamp = chain.blocks.head.timestamp + seconds


def _quick(calls: list[tuple]) -> None:
    """Setup transactions (sender, contract, method, *args), none measured, sent straight to anvil (its
    accounts are Ape's test accounts, unlocked) and mined together: a tenth of Ape's time per transaction."""
    provider = networks.provider
    request = provider.make_request
    sent = []
    provider.auto_mine = False
    try:
        for sender, contract, method, *args in calls:
            data = to_hex(getattr(contract, method).encode_input(*args))
            tx = {"from": sender.address, "to": contract.address, "data": data, "gas": hex(QUICK_GAS)}
            sent.append((request("eth_sendTransaction", [tx]), method, contract.address))
        for tx_hash, method, address in sent:
            while (receipt := request("eth_getTransactionReceipt", [tx_hash])) is None:
                request("evm_mine", [])  # a block takes what fits under its gas limit
            if int(receipt["status"], 16) != 1:
                raise RuntimeError(f"setup transaction {method} on {address} reverted")
    finally:
        provider.auto_mine = True


def _fund(tokens, holders, spenders, deployer) -> None:
    """Mints every holder plenty of every token and approves every spender for it."""
    calls: list[tuple] = []
    for token in tokens:
        for who in holders:
            calls.append((deployer, token, "mint", who, 10**40))
            calls.extend((who, token, "approve", spender, MAX_UINT) for spender in spenders)
    _quick(calls)


# ---------------------------------------------------------------------------
#                          in kind, beside Set and the floor
# ---------------------------------------------------------------------------


def _deploy_set_v2(deployer):
    """Set Protocol V2's issuance system: Controller, SetTokenCreator, BasicIssuanceModule."""
    controller = npm_container("Controller").deploy(deployer, sender=deployer)  # fee recipient: the deployer
    creator = npm_container("SetTokenCreator").deploy(controller, sender=deployer)
    module = npm_container("BasicIssuanceModule").deploy(controller, sender=deployer)
    controller.initialize([creator], [module], [], [], sender=deployer)  # factories, modules, resources, ids
    return creator, module


def _create_set(creator, module, tokens, units, manager, n: int):
    """A SetToken of `tokens` at `units` per 10**18 set tokens, with the issuance module initialized."""
    receipt = creator.create(tokens, units, [module], manager, f"Set Bench {n}", f"SB{n}", sender=manager)
    (event,) = creator.SetTokenCreated.from_receipt(receipt)
    set_token = npm_container("SetToken").at(event._setToken)
    module.initialize(set_token, ZERO_ADDRESS, sender=manager)  # no pre-issue hook
    return set_token


def _measure_in_kind(n: int, deployer, holder, set_v2) -> list[dict]:
    token_type = npm_container("StandardTokenMock")
    decimals = [(18, 8, 6)[i % 3] for i in range(n)]
    tokens = [token_type.deploy(deployer, 0, f"Token {i}", f"T{i}", d, sender=deployer) for i, d in enumerate(decimals)]
    units = [10 ** max(d - 2, 2) for d in decimals]
    # the in-kind flows never read the oracle: a mock router stands in
    oracle = project.MockOracleRouter.deploy(sender=deployer)
    vault = project.IndexVault.deploy(
        "Bench Index", "BENCH", tokens, units, tokens[0], oracle, deployer, sender=deployer
    )
    floor = project.TransferFloor.deploy(sender=deployer)
    creator, module = set_v2
    set_token = _create_set(creator, module, tokens, units, deployer, n)
    sink = accounts.test_accounts[5]
    _fund(tokens, [deployer, holder], [vault, floor, module], deployer)
    _quick([(deployer, token, "mint", sink, 10**18) for token in tokens])  # the floor's receiver holds each token

    # the first mint and issue, then the holder's own first ones: what follows is steady state
    vault.mint_in_kind(100 * SHARE, deployer, [MAX_UINT] * n, sender=deployer)
    module.issue(set_token, 100 * SHARE, deployer, sender=deployer)
    vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)
    module.issue(set_token, SHARE, holder, sender=holder)

    # the bounds as the project's client sends them (`ape run vault mint|redeem`): the previews, 50 bps off
    client = VaultClient(vault)
    amounts = client.preview_mint(SHARE)
    max_in = with_slippage(amounts, SLIPPAGE_BPS, up=True)
    min_out = with_slippage(client.preview_redeem(SHARE), SLIPPAGE_BPS, up=False)
    _pin()
    mint = vault.mint_in_kind(SHARE, holder, max_in, sender=holder)
    _pin()
    floor_tx = floor.pull(tokens, amounts, sink, sender=holder)
    _pin()
    redeem = vault.redeem_in_kind(SHARE, holder, min_out, sender=holder)
    # no bounds: max_amounts_in all 2**256 - 1 (32 non-zero bytes of calldata each), min_amounts_out all 0
    _pin()
    mint_unbounded = vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)
    _pin()
    redeem_unbounded = vault.redeem_in_kind(SHARE, holder, [0] * n, sender=holder)
    _pin()
    issue = module.issue(set_token, SHARE, holder, sender=holder)
    _pin()
    set_redeem = module.redeem(set_token, SHARE, holder, sender=holder)
    return [
        {
            "op": op,
            "n_assets": n,
            "gas": tx.gas_used,
            "peer": "set_v2_issue",
            "peer_gas": issue.gas_used,
            "floor_gas": floor_tx.gas_used,
        }
        for op, tx in (("mint_in_kind", mint), ("mint_in_kind_unbounded", mint_unbounded))
    ] + [
        {"op": op, "n_assets": n, "gas": tx.gas_used, "peer": "set_v2_redeem", "peer_gas": set_redeem.gas_used}
        for op, tx in (("redeem_in_kind", redeem), ("redeem_in_kind_unbounded", redeem_unbounded))
    ]


# ---------------------------------------------------------------------------
#                           NAV-priced, on a local market
# ---------------------------------------------------------------------------


def _nav_spec(n: int) -> BasketSpec:
    """N test assets worth $10 each per share at $1..$1,000, equal weights; the ninth (the last of a smaller
    basket) is USDC at $1, the quote of the local market's pools, so that a keeper trade from USDC is one hop.
    Decimals cycle 18, 8, 6 (USDC has 6 in a basket of nine or more)."""
    usdc = min(8, n - 1)
    decimals = [(18, 8, 6)[i % 3] for i in range(n)]
    prices = [Decimal(1) if i == usdc else Decimal(10) ** (i % 4) for i in range(n)]  # $1, $10, $100, $1,000, ...
    weights = [WAD // n + (WAD % n if i == 0 else 0) for i in range(n)]  # summing to exactly 1
    return parse_spec(
        {
            "name": "Bench NAV Index",
            "symbol": "BNAV",
            "constituents": [
                {
                    "symbol": "USDC" if i == usdc else f"N{i}",
                    "decimals": d,
                    "units": str(Decimal(10) / p),
                    "price_usd": str(p),
                    "weight": str(Decimal(w) / WAD),
                }
                for i, (d, p, w) in enumerate(zip(decimals, prices, weights, strict=True))
            ],
        }
    )


def _measure_nav(spec: BasketSpec, deployer, holder) -> tuple[list[dict], Deployed]:
    n = len(spec.constituents)
    deployed = deploy_vault(spec, deployer, local=True, echo=_noop)
    vault = deployed.vault
    _fund(deployed.tokens, [deployer, holder], [vault], deployer)
    vault.mint_in_kind(10_000 * SHARE, deployer, [MAX_UINT] * n, sender=deployer)
    vault.deposit(10**18, holder, sender=holder)  # the holder's first deposit
    _pin()
    deposit = vault.deposit(10**18, holder, sender=holder)
    _pin()
    redeem = vault.redeem(vault.balanceOf(holder) // 2, holder, holder, sender=holder)
    _pin()
    total_value = vault.total_value.transact(sender=holder)
    max_in = with_slippage(VaultClient(vault).preview_mint(SHARE), SLIPPAGE_BPS, up=True)
    _pin()
    mint_in_kind = vault.mint_in_kind(SHARE, holder, max_in, sender=holder)
    rows = [
        {"op": "erc4626_deposit", "n_assets": n, "gas": deposit.gas_used},
        {"op": "erc4626_redeem", "n_assets": n, "gas": redeem.gas_used},
        {"op": "total_value", "n_assets": n, "gas": total_value.gas_used},
        {"op": "mint_in_kind_with_oracle_vault", "n_assets": n, "gas": mint_in_kind.gas_used},
    ]
    return rows, deployed


def _measure_rebalancing(spec: BasketSpec, deployed: Deployed, deployer) -> list[dict]:
    """A rebalance's start, a refresh, a keeper trade from USDC to the first other constituent beside the bare
    Uniswap V3 swap of the same route and amount, and an auction fill of the same pair."""
    n = len(spec.constituents)
    keeper, trader, filler = accounts.test_accounts[2], accounts.test_accounts[3], accounts.test_accounts[4]
    vault, rebalancer, tokens = deployed.vault, deployed.rebalancer, deployed.tokens
    adapter, swap_router = deployed.adapters["uniswap-v3"], deployed.market.uniswap.swap_router
    symbols = [c.symbol for c in spec.constituents]
    s, b = _trade_pair(symbols)
    sell, buy = tokens[s], tokens[b]
    # the seller held at its start weight less up to 3 points of target, the buyer as much more: overweight and
    # underweight by far more than the band; every move below is far inside the size caps (5% of NAV a trade,
    # 20% a period) and the targets
    targets = [c.weight for c in spec.constituents]
    shift = min(targets[s], 6 * 10**16) // 2
    targets[s], targets[b] = targets[s] - shift, targets[b] + shift
    rebalancer.set_target_weights(targets, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    _fund([sell], [trader], [swap_router], deployer)
    _fund([buy], [filler], [rebalancer], deployer)
    rebalancer.start_rebalance(sender=keeper)  # the first start writes every snapshot slot from zero
    _pin()
    start = rebalancer.start_rebalance(sender=keeper)
    # $1,000 of USDC: a small share of the vault's NAV and of the pool's depth; after the pool's 0.3% fee and
    # the impact of the swaps before it, a trade stays within the Rebalancer's 1% bound below the snapshot
    amount = 1_000 * 10**6
    route = v3_route([sell.address, buy.address], [POOL_FEE])
    cooldown = rebalancer.limits().cooldown

    def bare():
        return swap_router.exactInput((route, trader.address, 2**40, amount, 0), sender=trader)

    # each once first: the pair's last trade, the period's use, the trader's balance of N1 are set
    keeper_trade(rebalancer, keeper, sell.address, buy.address, amount, adapter, route, slippage_bps=100)
    bare()
    _pin(cooldown + BLOCK_TIME)  # past the pair's cool-down
    bare_tx = bare()
    _pin()
    trade = keeper_trade(rebalancer, keeper, sell.address, buy.address, amount, adapter, route, slippage_bps=100)
    _pin()
    refresh = rebalancer.refresh(sell, sender=keeper)

    opened = rebalancer.open_auction(sell, buy, 3 * amount, sender=keeper)
    (event,) = rebalancer.AuctionOpened.from_receipt(opened)
    rebalancer.fill(event.id, amount, MAX_UINT, sender=filler)  # the filler's first fill
    _pin()
    fill = rebalancer.fill(event.id, amount, MAX_UINT, sender=filler)  # a third remains: no refund
    peer = {"peer": "uniswap_v3_exactInput", "peer_gas": bare_tx.gas_used}
    return [
        {"op": "rebalance_start", "n_assets": n, "gas": start.gas_used},
        {"op": "rebalance_refresh", "n_assets": n, "gas": refresh.gas_used},
        {"op": "keeper_trade", "n_assets": n, "gas": trade.receipt.gas_used, **peer},
        {"op": "auction_fill", "n_assets": n, "gas": fill.gas_used, **peer},
    ]


def _measure_zap(spec: BasketSpec, deployed: Deployed, deployer) -> list[dict]:
    """The zap's mint of one share for USDC and its redemption to USDC, each beside the same swaps sent alone
    through `SwapRouter.exactInput` plus the in-kind flow alone (`peer_gas`: their gas as one transaction would
    spend it, the intrinsic 21,000 of every swap transaction but one left out)."""
    n = len(spec.constituents)
    holder = accounts.test_accounts[5]
    vault, tokens = deployed.vault, deployed.tokens
    adapter, swap_router = deployed.adapters["uniswap-v3"], deployed.market.uniswap.swap_router
    symbols = [c.symbol for c in spec.constituents]
    u = symbols.index("USDC")
    usdc = tokens[u]
    zap = project.Zap.deploy(100, 100, 3_600, sender=deployer)
    _fund(tokens, [holder], [swap_router, vault, zap], deployer)
    _quick([(holder, vault, "approve", zap, MAX_UINT)])
    client = VaultClient(vault)

    quoter = deployed.market.uniswap.quoter_v2

    def buy_legs() -> list[tuple]:
        """Each constituent's need bought at the pool's exact input for it now (QuoterV2), plus 0.1%."""
        legs = []
        for i, (t, need) in enumerate(zip(tokens, client.preview_mint(SHARE), strict=True)):
            if i == u:
                legs.append((adapter.address, 0, b""))
                continue
            quoted = quoter.quoteExactOutputSingle.call((usdc.address, t.address, need, POOL_FEE, 0)).amountIn
            legs.append((adapter.address, quoted * 1_001 // 1_000 + 1, v3_route([usdc.address, t.address], [POOL_FEE])))
        return legs

    sell_legs = [
        (adapter.address, 0, b"" if i == u else v3_route([t.address, usdc.address], [POOL_FEE]))
        for i, t in enumerate(tokens)
    ]
    vault.mint_in_kind(2 * SHARE, holder, [MAX_UINT] * n, sender=holder)  # the holder's first shares
    zap.mint(vault, SHARE, usdc, 10**18, buy_legs(), holder, sender=holder)  # the zap's first use, and the holder's
    zap.redeem(vault, SHARE, usdc, 0, sell_legs, holder, sender=holder)
    legs = buy_legs()
    _pin()
    zap_mint = zap.mint(vault, SHARE, usdc, 10**18, legs, holder, sender=holder)
    _pin()
    mint = vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)
    buys = []
    for _i, (_, amount, route) in enumerate(legs):
        if amount:
            _pin()
            buys.append(swap_router.exactInput((route, holder.address, 2**40, amount, 0), sender=holder).gas_used)
    paid = client.preview_redeem(SHARE)
    _pin()
    zap_redeem = zap.redeem(vault, SHARE, usdc, 0, sell_legs, holder, sender=holder)
    _pin()
    redeem = vault.redeem_in_kind(SHARE, holder, [0] * n, sender=holder)
    sells = []
    for i, (_, _, route) in enumerate(sell_legs):
        if i != u and paid[i]:
            _pin()
            sells.append(swap_router.exactInput((route, holder.address, 2**40, paid[i], 0), sender=holder).gas_used)
    intrinsic = 21_000

    def peer(flow, swaps: list[int]) -> dict:
        return {
            "peer": "exactInput swaps + in-kind flow",
            "peer_gas": flow.gas_used + sum(g - intrinsic for g in swaps),
        }

    return [
        {"op": "zap_mint", "n_assets": n, "gas": zap_mint.gas_used, **peer(mint, buys)},
        {"op": "zap_redeem", "n_assets": n, "gas": zap_redeem.gas_used, **peer(redeem, sells)},
    ]


def _trade_pair(symbols: list[str]) -> tuple[int, int]:
    """The bench's trade: USDC (the pools' quote, so that the swap is one hop) for the first other constituent."""
    s = symbols.index("USDC")
    return s, 0 if s != 0 else 1


def _measure_factory(spec: BasketSpec, deployed: Deployed, deployer) -> list[dict]:
    """`create_vault` of the same basket (tokens, oracle, equal target weights) through a VaultFactory."""
    factory = deploy_factory(deployer, echo=_noop).factory
    args = create_args(spec, [t.address for t in deployed.tokens], deployed.oracle.address, Roles(deployer.address))
    factory.create_vault(*args, sender=deployer)  # the factory's first vault: its registry starts at zero
    _pin()
    created = factory.create_vault(*args, sender=deployer)
    return [{"op": "factory_create_vault", "n_assets": len(spec.constituents), "gas": created.gas_used}]


def run_bench(sizes: list[int], nav_sizes: list[int], progress: Callable[[str], None] = _noop) -> list[dict]:
    """Every measured row: in kind at `sizes`, NAV-priced and rebalancing at `nav_sizes` (and at N =
    `REBALANCE_N` the factory), on a fresh local chain whose clock it fixes."""
    _fix_clock()
    deployer, holder = accounts.test_accounts[0], accounts.test_accounts[1]
    rows: list[dict] = []
    set_v2 = _deploy_set_v2(deployer)
    for n in sizes:
        progress(f"in kind beside Set Protocol V2 and the floor, N = {n} ...")
        rows.extend(_measure_in_kind(n, deployer, holder, set_v2))
    for n in nav_sizes:
        spec = _nav_spec(n)
        progress(f"NAV path on a local market, N = {n} ...")
        nav_rows, deployed = _measure_nav(spec, deployer, holder)
        rows.extend(nav_rows)
        progress(f"rebalance start, refresh, keeper trade, auction fill, N = {n} ...")
        rows.extend(_measure_rebalancing(spec, deployed, deployer))
        progress(f"zap mint and redeem beside their swaps and in-kind flows, N = {n} ...")
        rows.extend(_measure_zap(spec, deployed, deployer))
        if n == REBALANCE_N:
            progress(f"factory, N = {n} ...")
            rows.extend(_measure_factory(spec, deployed, deployer))
    return rows
