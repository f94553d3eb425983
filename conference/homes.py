"""Where a due meeting's room lives: in this process, at another node, or not settled yet.

The scheduler asks before it opens a meeting's room. A process alone (no
Redis) is every room's home (:class:`AllHere`); a cluster node answers from
the meetings' home leases (:mod:`conference.cluster.homes`), so that only a
meeting's home opens its room, and copies elsewhere are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol


class Home(Enum):
    """Where one room lives, as far as this process knows."""

    HERE = "here"  # this process is the room's home: it opens it
    ELSEWHERE = "elsewhere"  # another live node is: a copy here is dropped
    UNSETTLED = "unsettled"  # nobody yet, or unknown (Redis out): left as it is


class Homes(Protocol):
    """Settles the homes of the rooms of meetings that are due (open or about to)."""

    async def settle(self, room_ids: Sequence[str]) -> dict[str, Home]:
        """Where each of ``room_ids`` lives; may make this or another node a room's home."""
        ...


class AllHere:
    """One process alone: every meeting's room lives here."""

    async def settle(self, room_ids: Sequence[str]) -> dict[str, Home]:
        """Every room lives here."""
        return dict.fromkeys(room_ids, Home.HERE)
