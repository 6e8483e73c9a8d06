"""Stateful test: random sequences of mints, redemptions, skips, transfers, donations and pauses,
run against the contract and the Python model in `index_vault.basket` side by side.

Besides matching the model, it checks that a pause never blocks in-kind redemption: in every state
reached, every holder can redeem everything they hold."""

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from index_vault.vault.basket import LOCKED_SHARES, BasketModel
from tests.baskets import CONTRACTS, MAX_UINT
from tests.conftest import fuzz_examples
from tests.lens import lens

ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6), ("USDT", 6, 25 * 10**6)]
ACTORS = 3
TOKEN = boa.load_partial(str(CONTRACTS / "mocks" / "MockToken.vy"))
VAULT = boa.load_partial(str(CONTRACTS / "vault" / "IndexVault.vy"))
ORACLE = boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy"))

actor_st = st.integers(min_value=0, max_value=ACTORS - 1)
shares_st = st.integers(min_value=1, max_value=10**22)


class VaultMachine(RuleBasedStateMachine):
    """The model and the contract must agree on every balance after every step."""

    @initialize(first=st.integers(min_value=LOCKED_SHARES + 1, max_value=10**22))
    def deploy(self, first):
        self.tokens = [TOKEN.deploy(f"Mock {s}", s, d) for s, d, _ in ASSETS]
        self.tokens[3].set_no_return(True)  # a USDT-like token that returns no bool
        addresses = [t.address for t in self.tokens]
        self.vault = VAULT.deploy(
            "State Index", "STATE", addresses, [u for *_, u in ASSETS], addresses[0], ORACLE.deploy(), boa.env.eoa
        )
        self.actors = [boa.env.generate_address(f"actor{i}") for i in range(ACTORS)]
        for who in self.actors:
            for t in self.tokens:
                t.mint(who, 10**40)
                with boa.env.prank(who):
                    t.approve(self.vault.address, MAX_UINT)
        self.model = BasketModel(initial_units=[u for *_, u in ASSETS])
        self.dead = self.vault.DEAD_ADDRESS()
        self.min_units = [u for *_, u in ASSETS]  # holding per share never drops below this
        self.paused = False
        self._mint(0, first)

    def _mint(self, actor, shares):
        who = self.actors[actor]
        if self.paused:
            with boa.env.prank(who), boa.reverts("pausable: contract is paused"):
                self.vault.mint_in_kind(shares, who, [MAX_UINT] * len(ASSETS))
            return
        expected = self.model.mint(shares, who)
        with boa.env.prank(who):
            assert self.vault.mint_in_kind(shares, who, [MAX_UINT] * len(ASSETS)) == expected

    @rule()
    def toggle_pause(self):
        if self.paused:
            self.vault.unpause()
        else:
            self.vault.pause()
        self.paused = not self.paused

    @rule(actor=actor_st, shares=shares_st)
    def mint(self, actor, shares):
        self._mint(actor, shares)

    @precondition(lambda self: any(self.model.balances.get(a, 0) for a in self.actors))
    @rule(actor=actor_st, data=st.data())
    def redeem(self, actor, data):
        who = self.actors[actor]
        balance = self.model.balances.get(who, 0)
        if balance == 0:
            return
        shares = data.draw(st.integers(min_value=1, max_value=balance))
        expected = self.model.redeem(shares, who)
        with boa.env.prank(who):
            assert self.vault.redeem_in_kind(shares, who, expected) == expected

    @rule(actor=actor_st, index=st.integers(min_value=0, max_value=len(ASSETS) - 1), data=st.data())
    def redeem_skipping(self, actor, index, data):
        who = self.actors[actor]
        balance = self.model.balances.get(who, 0)
        if balance == 0:
            return
        shares = data.draw(st.integers(min_value=1, max_value=balance))
        expected = self.model.redeem(shares, who, frozenset({index}))
        with boa.env.prank(who):
            got = self.vault.redeem_in_kind_skipping(shares, who, expected, [self.tokens[index].address])
        assert got == expected

    @rule(sender=actor_st, receiver=actor_st, data=st.data())
    def transfer(self, sender, receiver, data):
        src, dst = self.actors[sender], self.actors[receiver]
        shares = data.draw(st.integers(min_value=0, max_value=self.model.balances.get(src, 0)))
        self.model.transfer(src, dst, shares)
        with boa.env.prank(src):
            self.vault.transfer(dst, shares)

    @rule(index=st.integers(min_value=0, max_value=len(ASSETS) - 1), amount=st.integers(min_value=1, max_value=10**24))
    def donate(self, index, amount):
        self.model.donate(index, amount)
        self.tokens[index].mint(self.vault.address, amount)

    @invariant()
    def contract_matches_model(self):
        assert self.vault.totalSupply() == self.model.supply
        assert self.vault.holdings() == self.model.holdings
        for who in self.actors:
            assert self.vault.balanceOf(who) == self.model.balances.get(who, 0)
        assert self.vault.balanceOf(self.dead) == LOCKED_SHARES

    @invariant()
    def in_kind_redemption_always_works(self):
        for who in self.actors:
            balance = self.model.balances.get(who, 0)
            if balance == 0:
                continue
            with boa.env.anchor(), boa.env.prank(who):  # try it, then roll back
                got = self.vault.redeem_in_kind(balance, who, [0] * len(ASSETS))
            assert got == self.model.claim(who)

    @invariant()
    def claims_never_exceed_holdings(self):
        holders = [*self.actors, self.dead]
        claims = [lens().preview_redeem_in_kind(self.vault, self.vault.balanceOf(h)) for h in holders]
        for i, held in enumerate(self.vault.holdings()):
            total = sum(c[i] for c in claims)
            # every holder's claim is rounded down once; skipped and donated value is shared by all
            assert held - len(holders) < total <= held

    @invariant()
    def holding_per_share_never_falls_below_starting_units(self):
        supply = self.model.supply
        for held, unit in zip(self.model.holdings, self.min_units, strict=True):
            assert held * 10**18 >= unit * supply


TestVaultMachine = VaultMachine.TestCase
TestVaultMachine.settings = settings(max_examples=fuzz_examples(40), stateful_step_count=25, deadline=None)
