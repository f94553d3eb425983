"""Where a meeting lives among test nodes: its home lease, its rooms open, its settled home."""

from __future__ import annotations

import asyncio

from tests.support.outside import metric
from tests.support.redis_keys import lease_holder as holder_of
from tests.support.server import ServerProcess
from tests.support.waiting import eventually


def lease_holder(env: dict[str, str], room: str) -> str | None:
    """Who holds ``room``'s home lease, read straight from Redis."""
    return holder_of(env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "home", room)


async def rooms_open(node: ServerProcess) -> float:
    """The rooms open at ``node`` (its ``/metrics`` gauge)."""
    return await asyncio.to_thread(metric, node, "conference_rooms")


async def meeting_home(
    env: dict[str, str], nodes: dict[str, ServerProcess], meeting: str
) -> tuple[str, str]:
    """The id of the node a scheduler made the due meeting's home, once its room is
    open there (no site came yet), and the other's. A meeting's room has its id."""

    async def settled() -> str | None:
        holder = await asyncio.to_thread(lease_holder, env, meeting)
        return holder if holder in nodes and await rooms_open(nodes[holder]) == 1 else None

    home: str = await eventually(settled)
    return home, next(name for name in nodes if name != home)
