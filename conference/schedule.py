"""The scheduler: meeting rooms open shortly before the start, warn before the end, close at it.

In a cluster every node's scheduler sees every meeting, and only a meeting's
home opens its room (:mod:`conference.homes`): the others leave it closed,
and drop a copy they hold that nobody used.
"""

from __future__ import annotations

import logging
import time

from conference.homes import AllHere, Home, Homes
from conference.live_rooms import LiveRooms
from conference.meetings import CLOSE_WARNING_SECONDS, OPEN_LEAD_SECONDS
from conference.redis_client import UNREACHABLE
from conference.store import NotFound, Store
from conference.tasks import pause

logger = logging.getLogger(__name__)

SCHEDULER_SECONDS = 2.0


class Scheduler:
    """Follows the stored meetings and opens, warns and closes their live rooms."""

    def __init__(self, store: Store, live: LiveRooms, homes: Homes | None = None) -> None:
        self.store = store
        self.live = live
        # Which due meetings' rooms live here: all of them alone; a cluster node's
        # composition root sets the leases' answer (conference/cluster/homes.py).
        self.homes: Homes = homes or AllHere()
        self._warned: set[str] = set()  # meetings whose sites were told the end is near

    async def run(self) -> None:
        """One pass every :data:`SCHEDULER_SECONDS` until cancelled; a failed pass is logged."""
        store_down = False  # one warning per outage, not one per pass
        while True:
            try:
                await self.live.attendance.save_pending()
                await self.schedule_once(time.time())
            except UNREACHABLE as exc:
                # A Redis outage: the rooms open go on; the pass runs again when it is back.
                if not store_down:
                    store_down = True
                    logger.warning("scheduler: the store is unreachable (%s); retrying", exc)
            except Exception:
                logger.exception("scheduler pass failed")
            else:
                if store_down:
                    store_down = False
                    logger.info("scheduler: the store answers again")
            await pause(SCHEDULER_SECONDS)

    async def schedule_once(self, now: float) -> None:
        """One pass at time ``now``; also saves the roll call of every open meeting room."""
        meetings = await self.store.list_meetings(now - 86400, now + OPEN_LEAD_SECONDS + 60)
        by_room = {m.room_id: m for m in meetings}
        due = [
            m.room_id
            for m in meetings
            if m.cancelled_at is None and m.start - OPEN_LEAD_SECONDS <= now < m.end
        ]
        homes = await self.homes.settle(list(dict.fromkeys(due))) if due else {}
        for meeting in meetings:
            live = self.live.get(meeting.room_id)
            if meeting.cancelled_at is not None or now >= meeting.end:
                if live is not None:
                    await self.live.close(
                        meeting.room_id, "cancelled" if meeting.cancelled_at else "ended"
                    )
                continue
            home = homes.get(meeting.room_id)
            if home is Home.HERE and live is None:
                try:
                    await self.live.open(await self.store.get_room(meeting.room_id))
                except NotFound:
                    continue
            elif home is Home.ELSEWHERE and live is not None:
                if await self.live.drop_copy(meeting.room_id):
                    continue
            live = self.live.get(meeting.room_id)
            if live is not None:
                self.live.meetings[meeting.room_id] = meeting  # pick up edits
                await self.live.save_attendance(live)
                await self.live.save_for_minutes(live)  # its turns and alerts: every pass
                left = meeting.end - now
                if left <= CLOSE_WARNING_SECONDS and meeting.id not in self._warned:
                    self._warned.add(meeting.id)
                    live.closing_soon(int(left))
        # Rooms of meetings that moved out of the window (rescheduled later) close too.
        for room_id in list(self.live.meetings):
            if room_id not in by_room:
                meeting = self.live.meetings[room_id]
                if now >= meeting.end or now < meeting.start - OPEN_LEAD_SECONDS:
                    await self.live.close(room_id, "ended")
