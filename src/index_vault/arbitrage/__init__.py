"""The arbitrageur that holds the index token's DEX price at NAV: its pure planner (`planner`)."""
