"""The plate alerts a meeting's hosts were shown: :class:`MeetingAlert` and :class:`MeetingAlertStore`.

A camera in a meeting that reads a plate on a list raises an alert in the
meeting's room (``Room.plate_alert``); the room keeps it for its minutes and
:mod:`conference.alert_log` writes it here in batches, once per plate
event (the event's id makes a second write of it a no-op).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MeetingAlert:
    """One alert shown in a meeting: when, at which checkpoint, which plate, why."""

    meeting_id: str
    event_id: str  # the plate event's id (anpr_feed's store keeps the pass itself)
    at: float  # unix seconds the plate was read
    checkpoint: str
    plate: str
    reason: str


class MeetingAlertStore(Protocol):
    """Each meeting's plate alerts."""

    async def add_meeting_alerts(self, alerts: Sequence[MeetingAlert]) -> None:
        """Keep a batch; an alert already kept (same meeting and event) stays as it was."""
        ...

    async def meeting_alerts(self, meeting_id: str) -> list[MeetingAlert]:
        """The meeting's alerts by time (then event id); [] if none."""
        ...
