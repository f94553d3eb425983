"""The host console socket's own messages: the command it sends and what answers it.

The events a room publishes for its consoles are in
:mod:`conference.rooms.console_events`; these are the messages only the
socket speaks: the console's ``command``, the ``console`` snapshot it gets
first, and the ``result`` or ``error`` that answers a command.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from conference.rooms.console_events import CommandReply, ConsoleState
from conference.wire import WireMessage

# -- console to server ------------------------------------------------------------------


class Command(BaseModel):
    """A floor-control command from the console."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["command"]
    id: int = Field(ge=0, le=2**53)
    command: Literal[
        "give-floor",
        "take-floor",
        "spotlight",
        "mute",
        "mute-all",
        "unmute",
        "lower-hand",
        "remove",
        "readmit",
        "lock",
        "unlock",
        "record-start",
        "record-stop",
        "add-feed",
        "remove-feed",
        "add-wall",
        "remove-wall",
        "stop-presenting",
        "allow-presenting",
        "refuse-presenting",
        "presenting-approval",
        "presenting-open",
        "chat",
        "vote-open",
        "vote-close",
    ]
    site: str | None = Field(None, max_length=64)
    # chat: its text (its length is the chat's to check: chat-too-long)
    text: str | None = Field(None, max_length=16 * 1024)
    # vote-open: the question, 2-10 options, secret or open (checked by the votes: vote-invalid)
    question: str | None = Field(None, max_length=2000)
    options: list[Annotated[str, Field(max_length=1000)]] | None = Field(None, max_length=50)
    secret: bool | None = None
    # vote-close: which vote
    vote: str | None = Field(None, max_length=64)
    # add-wall: the wall's cameras (feed ids), in tile order
    feeds: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=36)

    def args(self) -> dict[str, Any]:
        """The command's own fields beyond ``site`` (for :class:`CommandContext.args`)."""
        return self.model_dump(
            include={"text", "question", "options", "secret", "vote", "feeds"}, exclude_none=True
        )


# -- server to console ------------------------------------------------------------------


class MeetingHeader(WireMessage):
    """The meeting a console runs."""

    id: str
    title: str
    host_site: str


class ConsoleSnapshot(WireMessage):
    """Sent first on every console socket: the meeting and its whole state."""

    type: Literal["console"] = "console"
    meeting: MeetingHeader
    state: ConsoleState


class ConsoleRefresh(WireMessage):
    """The whole state again, without the meeting (sent after the room closed)."""

    type: Literal["console"] = "console"
    state: ConsoleState


class Result(WireMessage):
    """A command was carried out: ``{"type": "result", "id": n, ...what it changed}``."""

    type: Literal["result"] = "result"
    id: int
    reply: CommandReply

    @model_serializer(mode="wrap")
    def _reply_inline(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The reply's fields sit next to ``id`` on the wire, not under a key of their own.
        data: dict[str, Any] = handler(self)
        data.update(data.pop("reply"))
        return data


class CommandError(WireMessage):
    """A command failed (or was invalid); ``id`` says which, ``code`` is stable."""

    type: Literal["error"] = "error"
    id: int
    code: str
    message: str


class MessageError(WireMessage):
    """A message that is not a command the console could have waited for an answer to."""

    type: Literal["error"] = "error"
    code: str
    message: str
