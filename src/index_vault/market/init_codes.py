"""keccak256 of the creation code of a Uniswap V3 pool and a V2 pair, as the canonical factories deploy them
(mainnet's, and the npm builds' this project deploys locally): the DEX adapters derive a pool's or a pair's
address from it (CREATE2). tests/python/test_artifacts.py checks both against the builds."""

V3_POOL_INIT_CODE_HASH = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
V2_PAIR_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
