"""The fleet's chain parts: the factory's registry (`registry`) and one vault's round on a worker (`round`)."""
