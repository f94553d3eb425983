"""Scheduled multi-site sessions and their invitations: :class:`MeetingStore`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Meeting:
    """A scheduled multi-site session."""

    id: str
    title: str
    agenda: str
    start: float  # unix seconds
    end: float
    host_site: str
    created_by: str
    room_id: str
    created_at: float
    auto_record: bool = False
    cancelled_at: float | None = None

    def overlaps(self, start: float, end: float) -> bool:
        """Whether [start, end) meets this meeting's window."""
        return self.start < end and start < self.end


class MeetingStore(Protocol):
    """Meetings and the sites invited to each."""

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Store a meeting and its invitations atomically.

        :class:`~conference.store.errors.Conflict` if another meeting of the
        same host site, not cancelled, overlaps its window.
        """
        ...

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Replace a meeting and its invitations, with the same overlap rule."""
        ...

    async def get_meeting(self, meeting_id: str) -> Meeting:
        """The meeting or :class:`~conference.store.errors.MeetingNotFound`."""
        ...

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        """Meetings (cancelled ones included) whose window meets [start_from, start_to), by start."""
        ...

    async def invitations(self, meeting_id: str) -> list[str]:
        """Invited site ids, in the order they were given."""
        ...

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings the site is invited to or hosts, meeting [start_from, start_to), by start."""
        ...
