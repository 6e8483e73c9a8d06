"""The index methodology (pure): its daily history, target weights, proposals, backtests and their analytics."""
