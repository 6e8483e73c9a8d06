"""The split adapter: one exact-input sale in two parts, through a V2-kind and a V3-kind adapter (mocks here), each
pool paid from the splitter on its adapter's request, up to that part; nothing stays in the splitter."""

import boa
import pytest

from tests.baskets import CONTRACTS

WAD = 10**18
FEE = 3000


@pytest.fixture
def splitting(dex_deployer, make_token):
    """A splitter over two mock adapters that each pay 2 B per A from their own balance, and its caller."""

    def make():
        a, b = make_token("A", 18), make_token("B", 18)
        v2, v3 = dex_deployer.deploy(), dex_deployer.deploy()
        for dex in (v2, v3):
            dex.set_rate(a.address, b.address, 2 * WAD)
            b.mint(dex.address, 10**24)
        split = boa.load_partial(str(CONTRACTS / "adapters" / "SplitAdapter.vy")).deploy(v2.address, v3.address)
        caller = boa.env.generate_address("vault")
        return split, v2, v3, a, b, caller

    return make


def route(v2_amount: int, tokens: list[str], fees: list[int] | None = None) -> bytes:
    """The splitter's route: the V2 part's amount (16 bytes) and the packed V3 path."""
    fees = fees or [FEE] * (len(tokens) - 1)
    path = bytes.fromhex(tokens[0][2:])
    for fee, token in zip(fees, tokens[1:], strict=True):
        path += fee.to_bytes(3, "big") + bytes.fromhex(token[2:])
    return v2_amount.to_bytes(16, "big") + path


def sell(split, a, b, caller, amount: int, v2_amount: int, min_out: int = 0, recipient=None) -> int:
    """The vault's way: pay the splitter (minted to it here), then call `swap`."""
    a.mint(split.address, amount)
    with boa.env.prank(caller):
        return split.swap(a.address, b.address, amount, min_out, route(v2_amount, [a.address, b.address]),
                          recipient or caller)  # fmt: skip


def test_swap__two_parts__each_adapters_pool_paid_its_part_and_the_recipient_both_outputs(splitting):
    split, v2, v3, a, b, caller = splitting()
    amount, v2_amount = 10 * WAD, 3 * WAD

    out = sell(split, a, b, caller, amount, v2_amount)

    assert out == 2 * amount == b.balanceOf(caller)
    assert (a.balanceOf(v2.address), a.balanceOf(v3.address)) == (v2_amount, amount - v2_amount)
    assert a.balanceOf(split.address) == b.balanceOf(split.address) == 0


@pytest.mark.parametrize("v2_amount", [0, 10 * WAD])
def test_swap__all_on_one_venue__the_other_adapter_is_not_called(splitting, v2_amount):
    split, v2, v3, a, b, caller = splitting()

    sell(split, a, b, caller, 10 * WAD, v2_amount)

    assert a.balanceOf(v2.address) == v2_amount and a.balanceOf(v3.address) == 10 * WAD - v2_amount


def test_swap__v3_pool_takes_part_of_its_part__the_rest_back_to_the_caller(splitting):
    split, _v2, v3, a, b, caller = splitting()
    v3.set_refund(WAD)  # the V3 part's pool leaves 1 A

    out = sell(split, a, b, caller, 10 * WAD, 4 * WAD)

    assert a.balanceOf(caller) == WAD and out == 18 * WAD
    assert a.balanceOf(split.address) == 0


def test_swap__adapter_asks_for_more_than_its_part__reverts(splitting):
    split, v2, _v3, a, b, caller = splitting()
    v2.set_ask_extra(1)

    with boa.reverts("split: more than the part sells"):
        sell(split, a, b, caller, 10 * WAD, 4 * WAD)


def test_swap__too_little_out__reverts(splitting):
    split, _v2, _v3, a, b, caller = splitting()

    with boa.reverts("split: too little out"):
        sell(split, a, b, caller, 10 * WAD, 4 * WAD, min_out=20 * WAD + 1)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("short", "split: route does not match"),
        ("v2-above", "split: V2 part above the amount"),
        ("four-hops", "split: route too long"),
    ],
)
def test_swap__bad_route__reverts_with_reason(splitting, make_token, bad, reason):
    split, _v2, _v3, a, b, caller = splitting()
    amount = 10 * WAD
    tokens = [a.address, b.address]
    data = route(4 * WAD, tokens)
    if bad == "short":
        data = data[:-1]
    elif bad == "v2-above":
        data = route(amount + 1, tokens)
    else:
        hubs = [make_token(f"H{i}", 18).address for i in range(3)]
        data = route(4 * WAD, [a.address, *hubs, b.address])

    a.mint(split.address, amount)
    with boa.env.prank(caller), boa.reverts(reason):
        split.swap(a.address, b.address, amount, 0, data, caller)


@pytest.mark.parametrize("caller", ["anyone", "an adapter outside a swap"])
def test_pay_for_swap__caller_not_the_adapter_of_the_part__reverts(splitting, caller):
    split, v2, _v3, a, _b, _vault = splitting()
    a.mint(split.address, WAD)  # something to steal (a donation)
    who = boa.env.generate_address("anyone") if caller == "anyone" else v2.address

    with boa.reverts("split: caller is not the swapping adapter"), boa.env.prank(who):
        split.pay_for_swap(a.address, who, WAD)


def test_constructor__adapter_not_a_contract__reverts(dex_deployer):
    dex = dex_deployer.deploy()
    with boa.reverts("split: adapter is not a contract"):
        boa.load_partial(str(CONTRACTS / "adapters" / "SplitAdapter.vy")).deploy(
            dex.address, boa.env.generate_address()
        )
