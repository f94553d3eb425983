"""Chat and votes of a meeting spread over nodes: decided at the home, delivered everywhere.

A site connected at a carrier copy sends its chat message or answer as usual;
its node passes it to the home on the room's cascade channel (``talk-in``),
and the home decides as if the site were there (its proxy is in the home's
room: the limits, the store's single count). What the home tells sites
(``chat``, ``vote``, ``vote-answered``, ``vote-result``, and a refusal as
``error``) goes out as ``talk``; each copy hands it to its own sites. Only
the home acts on ``talk-in``, and only for a site the sending node carries;
only a carrier acts on ``talk``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, TypeAdapter

from conference.cascade.wire import TalkIn, TalkOut
from conference.chat import MeetingChat
from conference.live_rooms import LiveRooms
from conference.permissions import Forbidden
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.rooms.talk_events import SiteTalkEvent, TalkRefused
from conference.tasks import spawn
from conference.votes import MeetingVotes

if TYPE_CHECKING:
    from conference.cascade.cascade import Cascade

logger = logging.getLogger(__name__)

_EVENTS: TypeAdapter[SiteTalkEvent] = TypeAdapter(
    Annotated[SiteTalkEvent, Field(discriminator="type")]
)


class CascadeTalk:
    """:class:`~conference.talk_remote.TalkRemote` over the cascade's room channels."""

    def __init__(
        self, cascade: Cascade, chat: MeetingChat, votes: MeetingVotes, live: LiveRooms
    ) -> None:
        self.cascade = cascade
        self.chat = chat
        self.votes = votes
        self.live = live
        self.submitted_total = 0  # talk-in sent from here
        self.decided_total = 0  # talk-in decided here (the home)

    # -- the home -----------------------------------------------------------------------

    def deliver(self, room: Room, event: SiteTalkEvent, sites: list[str] | None) -> None:
        """Publish ``event`` for the sites connected at the other copies."""
        self.cascade.publish(room.id, {"kind": "talk", "event": event.to_wire(), "to": sites})

    async def _decide(self, room: Room, proxy: Participant, message: TalkIn) -> None:
        meeting = self.live.meeting(room.id)
        try:
            if meeting is None:
                raise Forbidden("no-meeting", "this room serves no scheduled meeting")
            if message.text is not None:
                await self.chat.from_site(meeting, room, proxy, message.text, message.to)
            else:
                await self.votes.answer(
                    meeting, room, proxy, message.vote or "", message.choice or 0
                )
            self.decided_total += 1
        except Forbidden as exc:
            self.deliver(room, TalkRefused(code=exc.code, message=exc.message), [proxy.id])
        except Exception:
            logger.exception("cascade %s: a site's chat or answer failed", room.id)

    # -- a carrier copy -----------------------------------------------------------------

    def submit_chat(self, room: Room, participant: Participant, text: str, to: str) -> None:
        """Pass a local site's message to the home."""
        self._submit(room, {"site": participant.id, "text": text, "to": to})

    def submit_vote(self, room: Room, participant: Participant, vote: str, choice: int) -> None:
        """Pass a local site's answer to the home."""
        self._submit(room, {"site": participant.id, "vote": vote, "choice": choice})

    def _submit(self, room: Room, fields: dict[str, Any]) -> None:
        self.submitted_total += 1
        self.cascade.publish(room.id, {"kind": "talk-in", **fields})

    # -- what the channel brings ----------------------------------------------------------

    def receive(self, room: Room, node: str, fields: dict[str, Any]) -> None:
        """A ``talk`` or ``talk-in`` message from ``node`` on the room's channel.

        Raises ValueError (pydantic's ValidationError) for one that does not fit.
        """
        if fields.get("kind") == "talk-in":
            message = TalkIn.model_validate(fields)
            if room.carrier:
                return  # only the home decides
            proxy = room.participants.get(message.site)
            if proxy is None or proxy.remote != node:
                return  # not a site that node carries (or not announced yet)
            if (message.text is None) == (message.vote is None):
                raise ValueError("talk-in carries a text or a vote")
            spawn(self._decide(room, proxy, message), name=f"talk-{room.id}")
            return
        out = TalkOut.model_validate(fields)
        if not room.carrier:
            return
        event = _EVENTS.validate_python(out.event)
        wanted = None if out.to is None else set(out.to)
        for participant in list(room.participants.values()):
            if participant.remote is None and (wanted is None or participant.id in wanted):
                participant.send(event)
