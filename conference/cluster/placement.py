"""Where a meeting lives: this node, or another live node that holds its home lease.

Asked when a site arrives (join page, signaling socket, WHIP, WHEP), after its
token was verified, so that nobody can make a node claim rooms without a
valid link. If the room has no home, or its home is not a live trusted node,
this node claims it. A Redis outage never keeps a site out: the node then
serves the room itself (logged once), as a single node would.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from conference.cluster.leases import HomeLeases
from conference.cluster.registry import NodeRegistry

logger = logging.getLogger(__name__)


class Placement:
    """Decides a room's home and remembers the leases this node holds."""

    def __init__(self, node_id: str, registry: NodeRegistry, leases: HomeLeases) -> None:
        self.node_id = node_id
        self.registry = registry
        self.leases = leases
        self.held: dict[str, float] = {}  # room id -> when this node last claimed it (monotonic)
        self.redirects_total = 0
        self._outage_logged = False

    async def home_elsewhere(self, room_id: str) -> str | None:
        """The advertise URL of ``room_id``'s home if it is another live node; else None.

        None means this node is the home now (it claimed the lease, or Redis
        cannot be reached and it serves the room itself).
        """
        try:
            holder = await self.leases.claim(room_id)
            if holder != self.node_id:
                home = await self.registry.node(holder)
                if home is not None and home.id != self.node_id:
                    self.redirects_total += 1
                    return home.advertise
                # The holder is gone (expired record, or one we do not trust): take over.
                holder = await self.leases.claim(room_id, dead_holder=holder)
                if holder != self.node_id:
                    # Another node took it over first: go there if it is live.
                    home = await self.registry.node(holder)
                    if home is not None:
                        self.redirects_total += 1
                        return home.advertise
                    logger.warning(
                        "room %s: lease held by %r, not live; serving here", room_id, holder
                    )
                    return None
        except RedisError as exc:
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "cluster: Redis unreachable (%s); serving rooms here", type(exc).__name__
                )
            return None
        self._outage_logged = False
        self.held[room_id] = time.monotonic()
        return None
