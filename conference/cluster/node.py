"""This process as a cluster node: its record's heartbeat, and the home leases it holds.

Plugged into the conference as an extension by the composition root: it
heartbeats every :data:`HEARTBEAT_INTERVAL`, renews the leases of the rooms
open here, releases a room's lease when the room closes and everything at
shutdown. Redis errors are logged once per outage and retried on the next
tick; nothing here ever waits on Redis from inside media or room code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from conference.cluster.commands import CommandRelay
from conference.cluster.leases import RENEW_INTERVAL, HomeLeases
from conference.cluster.load import Counts, LoadSampler
from conference.cluster.placement import Placement
from conference.cluster.placement_rules import PlacementRules
from conference.cluster.records import NodeRecord
from conference.cluster.registry import NodeRegistry
from conference.extensions import Extension, PeriodicTask
from conference.rooms.room import Room
from conference.tasks import pause, spawn

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 2.0
# A lease claimed for a site that has not connected yet (the join page loads
# first) is kept this long without the room being open here.
CLAIM_GRACE = 30.0
SHUTDOWN_BUDGET = 1.0  # seconds for leaving the registry at shutdown


class ClusterNode(Extension):
    """One node's registration and leases (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        key: bytes,
        node_id: str,
        advertise: str,
        counts: Callable[[], Counts],
        open_rooms: Callable[[], set[str]],
        rules: PlacementRules | None = None,
        units: Callable[[str], Awaitable[list[str]]] | None = None,
        site_units: Callable[[str], Awaitable[list[str]]] | None = None,
        machine: str | None = None,
    ) -> None:
        self.redis = redis
        self.node_id = node_id
        self.machine = machine
        self.advertise = advertise
        self.registry = NodeRegistry(redis, prefix, key)
        self.leases = HomeLeases(redis, prefix, node_id)
        # The live, trusted nodes as of the last heartbeat (this one included).
        self.live: list[NodeRecord] = []
        self.placement = Placement(
            node_id,
            self.registry,
            self.leases,
            rules,
            units,
            lambda: self.live,
            site_units,
            machine,
        )
        self.load = LoadSampler(counts)
        self._open_rooms = open_rooms
        self.started_at = time.time()
        self.heartbeats_total = 0
        # The other live nodes' advertise URLs, refreshed with each heartbeat: a
        # page whose home node dies asks them where its meeting went.
        self.peers: list[str] = []
        # Told the new list when it changes (the signaling sockets resend `nodes`).
        self.peer_watchers: set[Callable[[list[str]], None]] = set()
        self.commands: CommandRelay | None = None  # set by the composition root
        self.redis_errors_total = 0  # heartbeats and renewals that failed on Redis
        self._down = False

    def periodic(self) -> dict[str, PeriodicTask]:
        """The heartbeat, the lease renewals, and serving other nodes' console commands."""
        tasks: dict[str, PeriodicTask] = {
            "cluster-heartbeat": self._heartbeats,
            "cluster-leases": self._renewals,
        }
        if self.commands is not None:
            tasks["cluster-commands"] = self.commands.serve
        return tasks

    async def heartbeat(self) -> None:
        """Write this node's record with its current load."""
        record = NodeRecord(
            id=self.node_id,
            advertise=self.advertise,
            started_at=self.started_at,
            heartbeat_at=time.time(),
            load=self.load.sample(),
            machine=self.machine,
        )
        await self.registry.publish(record)
        self.heartbeats_total += 1
        listing = await self.registry.listing()
        self.live = listing.nodes
        peers = [node.advertise for node in listing.nodes if node.id != self.node_id]
        if peers != self.peers:
            self.peers = peers
            for watcher in list(self.peer_watchers):
                try:
                    watcher(list(peers))
                except Exception:  # one broken watcher must not stop the heartbeat
                    logger.exception("a watcher of the node list failed")

    async def renew_leases(self) -> None:
        """Renew the leases of rooms open here (or just claimed); release the others."""
        open_here = self._open_rooms()
        now = time.monotonic()
        for room_id, claimed in list(self.placement.held.items()):
            if room_id in open_here or now - claimed < CLAIM_GRACE:
                if await self.leases.renew(room_id):
                    continue
                # Not ours any more. Expired with nobody taking it (Redis was out
                # longer than the lease, or restarted without its data): take it
                # back, the room is still open here.
                holder = await self.leases.claim(room_id)
                if holder == self.node_id:
                    logger.info("room %s: home lease claimed again after it lapsed", room_id)
                else:
                    logger.warning("room %s: lost its home lease to %s", room_id, holder)
                    self.placement.held.pop(room_id, None)
            else:
                self.placement.held.pop(room_id, None)
                await self.leases.release(room_id)

    async def _heartbeats(self) -> None:
        while True:
            await self._guarded("heartbeat", self.heartbeat)
            await pause(HEARTBEAT_INTERVAL)

    async def _renewals(self) -> None:
        while True:
            await pause(RENEW_INTERVAL)
            await self._guarded("lease renewal", self.renew_leases)

    async def _guarded(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step``; a Redis error is logged once per outage, and retried next tick."""
        try:
            await step()
        except RedisError as exc:
            self.redis_errors_total += 1
            if not self._down:
                self._down = True
                logger.warning("cluster: %s failed, Redis unreachable (%s); retrying", what, exc)
            return
        if self._down:
            self._down = False
            logger.info("cluster: Redis reachable again")

    async def room_closing(self, room: Room, reason: str) -> None:
        """The room closes here: its lease goes, so the next site may open it anywhere."""
        self.placement.carried.discard(room.id)
        if self.placement.held.pop(room.id, None) is not None:
            # In the background: a Redis outage must not hold up the room's closing.
            spawn(self._release(room.id), name=f"release-home-{room.id}")

    async def _release(self, room_id: str) -> None:
        with contextlib.suppress(RedisError):
            await self.leases.release(room_id)

    async def shutdown(self) -> None:
        """Leave the registry and give up every lease, so others take over at once.

        Bounded: with Redis down the record and leases simply expire, and the
        rest of the shutdown (ending every peer) must still fit its budget.
        """
        held, self.placement.held = list(self.placement.held), {}
        with contextlib.suppress(RedisError, asyncio.TimeoutError):
            await asyncio.wait_for(self._leave(held), SHUTDOWN_BUDGET)

    async def _leave(self, held: list[str]) -> None:
        await self.registry.remove(self.node_id)
        for room_id in held:
            await self.leases.release(room_id)

    async def close(self) -> None:
        """Close the cluster's Redis connections (after shutdown)."""
        await self.redis.aclose(close_connection_pool=True)
