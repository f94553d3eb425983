"""Camera feeds leased to one node each: ``P feed:ID`` = the id of the node reading it.

With several nodes on one Redis store every node sees every registered feed;
a node runs a feed's worker only while it holds that feed's lease, so each
camera is read once and each pass stored once. The lease is the cluster's
primitive (:class:`conference.cluster.leases.Leases`); the feed manager
renews it every sync pass (anpr_feed/manager.py), and a node that dies stops
renewing: its feeds are claimable once their leases expire.

A node claims only up to its fair share, ``ceil(feeds / live nodes)`` with the
live nodes from the registry, so that nodes split the feeds instead of the
first one taking all.
"""

from __future__ import annotations

from redis.asyncio import Redis

from conference.cluster.leases import Leases
from conference.cluster.registry import NodeRegistry

# Three sync passes (SYNC_SECONDS, 5 s) fit in one lease: one slow pass does not
# lose it, and a dead node's feeds move within about 20 s.
FEED_LEASE_TTL_MS = 15_000


class FeedLeases:
    """This node's side of the feed leases, and the count of live nodes to share them with."""

    def __init__(self, redis: Redis, prefix: str, node_id: str, registry: NodeRegistry) -> None:
        self.node_id = node_id
        self.leases = Leases(redis, prefix, "feed", node_id, FEED_LEASE_TTL_MS)
        self.registry = registry
        self.ttl = FEED_LEASE_TTL_MS / 1000  # seconds a lease lasts unrenewed

    async def claim(self, feed_id: str) -> bool:
        """Take ``feed_id``'s lease if nobody holds it (or we do); True if it is ours now."""
        return await self.leases.claim(feed_id) == self.node_id

    async def renew(self, feed_id: str) -> bool:
        """Extend our lease; False if another node holds it now (ours had expired)."""
        return await self.leases.renew(feed_id)

    async def release(self, feed_id: str) -> None:
        """Give our lease up, so another node takes the feed at once."""
        await self.leases.release(feed_id)

    async def holder(self, feed_id: str) -> str | None:
        """The node reading ``feed_id`` now, or None."""
        return await self.leases.holder(feed_id)

    async def live_nodes(self) -> int:
        """How many nodes share the feeds: the live, trusted records, this node included."""
        listing = await self.registry.listing()
        return len({record.id for record in listing.nodes} | {self.node_id})
