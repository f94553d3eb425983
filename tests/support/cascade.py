"""Nodes of one cluster that spread meetings (``CONFERENCE_CASCADE=spread``), and a meeting on them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.homes import meeting_home
from tests.support.meetings import open_meeting
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ServerProcess, start_server

UNITS = ["05536", "05539", "05542"]


@dataclass
class SpreadCluster:
    """Starts pairs of nodes on one Redis key prefix; :meth:`stop` ends them and the keys."""

    root: Path
    redis_url: str
    prefix: str = field(default_factory=unique_prefix)
    started: list[ServerProcess] = field(default_factory=list)

    def start(self, extra: dict[str, str] | None = None) -> dict[str, ServerProcess]:
        """``node-a`` and ``node-b``, with ``extra`` settings beside the cluster's."""
        env = {
            "CONFERENCE_REDIS_URL": self.redis_url,
            "CONFERENCE_REDIS_PREFIX": self.prefix,
            "CONFERENCE_CASCADE": "spread",
            **(extra or {}),
        }
        nodes = {
            name: start_server(self.root / name, "--node-id", name, env=env)
            for name in ("node-a", "node-b")
        }
        self.started.extend(nodes.values())
        return nodes

    def stop(self) -> None:
        """Stop every node started, then delete the cluster's keys."""
        for node in self.started:
            node.stop()
        asyncio.run(delete_prefixed(self.redis_url, self.prefix))


@dataclass
class SpreadMeeting:
    """A meeting of :data:`UNITS` starting now, its join tokens, and where it lives."""

    id: str
    tokens: dict[str, str]
    env: dict[str, str]  # the cluster's Redis URL and prefix
    home: ServerProcess
    carrier: ServerProcess
    home_id: str
    carrier_id: str


async def spread_meeting(nodes: dict[str, ServerProcess]) -> SpreadMeeting:
    """Định Hóa's host opens a meeting at node-a; once a scheduler settled its home, which
    node is the home and which the other (the carrier of sites that come there)."""
    host, meeting, tokens = await open_meeting(nodes["node-a"], UNITS)
    await host.close()
    env = {k: nodes["node-a"].env[k] for k in ("CONFERENCE_REDIS_URL", "CONFERENCE_REDIS_PREFIX")}
    home_id, carrier_id = await meeting_home(env, nodes, meeting)
    return SpreadMeeting(
        meeting, tokens, env, nodes[home_id], nodes[carrier_id], home_id, carrier_id
    )
