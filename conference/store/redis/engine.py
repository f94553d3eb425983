"""The Redis connection pool, the key prefix, and what every aggregate's half uses.

Records are JSON documents (UTF-8, not ASCII-escaped, so that ``redis-cli``
shows Vietnamese names as they are). Several-key changes either run in one
Lua script (small, conditional writes) or as WATCH / read / MULTI ... EXEC,
retried when a watched key changed in between (see :meth:`RedisEngine.transaction`).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from conference.redis_client import fast_failing
from conference.store.errors import NotFound, StoreError

T = TypeVar("T")

# What redis-py's types say a reply is; with decode_responses=True it is str.
Raw = str | bytes

# A WATCHed transaction that keeps losing to other writers gives up after this
# many tries; in practice the second try sees the winner's write and decides.
_MAX_ATTEMPTS = 50

# Fields per HSET/HMGET and commands per read pipeline: large enough that the
# national import is a handful of round trips, small enough that no single
# command holds the server (which serves every node) for long.
CHUNK = 1000


class RedisEngine:
    """One Redis database shared by several nodes; every key starts with ``prefix``.

    ``url`` is a redis-py URL (``redis://host:6379/0``, ``rediss://`` for TLS).
    """

    def __init__(self, url: str, prefix: str = "conference:") -> None:
        self.prefix = prefix
        # Not connected yet (the store can be built outside the event loop, see
        # open_store); a call while Redis is out fails within seconds.
        self.redis: Redis = fast_failing(url, decode_responses=True)
        # Bytes as they are (a document's chunks): replies not decoded as text.
        self.raw: Redis = fast_failing(url)
        self.meta = self.key("meta")

    def key(self, name: str) -> str:
        """The full name of a key (or of a key family's ``name:`` part)."""
        return self.prefix + name

    async def transaction(self, body: Callable[[Pipeline], Awaitable[T]]) -> T:
        """Run ``body`` (WATCH, reads, MULTI, queued writes, EXEC) until it commits.

        ``body`` WATCHes every key its decision depends on before reading it;
        EXEC then fails with :class:`WatchError` if any of them changed, and
        the whole decision is taken again on fresh data. Reads may go through
        other connections (batched in a pipeline): what counts is that they
        happen after the WATCH.
        """
        for attempt in range(_MAX_ATTEMPTS):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    return await body(pipe)
                except WatchError:
                    pass
            # Jitter, so that writers that lost together do not collide again.
            await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
        raise StoreError("the store is busy with concurrent changes of the same records; try again")

    async def hmget(self, key: str, fields: Sequence[str]) -> list[str | None]:
        """HMGET in chunks, sent together in one pipeline."""
        if not fields:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for chunk in chunks(fields):
                pipe.hmget(key, chunk)
            results = await pipe.execute()
        return [value for result in results for value in result]

    async def hdel_or_missing(self, key: str, field: str, missing: str) -> None:
        """Remove a hash field; :class:`NotFound` (``missing``) if it was not there."""
        if not await self.redis.hdel(key, field):
            raise NotFound(missing)

    async def close(self) -> None:
        """Close the connection pools."""
        await self.redis.aclose(close_connection_pool=True)
        await self.raw.aclose(close_connection_pool=True)


class RedisAggregate:
    """One aggregate's half of the Redis engine; the halves of one store share an engine.

    Each half names its keys in its own ``__init__`` (which calls this one):
    they are cooperative, so one store object can be every half at once.
    """

    def __init__(self, engine: RedisEngine) -> None:
        self.engine = engine
        self.prefix = engine.prefix
        self._redis = engine.redis


def text(value: object) -> str:
    """A member or list item as text (its static type also covers WITHSCORES replies)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected Redis reply item {value!r}")


def dump(record: dict[str, Any]) -> str:
    """A record as compact JSON, Vietnamese as it is."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """``items`` a :data:`CHUNK` at a time."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def above(score: float) -> str:
    """A score range bound that excludes ``score`` (Redis reads Python's repr exactly)."""
    return f"({float(score)!r}"


below = above  # "(x" excludes x whichever side of the range it is on


def glob_escape(value: str) -> str:
    """``value`` matched literally in a SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in value)
