"""Service state in the Redis engine: ``P meta``, a hash (schema markers too)."""

from __future__ import annotations

from conference.store.redis.engine import RedisAggregate, RedisEngine


class RedisMeta(RedisAggregate):
    """:class:`~conference.store.meta.MetaStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)

    async def get_meta(self, key: str) -> str | None:
        """A small piece of service state."""
        value = await self._redis.hget(self.engine.meta, key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small piece of service state."""
        await self._redis.hset(self.engine.meta, key, value)
