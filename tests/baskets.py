"""Constants shared by the titanoboa tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
MAX_UINT = 2**256 - 1

# (symbol, decimals, units per share): a realistic three-asset basket, 6, 8 and 18 decimals.
THREE_ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6)]
