"""The liquidity model: depth per side from real pool TVL, as a share of market cap, with its variants."""

import math
import statistics
from fractions import Fraction

import pytest

from index_vault.common.artifacts import project_root
from index_vault.market.liquidity import (
    VARIANTS,
    WINDOW,
    LiquidityError,
    LiquidityModel,
    equal_price_split,
    read_pools,
    split_by_depth,
)
from index_vault.market.model import pool_depth_usd
from index_vault.methodology.backtest import CostModel, Schedule, run_backtest
from index_vault.methodology.history import History, MethodologyError, load_history
from index_vault.methodology.weights import Methodology, bounded_proportional

HEADER = "date,pair,venue,fee_bps,tvl_usd,volume_usd\n"


@pytest.fixture(scope="module")
def history() -> History:
    return load_history(project_root() / "data")


@pytest.fixture
def pools_file(tmp_path):
    """Writes a pools file from `(date, pair, venue, tvl)` rows; returns its path."""

    def write(rows) -> str:
        path = tmp_path / "pools.csv"
        path.write_text(HEADER + "".join(f"{d},{p},{v},30,{tvl},\n" for d, p, v, tvl in rows))
        return str(path)

    return write


def _caps(table: dict[tuple[str, str], float]):
    return lambda symbol, day: table.get((symbol, day))


def test_read_pools__pairs__count_for_the_asset_they_trade(pools_file):
    pools = read_pools(
        pools_file(
            [
                ("2022-01-01", "MKR/WETH", "uniswap-v2", 2_000),  # MKR only: WETH is its quote
                ("2022-01-01", "MKR/WETH", "sushiswap", 1_000),
                ("2022-01-01", "USDC/WETH", "uniswap-v2", 10_000),  # ETH
                ("2022-01-01", "WBTC/WETH", "uniswap-v3", 600),  # both majors
                ("2022-01-01", "WETH/USDT", "uniswap-v3", 400),  # ETH
            ]
        )
    )

    assert pools["full_range"] == {"MKR": {"2022-01-01": 1_500.0}, "ETH": {"2022-01-01": 5_000.0}}
    assert pools["concentrated"] == {"BTC": {"2022-01-01": 300.0}, "ETH": {"2022-01-01": 500.0}}


def test_read_pools__unknown_venue_or_bad_number__names_the_line(pools_file):
    with pytest.raises(LiquidityError, match=r"pools.csv:2: unknown venue 'curve'"):
        read_pools(pools_file([("2022-01-01", "MKR/WETH", "curve", 1)]))
    with pytest.raises(LiquidityError, match=r"pools.csv:2: tvl_usd is not a number"):
        read_pools(pools_file([("2022-01-01", "MKR/WETH", "uniswap-v2", "lots")]))


def test_depth__observed_days__trailing_median_share_times_the_days_cap(pools_file):
    days = [f"2022-01-{d:02d}" for d in range(1, 32)] + ["2022-02-01", "2022-02-02"]
    tvl = [1_000_000 * (i + 1) for i in range(len(days))]  # per side: half
    caps = {("MKR", d): 100_000_000.0 for d in days}
    model = LiquidityModel(
        read_pools(pools_file([(d, "MKR/WETH", "uniswap-v2", t) for d, t in zip(days, tvl, strict=True)])), _caps(caps)
    )

    last = days[-1]
    window = [t / 2 / 100_000_000 for t in tvl][-WINDOW:]
    q1, median, q3 = statistics.quantiles(window, n=4, method="inclusive")
    depth = model.depth("MKR", last, 200_000_000)

    assert depth.full_range_usd == pytest.approx(median * 200_000_000)
    assert depth.full_range_source == "observed"
    assert model.depth("MKR", last, 200_000_000, "thin").full_range_usd == pytest.approx(q1 * 200_000_000)
    assert model.depth("MKR", last, 200_000_000, "deep").full_range_usd == pytest.approx(q3 * 200_000_000)
    assert model.depth("MKR", days[0], 100_000_000).full_range_usd == pytest.approx(500_000)  # one day: itself


def test_depth__after_the_data_end__carries_the_last_share_at_the_days_cap(pools_file):
    caps = {("SNX", "2022-01-01"): 50_000_000.0}
    model = LiquidityModel(read_pools(pools_file([("2022-01-01", "SNX/WETH", "uniswap-v2", 1_000_000)])), _caps(caps))

    depth = model.depth("SNX", "2022-06-30", 25_000_000)

    assert depth.full_range_usd == pytest.approx(250_000)  # 1% of cap, carried, at half the cap
    assert depth.full_range_source == "carried"


def test_depth__asset_never_observed__median_share_of_the_observed_mid_caps(pools_file):
    rows = [
        ("2022-01-01", "MKR/WETH", "uniswap-v2", 2_000_000),  # 1% of cap
        ("2022-01-01", "SNX/WETH", "uniswap-v2", 6_000_000),  # 3%
        ("2022-01-01", "YFI/WETH", "uniswap-v2", 8_000_000),  # 4%
        ("2022-01-01", "USDC/WETH", "uniswap-v2", 900_000_000),  # ETH: not a peer of a mid-cap
    ]
    caps = {(s, "2022-01-01"): 100_000_000.0 for s in ("MKR", "SNX", "YFI")} | {("ETH", "2022-01-01"): 1e9}
    model = LiquidityModel(read_pools(pools_file(rows)), _caps(caps))

    depth = model.depth("BAL", "2022-03-01", 10_000_000)

    assert depth.full_range_usd == pytest.approx(0.03 * 10_000_000)
    assert depth.full_range_source == "peers"
    assert (depth.concentrated_usd, depth.concentrated_source) == (0.0, "none")  # no V3 pool in the data at all


def test_depth__before_its_v3_pool__no_concentrated_liquidity(pools_file):
    rows = [
        ("2021-03-01", "LINK/WETH", "uniswap-v2", 2_000_000),
        ("2021-05-05", "LINK/WETH", "uniswap-v3", 4_000_000),
    ]
    caps = {("LINK", "2021-03-01"): 1e8, ("LINK", "2021-05-05"): 1e8}
    model = LiquidityModel(read_pools(pools_file(rows)), _caps(caps))

    before = model.depth("LINK", "2021-04-01", 1e8)
    after = model.depth("LINK", "2021-05-05", 1e8, "base")

    assert (before.concentrated_usd, before.concentrated_source) == (0.0, "none")
    assert after.concentrated_usd == pytest.approx(2_000_000)
    assert after.total_usd == pytest.approx(1_000_000 + 2_000_000 * VARIANTS["base"].amplification)


def test_depth__bad_variant_or_no_cap__raises(pools_file):
    model = LiquidityModel(read_pools(pools_file([("2022-01-01", "SNX/WETH", "uniswap-v2", 1)])), _caps({}))

    with pytest.raises(LiquidityError, match="unknown liquidity variant 'medium'"):
        model.depth("SNX", "2022-01-01", 1e6, "medium")
    with pytest.raises(LiquidityError, match="SNX has no market cap on 2022-01-01"):
        model.depth("SNX", "2022-01-01", 0)


@pytest.mark.parametrize(("variant", "amplification"), [("thin", 1.0), ("base", 3.4142), ("deep", 5.4495)])
def test_variant__range_factor__amplification_of_a_v3_range(variant, amplification):
    k = VARIANTS[variant].range_factor
    # a position over [P/k, P*k]: real reserves are L(sqrt(P) - sqrt(P/k)) of the quote, virtual L*sqrt(P)
    assert VARIANTS[variant].amplification == pytest.approx(amplification, rel=1e-4)
    if k:
        assert VARIANTS[variant].amplification == pytest.approx(1 / (1 - math.sqrt(1 / k)))


def _out(x: float, depth: float) -> float:
    """What selling x (USD of the asset) into a constant-product pool `depth` deep a side gives, fee aside."""
    return depth * x / (depth + x)


def test_split_by_depth__two_constant_product_pools__marginal_prices_end_equal_and_beat_any_other_split():
    depths, amount = [3_000_000.0, 1_000_000.0], 400_000.0

    parts = split_by_depth(amount, depths)
    # the marginal price after selling x into a pool of depth D is (D / (D + x))**2 of the start
    end_prices = [(d / (d + x)) ** 2 for d, x in zip(depths, parts, strict=True)]
    best = sum(_out(x, d) for x, d in zip(parts, depths, strict=True))

    assert sum(parts) == pytest.approx(amount)
    assert end_prices[0] == pytest.approx(end_prices[1])
    assert best == pytest.approx(_out(amount, sum(depths)))  # as one pool of the summed depth
    for share in (0.5, 0.7, 0.8, 1.0):  # any other split gives less
        other = [amount * share, amount * (1 - share)]
        assert sum(_out(x, d) for x, d in zip(other, depths, strict=True)) < best


def test_split_by_depth__no_depth__raises():
    with pytest.raises(LiquidityError, match="no depth"):
        split_by_depth(1.0, [0.0, 0.0])


def _cp_out(d: int, x: int, y: int) -> Fraction:
    return Fraction(y * d, x + d)


@pytest.mark.parametrize(
    ("first", "second", "amount"),
    [
        ((10**24, 2 * 10**24), (3 * 10**24, 6 * 10**24), 10**23),  # same price, depth 1 : 3
        ((10**24, 2 * 10**24), (3 * 10**24, 6.06e24), 5 * 10**23),  # the second 1% dearer at the start
        ((5 * 10**9, 10**21), (10**10, 2 * 10**21), 10**9),  # 6-decimal in, 18-decimal out
    ],
)
def test_equal_price_split__two_curves__marginal_prices_end_equal_and_no_other_split_pays_more(first, second, amount):
    first, second = tuple(map(int, first)), tuple(map(int, second))
    d = equal_price_split(amount, first, second)
    (x1, y1), (x2, y2) = first, second
    end = [Fraction(x1 * y1, (x1 + d) ** 2), Fraction(x2 * y2, (x2 + amount - d) ** 2)]
    best = _cp_out(d, *first) + _cp_out(amount - d, *second)

    assert 0 < d < amount
    assert abs(end[0] / end[1] - 1) < Fraction(1, 10**9)  # equal to rounding
    for share in (0, 1, 3, 5, 7, 9, 10):  # tenths of the amount to the first curve: none pays more
        other = amount * share // 10
        assert _cp_out(other, *first) + _cp_out(amount - other, *second) <= best


def test_equal_price_split__first_curve_dearer_than_where_the_other_ends__all_to_the_other():
    # the first pays 10% less out per unit in at the start than the second will after the whole amount
    assert equal_price_split(10**18, (11 * 10**20, 10**21), (10**22, 10**22)) == 0
    assert equal_price_split(10**18, (10**22, 10**22), (11 * 10**20, 10**21)) == 10**18


def test_equal_price_split__no_reserves__raises():
    with pytest.raises(LiquidityError, match="two curves with reserves"):
        equal_price_split(1, (0, 1), (1, 1))


def test_model__shipped_data__mid_caps_far_deeper_than_the_legacy_floor(history):
    caps = history.columns["market_cap_usd"]
    index = {d: i for i, d in enumerate(history.dates)}
    model = LiquidityModel.load(lambda s, d: caps[s][index[d]] if s in caps and d in index else None)
    day, cap = "2022-06-01", caps["MKR"][index["2022-06-01"]]

    depth = model.depth("MKR", day, cap)

    assert model.observed_symbols("concentrated") == ["AAVE", "BTC", "ETH", "LINK", "UNI"]
    assert depth.full_range_source == "carried"  # the V2 data end on 2022-01-25
    assert depth.total_usd > 10 * pool_depth_usd(int(cap))


def test_run_backtest__data_liquidity__cheaper_than_legacy_and_thin_dearest(history):
    method = Methodology("capped-market-cap", assets=("UNI", "AAVE", "MKR", "SNX", "COMP", "YFI"), cap=0.25)
    runs = {
        liquidity: run_backtest(
            history,
            method,
            "2022-01-01",
            "2022-03-31",
            Schedule.parse("monthly"),
            CostModel(gwei=0, liquidity=liquidity),
        )
        for liquidity in ("legacy", "thin", "base", "deep")
    }
    costs = {k: r.summary()["costs_usd"] for k, r in runs.items()}

    assert costs["deep"] <= costs["base"] <= costs["thin"] < costs["legacy"]
    assert runs["base"].costs.to_dict()["liquidity"] == "base"


def test_cost_model__unknown_liquidity__raises():
    with pytest.raises(MethodologyError, match="unknown liquidity model 'medium'"):
        CostModel(liquidity="medium")


def test_bounded_proportional__own_caps__the_capped_asset_held_and_the_rest_shared_pro_rata():
    weights = bounded_proportional([4, 2, 1, 1], cap=Fraction(1), caps=[Fraction(1, 10), 1, 1, 1])

    assert weights == [Fraction(1, 10), Fraction(9, 20), Fraction(9, 40), Fraction(9, 40)]
    with pytest.raises(MethodologyError, match=r"own caps sum to 60\.00%"):
        bounded_proportional([1, 1], caps=[Fraction(3, 10), Fraction(3, 10)])


def test_weights__depth_multiple__each_position_within_its_multiple_of_depth_and_said(history):
    assets = ("UNI", "AAVE", "MKR", "LDO", "SNX", "COMP", "YFI", "SUSHI", "BAL", "1INCH")
    nav, multiple, day = 30_000_000.0, 0.5, "2022-12-01"
    method = Methodology("capped-market-cap", assets=assets, cap=0.25, depth_multiple=multiple, nav_usd=nav)
    model, i = history.liquidity_model(), history.index(day)

    proposal = method.weights(history, day)

    for asset, weight, cap in zip(proposal.assets, proposal.weights, proposal.depth_caps, strict=True):
        depth = model.depth(asset, day, history.market_cap(asset, i), "base").total_usd
        assert weight / 10**18 <= multiple * depth / nav * (1 + 1e-12)
        assert float(cap) == pytest.approx(multiple * depth / nav)
    held = [w for w in proposal.warnings if "by its liquidity" in w]
    assert held and "AAVE held to" in " ".join(held)
    assert proposal.to_dict()["depth_caps"]["UNI"] is not None
    unconstrained = Methodology("capped-market-cap", assets=assets, cap=0.25).weights(history, day)
    assert proposal.weights != unconstrained.weights and sum(proposal.weights) == 10**18


def test_weights__index_too_large_for_its_liquidity__refused_naming_the_nav(history):
    method = Methodology("equal", assets=("SNX", "COMP", "YFI"), depth_multiple=0.1, nav_usd=1e9)

    with pytest.raises(MethodologyError, match=r"an index of \$1,000,000,000 is too large for its assets' liquidity"):
        method.weights(history, "2022-06-01")
