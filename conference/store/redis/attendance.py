"""Saved roll calls in the Redis engine: ``P attendance``, a hash of meeting id -> record JSON.

Older versions kept each record in ``P meta`` under ``attendance:<meeting
id>``; a record found only there is moved on first read (the first save
drops it too), so no node ever needs to convert them all at once.
"""

from __future__ import annotations

from conference.store.attendance import (
    LEGACY_META_PREFIX,
    AttendanceRecord,
    legacy_record,
    record_from_json,
    record_json,
)
from conference.store.redis.engine import RedisAggregate, RedisEngine, text


class RedisAttendance(RedisAggregate):
    """:class:`~conference.store.attendance.AttendanceStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._attendance = engine.key("attendance")

    async def save_attendance(self, record: AttendanceRecord) -> None:
        """Replace the meeting's saved roll call; an older version's copy in ``meta`` goes."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._attendance, record.meeting_id, record_json(record))
            pipe.hdel(self.engine.meta, LEGACY_META_PREFIX + record.meeting_id)
            await pipe.execute()

    async def get_attendance(self, meeting_id: str) -> AttendanceRecord | None:
        """The meeting's saved roll call (moved out of ``meta`` if an older version kept it)."""
        raw = await self._redis.hget(self._attendance, meeting_id)
        if raw is not None:
            return record_from_json(text(raw))
        legacy = await self._redis.hget(self.engine.meta, LEGACY_META_PREFIX + meeting_id)
        if legacy is None:
            return None
        record = legacy_record(meeting_id, text(legacy))
        async with self._redis.pipeline(transaction=True) as pipe:
            if record is not None:
                # HSETNX: a save that came in between is newer, and stays.
                pipe.hsetnx(self._attendance, meeting_id, record_json(record))
            pipe.hdel(self.engine.meta, LEGACY_META_PREFIX + meeting_id)
            await pipe.execute()
        return await self.get_attendance(meeting_id) if record is not None else None
