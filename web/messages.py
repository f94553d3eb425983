"""Signaling messages: one pydantic model per message, a union on ``type``.

Every message a client sends is validated against :data:`ClientMessage`
before anything else looks at it; ``docs/protocol.md`` documents these same
models. Server messages are models too, so both directions are written down
in one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

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


class Ping(_Message):
    """Liveness check; the server answers with ``pong`` carrying the same id."""

    type: Literal["ping"]
    id: int = Field(0, ge=0, le=2**53)


ClientMessage = Annotated[
    Join | Answer | Ice | Mute | Hand | Stats | Leave | Ping, Field(discriminator="type")
]
client_message_adapter: TypeAdapter[Join | Answer | Ice | Mute | Hand | Stats | Leave | Ping] = (
    TypeAdapter(ClientMessage)
)


# -- server to client -----------------------------------------------------------------


class IceServerOut(BaseModel):
    """A STUN/TURN server for the browser's ``RTCPeerConnection``."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class RoomOut(BaseModel):
    """The room a client joined."""

    id: str
    name: str
    codec: str


class ParticipantOut(BaseModel):
    """A site in the room."""

    id: str
    name: str
    role: str
    client: str
    audio: bool
    video: bool
    audio_muted: bool
    video_muted: bool
    joined_at: float
    connection: str


class Welcome(BaseModel):
    """Sent after a valid ``join``."""

    type: Literal["welcome"] = "welcome"
    participant: ParticipantOut
    room: RoomOut
    ice_servers: list[IceServerOut]
    participants: list[ParticipantOut]
    speaker: str | None
    floor: str | None = None
    count: int = 0
    recording: bool = False


class SlotOut(BaseModel):
    """One receive slot and the m-line (``mid``) that carries it."""

    slot: str
    kind: Literal["audio", "video"]
    mid: str


class Offer(BaseModel):
    """The server's SDP offer; answer it with ``answer``."""

    type: Literal["offer"] = "offer"
    sdp: str
    publish: dict[str, str] = Field(description="kind -> mid on which the client sends it")
    slots: list[SlotOut]


class Slots(BaseModel):
    """Which site is in each of the client's slots (``null``: empty), and their names."""

    type: Literal["slots"] = "slots"
    assignments: dict[str, str | None]
    names: dict[str, str] = Field(default_factory=dict)


class ParticipantCountOut(BaseModel):
    """How many sites are in a large room (sent instead of every join and leave)."""

    type: Literal["participant-count"] = "participant-count"
    count: int


class Floor(BaseModel):
    """Who has the floor (``null``: nobody); its audio and video go to everyone."""

    type: Literal["floor"] = "floor"
    id: str | None
    name: str | None = None


class HandOut(BaseModel):
    """This site's hand is raised (or not), as the room sees it."""

    type: Literal["hand"] = "hand"
    raised: bool


class MutedByHostOut(BaseModel):
    """The host muted this site's microphone (``muted`` false: the site may unmute again)."""

    type: Literal["muted-by-host"] = "muted-by-host"
    muted: bool


class Recording(BaseModel):
    """The meeting is being recorded (or no longer is): show it."""

    type: Literal["recording"] = "recording"
    active: bool
    reason: str | None = None


class Closing(BaseModel):
    """The meeting ends in ``seconds``."""

    type: Literal["closing"] = "closing"
    seconds: int


class ParticipantJoinedOut(BaseModel):
    """A site joined."""

    type: Literal["participant-joined"] = "participant-joined"
    participant: ParticipantOut


class ParticipantLeftOut(BaseModel):
    """A site left."""

    type: Literal["participant-left"] = "participant-left"
    id: str
    reason: str


class ParticipantUpdatedOut(BaseModel):
    """A site's state changed (mute, media, connection)."""

    type: Literal["participant-updated"] = "participant-updated"
    participant: ParticipantOut


class Speaker(BaseModel):
    """The active speaker changed."""

    type: Literal["speaker"] = "speaker"
    id: str | None


class Pong(BaseModel):
    """Answer to ``ping``."""

    type: Literal["pong"] = "pong"
    id: int


class Bye(BaseModel):
    """The server ends this connection (left, replaced, room closed, shutdown)."""

    type: Literal["bye"] = "bye"
    reason: str


class Error(BaseModel):
    """Something the client sent could not be used; ``code`` is stable."""

    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool = False


ServerMessage = (
    Welcome
    | Offer
    | Slots
    | ParticipantCountOut
    | Floor
    | HandOut
    | MutedByHostOut
    | Recording
    | Closing
    | ParticipantJoinedOut
    | ParticipantLeftOut
    | ParticipantUpdatedOut
    | Speaker
    | Pong
    | Bye
    | Error
)
