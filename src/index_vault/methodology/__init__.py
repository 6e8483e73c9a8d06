"""The index methodology (pure): target weights, proposals, backtests and their analytics."""
