"""The several-node engine: every aggregate's Redis half over one connection pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conference.store.redis.accounts import RedisAccounts
from conference.store.redis.attempts import RedisAttempts
from conference.store.redis.attendance import RedisAttendance
from conference.store.redis.chat import RedisChat
from conference.store.redis.documents import RedisDocuments
from conference.store.redis.engine import RedisEngine
from conference.store.redis.feeds import RedisFeeds
from conference.store.redis.grants import RedisGrants
from conference.store.redis.meeting_alerts import RedisMeetingAlerts
from conference.store.redis.meetings import RedisMeetings
from conference.store.redis.meta import RedisMeta
from conference.store.redis.room_feeds import RedisRoomFeeds
from conference.store.redis.rooms import RedisRooms
from conference.store.redis.speaking import RedisSpeaking
from conference.store.redis.units import RedisUnits
from conference.store.redis.votes import RedisVotes

if TYPE_CHECKING:
    from conference.store.base import Store


class RedisStore(
    RedisRooms,
    RedisUnits,
    RedisAccounts,
    RedisAttempts,
    RedisMeetings,
    RedisGrants,
    RedisAttendance,
    RedisDocuments,
    RedisChat,
    RedisVotes,
    RedisSpeaking,
    RedisMeetingAlerts,
    RedisFeeds,
    RedisRoomFeeds,
    RedisMeta,
):
    """:class:`conference.store.Store` in a Redis database, shared by several nodes.

    ``url`` is a redis-py URL (``redis://host:6379/0``, ``rediss://`` for TLS);
    every key starts with ``prefix`` so that several deployments (or test
    runs) can share one database. ``engine`` is the connection pool; other
    stores of the same database (the plate events of
    :mod:`anpr_feed.events_store`) use it too.
    """

    def __init__(self, url: str, prefix: str = "conference:") -> None:
        super().__init__(RedisEngine(url, prefix))

    async def close(self) -> None:
        """Close the connection pool."""
        await self.engine.close()


if TYPE_CHECKING:

    def _conforms(store: RedisStore) -> Store:
        """Makes mypy check that RedisStore has every method of the protocol."""
        return store
