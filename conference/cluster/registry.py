"""The node registry in Redis: ``P node:ID`` keys, each a sealed record with a short TTL.

A node rewrites its record every heartbeat with the TTL renewed; a node that
stops (kill -9, a lost machine) vanishes when its key expires, a node that
shuts down cleanly deletes it. Readers trust only records that unseal
(:mod:`.records`); the others are counted and skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis

from conference.cluster.records import NodeRecord, RejectedRecord, seal, unseal
from conference.redis_client import fast_failing

logger = logging.getLogger(__name__)

RECORD_TTL_MS = 10_000  # a dead node is gone within this (about five missed heartbeats)
_SCAN_COUNT = 500


def open_redis(url: str) -> Redis:
    """A client for the cluster's own keys: short timeouts, so an outage fails fast."""
    # A heartbeat every 2 s: one that waits longer than that for Redis is late anyway.
    return fast_failing(url, command_timeout=2.0)


@dataclass
class NodeListing:
    """The nodes found in the registry: trusted ones, and ids of rejected records."""

    nodes: list[NodeRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class NodeRegistry:
    """Read and write node records under ``prefix``, sealed with the cluster ``key``."""

    def __init__(self, redis: Redis, prefix: str, key: bytes) -> None:
        self.redis = redis
        self.prefix = prefix
        self._key = key
        self.rejected_total = 0  # records that failed verification, for /metrics

    def record_key(self, node_id: str) -> str:
        """The Redis key of ``node_id``'s record."""
        return f"{self.prefix}node:{node_id}"

    async def publish(self, record: NodeRecord) -> None:
        """Write (or rewrite) this node's record, alive for :data:`RECORD_TTL_MS`."""
        await self.redis.set(self.record_key(record.id), seal(record, self._key), px=RECORD_TTL_MS)

    async def remove(self, node_id: str) -> None:
        """Delete ``node_id``'s record (clean shutdown)."""
        await self.redis.delete(self.record_key(node_id))

    async def node(self, node_id: str) -> NodeRecord | None:
        """``node_id``'s record if it is live and trusted, else None."""
        raw = await self.redis.get(self.record_key(node_id))
        if raw is None:
            return None
        return self._unseal(raw, node_id)

    async def listing(self) -> NodeListing:
        """Every node record under the prefix, sorted by id: trusted, and rejected ids."""
        start = self.record_key("")
        keys: list[bytes] = []
        async for key in self.redis.scan_iter(match=_glob_escape(start) + "*", count=_SCAN_COUNT):
            keys.append(key if isinstance(key, bytes) else str(key).encode())
        listing = NodeListing()
        if not keys:
            return listing
        values = await self.redis.mget(keys)
        for key, raw in sorted(zip(keys, values, strict=True)):
            if raw is None:
                continue  # expired between SCAN and MGET
            node_id = key.decode("utf-8", "replace")[len(start) :]
            record = self._unseal(raw, node_id)
            if record is None:
                listing.rejected.append(node_id)
            else:
                listing.nodes.append(record)
        return listing

    def _unseal(self, raw: bytes | str, node_id: str) -> NodeRecord | None:
        try:
            return unseal(raw, self._key, node_id)
        except RejectedRecord as exc:
            self.rejected_total += 1
            logger.debug("node record %r rejected: %s", node_id[:80], exc.reason)
            return None


def _glob_escape(value: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in value)
