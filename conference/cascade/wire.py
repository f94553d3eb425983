"""What the instances of one meeting tell each other on its channel (typed, validated).

``sites``: the sender's own sites of the meeting, whole, on every change and
every few seconds (so a lost message costs nothing and a new copy learns
everything from the next one); ``activity``: how much each of them speaks
now (the copies pick speakers and audio slots from the same numbers);
``state``: the home's decisions. Parsed with pydantic, nothing extra allowed:
a message that does not fit is dropped whole.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MediaKind = Literal["audio", "video"]
SiteId = str  # validated by length only: site ids are whatever the store holds
MAX_SITES = 20_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceInfo(_Strict):
    """One published source of a site: its id at the origin, kind and camera layers."""

    id: str = Field(min_length=1, max_length=300)
    kind: MediaKind
    rids: list[str] = Field(default_factory=list, max_length=8)


class SiteInfo(_Strict):
    """A site connected at the sender."""

    id: SiteId = Field(min_length=1, max_length=200)
    name: str = Field(max_length=300)
    role: str = Field(max_length=20)
    client: str = Field(max_length=20)
    joined_at: float
    connection: str = Field(max_length=20)
    audio_muted: bool
    video_muted: bool
    hand: float | None = None  # when it raised its hand, if it is up
    hand_seq: int | None = None  # the first ``sites`` message that carried this raise
    sources: list[SourceInfo] = Field(default_factory=list, max_length=4)
    quality: dict[str, object] | None = None


class Sites(_Strict):
    """``sites``: every site of the meeting connected at the sender."""

    kind: Literal["sites"]
    relay: str = Field(max_length=64)  # host:port of the sender's relay socket
    home: bool
    sites: list[SiteInfo] = Field(max_length=MAX_SITES)


class Activity(_Strict):
    """``activity``: speech activity (0..50) of the sender's sites that speak now."""

    kind: Literal["activity"]
    levels: dict[str, float] = Field(max_length=MAX_SITES)


class ShownDocument(_Strict):
    """The document the home shows its sites (see ``conference.rooms.events.DocumentShown``)."""

    id: str = Field(pattern="^[0-9a-f]{32}$")
    name: str | None = Field(None, max_length=300)
    kind: str | None = Field(None, max_length=20)
    page: int = Field(1, ge=1, le=100_000)


class HomeState(_Strict):
    """``state``: what the home decided, for the carriers to apply."""

    kind: Literal["state"]
    floor: str | None
    spotlight: str | None
    locked: bool
    recording: bool
    removed: list[str] = Field(max_length=MAX_SITES)
    host_muted: list[str] = Field(max_length=MAX_SITES)
    hands: list[str] = Field(max_length=MAX_SITES)
    # The last ``sites`` seq the home applied from each node: a hand up there
    # that the home has seen and does not list was lowered at the home.
    seen: dict[str, int] = Field(default_factory=dict, max_length=1000)
    # The document the home shows (its sites open it at ``page``), if any.
    document: ShownDocument | None = None
    # How many uploads and deletions the home had: on a change the sites list them again.
    documents: int = Field(0, ge=0)


class TalkIn(_Strict):
    """``talk-in``: a carrier's site sent a chat message (``text``) or a vote's answer
    (``vote``, ``choice``); the home decides as if the site were connected there."""

    kind: Literal["talk-in"]
    site: SiteId = Field(min_length=1, max_length=200)
    text: str | None = Field(None, max_length=16 * 1024)
    to: Literal["all", "host"] = "all"
    vote: str | None = Field(None, max_length=64)
    choice: int | None = Field(None, ge=0, le=1000)


class TalkOut(_Strict):
    """``talk``: what the home's chat and votes tell sites, for the copies to hand to
    their own sites (all of them, or those in ``to``)."""

    kind: Literal["talk"]
    event: dict[str, Any]
    to: list[SiteId] | None = Field(None, max_length=MAX_SITES)
