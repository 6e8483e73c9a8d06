"""The fleet's pure parts: leases and the coordination store on a real redis-server (started on a free port and
stopped by its PID), the dispatch schedule, the settings read from the environment, the status model and the
sizing."""

import json
import time

import pytest
import redis

from index_vault.fleet.lease import Heartbeat, LeaseLost, acquire_all, holder_of, new_token
from index_vault.fleet.redis_server import RedisServer
from index_vault.fleet.schedule import dispatch, due, log_pages, offset
from index_vault.fleet.settings import FleetConfigError, FleetSettings
from index_vault.fleet.status import FleetRow, RoundOutcome, drift_bps, format_fleet, round_record, sizing, weights_of
from index_vault.fleet.store import FleetStore, VaultEntry

VAULT = "0x" + "ab" * 20
ACCOUNT = "0x" + "cd" * 20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def store(server, request):
    client = redis.Redis.from_url(server.url)
    yield FleetStore(client, f"test-{request.node.name}")
    client.flushdb()


def test_lease__held_by_one_worker__a_second_cannot_take_renew_or_release_it(store):
    first = store.lease("vault", VAULT, new_token("host:1"), ttl=5)
    second = store.lease("vault", VAULT, new_token("host:2"), ttl=5)

    assert first.acquire() and not second.acquire()
    assert not second.renew() and not second.release()
    assert store.holder("vault", VAULT) == "host:1"
    first.check()  # still ours: no raise
    assert first.release() and store.holder("vault", VAULT) is None
    assert second.acquire() and store.holder("vault", VAULT) == "host:2"


def test_lease__holder_stops_renewing__expires_and_its_fence_refuses(store):
    dead = store.lease("vault", VAULT, new_token("host:1"), ttl=0.2)
    assert dead.acquire()
    time.sleep(0.3)
    successor = store.lease("vault", VAULT, new_token("host:2"), ttl=5)

    assert successor.acquire()
    with pytest.raises(LeaseLost, match="no longer held by host:1"):
        dead.check()
    assert store.holder("vault", VAULT) == "host:2"  # the late holder's renewal did not touch it


def test_acquire_all__second_lease_busy__takes_none_and_names_the_busy_one(store):
    other = store.lease("account", ACCOUNT, new_token("host:2"), ttl=5)
    assert other.acquire()
    token = new_token("host:1")
    leases = [store.lease("vault", VAULT, token, ttl=5), store.lease("account", ACCOUNT, token, ttl=5)]

    busy = acquire_all(leases)

    assert busy is leases[1]
    assert store.holder("vault", VAULT) is None  # the first was given back
    other.release()
    assert acquire_all(leases) is None and store.holder("vault", VAULT) == "host:1"


def test_heartbeat__round_longer_than_the_ttl__keeps_the_lease_until_stopped(store):
    lease = store.lease("vault", VAULT, new_token("host:1"), ttl=0.3)
    assert lease.acquire()

    with Heartbeat([lease], max_hold=10):
        time.sleep(0.8)
        assert store.holder("vault", VAULT) == "host:1"
    time.sleep(0.4)
    assert store.holder("vault", VAULT) is None


def test_heartbeat__past_max_hold__stops_renewing(store):
    lease = store.lease("vault", VAULT, new_token("host:1"), ttl=0.3)
    assert lease.acquire()

    with Heartbeat([lease], max_hold=0.2):
        time.sleep(0.9)
        assert store.holder("vault", VAULT) is None  # a stuck round lets its lease go


def test_holder_of__token_or_nothing__the_worker_named():
    assert holder_of(new_token("h:7")) == "h:7" and holder_of(b"h:9/abc") == "h:9" and holder_of(None) is None


def test_store__registry_queue_and_status__round_trip(store):
    entries = [VaultEntry(VAULT, ACCOUNT, 1, 10, "TOP5"), VaultEntry(ACCOUNT, VAULT, 0, 9, "B1")]
    store.add_vaults(entries, cursor=12)

    assert list(store.vaults()) == [ACCOUNT, VAULT]  # factory order
    assert store.entry(VAULT.upper().replace("0X", "0x")) == entries[0] and store.cursor() == 12
    assert store.mark_queued(VAULT, 12, ttl=5) and not store.mark_queued(VAULT, 13, ttl=5)
    assert store.busy([VAULT, ACCOUNT]) == {VAULT}
    store.clear_queued(VAULT)
    assert store.busy([VAULT, ACCOUNT]) == set()
    fields, counters = round_record(RoundOutcome("traded", trades=2, gas=300), block=12, worker="h:1", seconds=1.5,
                                    rpc_calls=40, now=100.0)  # fmt: skip
    store.record_round(VAULT, fields, counters)
    store.record_round(VAULT, fields, counters)
    status = store.status(VAULT)
    assert status["rounds"] == "2" and status["trades_total"] == "4" and status["gas_total"] == "600"
    assert status["worker"] == "h:1" and status["rpc_calls"] == "40"


def test_schedule__every_three_blocks__each_vault_once_in_three_at_its_offset():
    vaults = [f"0x{i:040x}" for i in range(9)]
    picked = [dispatch(vaults, block, 3) for block in range(30, 33)]

    assert sorted(v for p in picked for v in p) == sorted(vaults)  # each exactly once in three blocks
    assert all(due(v, 30 + offset(v, 3), 3) for v in vaults)
    assert dispatch(vaults, 31, 1, busy=[vaults[0].upper().replace("0X", "0x")]) == vaults[1:]


def test_log_pages__range_not_a_multiple__last_page_short():
    assert log_pages(10, 24, 5) == [(10, 14), (15, 19), (20, 24)]
    assert log_pages(10, 12, 5) == [(10, 12)] and log_pages(13, 12, 5) == []


def test_settings__from_broker_kwargs__url_and_queue_taken_from_them():
    env = {
        "SILVERBACK_BROKER_KWARGS": json.dumps({"url": "redis://h:1/0", "queue_name": "fleet-main"}),
        "FLEET_FACTORY": VAULT,
        "FLEET_KEEPERS": "k1, TEST::3",
        "FLEET_EVERY_BLOCKS": "4",
    }
    settings = FleetSettings.from_env(env)

    assert (settings.redis_url, settings.namespace) == ("redis://h:1/0", "fleet-main")
    assert settings.keepers == ("k1", "TEST::3") and settings.every_blocks == 4
    assert FleetSettings.from_env({**env, "FLEET_NAMESPACE": "other"}).namespace == "other"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"FLEET_FACTORY": VAULT}, "Redis URL"),
        ({"FLEET_REDIS_URL": "redis://h/0"}, "FLEET_FACTORY"),
        ({"FLEET_REDIS_URL": "redis://h/0", "FLEET_FACTORY": VAULT, "FLEET_LEASE_SECONDS": "x"}, "not a number"),
        ({"SILVERBACK_BROKER_KWARGS": "{", "FLEET_FACTORY": VAULT}, "not JSON"),
    ],
)
def test_settings__bad_environment__refused_naming_the_variable(env, says):
    with pytest.raises(FleetConfigError, match=says):
        FleetSettings.from_env(env)


def test_weights_and_drift__two_assets__largest_gap_in_bps():
    weights = weights_of([2 * 10**18, 100 * 10**6], [60 * 10**18, 10**18], [18, 6])  # $120 and $100

    assert weights == [545454545454545454, 454545454545454545]
    assert drift_bps(weights, [5 * 10**17, 5 * 10**17]) == pytest.approx(454.545, abs=0.01)


def test_format_fleet__waiting_vault_with_error__reason_and_error_listed():
    status = {"time": "100", "block": "7", "status": "waiting", "reason": "stale price", "rounds": "3",
              "error": "boom", "error_time": "40"}  # fmt: skip
    row = FleetRow(VAULT, "TOP5", status, running_on="h:2", pending=1)

    text = format_fleet([row], now=130.0)

    assert "#7 30s ago waiting" in text and "1 tx in flight, running on h:2" in text
    assert "TOP5: waiting: stale price" in text and "TOP5: last error 90s ago: boom" in text


def test_sizing__thousand_vaults__workers_and_rpc_from_the_rates():
    size = sizing(1000, rounds_per_worker_minute=100, rpc_per_round=20, block_seconds=12, every_blocks=1)

    assert size.rounds_per_minute == 5000 and size.workers == 100  # 5,000 a minute, twice over, 100 a worker
    assert size.rpc_per_second == pytest.approx(5000 * 20 / 60)
    assert sizing(1000, rounds_per_worker_minute=100, rpc_per_round=20, every_blocks=5).workers == 20
