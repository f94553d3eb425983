"""The homes of due meetings as a cluster node's scheduler settles them, on a real Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from conference.cluster.homes import NEW_HOMES_PER_PASS, ClusterHomes
from conference.cluster.leases import HomeLeases
from conference.cluster.placement import Placement
from conference.cluster.placement_rules import PlacementRules
from conference.cluster.records import NodeRecord
from conference.cluster.registry import NodeRegistry, open_redis
from conference.homes import AllHere, Home
from tests.support.node_records import KEY, record

HERE, ELSEWHERE, UNSETTLED = Home.HERE, Home.ELSEWHERE, Home.UNSETTLED


@dataclass
class Node:
    """One node's scheduler side, and the live nodes as its last heartbeat read them."""

    homes: ClusterHomes
    listed: list[NodeRecord]

    @property
    def placement(self) -> Placement:
        return self.homes.placement

    async def settle(self, rooms: list[str]) -> dict[str, Home]:
        return await self.homes.settle(rooms)


async def a_node(
    client: Redis, prefix: str, node_id: str, rules: PlacementRules | None = None
) -> Node:
    """A node with its record published."""
    registry = NodeRegistry(client, prefix, KEY)
    await registry.publish(record(node_id, f"http://{node_id}:8080"))
    listed: list[NodeRecord] = []

    async def units(room_id: str) -> list[str]:
        return ["167", "19"]  # every room here is convened by Định Hóa, in province 19

    placement = Placement(
        node_id, registry, HomeLeases(client, prefix, node_id), rules, units, lambda: listed
    )
    return Node(ClusterHomes(placement, lambda: listed), listed)


async def heartbeat(*nodes: Node) -> None:
    """What each node's heartbeat does for the scheduler: read the live nodes."""
    for node in nodes:
        node.listed[:] = (await node.placement.registry.listing()).nodes


async def holder(client: Redis, prefix: str, room: str) -> str | None:
    return await HomeLeases(client, prefix, "reader").holder(room)


async def test_each_pass_settles_one_free_home_and_follows_the_others(redis):
    client, prefix = redis
    assert NEW_HOMES_PER_PASS == 1
    a = await a_node(client, prefix, "node-a")
    b = await a_node(client, prefix, "node-b")
    await heartbeat(a, b)
    rooms = ["r1", "r2", "r3"]

    assert await a.settle(rooms) == {"r1": HERE, "r2": UNSETTLED, "r3": UNSETTLED}
    assert await holder(client, prefix, "r1") == "node-a"
    assert "r1" in a.placement.held  # renewed while the room is open at a
    # b's pass: r1 lives at a; b takes the next free one.
    assert await b.settle(rooms) == {"r1": ELSEWHERE, "r2": HERE, "r3": UNSETTLED}
    assert await a.settle(rooms) == {"r1": HERE, "r2": ELSEWHERE, "r3": HERE}
    assert await b.settle(rooms) == {"r1": ELSEWHERE, "r2": HERE, "r3": ELSEWHERE}
    assert set(a.placement.held) == {"r1", "r3"} and set(b.placement.held) == {"r2"}
    # Following homes costs no claim: nobody was placed elsewhere or redirected.
    assert a.placement.redirects_total == b.placement.redirects_total == 0


async def test_a_dead_homes_meetings_are_taken_over(redis):
    client, prefix = redis
    a = await a_node(client, prefix, "node-a")
    b = await a_node(client, prefix, "node-b")
    await heartbeat(a, b)
    assert await a.settle(["r1"]) == {"r1": HERE}
    # Its lease lapses (Redis lost it): the room stays a's, for its lease loop to claim
    # back; no placement anew, no budget spent.
    await client.delete(a.placement.leases.lease_key("r1"))
    assert await a.settle(["r1", "r9"]) == {"r1": HERE, "r9": HERE}
    assert await a.placement.leases.claim("r1") == "node-a"  # what the lease loop does
    # a is killed: its record expires (removed here), its lease has seconds to live.
    await a.placement.registry.remove("node-a")
    await heartbeat(b)
    assert await b.settle(["r1"]) == {"r1": HERE}
    assert await holder(client, prefix, "r1") == "node-b"
    # A holder the last listing does not show yet, but live (just started): followed.
    c = await a_node(client, prefix, "node-c")
    assert await c.settle(["r2"]) == {"r2": HERE}
    assert await b.settle(["r2"]) == {"r2": ELSEWHERE}
    assert await holder(client, prefix, "r2") == "node-c"


async def test_placement_rules_place_a_scheduled_meeting_at_its_units_node(redis):
    client, prefix = redis
    rules = PlacementRules.parse("19=node-b")
    a = await a_node(client, prefix, "node-a", rules)
    b = await a_node(client, prefix, "node-b", rules)
    await heartbeat(a, b)
    assert await a.settle(["r1"]) == {"r1": ELSEWHERE}  # claimed for b, not opened at a
    assert await holder(client, prefix, "r1") == "node-b"
    assert a.placement.placed_elsewhere_total == 1 and "r1" not in a.placement.held
    assert await b.settle(["r1"]) == {"r1": HERE}  # b finds the lease its own
    assert "r1" in b.placement.held


async def test_with_redis_out_of_reach_nothing_is_settled():
    client = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        registry = NodeRegistry(client, "p:", KEY)
        placement = Placement("node-a", registry, HomeLeases(client, "p:", "node-a"))
        homes = ClusterHomes(placement, lambda: [])
        assert await homes.settle(["r1", "r2"]) == {"r1": UNSETTLED, "r2": UNSETTLED}
        assert placement.held == {}
    finally:
        await client.aclose(close_connection_pool=True)


async def test_alone_every_room_lives_here():
    assert await AllHere().settle(["r1", "r2"]) == {"r1": HERE, "r2": HERE}
