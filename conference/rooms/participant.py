"""A site in a room: identity, media and the callback that reaches it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conference.rooms.events import ParticipantInfo, RoomEvent
from conference.tokens import Role

if TYPE_CHECKING:
    from conference.sfu import Source
    from conference.slot import Slot


@dataclass(eq=False)
class Participant:
    """One site connected to a room through one peer connection."""

    id: str
    name: str
    role: Role
    client: str = "browser"
    sources: dict[str, Source] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)
    audio_muted: bool = False
    video_muted: bool = False
    connection: str = "new"
    joined_at: float = field(default_factory=time.time)
    notify: Callable[[RoomEvent], None] | None = None
    plan: dict[str, str | None] = field(default_factory=dict)
    plan_signature: tuple[Any, ...] = ()  # the rankings its plan was made from
    # A reconnection: the plan of the connection it replaced, so its first plan
    # keeps every site where the page showed it before the drop.
    resume_plan: dict[str, str | None] = field(default_factory=dict)
    # A reconnection, until this (monotonic) time: its camera counts as there
    # before the new peer connection carries it, so others keep its slot.
    returning_until: float = 0.0
    had_video: bool = False  # its camera reached the room (the router saw it)
    host_muted: bool = False  # the host muted it: it may not unmute itself
    # The node whose connection this is, for a site of the meeting connected at
    # another instance (conference/cascade/): its sources come over a relay
    # link, it has no slots here, and events for it go through that node.
    remote: str | None = None

    def info(self) -> ParticipantInfo:
        """What other sites are told about this one."""
        return ParticipantInfo(
            id=self.id,
            name=self.name,
            role=self.role.value,
            client=self.client,
            audio="audio" in self.sources,
            video="video" in self.sources,
            audio_muted=self.audio_muted,
            video_muted=self.video_muted,
            joined_at=self.joined_at,
            connection=self.connection,
        )

    def send(self, event: RoomEvent) -> None:
        """Deliver an event to this site, if it listens."""
        if self.notify is not None:
            self.notify(event)
