"""What a room tells its sites: one model per message, sent to the client as it is.

Each event is the wire message itself (``docs/protocol.md``, "Server to
client"): the room builds it, :meth:`Participant.send` hands it to the site's
socket, and the socket writes :meth:`WireMessage.to_json`. Nothing between the
room and the socket translates it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from conference.rooms.talk_events import (
    ChatPosted,
    TalkRefused,
    VoteAnswered,
    VoteOpened,
    VoteResultShown,
)
from conference.settings import IceServer
from conference.wire import WireMessage


class ParticipantInfo(WireMessage):
    """A site as the other sites see it."""

    id: str
    name: str
    role: str
    client: str  # browser, whip, whep or camera
    audio: bool  # publishes a microphone
    video: bool  # publishes a camera
    audio_muted: bool
    video_muted: bool
    joined_at: float
    connection: str


class RoomInfo(WireMessage):
    """The room a client joined."""

    id: str
    name: str
    codec: str


class Welcome(WireMessage):
    """Sent after a valid ``join``: who I am, where, and who else is here."""

    type: Literal["welcome"] = "welcome"
    participant: ParticipantInfo
    room: RoomInfo
    ice_servers: list[IceServer]
    participants: list[ParticipantInfo]
    speaker: str | None
    floor: str | None = None
    count: int = 0
    recording: bool = False
    presenter: str | None = None  # the site whose presentation is in the main slot


class ParticipantJoined(WireMessage):
    """A site came in."""

    type: Literal["participant-joined"] = "participant-joined"
    participant: ParticipantInfo


class ParticipantLeft(WireMessage):
    """A site went away (left, dropped, replaced by its own reconnection, removed)."""

    type: Literal["participant-left"] = "participant-left"
    participant_id: str = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )
    reason: str


class ParticipantUpdated(WireMessage):
    """A site's mute state, media or connection changed."""

    type: Literal["participant-updated"] = "participant-updated"
    participant: ParticipantInfo


class SpeakerChanged(WireMessage):
    """The room's active speaker changed (consoles get the same message)."""

    type: Literal["speaker"] = "speaker"
    participant_id: str | None = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )


class SlotsChanged(WireMessage):
    """Which site is in each of the client's slots (``None``: empty), and their names."""

    type: Literal["slots"] = "slots"
    assignments: dict[str, str | None]
    names: dict[str, str] = Field(default_factory=dict)  # the names of the sites in them


class ParticipantCount(WireMessage):
    """How many sites are in a large room (sent instead of every join and leave)."""

    type: Literal["participant-count"] = "participant-count"
    count: int


class FloorChanged(WireMessage):
    """The host gave the floor to a site (``None``: took it back)."""

    type: Literal["floor"] = "floor"
    participant_id: str | None = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )
    name: str | None = None


class HandChanged(WireMessage):
    """This site's hand is now raised or not, as the room sees it (sent to the site)."""

    type: Literal["hand"] = "hand"
    raised: bool


class MutedByHost(WireMessage):
    """The host muted this site's microphone (``muted`` false: the site may unmute again)."""

    type: Literal["muted-by-host"] = "muted-by-host"
    muted: bool


class RecordingChanged(WireMessage):
    """The room is (or is no longer) being recorded: every site and console shows it."""

    type: Literal["recording"] = "recording"
    active: bool
    reason: str | None = None


class RoomClosing(WireMessage):
    """The meeting ends in ``seconds`` (sites and consoles get the same message)."""

    type: Literal["closing"] = "closing"
    seconds: int


class PublishLayers(WireMessage):
    """Which layers of its camera a site keeps sending; it pauses every other one.

    ``video`` names the rids to keep active (``q``, ``h``, ``f``; ``[]``: the
    camera is paused). A site that sends one encoding keeps it active iff the
    list is not empty. ``audio`` is reserved and always true.
    """

    type: Literal["publish"] = "publish"
    video: list[str]
    audio: bool = True


class LinkChanged(WireMessage):
    """The slots paused because this site's downlink cannot carry them, and its estimate.

    The tiles of the ``paused`` slots show "đường truyền yếu" instead of a
    silently frozen picture; ``downlink_kbps`` is the server's estimate (REMB),
    ``null`` before the first one.
    """

    type: Literal["link"] = "link"
    paused: list[str]
    downlink_kbps: int | None


class PresentationChanged(WireMessage):
    """Who presents now (``id`` null: nobody): the presentation is in every other
    site's main slot and the presenter's camera in a thumbnail.

    ``reason`` says why one ended: ``stopped`` (by the presenter), ``host``
    (the host stopped it), ``left`` (the presenter left).
    """

    type: Literal["presentation"] = "presentation"
    participant_id: str | None = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )
    name: str | None = None
    reason: str | None = None


class PresentStatus(WireMessage):
    """The answer to this site's ``present``, and later word on it (sent to the site).

    ``granted``: send the screen now; ``pending``: the host must allow it
    first; ``refused``: not now (``code``, ``message`` say why); ``stopped``:
    the presentation ended without the site asking (the host stopped it).
    """

    type: Literal["present-status"] = "present-status"
    status: Literal["granted", "pending", "refused", "stopped"]
    code: str | None = None
    message: str | None = None


class DocumentShown(WireMessage):
    """The document the host shows every site, at the host's page (``id`` None: none any more).

    The page opens ``/api/meetings/{meeting}/documents/{id}`` at ``#page=N``.
    """

    type: Literal["document"] = "document"
    id: str | None
    name: str | None = None
    kind: str | None = None
    page: int = 1


class DocumentsChanged(WireMessage):
    """A host uploaded or deleted a document: the pages list the meeting's documents again."""

    type: Literal["documents"] = "documents"


class Bye(WireMessage):
    """The server ends this connection (left, replaced, room closed, shutdown)."""

    type: Literal["bye"] = "bye"
    reason: str


class RoomClosed(Bye):
    """The room is closing and everyone is disconnected: a ``bye`` saying ``room-<why>``."""

    @classmethod
    def because(cls, why: str) -> RoomClosed:
        """The event for a room closing for ``why`` (ended, cancelled, empty, shutdown...)."""
        return cls(reason=f"room-{why}")

    @property
    def why(self) -> str:
        """Why the room closed, without the ``room-`` prefix."""
        return self.reason.removeprefix("room-")


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
    | PublishLayers
    | LinkChanged
    | PresentationChanged
    | PresentStatus
    | DocumentShown
    | ChatPosted
    | VoteOpened
    | VoteAnswered
    | VoteResultShown
    | DocumentsChanged
    | TalkRefused
)
"""Everything a room sends a site on its own (``welcome`` and ``bye`` are the socket's)."""
