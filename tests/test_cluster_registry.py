"""The node registry, home leases and placement on a real Redis server."""

from __future__ import annotations

import asyncio
import logging
import time

from conference.cluster.leases import HomeLeases
from conference.cluster.load import Counts, LoadSampler
from conference.cluster.node import ClusterNode
from conference.cluster.placement import Placement
from conference.cluster.records import seal
from conference.cluster.registry import RECORD_TTL_MS, NodeRegistry, open_redis
from tests.support.node_records import KEY, record
from tests.support.waiting import wait_until


async def test_records_are_listed_and_bad_ones_ignored_and_counted(redis):
    client, prefix = redis
    registry = NodeRegistry(client, prefix, KEY)
    await registry.publish(record("node-a", "http://10.0.0.1:8080"))
    await registry.publish(record("node-b", "http://10.0.0.2:8080"))
    # What another cluster, a forger and a confused writer leave under the prefix.
    await client.set(
        registry.record_key("foreign"), seal(record("foreign", "http://x:1"), b"o" * 32)
    )
    await client.set(registry.record_key("garbage"), b"\x00\xffnot a record")
    await client.set(
        registry.record_key("copied"), seal(record("node-a", "http://10.0.0.1:8080"), KEY)
    )

    listing = await registry.listing()
    assert [n.id for n in listing.nodes] == ["node-a", "node-b"]
    assert listing.nodes[0].advertise == "http://10.0.0.1:8080"
    assert sorted(listing.rejected) == ["copied", "foreign", "garbage"]
    assert registry.rejected_total == 3
    assert await registry.node("foreign") is None
    assert registry.rejected_total == 4
    assert (await registry.node("node-b")) == listing.nodes[1]

    ttl = await client.pttl(registry.record_key("node-a"))
    assert 0 < ttl <= RECORD_TTL_MS
    await registry.remove("node-a")
    assert [n.id for n in (await registry.listing()).nodes] == ["node-b"]


async def test_a_lease_is_never_extended_taken_or_deleted_by_another_node(redis):
    client, prefix = redis
    a = HomeLeases(client, prefix, "node-a")
    b = HomeLeases(client, prefix, "node-b")
    assert await a.claim("room-1") == "node-a"
    assert await b.claim("room-1") == "node-a"
    assert not await b.renew("room-1")
    assert not await b.release("room-1")
    assert await a.holder("room-1") == "node-a"
    # Taking over names the dead holder: a live third holder is never replaced.
    assert await b.claim("room-1", dead_holder="node-c") == "node-a"
    assert await b.claim("room-1", dead_holder="node-a") == "node-b"
    assert not await a.renew("room-1")
    assert await b.renew("room-1")
    ttl = await client.pttl(b.lease_key("room-1"))
    assert 0 < ttl <= b.ttl_ms
    assert await b.release("room-1")
    assert await a.holder("room-1") is None


async def test_placement_sends_sites_to_a_live_home_and_takes_over_a_dead_one(redis):
    client, prefix = redis
    registry = NodeRegistry(client, prefix, KEY)
    a = Placement("node-a", registry, HomeLeases(client, prefix, "node-a"))
    b = Placement("node-b", registry, HomeLeases(client, prefix, "node-b"))
    await registry.publish(record("node-a", "http://10.0.0.1:8080"))
    await registry.publish(record("node-b", "http://10.0.0.2:8080"))

    assert await a.home_elsewhere("room-1") is None  # a claims it
    assert "room-1" in a.held
    assert await b.home_elsewhere("room-1") == "http://10.0.0.1:8080"
    assert "room-1" not in b.held
    assert b.redirects_total == 1
    assert await a.home_elsewhere("room-1") is None  # still a's

    # a's record is gone (expired): the lease it still holds is taken over.
    await registry.remove("node-a")
    assert await b.home_elsewhere("room-1") is None
    assert "room-1" in b.held
    assert await HomeLeases(client, prefix, "x").holder("room-1") == "node-b"


async def test_a_home_with_a_record_of_another_cluster_is_dead(redis):
    client, prefix = redis
    ours = NodeRegistry(client, prefix, KEY)
    theirs = NodeRegistry(client, prefix, b"o" * 32)
    await theirs.publish(record("node-x", "http://10.9.9.9:8080"))
    x = Placement("node-x", theirs, HomeLeases(client, prefix, "node-x"))
    assert await x.home_elsewhere("room-1") is None
    b = Placement("node-b", ours, HomeLeases(client, prefix, "node-b"))
    assert await b.home_elsewhere("room-1") is None  # never sent to an untrusted node
    assert ours.rejected_total == 1


async def test_placement_serves_here_when_redis_is_unreachable():
    client = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        registry = NodeRegistry(client, "p:", KEY)
        placement = Placement("node-a", registry, HomeLeases(client, "p:", "node-a"))
        assert await placement.home_elsewhere("room-1") is None
        assert placement.held == {}
    finally:
        await client.aclose(close_connection_pool=True)


def test_load_is_a_rate_over_the_interval():
    counts = Counts(sites=2, packets_total=0, rooms=1)
    sampler = LoadSampler(lambda: counts)
    counts = Counts(sites=5, packets_total=10_000, rooms=2)
    time.sleep(0.05)
    load = sampler.sample()
    assert load.sites == 5 and load.rooms == 2
    assert 0 < load.packets_per_s <= 10_000 / 0.05
    assert load.cpu_percent >= 0
    assert sampler.sample().packets_per_s == 0


async def test_a_node_without_redis_keeps_running_and_logs_the_outage_once(caplog):
    node = ClusterNode(
        open_redis("redis://127.0.0.1:1/0"),  # nothing listens on port 1
        "p:",
        KEY,
        "node-a",
        "http://127.0.0.1:8080",
        lambda: Counts(sites=0, packets_total=0, rooms=0),
        set,
    )
    heartbeat = asyncio.ensure_future(node.periodic()["cluster-heartbeat"]())
    try:
        with caplog.at_level(logging.WARNING, logger="conference.cluster.node"):
            await wait_until(lambda: node.redis_errors_total >= 3 or heartbeat.done())
        assert not heartbeat.done()
        assert node.heartbeats_total == 0
        assert caplog.text.count("Redis unreachable") == 1
    finally:
        heartbeat.cancel()
        await node.shutdown()  # bounded, with Redis gone
        await node.close()


def test_nodes_command_never_prints_the_redis_password(tmp_path, capsys):
    from server.cli import main

    url = "redis://admin:mat-khau-bi-mat@127.0.0.1:1/0"
    assert main(["nodes", "--redis", url, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot read the nodes from Redis" in err
    assert "mat-khau-bi-mat" not in err


async def test_a_lapsed_home_lease_of_a_room_open_here_is_claimed_again(redis):
    """Redis out longer than a lease (or restarted empty): the room's home takes it back."""
    client, prefix = redis
    node = ClusterNode(
        client,
        prefix,
        KEY,
        "node-a",
        "http://127.0.0.1:8080",
        lambda: Counts(sites=0, packets_total=0, rooms=0),
        lambda: {"room-1", "room-2"},
    )
    assert await node.placement.home_elsewhere("room-1") is None
    assert await node.placement.home_elsewhere("room-2") is None
    # Both leases expired while Redis was out; another node took room-2 meanwhile.
    await client.delete(node.leases.lease_key("room-1"), node.leases.lease_key("room-2"))
    assert await HomeLeases(client, prefix, "node-b").claim("room-2") == "node-b"

    await node.renew_leases()
    assert await node.leases.holder("room-1") == "node-a"
    assert "room-1" in node.placement.held
    assert await node.leases.holder("room-2") == "node-b"  # never taken from a live holder
    assert "room-2" not in node.placement.held
