"""Signaling messages: one pydantic model per message, a union on ``type``.

Every message a client sends is validated against :data:`ClientMessage`
before anything else looks at it; ``docs/protocol.md`` documents these same
models. Server messages are models too: the room's events are written once,
in :mod:`conference.rooms.events`, and sent as they are; this module adds the
few only the socket sends (``offer``, ``pong``, ``error``), and
:data:`ServerMessage` names every one, so both directions are in one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from conference.peer import SlotSection
from conference.rooms.events import (
    Bye,
    FloorChanged,
    HandChanged,
    LinkChanged,
    MutedByHost,
    ParticipantCount,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    PresentationChanged,
    PresentStatus,
    PublishLayers,
    RecordingChanged,
    RoomClosing,
    SlotsChanged,
    SpeakerChanged,
    Welcome,
)
from conference.rooms.talk_events import ChatPosted, VoteAnswered, VoteOpened, VoteResultShown
from conference.wire import WireMessage

MAX_SDP_CHARS = 64 * 1024


class _Message(BaseModel):
    # Strict: "yes" is not a boolean and "1" is not a number on this wire.
    model_config = ConfigDict(extra="forbid", strict=True)


# -- client to server -----------------------------------------------------------------


class Join(_Message):
    """First message on a socket: who I am and what I want to receive."""

    type: Literal["join"]
    token: str = Field(min_length=1, max_length=4096)
    thumbnails: int = Field(8, ge=0, le=8, description="video thumbnail slots wanted")
    publish_audio: bool = True
    publish_video: bool = True
    screen: bool = Field(
        False, description="offer a second video section to present a screen on (`present`)"
    )


class Answer(_Message):
    """The client's SDP answer to the server's offer."""

    type: Literal["answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class Candidate(BaseModel):
    """An ICE candidate as the browser's ``RTCIceCandidate.toJSON()`` gives it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(None, max_length=32)
    sdpMLineIndex: int | None = Field(None, ge=0, le=1024)


class Ice(_Message):
    """A trickled ICE candidate; ``null`` means the client gathered all of them."""

    type: Literal["ice"]
    candidate: Candidate | None


class Mute(_Message):
    """The client's microphone and camera state."""

    type: Literal["mute"]
    audio: bool
    video: bool


class Leave(_Message):
    """The client is leaving; the server closes its connection."""

    type: Literal["leave"]


class Hand(_Message):
    """Raise (or lower) the site's hand to ask for the floor."""

    type: Literal["hand"]
    raised: bool


class Stats(_Message):
    """The client's own view of its connection (from getStats), every few seconds."""

    type: Literal["stats"]
    rtt_ms: float | None = Field(None, ge=0, le=60_000)
    loss: float | None = Field(None, ge=0, le=1, description="fraction of packets lost, 0..1")
    bitrate_in_kbps: float | None = Field(None, ge=0, le=1_000_000)
    bitrate_out_kbps: float | None = Field(None, ge=0, le=1_000_000)


class Present(_Message):
    """Start presenting this site's screen (``active`` true) or stop (false).

    The page has the screen track in hand (``getDisplayMedia``) and sends it
    on the offer's ``screen`` section once ``present-status`` says
    ``granted``.
    """

    type: Literal["present"]
    active: bool


class Chat(_Message):
    """A chat message to every site (``all``) or to the meeting's hosts (``host``).

    Its length is checked by the chat itself (``chat-too-long``, 1,000
    characters); this bound only keeps absurd payloads out of the parser.
    """

    type: Literal["chat"]
    text: str = Field(max_length=16 * 1024)
    to: Literal["all", "host"] = "all"


class VoteAnswer(_Message):
    """This site's answer to a vote: the index of its option; the first answer stands."""

    type: Literal["vote"]
    vote: str = Field(min_length=1, max_length=64)
    choice: int = Field(ge=0, le=1000)


class Ping(_Message):
    """Liveness check; the server answers with ``pong`` carrying the same id."""

    type: Literal["ping"]
    id: int = Field(0, ge=0, le=2**53)


AnyClientMessage = (
    Join | Answer | Ice | Mute | Hand | Present | Stats | Leave | Chat | VoteAnswer | Ping
)
ClientMessage = Annotated[AnyClientMessage, Field(discriminator="type")]
client_message_adapter: TypeAdapter[AnyClientMessage] = TypeAdapter(ClientMessage)


# -- server to client (the socket's own; the room's are in conference.rooms.events) -----


class Offer(WireMessage):
    """The server's SDP offer; answer it with ``answer``."""

    type: Literal["offer"] = "offer"
    sdp: str
    publish: dict[str, str] = Field(description="kind -> mid on which the client sends it")
    slots: list[SlotSection]


class Pong(WireMessage):
    """Answer to ``ping``."""

    type: Literal["pong"] = "pong"
    id: int


class Redirect(WireMessage):
    """The meeting lives on another node: join there (``url`` is its join page, no token)."""

    type: Literal["redirect"] = "redirect"
    url: str


class Nodes(WireMessage):
    """The cluster's other live nodes (base URLs): where a page asks for its meeting's
    new home if this node stops answering (``POST /join/{room}/home`` there)."""

    type: Literal["nodes"] = "nodes"
    urls: list[str]


class Error(WireMessage):
    """Something the client sent could not be used; ``code`` is stable."""

    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool = False


ServerMessage = (
    Welcome
    | Offer
    | SlotsChanged
    | PublishLayers
    | LinkChanged
    | ParticipantCount
    | FloorChanged
    | HandChanged
    | MutedByHost
    | RecordingChanged
    | RoomClosing
    | ParticipantJoined
    | ParticipantLeft
    | ParticipantUpdated
    | SpeakerChanged
    | PresentationChanged
    | PresentStatus
    | ChatPosted
    | VoteOpened
    | VoteAnswered
    | VoteResultShown
    | Pong
    | Redirect
    | Bye
    | Error
)
"""Every message the server sends on the signaling socket."""

__all__ = [
    "Answer",
    "Bye",
    "Candidate",
    "Chat",
    "ClientMessage",
    "Error",
    "Hand",
    "Ice",
    "Join",
    "Leave",
    "Mute",
    "Offer",
    "Ping",
    "Pong",
    "Present",
    "ServerMessage",
    "SlotSection",
    "Stats",
    "VoteAnswer",
    "Welcome",
    "client_message_adapter",
]
