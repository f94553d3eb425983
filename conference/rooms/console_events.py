"""What a room tells the host consoles: a typed union on ``type``, like the sites' side.

A room (and the parts that plug into it: recording control, feeds in
meetings) publishes these models; the console feed puts their wire form on the
event bus, and every open console socket of the meeting forwards it as it is
(``docs/protocol.md``, "The host console socket"). Three messages are the
same for sites and consoles and are shared with :mod:`conference.rooms.events`:
``speaker``, ``recording`` and ``closing``.

The console's whole state is a ``TypedDict``, not a model, because callers
read single keys of it (``state["present"]``) and the service adds the
room's alerts and feeds to the room's part.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import AliasChoices, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from conference.rooms.events import RecordingChanged, RoomClosing, SpeakerChanged
from conference.rooms.talk_events import ChatPosted, VoteResultShown, VoteTally
from conference.wire import WireMessage

# -- parts ------------------------------------------------------------------------------


class AlertMatch(WireMessage):
    """Why a plate alerts: the watch-list entry or outbreak province it matched."""

    kind: str  # "watch" or "outbreak"
    reason: str
    pattern: str | None
    fuzzy: str | None  # which character was read differently, when the match tolerated it


class PlateAlert(WireMessage):
    """A feed in the meeting read a plate on the watch list or from an outbreak province."""

    type: Literal["alert"] = "alert"
    event: str  # the plate event's id
    feed: str
    site: str  # the feed's site id in the room (``feed-<id>``)
    checkpoint: str
    at: float
    plate: str
    display: str
    province_code: str
    confidence: float
    colour: str | None
    alerts: list[AlertMatch]
    text: str | None
    crop: str | None  # URL of the plate crop
    frame: str | None  # URL of the frame thumbnail


class RoomRef(TypedDict):
    """The room a console shows."""

    id: str
    name: str


class RaisedHand(TypedDict):
    """A raised hand, in raising order."""

    id: str
    at: float


class PresentRequest(TypedDict):
    """A site asking to present while the room needs the host's approval."""

    id: str
    name: str
    at: float


class PresentingState(TypedDict):
    """Who presents, who asks to, and whether presenting needs the host's approval."""

    presenter: str | None
    requests: list[PresentRequest]
    approval: bool


class ConsoleState(TypedDict):
    """Everything a console shows; ``sites`` and ``tiers`` are roll-call rows and tiers."""

    room: RoomRef
    sites: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    hands: list[RaisedHand]
    floor: str | None
    spotlight: str | None
    speaker: str | None
    locked: bool
    recording: bool
    open: bool
    present: int  # sites in the room; feeds are not attendance
    alerts: NotRequired[list[PlateAlert]]  # the room's recent alerts, oldest first
    feeds: NotRequired[list[str]]  # the ids of the feeds in the meeting
    presenting: NotRequired[PresentingState]  # absent while the room is not open


# -- events -----------------------------------------------------------------------------


class StateChanged(WireMessage):
    """The room opened: the whole state again."""

    type: Literal["state"] = "state"
    state: ConsoleState


class RollCallChanged(WireMessage):
    """The roll-call rows that changed since the last batch, and the tiers now."""

    type: Literal["roll-call"] = "roll-call"
    sites: list[dict[str, Any]]
    tiers: list[dict[str, Any]]


class HandsChanged(WireMessage):
    """The raised hands, in order."""

    type: Literal["hands"] = "hands"
    queue: list[RaisedHand]


class ConsoleFloor(WireMessage):
    """Who has the floor (``None``: nobody); sites get :class:`FloorChanged` with a name."""

    type: Literal["floor"] = "floor"
    participant_id: str | None = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )


class SpotlightChanged(WireMessage):
    """The site pinned to everyone's main slot (``None``: the speaker again)."""

    type: Literal["spotlight"] = "spotlight"
    participant_id: str | None = Field(
        validation_alias=AliasChoices("participant_id", "id"), serialization_alias="id"
    )


class LockChanged(WireMessage):
    """The room was locked (only sites that were in may come back) or unlocked."""

    type: Literal["locked"] = "locked"
    locked: bool


class SiteRemoved(WireMessage):
    """The host removed a site and keeps it out."""

    type: Literal["removed"] = "removed"
    site_id: str = Field(validation_alias=AliasChoices("site_id", "id"), serialization_alias="id")


class SiteReadmitted(WireMessage):
    """The host let a removed site come back."""

    type: Literal["readmitted"] = "readmitted"
    site_id: str = Field(validation_alias=AliasChoices("site_id", "id"), serialization_alias="id")


class PresentingChanged(WireMessage):
    """The presentation, the requests to present or the approval setting changed."""

    type: Literal["presenting"] = "presenting"
    presenting: PresentingState


class ConsoleClosed(WireMessage):
    """The room closed (sites get :class:`RoomClosed`, a ``bye``)."""

    type: Literal["closed"] = "closed"
    reason: str


class ConsoleWarning(WireMessage):
    """Something the host should know; ``code`` is stable (``recording-low-disk``)."""

    type: Literal["warning"] = "warning"
    code: str
    message: str


ConsoleEvent = (
    StateChanged
    | RollCallChanged
    | HandsChanged
    | ConsoleFloor
    | SpotlightChanged
    | SpeakerChanged
    | LockChanged
    | SiteRemoved
    | SiteReadmitted
    | RecordingChanged
    | RoomClosing
    | ConsoleClosed
    | ConsoleWarning
    | PlateAlert
    | PresentingChanged
    | ChatPosted
    | VoteTally
    | VoteResultShown
)
"""Every event a room publishes for its consoles."""

console_event_adapter: TypeAdapter[ConsoleEvent] = TypeAdapter(
    Annotated[ConsoleEvent, Field(discriminator="type")]
)
"""Reads a console event back from its wire form (what a bus subscriber receives)."""


# -- answers to console commands --------------------------------------------------------


class CommandDone(WireMessage):
    """The command was carried out."""

    ok: bool = True


class SitesMuted(WireMessage):
    """``mute`` and ``mute-all``: the sites now muted by the host."""

    muted: list[str]


class RecordingCommanded(WireMessage):
    """``record-start`` and ``record-stop``: the recording's id (``None``: none was running)."""

    ok: bool = True
    recording: str | None


class VoteCommanded(WireMessage):
    """``vote-open``: the id of the vote just put to the sites."""

    ok: bool = True
    vote: str


CommandReply = CommandDone | SitesMuted | RecordingCommanded | VoteCommanded
"""What a console command changed; the console socket sends it inside ``result``."""
