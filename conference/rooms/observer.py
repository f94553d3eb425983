"""Something that follows a room from the inside (the recorder)."""

from __future__ import annotations

from typing import Any, Protocol

from conference.rooms.participant import Participant


class RoomObserver(Protocol):
    """Called by the room as things happen; must not block."""

    def participant_joined(self, participant: Participant) -> None:
        """A site came in (or came back: a new connection)."""

    def participant_left(self, participant: Participant, reason: str) -> None:
        """A site went away."""

    def media_changed(self, participant: Participant) -> None:
        """A site's sources changed (after its answer)."""

    def event(
        self, kind: str, site_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        """Something else: mute, floor, spotlight, speaker, hand, lock, removed."""
