"""The gas benchmark against the field: `chain` measures (Ape), `report` checks the targets and writes."""
