"""The plate alerts shown in a meeting's room, written to the store in batches for its minutes.

``Room.plate_alert`` keeps each alert on the room (in whichever copy of the
meeting reads the camera); this writes them with the scheduler's pass and at
the room's close, one store call per batch, once per plate event. A batch
the store refused (a Redis outage) waits and goes with the next one.
"""

from __future__ import annotations

import logging

from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import PlateAlert
from conference.rooms.room import ALERTS_KEPT, Room
from conference.store import Meeting, MeetingAlert, MeetingAlertStore

logger = logging.getLogger(__name__)


def meeting_alert(meeting_id: str, alert: PlateAlert) -> MeetingAlert:
    """What the minutes keep of an alert: when, where, which plate, why."""
    reasons = "; ".join(a.reason for a in alert.alerts if a.reason)
    return MeetingAlert(
        meeting_id=meeting_id,
        event_id=alert.event,
        at=alert.at,
        checkpoint=alert.checkpoint,
        plate=alert.display or alert.plate,
        reason=alert.text or reasons,
    )


class AlertLog:
    """Moves the alerts rooms showed to the store."""

    def __init__(self, store: MeetingAlertStore) -> None:
        self.store = store
        self._waiting: list[MeetingAlert] = []  # refused by the store; retried first
        self._store_down = False

    async def save(self, room: Room, meeting: Meeting) -> int:
        """Write the alerts ``room`` (of ``meeting``) showed since the last call; how many."""
        shown, room.alerts_shown = room.alerts_shown, []
        batch = self._waiting + [meeting_alert(meeting.id, a) for a in shown]
        if not batch:
            return 0
        try:
            await self.store.add_meeting_alerts(batch)
        except Exception as exc:
            # Nothing may keep the room from running or closing: keep the batch for later.
            self._waiting = batch[-ALERTS_KEPT:]
            if isinstance(exc, UNREACHABLE):
                if not self._store_down:
                    self._store_down = True
                    logger.warning("meeting alerts: the store is unreachable (%s)", exc)
            else:
                logger.exception("saving the plate alerts of meeting %s failed", meeting.id)
            return 0
        self._waiting = []
        if self._store_down:
            self._store_down = False
            logger.info("meeting alerts: saved again")
        return len(batch)
