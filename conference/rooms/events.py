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
    names: dict[str, str] = field(default_factory=dict)  # the names of the sites in them


@dataclass(frozen=True)
class ParticipantCount:
    """How many sites are in a large room (instead of every join and leave)."""

    count: int


@dataclass(frozen=True)
class FloorChanged:
    """The host gave the floor to a site (None: took it back)."""

    participant_id: str | None
    name: str | None = None


@dataclass(frozen=True)
class HandChanged:
    """This site's hand is now raised or not (sent to the site)."""

    raised: bool


@dataclass(frozen=True)
class MutedByHost:
    """The host muted this site's microphone (or lifted that)."""

    muted: bool


@dataclass(frozen=True)
class RecordingChanged:
    """The room is (or is no longer) being recorded: every site shows it."""

    active: bool
    reason: str | None = None


@dataclass(frozen=True)
class RoomClosing:
    """The meeting ends in ``seconds``."""

    seconds: int


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
    | ParticipantCount
    | FloorChanged
    | HandChanged
    | MutedByHost
    | RoomClosing
    | RecordingChanged
)
