"""Creation of a vault: the basket it lists and the input it refuses."""

import boa
import pytest

from tests.baskets import THREE_ASSETS
from tests.lens import lens


def test_init__valid_basket__lists_assets_and_units(make_vault):
    vault, tokens = make_vault()

    assert vault.assets() == [t.address for t in tokens]
    assert vault.initial_units(0) == THREE_ASSETS[0][2]
    assert lens().units_per_share(vault) == [u for _, _, u in THREE_ASSETS]
    assert vault.totalSupply() == 0
    assert (vault.name(), vault.symbol(), vault.decimals()) == ("Test Index", "TIDX", 18)
    assert vault.MAX_ASSETS() >= 50


def test_init__valid_basket__logs_basket_created(make_vault):
    vault, tokens = make_vault()

    (event,) = [e for e in vault.get_logs() if type(e).__name__ == "BasketCreated"]
    assert list(event.assets) == [t.address for t in tokens]
    assert list(event.units) == [u for _, _, u in THREE_ASSETS]


def test_init__fifty_assets__deploys(make_vault):
    vault, _ = make_vault([(f"T{i}", 18, 10**18) for i in range(50)])

    assert len(vault.assets()) == 50


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda a, u: ([], []), "basket: no constituents"),
        (lambda a, u: (a, u[:-1]), "basket: wrong array length"),
        (lambda a, u: ([*a[:-1], "0x" + "00" * 20], u), "basket: zero address constituent"),
        (lambda a, u: ([*a[:-1], a[0]], u), "basket: duplicate constituent"),
        (lambda a, u: ([*a[:-1], "0x" + "ab" * 20], u), "basket: constituent is not a contract"),
        (lambda a, u: (a, [*u[:-1], 99]), "basket: unit below minimum"),
    ],
    ids=["empty", "length", "zero-address", "duplicate", "not-a-contract", "unit-too-small"],
)
def test_init__bad_basket__reverts_with_reason(vault_deployer, make_token, make_oracle, deployer, mutate, reason):
    tokens = [make_token(sym, dec) for sym, dec, _ in THREE_ASSETS]
    assets, units = mutate([t.address for t in tokens], [u for _, _, u in THREE_ASSETS])

    with boa.reverts(reason):
        vault_deployer.deploy("Test Index", "TIDX", assets, units, tokens[0], make_oracle(tokens), deployer)


def test_init__more_than_max_assets__reverts_with_reason(vault_deployer, make_token, make_oracle, deployer):
    tokens = [make_token(f"T{i}") for i in range(51)]

    with boa.reverts("basket: too many constituents"):
        vault_deployer.deploy(
            "Test Index",
            "TIDX",
            [t.address for t in tokens],
            [10**18] * 51,
            tokens[0],
            make_oracle(tokens[:1]),
            deployer,
        )


def test_init__base_asset_not_a_constituent__reverts_with_reason(vault_deployer, make_token, make_oracle, deployer):
    tokens = [make_token(sym, dec) for sym, dec, _ in THREE_ASSETS]
    outsider = make_token("OUT")

    with boa.reverts("vault: base asset not a constituent"):
        vault_deployer.deploy(
            "Test Index",
            "TIDX",
            [t.address for t in tokens],
            [u for *_, u in THREE_ASSETS],
            outsider,
            make_oracle(tokens),
            deployer,
        )


def test_init__any_basket__assets_pointer_serves_the_list(make_vault):
    vault, tokens = make_vault()

    data = boa.env.raw_call(vault.assets_pointer(), data=b"").output
    count = int.from_bytes(data[:32], "big")
    listed = ["0x" + data[32 * (i + 1) + 12 : 32 * (i + 2)].hex() for i in range(count)]
    assert [a.lower() for a in listed] == [t.address.lower() for t in tokens]
