"""Which node a new meeting's home should be: by the convening unit, else by load.

Configured with ``CONFERENCE_PLACEMENT`` (``UNIT=NODE`` pairs, e.g.
``19=tinh-tn,06=tinh-bk``: a meeting convened by unit 19 or any unit below it
lives on node ``tinh-tn``) and ``CONFERENCE_PLACEMENT_FALLBACK`` (``here``: the
node the meeting's first site reached, as without rules; ``load``: the live
node with the fewest sites). The nearest listed unit wins: a district listed
itself goes to its own node, its communes with it, the rest of its province
to the province's node. A listed node that is not live (dead, or not trusted)
is passed over, as if its unit were not listed.

Only a free lease is placed: a meeting that has a live home stays there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from conference.cluster.advertise import check_node_id
from conference.cluster.records import NodeRecord
from conference.store import MeetingNotFound, NotFound, Store

Fallback = Literal["here", "load"]
FALLBACKS: tuple[Fallback, ...] = ("here", "load")
UNIT_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MAX_RULES = 10_000  # a unit per node of a national cluster is far fewer


@dataclass(frozen=True)
class PlacementRules:
    """Unit code -> node id, and what decides for a meeting no listed unit covers."""

    units: dict[str, str] = field(default_factory=dict)
    fallback: Fallback = "here"

    @property
    def active(self) -> bool:
        """Whether placing differs from "the node the first site reached"."""
        return bool(self.units) or self.fallback != "here"

    @classmethod
    def parse(cls, text: str | None, fallback: str = "here") -> PlacementRules:
        """Rules from ``UNIT=NODE[,UNIT=NODE...]``; ValueError naming the bad part."""
        if fallback not in FALLBACKS:
            raise ValueError(f"placement fallback must be one of {', '.join(FALLBACKS)}")
        units: dict[str, str] = {}
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            unit, sep, node = (s.strip() for s in part.partition("="))
            if not sep or not UNIT_CODE.match(unit):
                raise ValueError(f"placement rule {part[:80]!r} is not UNIT=NODE")
            try:
                node = check_node_id(node)
            except ValueError as exc:
                raise ValueError(f"placement rule {part[:80]!r}: {exc}") from None
            if units.get(unit, node) != node:
                raise ValueError(f"placement: unit {unit} is given two nodes")
            units[unit] = node
            if len(units) > MAX_RULES:
                raise ValueError(f"placement: more than {MAX_RULES} rules")
        return cls(units, fallback)

    def choose(
        self,
        chain: Iterable[str],
        live: Iterable[NodeRecord],
        here: str,
        here_machine: str | None = None,
    ) -> str:
        """The node for a meeting whose convening unit and its ancestors are ``chain``
        (nearest first), among the ``live`` nodes; ``here`` is this node (always live),
        a worker of machine ``here_machine`` if it is one (``serve --workers N``)."""
        alive = {node.id: node for node in live}
        for code in chain:
            name = self.units.get(code)
            if name is None:
                continue
            if name in (here, here_machine):
                return here
            named = [node for node in alive.values() if node.answers_to(name)]
            if named:
                return least_loaded(named).id
        if self.fallback == "load" and alive:
            return least_loaded(alive.values()).id
        return here


def least_loaded(nodes: Iterable[NodeRecord]) -> NodeRecord:
    """Fewest sites, then fewest rooms, then least CPU; the id breaks ties, so nodes that
    see the same records agree."""
    return min(nodes, key=lambda n: (n.load.sites, n.load.rooms, n.load.cpu_percent, n.id))


async def convening_units(store: Store, room_id: str) -> list[str]:
    """The unit that convened ``room_id``'s meeting and the units above it, nearest first;
    empty for a room that is not a meeting's (made with ``conference room create``)."""
    try:
        meeting = await store.get_meeting(room_id)  # a meeting's room has its id
    except MeetingNotFound:
        return []
    if meeting.room_id != room_id:
        return []
    try:
        site = await store.get_site(meeting.host_site)
        above = await store.ancestors(site.unit_code)
    except NotFound:
        return []
    return [site.unit_code, *(unit.code for unit in reversed(above))]


async def site_units(store: Store, site_id: str) -> list[str]:
    """A site's unit and the units above it, nearest first; empty for a name that is
    not a site of the store (a guest of an ad-hoc room)."""
    try:
        site = await store.get_site(site_id)
        above = await store.ancestors(site.unit_code)
    except NotFound:
        return []
    return [site.unit_code, *(unit.code for unit in reversed(above))]
