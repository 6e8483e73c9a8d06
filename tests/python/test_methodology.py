"""Index methodology: weighting methods, floors and caps, universes, the data faults, proposal files."""

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index_vault.market.model import MarketDataError, load_panel
from index_vault.methodology.history import History, MethodologyError, find_panel, load_history
from index_vault.methodology.weights import (
    WAD,
    Methodology,
    bounded_proportional,
    parse_fraction,
    parse_method,
    read_proposal,
    to_wad,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_PRICES = ROOT.parent / "shared" / "data" / "prices"
needs_shared_data = pytest.mark.skipif(
    not SHARED_PRICES.is_dir(), reason=f"the shared data folder {SHARED_PRICES} is not beside this checkout"
)
METHODS = ["market-cap", "capped-market-cap", "equal", "liquidity", "sqrt-market-cap", "metric:volume_usd"]


@pytest.fixture(scope="module")
def history() -> History:
    return load_history(ROOT / "data")


def synthetic(caps: dict[str, list[float | None]], prices: dict[str, list[float | None]] | None = None) -> History:
    """A History of len(caps[...]) days from 2022-01-01; prices default to 1 (so supply = market cap)."""
    days = len(next(iter(caps.values())))
    dates = tuple((date(2022, 1, 1) + timedelta(days=k)).isoformat() for k in range(days))
    prices = prices or {s: [1.0 if c is not None else None for c in v] for s, v in caps.items()}
    symbols = tuple(sorted(caps))
    columns = {
        "price_usd": {s: tuple(prices[s]) for s in symbols},
        "market_cap_usd": {s: tuple(caps[s]) for s in symbols},
    }
    return History(Path("synthetic.csv"), dates, symbols, columns)


def dpi_redistribution(scores: list[Fraction], cap: Fraction) -> list[Fraction]:
    """DPI's rule as governance posts state it: cap, hand the excess to the uncapped pro rata, repeat."""
    weights = [s / sum(scores) for s in scores]
    capped: set[int] = set()
    while True:
        over = [i for i, w in enumerate(weights) if w > cap]
        if not over:
            return weights
        capped |= set(over)
        excess = sum(weights[i] - cap for i in over)
        free = sum(weights[i] for i in range(len(weights)) if i not in capped)
        weights = [cap if i in capped else w + excess * w / free for i, w in enumerate(weights)]


# --- every method: integer weights summing to exactly 10**18 ------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_weights__every_method_top_n__sums_to_exactly_wad(history, method):
    proposal = Methodology(method, top=5).weights(history, "2021-09-01")

    assert sum(proposal.weights) == WAD
    assert len(proposal.weights) == len(proposal.assets) == 5
    assert all(isinstance(w, int) and w > 0 for w in proposal.weights)


@pytest.mark.parametrize("method", METHODS)
def test_weights__every_method_fixed_basket__keeps_basket_order(history, method):
    basket = ("LINK", "ETH", "BTC", "UNI")
    proposal = Methodology(method, assets=basket, cap=Fraction(1, 2), floor=Fraction(1, 20)).weights(
        history, "2021-09-01"
    )

    assert proposal.assets == basket
    assert sum(proposal.weights) == WAD
    assert all(WAD // 20 <= w <= WAD // 2 for w in proposal.weights)


def test_weights__equal__splits_evenly_with_remainder_to_first(history):
    proposal = Methodology("equal", assets=("BTC", "ETH", "LINK")).weights(history, "2022-06-01")

    assert proposal.weights == (333333333333333334, 333333333333333333, 333333333333333333)


def test_weights__sqrt_market_cap__proportional_to_square_roots(history):
    proposal = Methodology("sqrt-market-cap", assets=("BTC", "ETH")).weights(history, "2022-06-01")
    btc, eth = proposal.metrics

    assert proposal.weights[0] / proposal.weights[1] == pytest.approx((btc / eth) ** 0.5, rel=1e-12)


# --- floors and caps ----------------------------------------------------------------------------------------

scores_st = st.lists(st.floats(min_value=1e3, max_value=1e12, allow_nan=False), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, cap_bps=st.integers(1, 10_000), floor_bps=st.integers(0, 10_000))
def test_bounded_proportional__random_market_caps__respect_floor_cap_and_sum(scores, cap_bps, floor_bps):
    n = len(scores)
    cap = Fraction(max(cap_bps, -(-10_000 // n)), 10_000)  # feasible: n * cap >= 1
    floor = Fraction(min(floor_bps, 10_000 // n), 10_000)  # n * floor <= 1, whole bps as the bounds are

    weights = to_wad(bounded_proportional(scores, floor, cap))

    assert sum(weights) == WAD
    assert all(floor * WAD <= w <= cap * WAD for w in weights)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, cap_bps=st.integers(1, 10_000), floor_bps=st.integers(0, 10_000))
def test_bounded_proportional__random_market_caps__unbound_names_stay_proportional(scores, cap_bps, floor_bps):
    n = len(scores)
    cap = Fraction(max(cap_bps, -(-10_000 // n)), 10_000)
    floor = Fraction(min(floor_bps, 10_000 // n), 10_000)

    weights = bounded_proportional(scores, floor, cap)
    free = [(Fraction(s), w) for s, w in zip(scores, weights, strict=True) if floor < w < cap]

    assert sum(weights) == 1
    assert len({w / s for s, w in free}) <= 1  # one multiplier for every name inside its bounds
    if free:  # a bound name is bound because its score would push it past the bound
        lam = free[0][1] / free[0][0]
        assert all(lam * Fraction(s) >= cap for s, w in zip(scores, weights, strict=True) if w == cap > floor)
        assert all(lam * Fraction(s) <= floor for s, w in zip(scores, weights, strict=True) if w == floor < cap)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, cap_bps=st.integers(1, 10_000))
def test_bounded_proportional__caps_only__equals_dpi_iterative_redistribution(scores, cap_bps):
    cap = Fraction(max(cap_bps, -(-10_000 // len(scores))), 10_000)
    exact = [Fraction(s) for s in scores]

    assert bounded_proportional(exact, Fraction(0), cap) == dpi_redistribution(exact, cap)


@settings(max_examples=100, deadline=None)
@given(caps=st.lists(st.floats(min_value=1e6, max_value=1e12), min_size=4, max_size=12), floor_bps=st.integers(0, 250))
def test_weights__hypothesis_market_caps__respects_dpi_cap_and_floor(caps, floor_bps):
    history = synthetic({f"A{k:02d}": [c] for k, c in enumerate(caps)})
    methodology = Methodology("capped-market-cap", top=len(caps), floor=Fraction(floor_bps, 10_000), min_history_days=1)

    proposal = methodology.weights(history, 0)

    assert sum(proposal.weights) == WAD
    assert all(floor_bps * 10**14 <= w <= WAD // 4 for w in proposal.weights)


def test_weights__capped_market_cap__equals_hand_worked_dpi_example():
    # Caps 50/25/12/8/5 (sum 100) under DPI's 25% cap. Pass 1: A 50% -> 25%, its 25% excess goes to B..E
    # pro rata (B 25% -> 37.5%). Pass 2: B -> 25%; 50% left for C, D, E in 12:8:5 -> 24%, 16%, 10%.
    history = synthetic({"A": [50e9], "B": [25e9], "C": [12e9], "D": [8e9], "E": [5e9]})

    proposal = Methodology("capped-market-cap", top=5, min_history_days=1).weights(history, "2022-01-01")

    assert proposal.assets == ("A", "B", "C", "D", "E")
    assert proposal.weights == (25 * 10**16, 25 * 10**16, 24 * 10**16, 16 * 10**16, 10 * 10**16)


def test_bounded_proportional__floor_and_cap__hand_worked():
    # Scores 70/20/6/4, floor 10%, cap 40%: A is capped at 40%; pro rata the other 60% would give D 8%, so D is
    # floored at 10%; B and C share the 50% left 20:6, 5/13 and 3/26, both within the bounds.
    weights = bounded_proportional([70, 20, 6, 4], Fraction(1, 10), Fraction(2, 5))

    assert weights == [Fraction(2, 5), Fraction(5, 13), Fraction(3, 26), Fraction(1, 10)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40).filter(any))
def test_to_wad__any_exact_weights__sum_exactly_and_within_one_unit(parts):
    weights = [Fraction(p, sum(parts)) for p in parts]

    result = to_wad(weights)

    assert sum(result) == WAD
    assert all(abs(r - w * WAD) < 1 for r, w in zip(result, weights, strict=True))


# --- universes and data faults ------------------------------------------------------------------------------


def test_weights__top_n__takes_largest_eligible_by_market_cap():
    caps: dict[str, list[float | None]] = {
        "BIG": [100.0] * 40,
        "MID": [50.0] * 40,
        "YOUNG": [None] * 20 + [500.0] * 20,  # largest, but listed 20 days ago
        "GAP": [80.0] * 30 + [None] * 10,  # no price for 10 days
        "SMALL": [10.0] * 40,
        "TINY": [1.0] * 40,
    }
    proposal = Methodology("market-cap", top=3, min_history_days=30).weights(synthetic(caps), 39)

    assert proposal.assets == ("BIG", "MID", "SMALL")
    assert proposal.weights == (625 * 10**15, 3125 * 10**14, 625 * 10**14)


def test_weights__top_n_real_data__ranks_by_market_cap(history):
    proposal = Methodology("equal", top=4).weights(history, "2022-12-31")

    assert proposal.assets == ("BTC", "ETH", "UNI", "LINK")
    assert list(proposal.metrics) == sorted(proposal.metrics, reverse=True)


def test_weights__top_n_before_min_history__raises_naming_eligibility(history):
    with pytest.raises(MethodologyError, match="90 days since its first price"):
        Methodology("market-cap", top=10).weights(history, "2021-02-01")


def test_weights__fixed_asset_without_rows__weight_zero_with_warning(history):
    proposal = Methodology("market-cap", assets=("BTC", "LDO")).weights(history, "2021-01-02")

    assert proposal.weights == (WAD, 0)
    assert proposal.warnings == ("2021-01-02: LDO excluded (weight 0): no price within 3 days",)


def test_market_cap__bal_supply_jump__smoothed_by_trailing_median(history):
    jump = history.index("2022-06-16")
    raw = history.columns["market_cap_usd"]["BAL"]

    assert raw[jump] / raw[jump - 1] > 3  # the fault: +217% supply overnight
    smoothed = history.market_cap("BAL", jump) / history.market_cap("BAL", jump - 1)
    price = history.price("BAL", jump) / history.price("BAL", jump - 1)
    assert smoothed == pytest.approx(price, rel=1e-3)  # only the price move shows
    later = history.index("2022-07-31")  # the new supply definition is adopted once it fills half the window
    assert history.market_cap("BAL", later) == pytest.approx(raw[later], rel=0.02)


def test_market_cap__1inch_week_long_spike__never_shows(history):
    def supply(day: str, robust: bool) -> float:
        i = history.index(day)
        cap = history.market_cap("1INCH", i) if robust else history.columns["market_cap_usd"]["1INCH"][i]
        return cap / history.price("1INCH", i)

    assert supply("2021-08-10", robust=False) > 3 * supply("2021-08-01", robust=False)  # the fault
    for day in ("2021-08-05", "2021-08-08", "2021-08-11"):
        assert supply(day, robust=True) == pytest.approx(supply("2021-08-01", robust=True), rel=0.05)


@needs_shared_data
def test_liquidity__volume_stops__falls_back_to_cmc_with_warning():
    shared = load_history(SHARED_PRICES)

    proposal = Methodology("liquidity", assets=("BTC", "UNI")).weights(shared, "2022-06-01")

    assert all(w > 0 for w in proposal.weights)
    assert proposal.warnings == ("2022-06-01: UNI liquidity from CoinMarketCap monthly volume",)


def test_liquidity__no_volume_and_no_cmc__excluded_with_warning(history):
    proposal = Methodology("liquidity", assets=("BTC", "UNI", "RPL")).weights(history, "2021-09-01")

    assert proposal.weights[0] > 0 and proposal.weights[1] > 0  # UNI still has the panel's volume in 2021-09
    assert proposal.weights[2] == 0
    assert "RPL excluded (weight 0)" in proposal.warnings[0]


def test_load_history__real_panel__agrees_with_load_panel(history):
    panel = load_panel()
    i = history.index("2022-06-16")

    for symbol in history.symbols:
        quote = panel.quote("2022-06-16", symbol)
        assert history.columns["price_usd"][symbol][i] == float(quote.price_usd)
        assert Decimal(repr(history.columns["market_cap_usd"][symbol][i])) == quote.market_cap_usd
    assert history.dates == tuple(panel.dates())


def test_find_panel__project_layout__finds_the_panel():
    assert find_panel(ROOT / "data").name == "panel_daily_21assets.csv"
    assert find_panel(ROOT / "data" / "prices").name == "panel_daily_21assets.csv"


@needs_shared_data
def test_find_panel__shared_layout__finds_the_panel():
    assert find_panel(SHARED_PRICES).name == "panel_daily_21assets.csv"
    assert find_panel(SHARED_PRICES / "panel_daily_21assets.csv").parent == SHARED_PRICES


def test_find_panel__custom_folder__finds_the_csv_with_the_columns(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / "mine.csv").write_text("date,symbol,price_usd,market_cap_usd\n2022-01-01,X,1,2\n")

    assert find_panel(tmp_path).name == "mine.csv"


def test_find_panel__two_panels__raises(tmp_path):
    for name in ("panel_a.csv", "panel_b.csv"):
        (tmp_path / name).write_text("date,symbol,price_usd,market_cap_usd\n")
    with pytest.raises(MarketDataError, match="several panels"):
        find_panel(tmp_path)


def test_find_panel__no_panel__raises(tmp_path):
    with pytest.raises(MarketDataError, match="no CSV panel"):
        find_panel(tmp_path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2022-01-01,X,1,2\n2022-01-01,X,1,2\n", "X appears twice on 2022-01-01"),
        ("2022-01-01,X,0,2\n", "X has a zero price"),
        ("2022-01-01,X,-1,2\n", "must be a non-negative number"),
        ("2022-13-01,X,1,2\n", "not a date"),
        ("", "no rows"),
    ],
)
def test_load_history__malformed_panel__raises(tmp_path, rows, message):
    (tmp_path / "panel.csv").write_text("date,symbol,price_usd,market_cap_usd\n" + rows)

    with pytest.raises(MarketDataError, match=message):
        load_history(tmp_path)


def test_weights__metric_from_sibling_csv__weights_by_its_trailing_median(tmp_path):
    (tmp_path / "panel.csv").write_text(
        "date,symbol,price_usd,market_cap_usd\n2022-01-01,A,1,10\n2022-01-01,B,1,20\n"
        "2022-01-02,A,1,10\n2022-01-02,B,1,20\n"
    )
    (tmp_path / "tvl.csv").write_text(
        "date,symbol,tvl_usd\n2022-01-01,A,100\n2022-01-02,A,300\n2022-01-01,B,600\n2022-01-02,B,\n"
    )
    history = load_history(tmp_path, ["tvl_usd"])

    proposal = Methodology("metric:tvl_usd", assets=("A", "B")).weights(history, "2022-01-02")

    assert proposal.metrics == (200.0, 600.0)
    assert proposal.weights == (WAD // 4, 3 * WAD // 4)


# --- bad inputs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({"method": "cap-weighted", "top": 3}, "method", "unknown method 'cap-weighted'"),
        ({"method": "metric:", "top": 3}, "method", "unknown method"),
        ({"method": "equal"}, "assets", "either a fixed list of assets or a top N"),
        ({"method": "equal", "assets": ("BTC",), "top": 2}, "assets", "either a fixed list"),
        ({"method": "equal", "assets": ("BTC", "btc")}, "assets", "listed twice"),
        ({"method": "equal", "top": 0}, "top", "N >= 1"),
        ({"method": "equal", "top": 3, "cap": Fraction(1, 10), "floor": Fraction(1, 5)}, "floor", "above the cap"),
    ],
)
def test_methodology__bad_settings__raise_naming_the_option(kwargs, param, message):
    with pytest.raises(MethodologyError, match=message) as caught:
        Methodology(**kwargs)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("methodology", "day", "param", "message"),
    [
        (Methodology("equal", assets=("BTC", "DOGE")), "2022-06-01", "assets", "unknown symbol DOGE; panel_daily"),
        (Methodology("equal", top=3), "2023-06-01", "date", "no data for 2023-06-01: .* covers 2021-01-01..2022-12-31"),
        (Methodology("equal", top=3), "June 1", "date", "not a date"),
        (Methodology("market-cap", top=3, cap=Fraction(1, 4)), "2022-06-01", "cap", "needs at least 4 assets"),
        (Methodology("equal", top=4, floor=Fraction(3, 10)), "2022-06-01", "floor", "exceeds 100%"),
        (Methodology("metric:tvl", top=3), "2022-06-01", "method", "no numeric column 'tvl'"),
    ],
)
def test_weights__bad_inputs__raise_clear_errors(history, methodology, day, param, message):
    with pytest.raises(MethodologyError, match=message) as caught:
        methodology.weights(history, day)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("text", "value"), [("0.25", Fraction(1, 4)), ("25%", Fraction(1, 4)), ("1/3", Fraction(1, 3))]
)
def test_parse_fraction__forms__read_exactly(text, value):
    assert parse_fraction(text, "cap") == value


@pytest.mark.parametrize("text", ["abc", "1.5", "-0.1", "1/0"])
def test_parse_fraction__bad_text__raises(text):
    with pytest.raises(MethodologyError):
        parse_fraction(text, "cap")


def test_parse_method__metric_column__kept():
    assert parse_method(" metric:tvl_usd ") == "metric:tvl_usd"


# --- proposal files -------------------------------------------------------------------------------------------


def test_proposal__written_and_read__round_trips_with_string_weights(history, tmp_path):
    proposal = Methodology("capped-market-cap", top=10).weights(history, "2022-12-31")

    path = proposal.write(tmp_path / "out" / "proposal.json")
    data = json.loads(path.read_text())
    back = read_proposal(path)

    assert {"date", "method", "assets", "weights"} <= set(data)
    assert all(isinstance(w, str) for w in data["weights"])
    assert (back.date, back.method, back.assets, back.weights) == (
        "2022-12-31",
        "capped-market-cap",
        proposal.assets,
        proposal.weights,
    )


def test_read_proposal__integer_weights__accepted(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"date": "2022-01-01", "method": "equal", "assets": ["A", "B"], "weights": [WAD, 0]}))

    assert read_proposal(path).weights == (WAD, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2022-01-01", "method": "equal", "assets": ["A", "B"], "weights": ["1", "2"]}, "not 10\\*\\*18"),
        ({"date": "2022-01-01", "method": "equal", "assets": ["A", "B"], "weights": [str(WAD)]}, "one weight per"),
        ({"date": "2022-01-01", "method": "equal", "assets": ["A"], "weights": ["-1"]}, "not a non-negative integer"),
        ({"date": "2022-01-01", "method": "equal", "assets": ["A"], "weights": [1e18]}, "not a non-negative integer"),
        ({"date": "2022-01-01", "assets": ["A"], "weights": [str(WAD)]}, "needs date, method, assets and weights"),
    ],
)
def test_read_proposal__bad_file__raises(tmp_path, data, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))

    with pytest.raises(MethodologyError, match=message):
        read_proposal(path)
