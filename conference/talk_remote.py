"""Chat and votes over several nodes: where a meeting's talk crosses to its other copies.

A meeting spread over nodes (``conference/cascade/``) has its chat and votes
decided at its home: a site connected at a carrier copy submits its message
there, and what the home tells sites reaches those connected elsewhere. The
cascade implements :class:`TalkRemote` (``conference/cascade/talk.py``);
alone, there is none and every site is at the home.
"""

from __future__ import annotations

from typing import Protocol

from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.rooms.talk_events import SiteTalkEvent


class TalkRemote(Protocol):
    """The other copies of a meeting, as chat and votes see them."""

    def deliver(self, room: Room, event: SiteTalkEvent, sites: list[str] | None) -> None:
        """At the home: ``event`` for the sites connected at other nodes (all, or ``sites``)."""
        ...

    def submit_chat(self, room: Room, participant: Participant, text: str, to: str) -> None:
        """At a carrier copy: a local site's chat message, for the home to decide."""
        ...

    def submit_vote(self, room: Room, participant: Participant, vote: str, choice: int) -> None:
        """At a carrier copy: a local site's answer, for the home to count."""
        ...


def send_to_sites(
    room: Room, event: SiteTalkEvent, remote: TalkRemote | None, sites: list[str] | None = None
) -> None:
    """``event`` to every site of ``room`` (or to ``sites``), here and at the other nodes."""
    if sites is None:
        room.broadcast(event)
        targets = list(room.participants.values())
    else:
        targets = [p for s in dict.fromkeys(sites) if (p := room.participants.get(s)) is not None]
        for participant in targets:
            participant.send(event)
    if remote is not None and any(p.remote is not None for p in targets):
        remote.deliver(room, event, sites)
