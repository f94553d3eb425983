"""What happens in a room, as plain records the web layer turns into messages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParticipantInfo:
    """A site as the other sites see it."""

    id: str
    name: str
    role: str
    client: str  # browser, whip or whep
    audio: bool  # publishes a microphone
    video: bool  # publishes a camera
    audio_muted: bool
    video_muted: bool
    joined_at: float
    connection: str


@dataclass(frozen=True)
class ParticipantJoined:
    """A site came in."""

    participant: ParticipantInfo


@dataclass(frozen=True)
class ParticipantLeft:
    """A site went away (left, dropped, replaced by its own reconnection, removed)."""

    participant_id: str
    reason: str


@dataclass(frozen=True)
class ParticipantUpdated:
    """A site's mute state, media or connection changed."""

    participant: ParticipantInfo


@dataclass(frozen=True)
class SpeakerChanged:
    """The room's active speaker changed."""

    participant_id: str | None


@dataclass(frozen=True)
class SlotsChanged:
    """Which site is in which of one subscriber's slots (sent to that subscriber)."""

    subscriber_id: str
    assignments: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomClosed:
    """The room is closing; everyone is disconnected."""

    reason: str


RoomEvent = (
    ParticipantJoined
    | ParticipantLeft
    | ParticipantUpdated
    | SpeakerChanged
    | SlotsChanged
    | RoomClosed
)
