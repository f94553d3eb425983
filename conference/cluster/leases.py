"""Leases in Redis: ``P KIND:NAME`` = the holder's node id, with an expiry.

:class:`Leases` is the primitive: claim, renew, release, holder. Every change
is one small Lua script that compares the holder first, so a node never
extends, takes or deletes another live node's lease; taking over is only from
an expired lease, or from a holder the caller found dead, named explicitly.

Two kinds use it. A meeting's home (:class:`HomeLeases`, ``P home:ROOM``): the
holder renews it while the room is open in its process and deletes it when the
room closes. A camera feed's reader (``P feed:ID``, anpr_feed/leases.py): the
holder runs the feed's worker while it holds the lease.

The values are plain node ids, unsigned: anyone who can write to the Redis
database can move a lease, as they could any other key there.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

LEASE_TTL_MS = 15_000
RENEW_INTERVAL = 5.0  # seconds: three renewals fit in one lease

# KEYS[1] lease; ARGV: me, ttl ms, the dead holder we may replace ('' for none).
# Returns the holder after the call (me if we hold it now).
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return current
end
if ARGV[3] ~= '' and current == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases:
    """This node's side of the leases of one ``kind`` under ``prefix``."""

    def __init__(
        self, redis: Redis, prefix: str, kind: str, node_id: str, ttl_ms: int = LEASE_TTL_MS
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.kind = kind
        self.node_id = node_id
        self.ttl_ms = ttl_ms
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def lease_key(self, name: str) -> str:
        """The Redis key of ``name``'s lease."""
        return f"{self.prefix}{self.kind}:{name}"

    async def claim(
        self, name: str, dead_holder: str | None = None, for_node: str | None = None
    ) -> str:
        """Take ``name``'s lease if it is free, ours, or held by ``dead_holder``; the holder now.

        ``for_node`` takes it for another node instead (placement sends the site
        there): that node finds the lease its own when the site arrives, and renews
        it from then on; if the site never arrives the lease simply expires.
        """
        holder = await self._claim(
            keys=[self.lease_key(name)],
            args=[for_node or self.node_id, self.ttl_ms, dead_holder or ""],
        )
        return holder.decode("utf-8", "replace") if isinstance(holder, bytes) else str(holder)

    async def renew(self, name: str) -> bool:
        """Extend our lease; False if it is not ours (any more)."""
        return bool(
            await self._renew(keys=[self.lease_key(name)], args=[self.node_id, self.ttl_ms])
        )

    async def release(self, name: str) -> bool:
        """Delete our lease; False if it was not ours."""
        return bool(await self._release(keys=[self.lease_key(name)], args=[self.node_id]))

    async def holder(self, name: str) -> str | None:
        """Who holds ``name``'s lease now, or None."""
        return _text(await self.redis.get(self.lease_key(name)))

    async def holders(self, names: Sequence[str]) -> list[str | None]:
        """Who holds each of ``names``' leases now (None: nobody), in one round trip."""
        if not names:
            return []
        return [_text(raw) for raw in await self.redis.mget([self.lease_key(n) for n in names])]


class HomeLeases(Leases):
    """This node's side of the meetings' home leases under ``prefix`` (``P home:ROOM``)."""

    def __init__(self, redis: Redis, prefix: str, node_id: str, ttl_ms: int = LEASE_TTL_MS) -> None:
        super().__init__(redis, prefix, "home", node_id, ttl_ms)


def _text(raw: object) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
