"""A wallet user's daily path through the scripts, as a new user runs it: a keyfile account and `--yes`, no
prompt and no traceback; and each mistake a user makes answered in one line that says what to do."""

import re
import socket

import pytest
from ape import accounts, chain
from click.testing import CliRunner

from index_vault.cli import main
from index_vault.vault.fees import rate_from_annual_bps

ADDRESS = r"(0x[0-9a-fA-F]{40})"
ALIAS, PASSPHRASE = "wallet-user", "a long passphrase 4 tests"
KEEPER, OTHER_KEEPER = accounts.test_accounts[2].address, accounts.test_accounts[3].address


def _clean(proc) -> str:
    """The command's whole output, after checking it neither asked anything nor printed a traceback."""
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "[y/N]" not in text and "Enter passphrase" not in text, text
    assert not re.search(r"\[\d+ gas\]", text), text  # nor Ape's call trace
    return text


def _one_line_error(proc, expected: str) -> str:
    """The failed command's error, checked to be one line naming `expected`, without a traceback."""
    assert proc.returncode != 0, proc.stdout
    text = _clean(proc)
    (error,) = [line for line in text.splitlines() if line.startswith("Error:")]
    assert expected in error, text
    return error


@pytest.fixture
def wallet_user(keyfile_account, run_script, tmp_path):
    """A keyfile account with its passphrase in the environment, and a runner of scripts as that user (with
    its own manifests and stdin closed: nobody is there to answer)."""
    user = keyfile_account(ALIAS, PASSPHRASE)
    env = {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path), f"APE_ACCOUNTS_{ALIAS}_PASSPHRASE": PASSPHRASE}

    def run(*args: str, check: bool = True, **extra):
        return run_script(*args, env={**env, **extra}, input="", check=check)

    return user, run


def test_wallet_path__keyfile_account_with_yes__template_to_a_fee_change_through_the_governor(
    wallet_user, project, tmp_path
):
    user, run = wallet_user
    me = ("--account", ALIAS, "--yes")
    spec = tmp_path / "my.yaml"
    spec.write_text(CliRunner().invoke(main, ["spec", "template"]).output)

    out = _clean(run("deploy", str(spec), "--keeper", KEEPER, *me))
    vault = project.IndexVault.at(re.search(rf"vault MYIDX at {ADDRESS}", out).group(1))
    assert f"the deployer {user.address}" in out and "Confirmed" not in out  # funded; no per-transaction log
    assert vault.hasRole(vault.KEEPER_ROLE(), KEEPER)

    assert "keeper granted" in _clean(run("vault", "grant", "keeper", OTHER_KEEPER, *me))
    assert vault.hasRole(vault.KEEPER_ROLE(), OTHER_KEEPER)
    roles = _clean(run("vault", "roles"))
    assert re.search(rf"keeper +{KEEPER}, {OTHER_KEEPER}", roles) and re.search(rf"admin +{user.address}", roles)

    assert "minted 2 MYIDX" in _clean(run("vault", "mint", "2", *me))
    out = _clean(run("vault", "redeem", "1", "--skip", "USDC", *me))
    assert "warning: skipping USDC forfeits 25 USDC to the other holders" in out and "redeemed 1 MYIDX" in out
    assert vault.balanceOf(user.address) == 10**18 - vault.LOCKED_SHARES()

    out = _clean(run("governance", "deploy", *me))
    governor = re.search(rf"governor at {ADDRESS}", out).group(1)
    refused = run("governance", "propose-fees", "--management-bps", "50", *me, check=False)
    _one_line_error(refused, f"the Governor {governor} is not the admin of the vault {vault.address} (the admin is")
    assert "admin granted" in _clean(run("vault", "grant", "admin", governor, *me))

    out = _clean(run("governance", "propose-fees", "--management-bps", "50", *me))  # the manifest's Governor
    proposal = re.search(r"proposal (\d+)", out).group(1)
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * 86_400)
    assert f"executed proposal {proposal}" in _clean(run("governance", "execute", proposal, *me))
    assert vault.management_fee_rate() == rate_from_annual_bps(50)

    # the next proposal loses its role before it is due: execute says why, and sends nothing
    out = _clean(run("governance", "propose-fees", "--management-bps", "60", *me))
    proposal = re.search(r"proposal (\d+)", out).group(1)
    assert "admin revoked" in _clean(run("vault", "revoke", "admin", governor, *me))
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * 86_400)
    _one_line_error(
        run("governance", "execute", proposal, *me, check=False),
        f"proposal {proposal} (set_fees on {vault.address}) would revert: access_control: account is missing role",
    )

    # without --yes nobody is there to answer; with --yes and no passphrase nothing can sign
    _one_line_error(run("vault", "mint", "1", "--account", ALIAS, check=False), "pass --yes to send unattended")
    _one_line_error(run("vault", "mint", "100000", *me, check=False), "holds too little: 9.99 WETH of 1,004.97")
    _one_line_error(
        run("vault", "mint", "1", *me, check=False, **{f"APE_ACCOUNTS_{ALIAS}_PASSPHRASE": ""}),
        f"set APE_ACCOUNTS_{ALIAS}_PASSPHRASE",
    )
    assert vault.balanceOf(user.address) == 10**18 - vault.LOCKED_SHARES()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scripts__user_mistakes__one_line_each_saying_what_to_do(deployed, run_script, project, tmp_path):
    token, eoa = deployed["tokens"]["WETH"], accounts.test_accounts[5].address
    at = next(i for i, c in enumerate(token) if i > 1 and c.isalpha())
    mistyped_case = token[:at] + token[at].swapcase() + token[at + 1 :]
    mistakes = [
        (("vault", "status", "--vault", "0x1234"), {}, "'0x1234' is not an address (0x and 40 hex digits)"),
        (("vault", "status", "--vault", eoa), {}, f"no contract at {eoa}"),
        (("vault", "status", "--vault", token), {}, f"{token} is not an IndexVault"),
        (("vault", "status", "--vault", mistyped_case), {}, "fails its EIP-55 checksum"),
        (("governance", "deploy", "--delay-days", "0.5"), {}, "0.5 is not in the range 1<=x<=30"),
        (("governance", "pending"), {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path)}, "no Governor in"),
    ]
    for args, env, expected in mistakes:
        _one_line_error(run_script(*args, env=env, input="", check=False), expected)

    no_rpc = run_script("vault", "status", env={"SEPOLIA_RPC_URL": None}, network="ethereum:sepolia:node", check=False)
    _one_line_error(no_rpc, "comes from $SEPOLIA_RPC_URL, which is not set: export SEPOLIA_RPC_URL=")

    mistyped = run_script("vault", "status", env={"APE_FOUNDRY_HOST": f"http://127.0.0.1:{_free_port()}"}, check=False)
    assert "is a NEW, empty local chain" in mistyped.stderr
    _one_line_error(mistyped, "no vault deployed on ethereum:local")
