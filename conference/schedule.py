"""The scheduler: meeting rooms open shortly before the start, warn before the end, close at it."""

from __future__ import annotations

import logging
import time

from conference.live_rooms import LiveRooms
from conference.meetings import CLOSE_WARNING_SECONDS, OPEN_LEAD_SECONDS
from conference.redis_client import UNREACHABLE
from conference.store import NotFound, Store
from conference.tasks import pause

logger = logging.getLogger(__name__)

SCHEDULER_SECONDS = 2.0


class Scheduler:
    """Follows the stored meetings and opens, warns and closes their live rooms."""

    def __init__(self, store: Store, live: LiveRooms) -> None:
        self.store = store
        self.live = live
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
        for meeting in meetings:
            live = self.live.get(meeting.room_id)
            if meeting.cancelled_at is not None or now >= meeting.end:
                if live is not None:
                    await self.live.close(
                        meeting.room_id, "cancelled" if meeting.cancelled_at else "ended"
                    )
                continue
            if now >= meeting.start - OPEN_LEAD_SECONDS and live is None:
                try:
                    await self.live.open(await self.store.get_room(meeting.room_id))
                except NotFound:
                    continue
            live = self.live.get(meeting.room_id)
            if live is not None:
                self.live.meetings[meeting.room_id] = meeting  # pick up edits
                await self.live.save_attendance(live)
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
