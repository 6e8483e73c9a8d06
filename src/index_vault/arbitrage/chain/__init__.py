"""The arbitrageur on a chain: its rounds (`arbitrageur`) and the index token's pools (`pools`)."""
