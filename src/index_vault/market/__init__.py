"""The local market chain, pure part: its liquidity model from real history and the Uniswap V2 maths.

`index_vault.market.chain` builds the market (tokens, feeds, V3 pools, V2 pairs) and moves it day by day.
"""
