"""A meeting's chat as it was said: :class:`ChatMessage` and :class:`ChatStore`.

Messages are kept with the meeting (not the room) so that the minutes can
list them after the room closed. Only accepted messages are stored: a message
refused for its size or rate never reaches the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Audience = Literal["all", "host"]  # every site, or only the meeting's hosts


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message of a meeting.

    ``site`` is the sending site's id (the host site's for the console's
    replies, then ``host`` is True); ``name`` is its name when it was sent.
    ``seq`` orders a meeting's messages; the store gives it (0 before).
    """

    meeting_id: str
    at: float  # unix seconds
    site: str
    name: str
    audience: Audience
    text: str
    host: bool = False
    seq: int = 0


class ChatStore(Protocol):
    """Each meeting's chat, in the order it was said."""

    async def add_chat(self, message: ChatMessage) -> ChatMessage:
        """Keep ``message`` after the meeting's others; returns it with its ``seq``."""
        ...

    async def meeting_chat(self, meeting_id: str) -> list[ChatMessage]:
        """Every message of the meeting, in order (``seq`` ascending); [] if none."""
        ...

    async def latest_chat(
        self, meeting_id: str, limit: int, site: str | None = None
    ) -> list[ChatMessage]:
        """The last ``limit`` messages ``site`` may read, oldest first.

        Those to all and those ``site`` sent to the hosts; with no ``site``
        (the hosts'), every message. Reads only as far back as it must: a
        site joining a long meeting does not fetch the whole chat.
        """
        ...


def readable_by(message: ChatMessage, site: str | None) -> bool:
    """Whether ``site`` may read the message (``None``: the hosts, who read all)."""
    return site is None or message.audience == "all" or message.site == site


def chat_json(message: ChatMessage) -> str:
    """The message as one JSON document (without ``seq``: the engine keeps the order)."""
    return json.dumps(
        {
            "meeting_id": message.meeting_id,
            "at": message.at,
            "site": message.site,
            "name": message.name,
            "audience": message.audience,
            "text": message.text,
            "host": message.host,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def chat_from_json(text: str, seq: int) -> ChatMessage:
    """A message written by :func:`chat_json`, at position ``seq``."""
    data: dict[str, Any] = json.loads(text)
    audience: Audience = "host" if data["audience"] == "host" else "all"
    return ChatMessage(
        meeting_id=str(data["meeting_id"]),
        at=float(data["at"]),
        site=str(data["site"]),
        name=str(data["name"]),
        audience=audience,
        text=str(data["text"]),
        host=bool(data["host"]),
        seq=seq,
    )
