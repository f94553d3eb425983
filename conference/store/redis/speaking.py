"""Meetings' speaking intervals in the Redis engine: ``P speaking:<meeting id>``, a list of JSON.

A batch is one RPUSH per meeting in one pipeline; the list is sorted when
read (a meeting has a few hundred to a few thousand intervals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from conference.store.flat_records import record_from_json, record_json
from conference.store.redis.engine import RedisAggregate, text
from conference.store.speaking import (
    SpeakingInterval,
    in_order,
)


class RedisSpeaking(RedisAggregate):
    """:class:`~conference.store.speaking.SpeakingStore` on Redis."""

    def _speaking_key(self, meeting_id: str) -> str:
        return f"{self.prefix}speaking:{meeting_id}"

    async def add_speaking(self, intervals: Sequence[SpeakingInterval]) -> None:
        """Append the batch to each meeting's list."""
        by_meeting: dict[str, list[str]] = defaultdict(list)
        for interval in intervals:
            by_meeting[interval.meeting_id].append(record_json(interval))
        if not by_meeting:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for meeting_id, items in by_meeting.items():
                pipe.rpush(self._speaking_key(meeting_id), *items)
            await pipe.execute()

    async def meeting_speaking(self, meeting_id: str) -> list[SpeakingInterval]:
        """The whole list, by start."""
        items = await self._redis.lrange(self._speaking_key(meeting_id), 0, -1)
        return in_order([record_from_json(SpeakingInterval, text(item)) for item in items])
