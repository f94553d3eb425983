"""The homes of due meetings, for a cluster node's scheduler: only the home opens a room.

Every node's scheduler sees every meeting. Each pass reads the home leases
of the due ones in one ``MGET``: a room whose lease is this node's lives
here, one whose lease a live node holds lives there. A room with no home (its
start is near and no site came yet, or its home died and the lease lapsed or
its record expired) is settled as a site's arrival would settle it
(:meth:`Placement.claim_home`: placement rules and their fallback, taking over
from a dead holder), so a meeting's room is open before its sites come, on
its home only, and a surviving node takes a dead home's meetings over by
itself, with their saved roll calls (:class:`~conference.live_rooms.LiveRooms`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from conference.cluster.placement import Placement
from conference.cluster.records import NodeRecord
from conference.homes import Home

logger = logging.getLogger(__name__)

# Rooms without a home that one node settles in one pass (every 2 s). Meetings
# that come due together then spread over the nodes, each node's pass taking
# one, and placement by load sees the rooms placed before in its next heartbeat,
# instead of the first node to pass taking them all. Rooms open 15 minutes
# before their start, and a site arriving settles its room's home at once.
NEW_HOMES_PER_PASS = 1


class ClusterHomes:
    """Implements :class:`conference.homes.Homes` with the meetings' home leases."""

    def __init__(self, placement: Placement, live: Callable[[], list[NodeRecord]]) -> None:
        self.placement = placement
        self._live = live  # the live nodes as of the last heartbeat
        self._outage_logged = False

    async def settle(self, room_ids: Sequence[str]) -> dict[str, Home]:
        """Where each room lives; claims at most :data:`NEW_HOMES_PER_PASS` free homes.

        With Redis out of reach every room is unsettled: rooms open here stay
        open, none is opened (a site arriving is served here, as ever).
        """
        try:
            return await self._settle(room_ids)
        except RedisError as exc:
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "scheduler: meetings' homes unknown, Redis unreachable (%s)",
                    type(exc).__name__,
                )
            return dict.fromkeys(room_ids, Home.UNSETTLED)

    async def _settle(self, room_ids: Sequence[str]) -> dict[str, Home]:
        me = self.placement.node_id
        live = {node.id for node in self._live()}
        holders = await self.placement.leases.holders(room_ids)
        self._outage_logged = False
        homes: dict[str, Home] = {}
        budget = NEW_HOMES_PER_PASS
        for room_id, holder in zip(room_ids, holders, strict=True):
            if holder == me:
                # Ours (a site's claim here, or placement by another node): renewed
                # while the room is open here.
                self.placement.held.setdefault(room_id, time.monotonic())
                homes[room_id] = Home.HERE
            elif holder is not None and holder in live:
                homes[room_id] = Home.ELSEWHERE
            elif room_id in self.placement.held:
                # Ours until the lease loop learns otherwise: it claims a lapsed lease
                # back for this node, where the room is open, never placing it anew.
                homes[room_id] = Home.HERE
            elif budget > 0:
                # Free, or held by a node missing from the last listing (dead, or
                # just started): settled as a site's arrival would.
                budget -= 1
                home = await self.placement.claim_home(room_id)
                if isinstance(home, NodeRecord):
                    homes[room_id] = Home.ELSEWHERE
                else:
                    homes[room_id] = Home.HERE if home == me else Home.UNSETTLED
            else:
                homes[room_id] = Home.UNSETTLED
        return homes
