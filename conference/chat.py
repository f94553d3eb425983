"""A meeting's chat: checked, rate-limited, kept with the meeting, then delivered.

A site writes to every site or to the hosts; the host answers every site
from the console. A message that is too long, empty or over the sender's
rate is refused (:class:`~conference.permissions.Forbidden`, told to the
sender only) and never stored. An accepted one is stored first, so that what
the sites saw is what the minutes list, then delivered: to the consoles
always, and to every site, or to the host site and the sender only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from conference.permissions import Forbidden, Principal
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.rooms.talk_events import ChatPosted
from conference.store import Audience, ChatMessage, ChatStore, Meeting
from conference.talk_remote import TalkRemote, send_to_sites
from conference.token_bucket import TokenBuckets

MAX_CHARS = 1000  # one message
BURST = 5  # messages a sender may send at once...
PER_SECONDS = 10.0  # ...and again after this long (one each 2 s in between)
CATCH_UP = 100  # latest messages a joining site is sent

HOST_NAME = "Chủ trì"  # the console's name when the host site has no name in the roll call


# Bidirectional overrides and isolates: a name or text with them could show
# words in another order than they were written (a spoofed "Đồng ý").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(text: str) -> str:
    """The text as kept: line ends as ``\\n``, no control characters, no outer blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(
        ch
        for ch in text
        if ch in "\n\t" or (ch >= " " and ch != "\x7f" and ch not in _BIDI_CONTROLS)
    )
    return kept.strip()


def not_at_home() -> Forbidden:
    """The refusal at a carrier copy: chat and votes live at the meeting's home node."""
    return Forbidden(
        "not-at-home",
        "chat and votes work only at the meeting's home node; this node carries a copy",
    )


def posted(message: ChatMessage) -> ChatPosted:
    """A stored message as the wire's ``chat``."""
    return ChatPosted(
        seq=message.seq,
        at=message.at,
        site=message.site,
        name=message.name,
        to=message.audience,
        text=message.text,
        host=message.host,
    )


class MeetingChat:
    """Chat of the meetings whose rooms are live in this process."""

    def __init__(
        self,
        store: ChatStore,
        max_chars: int = MAX_CHARS,
        burst: int = BURST,
        per_seconds: float = PER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_chars = max_chars
        self.limits = TokenBuckets(burst, per_seconds)
        self._clock = clock
        # The meeting's other copies (several nodes): set by the composition root.
        self.remote: TalkRemote | None = None

    def _checked(self, text: str, key: str) -> str:
        text = clean_text(text)
        if not text:
            raise Forbidden("chat-empty", "the message is empty")
        if len(text) > self.max_chars:
            raise Forbidden(
                "chat-too-long",
                f"the message has {len(text)} characters; the limit is {self.max_chars}",
            )
        wait = self.limits.take(key)
        if wait > 0:
            raise Forbidden(
                "chat-rate-limited",
                f"too many messages: at most {self.limits.burst} in "
                f"{self.limits.burst / self.limits.rate:g} s; wait {wait:.1f} s",
            )
        return text

    async def from_site(
        self, meeting: Meeting, room: Room, participant: Participant, text: str, to: Audience
    ) -> ChatMessage:
        """A site's message: checked, stored, delivered; Forbidden if refused."""
        if room.carrier:
            raise not_at_home()
        text = self._checked(text, f"site:{meeting.id}:{participant.id}")
        message = await self.store.add_chat(
            ChatMessage(meeting.id, self._clock(), participant.id, participant.name, to, text)
        )
        self._deliver(meeting, room, message, participant.id)
        return message

    async def from_host(
        self, principal: Principal, meeting: Meeting, room: Room, text: str
    ) -> ChatMessage:
        """The host's message to every site (from the console), as the host site."""
        if room.carrier:
            raise not_at_home()
        text = self._checked(text, f"host:{meeting.id}:{principal.username}")
        entry = room.roll_call.entries.get(meeting.host_site)
        name = entry.name if entry is not None else HOST_NAME
        message = await self.store.add_chat(
            ChatMessage(meeting.id, self._clock(), meeting.host_site, name, "all", text, host=True)
        )
        self._deliver(meeting, room, message, None)
        return message

    async def catch_up(
        self, meeting: Meeting, site: str, limit: int = CATCH_UP
    ) -> list[ChatPosted]:
        """The latest messages a site that joins (or joins again) may read, oldest first.

        Every message to all; to the hosts, those it sent (all of them at the
        host site). The page drops those it has already (by ``seq``).
        """
        reader = None if site == meeting.host_site else site  # the host site reads all
        return [posted(m) for m in await self.store.latest_chat(meeting.id, limit, reader)]

    def _deliver(
        self, meeting: Meeting, room: Room, message: ChatMessage, sender: str | None
    ) -> None:
        event = posted(message)
        room.publish(event)  # every console sees every message
        if message.audience == "all":
            send_to_sites(room, event, self.remote)
        else:
            # To the hosts: the host site's page, and the sender sees what it sent.
            send_to_sites(
                room, event, self.remote, [meeting.host_site, *([sender] if sender else [])]
            )
