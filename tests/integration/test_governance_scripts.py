"""Timelocked administration through the scripts: deploy a Governor, hand a vault to it, propose, wait, execute."""

import re

from ape import chain

from tests.integration.conftest import DEMO_SPEC


def test_governance__fee_change__waits_the_delay_then_anyone_executes(run_script, project, tmp_path):
    own_manifests = {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path)}  # leave the session's manifest alone
    out = run_script("governance", "deploy", "--account", "TEST::0", "--delay-days", "1", env=own_manifests).stdout
    governor = re.search(r"governor at (0x[0-9a-fA-F]{40})", out).group(1)
    out = run_script("deploy", str(DEMO_SPEC), "--account", "TEST::0", "--governor", governor, env=own_manifests).stdout
    assert "handed to the governor" in out
    vault = project.IndexVault.at(re.search(r"vault TOP5 at (0x[0-9a-fA-F]{40})", out).group(1))
    assert vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), governor)

    out = run_script(
        "governance", "propose-fees", "--governor", governor, "--vault", vault.address,
        "--entry-bps", "15", "--exit-bps", "25", "--account", "TEST::0",
    ).stdout  # fmt: skip
    proposal = re.search(r"proposal (\d+)", out).group(1)
    assert "waiting" in run_script("governance", "pending", "--governor", governor).stdout
    early = run_script("governance", "execute", "--governor", governor, proposal, "--account", "TEST::2", check=False)
    assert early.returncode != 0
    assert "is executable from" in early.stderr and "Traceback" not in early.stderr

    chain.mine(timestamp=chain.blocks.head.timestamp + 86_400)
    assert "ready" in run_script("governance", "pending", "--governor", governor).stdout
    run_script("governance", "execute", "--governor", governor, proposal, "--account", "TEST::2")  # anyone

    assert (vault.entry_fee_bps(), vault.exit_fee_bps()) == (15, 25)
    assert "no pending proposals" in run_script("governance", "pending", "--governor", governor).stdout
