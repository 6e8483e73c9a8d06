"""Shared pure helpers: token units, artifact loading, text tables, a local anvil process."""
