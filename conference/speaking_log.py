"""A meeting room's speaking timeline written to the store in batches.

The room collects closed turns in memory (:mod:`conference.rooms.speaking`);
this writes them with the scheduler's pass (every 2 s) and at the room's
close, one store call per batch. A batch the store refused (a Redis outage)
waits and goes with the next one.
"""

from __future__ import annotations

import logging

from conference.redis_client import UNREACHABLE
from conference.rooms.room import Room
from conference.rooms.speaking import MAX_WAITING
from conference.store import Meeting, SpeakingInterval, SpeakingStore

logger = logging.getLogger(__name__)


class SpeakingLog:
    """Moves closed speaking turns from home rooms to the store."""

    def __init__(self, store: SpeakingStore) -> None:
        self.store = store
        self._waiting: list[SpeakingInterval] = []  # refused by the store; retried first
        self._store_down = False

    async def save(self, room: Room, meeting: Meeting) -> int:
        """Write what ``room`` (of ``meeting``) closed since the last call; how many were written.

        A carrier copy keeps no timeline (the home does); its turns are dropped.
        """
        turns = room.speaking.take()
        if room.carrier:
            return 0
        batch = self._waiting + [
            SpeakingInterval(meeting.id, t.site, t.name, t.start, t.end) for t in turns
        ]
        if not batch:
            return 0
        try:
            await self.store.add_speaking(batch)
        except Exception as exc:
            # Nothing may keep the room from running or closing: keep the batch for later.
            self._waiting = batch[-MAX_WAITING:]
            if isinstance(exc, UNREACHABLE):
                if not self._store_down:
                    self._store_down = True
                    logger.warning("speaking timeline: the store is unreachable (%s)", exc)
            else:
                logger.exception("saving the speaking timeline of meeting %s failed", meeting.id)
            return 0
        self._waiting = []
        if self._store_down:
            self._store_down = False
            logger.info("speaking timeline: saved again")
        return len(batch)
