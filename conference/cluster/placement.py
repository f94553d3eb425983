"""Where a meeting lives: this node, or another live node that holds its home lease.

Asked when a site arrives (join page, signaling socket, WHIP, WHEP), after its
token was verified, so that nobody can make a node claim rooms without a
valid link, and by a node's scheduler for a due meeting that has no live home
(:mod:`conference.cluster.homes`). If the room has no home, or its home is not a live trusted node,
the home is chosen: this node, or with placement rules
(:mod:`conference.cluster.placement_rules`) the node of the convening unit or
the least loaded one, for which this node claims the lease before sending the
site there (so two nodes asked at once never send one meeting two ways). A
Redis outage never keeps a site out: the node then serves the room itself
(logged once), as a single node would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from conference.cluster.leases import HomeLeases
from conference.cluster.placement_rules import PlacementRules, least_loaded
from conference.cluster.records import NodeRecord
from conference.cluster.registry import NodeRegistry

logger = logging.getLogger(__name__)


class Placement:
    """Decides a room's home and remembers the leases this node holds."""

    def __init__(
        self,
        node_id: str,
        registry: NodeRegistry,
        leases: HomeLeases,
        rules: PlacementRules | None = None,
        units: Callable[[str], Awaitable[list[str]]] | None = None,
        live: Callable[[], list[NodeRecord]] | None = None,
        site_units: Callable[[str], Awaitable[list[str]]] | None = None,
        machine: str | None = None,
    ) -> None:
        self.node_id = node_id
        # The machine this node is a worker of (``serve --workers N``), or None: a rule
        # naming the machine means this node too.
        self.machine = machine
        self.registry = registry
        self.leases = leases
        self.rules = rules or PlacementRules()
        # A room's convening unit and the units above it, nearest first (only asked
        # when a free lease is placed by unit).
        self._units = units
        # The live nodes as of the last heartbeat (for placing by load).
        self._live = live or (lambda: [])
        # A site's unit and the units above it, nearest first (sites follow their unit's
        # node when meetings spread, see site_node).
        self._site_units = site_units
        self.held: dict[str, float] = {}  # room id -> when this node last claimed it (monotonic)
        # Rooms whose sites this node serves while another node is the home (the cascade).
        self.carried: set[str] = set()
        self.redirects_total = 0
        self.placed_elsewhere_total = 0  # free leases claimed for another node by the rules
        self._outage_logged = False

    async def _target(self, room_id: str, dead: str | None = None) -> str | None:
        """The node a room without a (live) home should go to, or None for this node."""
        if not self.rules.active:
            return None
        chain: list[str] = []
        if self._units is not None and self.rules.units:
            try:
                chain = await self._units(room_id)
            except RedisError:
                raise  # the store is out: the caller serves the room here
            except Exception:
                # A rule lookup must never keep a site out: place as if no unit matched.
                logger.exception("room %s: convening unit unknown; placing by fallback", room_id)
        live = {node.id: node for node in self._live() if node.id != dead}
        for code in chain:
            # The listing is up to a heartbeat old: a listed node it does not show yet
            # (just started) is looked up.
            listed = self.rules.units.get(code)
            if listed in (self.node_id, self.machine):
                break  # this node (or its machine): choose() stays here
            if (
                listed is not None
                and listed != dead
                and not any(node.answers_to(listed) for node in live.values())
            ):
                record = await self.registry.node(listed)
                if record is not None:
                    live[listed] = record
        target = self.rules.choose(chain, live.values(), self.node_id, self.machine)
        return None if target == self.node_id else target

    async def _claim(self, room_id: str, dead: str | None = None) -> str:
        """Claim the room's lease (from ``dead``, if named) for the node it should go to."""
        if self.rules.active and dead is None:
            holder = await self.leases.holder(room_id)
            if holder is not None:
                return await self.leases.claim(room_id)  # extends it if ours, else names it
        target = await self._target(room_id, dead)
        holder = await self.leases.claim(room_id, dead_holder=dead, for_node=target)
        if target is not None and holder == target:
            self.placed_elsewhere_total += 1
            logger.info("room %s: placed at node %s", room_id, target)
        return holder

    async def site_node(self, site_id: str) -> NodeRecord | None:
        """The live node another than this one that a site's unit is listed for, if any.

        With meetings spread over nodes (the cascade), a site goes to the node its
        unit, or the nearest unit above it, is listed for (``CONFERENCE_PLACEMENT``),
        whichever node the meeting's home is on: a commune's video crosses to its
        province's node, and from there once to the others. A listed node that is
        not live is passed over. No listed unit: None (the site stays where it
        came). The load fallback places homes only: a site placed by load could be
        sent on again by the next node that sees other loads.
        """
        if not self.rules.units or self._site_units is None:
            return None
        try:
            chain = await self._site_units(site_id)
        except RedisError:
            return None  # the store is out: the site stays here
        live = {node.id: node for node in self._live()}
        for code in chain:
            listed = self.rules.units.get(code)
            if listed is None:
                continue
            if listed in (self.node_id, self.machine):
                return None
            # A machine's name means its workers: the least loaded of them.
            named = [node for node in live.values() if node.answers_to(listed)]
            record = least_loaded(named) if named else await self.registry.node(listed)
            if record is not None:
                return record
        return None

    def is_home(self, room_id: str) -> bool:
        """Whether this node's copy of the room decides: it holds the lease, or carries nothing."""
        return room_id in self.held or room_id not in self.carried

    async def home_elsewhere(self, room_id: str) -> str | None:
        """The advertise URL of ``room_id``'s home if it is another live node; else None.

        None means this node is the home now (it claimed the lease, or Redis
        cannot be reached and it serves the room itself).
        """
        try:
            home = await self.claim_home(room_id)
        except RedisError as exc:
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "cluster: Redis unreachable (%s); serving rooms here", type(exc).__name__
                )
            return None
        self._outage_logged = False
        if isinstance(home, NodeRecord):
            self.redirects_total += 1
            return home.advertise
        if home != self.node_id:
            logger.warning("room %s: lease held by %r, not live; serving here", room_id, home)
        return None

    async def claim_home(self, room_id: str) -> NodeRecord | str:
        """Settle ``room_id``'s home as a site's arrival does (RedisError if Redis is out).

        The home's record if it is another live node; this node's id if this
        node holds the lease now (noted in :attr:`held`, so it is renewed);
        else the id of a holder that is neither (not live, and another node
        took it over from it first without being live either).
        """
        holder = await self._claim(room_id)
        if holder != self.node_id:
            home = await self.registry.node(holder)
            if home is not None and home.id != self.node_id:
                return home
            # The holder is gone (expired record, or one we do not trust): take over.
            holder = await self._claim(room_id, dead=holder)
            if holder != self.node_id:
                # Another node took it over first: go there if it is live.
                home = await self.registry.node(holder)
                return home if home is not None else holder
        self.held[room_id] = time.monotonic()
        return holder
