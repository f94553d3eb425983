"""Meetings and invitations in the Redis engine (see the key layout in :mod:`conference.store.redis`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis.asyncio.client import Pipeline

from conference.store.errors import Conflict, MeetingNotFound, StoreError
from conference.store.meetings import Meeting
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, above, below, dump, text


class RedisMeetings(RedisAggregate):
    """:class:`~conference.store.meetings.MeetingStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._meetings_by_start = engine.key("meetings_by_start")
        self._meetings_by_end = engine.key("meetings_by_end")
        self._sites = engine.key("sites")  # a meeting's sites must exist

    def _meeting_key(self, meeting_id: str) -> str:
        return f"{self.prefix}meeting:{meeting_id}"

    def _invitations_key(self, meeting_id: str) -> str:
        return f"{self.prefix}invitations:{meeting_id}"

    def _site_by_start_key(self, site_id: str) -> str:
        return f"{self.prefix}site_meetings_by_start:{site_id}"

    def _site_by_end_key(self, site_id: str) -> str:
        return f"{self.prefix}site_meetings_by_end:{site_id}"

    def _host_active_key(self, site_id: str) -> str:
        return f"{self.prefix}host_active_by_end:{site_id}"

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Store a meeting and its invitations atomically (see :meth:`_write_meeting`)."""
        await self._write_meeting(meeting, site_ids, replace=False)

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Replace a meeting and its invitations, with the same overlap rule."""
        await self._write_meeting(meeting, site_ids, replace=True)

    async def _write_meeting(
        self, meeting: Meeting, site_ids: Sequence[str], replace: bool
    ) -> None:
        """Check and write one meeting in a WATCHed transaction.

        The overlap check reads the host site's index of active meetings
        (by end: only meetings ending after this one starts can clash) and
        the records of those candidates; all of them are WATCHed, so a
        concurrent writer that adds, moves or un-cancels a meeting of the same
        host makes EXEC fail, and the check runs again on what it wrote.
        """
        # "not >" also refuses NaN, which SQLite would store as NULL and fail on.
        if not meeting.end > meeting.start:
            raise StoreError("a meeting must end after it starts")
        invited = list(dict.fromkeys(site_ids))
        key = self._meeting_key(meeting.id)
        host_active = self._host_active_key(meeting.host_site)

        async def body(pipe: Pipeline) -> None:
            await pipe.watch(key, host_active)
            async with self._redis.pipeline(transaction=False) as reads:
                reads.get(key)
                reads.lrange(self._invitations_key(meeting.id), 0, -1)
                reads.zrangebyscore(host_active, above(meeting.start), "+inf")
                reads.hmget(self._sites, [meeting.host_site, *invited])
                old_raw, old_invited, candidates, sites = await reads.execute()
            if replace and old_raw is None:
                raise MeetingNotFound(f"no meeting {meeting.id!r}")
            if not replace and old_raw is not None:
                raise Conflict(f"meeting {meeting.id!r} already exists")
            if meeting.cancelled_at is None:
                others = [other for other in candidates if other != meeting.id]
                if others:
                    await pipe.watch(*map(self._meeting_key, others))
                    clashes = [
                        other
                        for other in map(
                            _meeting_or_none,
                            await self._redis.mget(list(map(self._meeting_key, others))),
                        )
                        if other is not None
                        and other.host_site == meeting.host_site
                        and other.cancelled_at is None
                        and other.overlaps(meeting.start, meeting.end)
                    ]
                    if clashes:
                        clash = min(clashes, key=lambda m: (m.start, m.id))
                        raise Conflict(
                            "the host site already has a meeting at that time: "
                            f"{clash.title!r} ({clash.id})"
                        )
            missing = [
                site_id
                for site_id, raw in zip([meeting.host_site, *invited], sites, strict=True)
                if raw is None
            ]
            if missing:
                raise StoreError(
                    "meeting refers to an unknown site: "
                    + ", ".join(map(repr, dict.fromkeys(missing)))
                )

            old = None if old_raw is None else _meeting(old_raw)
            pipe.multi()
            pipe.set(key, _meeting_json(meeting))
            pipe.delete(self._invitations_key(meeting.id))
            if invited:
                pipe.rpush(self._invitations_key(meeting.id), *invited)
            pipe.zadd(self._meetings_by_start, {meeting.id: meeting.start})
            pipe.zadd(self._meetings_by_end, {meeting.id: meeting.end})
            if old is not None:
                pipe.zrem(self._host_active_key(old.host_site), meeting.id)
            if meeting.cancelled_at is None:
                pipe.zadd(host_active, {meeting.id: meeting.end})
            concerned = [meeting.host_site, *invited]
            if old is not None:
                for site_id in {old.host_site, *old_invited} - set(concerned):
                    pipe.zrem(self._site_by_start_key(site_id), meeting.id)
                    pipe.zrem(self._site_by_end_key(site_id), meeting.id)
            for site_id in dict.fromkeys(concerned):
                pipe.zadd(self._site_by_start_key(site_id), {meeting.id: meeting.start})
                pipe.zadd(self._site_by_end_key(site_id), {meeting.id: meeting.end})
            await pipe.execute()

        await self.engine.transaction(body)

    async def get_meeting(self, meeting_id: str) -> Meeting:
        """The meeting or :class:`MeetingNotFound`."""
        raw = await self._redis.get(self._meeting_key(meeting_id))
        if raw is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        return _meeting(raw)

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        """Meetings (cancelled ones included) meeting [start_from, start_to), by start then id."""
        return await self._window(
            self._meetings_by_start, self._meetings_by_end, start_from, start_to
        )

    async def invitations(self, meeting_id: str) -> list[str]:
        """Invited site ids, in the order they were given."""
        return [text(s) for s in await self._redis.lrange(self._invitations_key(meeting_id), 0, -1)]

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings the site is invited to or hosts, meeting [start_from, start_to), by start."""
        return await self._window(
            self._site_by_start_key(site_id), self._site_by_end_key(site_id), start_from, start_to
        )

    async def _window(
        self, by_start: str, by_end: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings of a pair of indexes with ``start < start_to and end > start_from``.

        Either condition alone is one range of one index; count both ranges
        (cheap) and read the smaller one: a window in the past reads past
        meetings only, a window from now on reads upcoming ones only.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(by_start, "-inf", below(start_to))
            pipe.zcount(by_end, above(start_from), "+inf")
            starting_before, ending_after = await pipe.execute()
        if starting_before <= ending_after:
            found = await self._redis.zrangebyscore(by_start, "-inf", below(start_to))
        else:
            found = await self._redis.zrangebyscore(by_end, above(start_from), "+inf")
        ids = [text(meeting_id) for meeting_id in found]
        if not ids:
            return []
        meetings = [
            meeting
            for meeting in map(
                _meeting_or_none, await self._redis.mget(list(map(self._meeting_key, ids)))
            )
            if meeting is not None and meeting.start < start_to and meeting.end > start_from
        ]
        return sorted(meetings, key=lambda meeting: (meeting.start, meeting.id))


def _meeting_json(meeting: Meeting) -> str:
    return dump(
        {
            "id": meeting.id,
            "title": meeting.title,
            "agenda": meeting.agenda,
            "start": meeting.start,
            "end": meeting.end,
            "host_site": meeting.host_site,
            "created_by": meeting.created_by,
            "room_id": meeting.room_id,
            "created_at": meeting.created_at,
            "auto_record": meeting.auto_record,
            "cancelled_at": meeting.cancelled_at,
        }
    )


def _meeting(raw: Raw) -> Meeting:
    record = json.loads(raw)
    cancelled_at = record["cancelled_at"]
    # Floats as SQLite's REAL columns give them back (a test's 1000 reads 1000.0).
    return Meeting(
        id=record["id"],
        title=record["title"],
        agenda=record["agenda"],
        start=float(record["start"]),
        end=float(record["end"]),
        host_site=record["host_site"],
        created_by=record["created_by"],
        room_id=record["room_id"],
        created_at=float(record["created_at"]),
        auto_record=bool(record["auto_record"]),
        cancelled_at=None if cancelled_at is None else float(cancelled_at),
    )


def _meeting_or_none(raw: Raw | None) -> Meeting | None:
    return None if raw is None else _meeting(raw)
