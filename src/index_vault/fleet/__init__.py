"""The keeper fleet: every vault of a factory kept on target by silverback workers behind a Redis broker.

Pure parts here (settings, leases, the coordination store, scheduling, the status model, the Redis server the
tests and the benchmark start); `chain/` reads the factory's registry and plays one vault's keeper round.
"""
