"""The basket spec file: what it accepts and how it explains what it refuses."""

import json

import pytest
from eth_utils import to_checksum_address

from index_vault.vault.spec import SpecError, load_spec, parse_spec

GOOD = {
    "name": "Test Index",
    "symbol": "TIDX",
    "constituents": [
        {"symbol": "WETH", "decimals": 18, "units": "0.01"},
        {"symbol": "USDC", "decimals": 6, "units": 25, "address": "0x" + "a0" * 20},
    ],
}


def _with(**changes):
    data = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if key.startswith("c1_"):
            data["constituents"][1][key[3:]] = value
        else:
            data[key] = value
    return data


def test_parse_spec__good_spec__converts_units_to_base_units():
    spec = parse_spec(GOOD)

    assert spec.units == [10**16, 25 * 10**6]
    assert spec.constituents[1].address == to_checksum_address("0x" + "a0" * 20)
    assert spec.constituents[0].name == "WETH"
    assert not spec.has_all_addresses


def test_parse_spec__round_trip__to_dict_parses_back_to_same_spec():
    spec = parse_spec(GOOD)

    assert parse_spec(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_with(symbol="TOOLONG"), "symbol: at most 5"),
        (_with(name=""), "name: a non-empty string"),
        (_with(constituents=[]), "non-empty list"),
        (_with(constituents=[{"symbol": f"T{i}", "decimals": 18, "units": 1} for i in range(51)]), "at most 50"),
        (_with(c1_symbol="WETH"), "duplicate symbol"),
        (_with(c1_units="0.0000001"), "more than 6 decimals"),
        (_with(c1_units="0.00001"), "needs at least 100"),
        (_with(c1_decimals=99), "decimals must be"),
        (_with(c1_address="0x1234"), "is not an address"),
        (_with(extra=1), "unknown keys: extra"),
        ([1, 2], "must be a mapping"),
    ],
    ids=[
        "symbol",
        "name",
        "empty",
        "too-many",
        "duplicate",
        "precision",
        "below-min-unit",
        "decimals",
        "address",
        "unknown-key",
        "not-mapping",
    ],
)
def test_parse_spec__bad_spec__raises_with_reason(data, reason):
    with pytest.raises(SpecError, match=reason):
        parse_spec(data)


def test_load_spec__yaml_and_json__give_the_same_spec(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(GOOD))
    (tmp_path / "a.yaml").write_text(
        "name: Test Index\nsymbol: TIDX\nconstituents:\n"
        "  - {symbol: WETH, decimals: 18, units: 0.01}\n"
        f"  - {{symbol: USDC, decimals: 6, units: 25, address: '0x{'a0' * 20}'}}\n"
    )

    assert load_spec(tmp_path / "a.json") == load_spec(tmp_path / "a.yaml")


def test_load_spec__broken_yaml__names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")

    with pytest.raises(SpecError, match=r"broken\.yaml: not valid YAML"):
        load_spec(path)


def test_load_spec__demo_spec__is_valid():
    spec = load_spec("specs/demo-top5.yaml")

    assert [c.decimals for c in spec.constituents] == [18, 8, 6, 18, 18]


def test_parse_spec__weights__convert_to_1e18_and_must_sum_to_one():
    data = _with()
    data["constituents"][0]["weight"] = "0.6"
    data["constituents"][1]["weight"] = 0.4

    assert parse_spec(data).weights == [6 * 10**17, 4 * 10**17]
    data["constituents"][1]["weight"] = "0.39"
    with pytest.raises(SpecError, match=r"sum to exactly 1; they sum to 0\.99"):
        parse_spec(data)
    del data["constituents"][1]["weight"]
    with pytest.raises(SpecError, match="every constituent or for none"):
        parse_spec(data)
