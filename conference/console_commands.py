"""The host console's commands: a table from command name to handler, open to extensions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conference.permissions import Principal
from conference.rooms.console_events import CommandReply
from conference.rooms.room import Room
from conference.store import Meeting


@dataclass(frozen=True)
class CommandContext:
    """What a command acts on: who sent it, the meeting, its live room and the target site.

    ``args`` are the command's own fields beyond ``site`` (a chat's ``text``,
    a vote's ``question`` and ``options``), as the console socket validated them.
    """

    principal: Principal
    meeting: Meeting
    room: Room
    site: str | None
    args: Mapping[str, Any] = field(default_factory=dict)


# A handler answers with the reply the console gets as it is, or None for
# "done": then the room's console state is flushed and the reply is CommandDone.
CommandResult = CommandReply | None
CommandHandler = Callable[[CommandContext], Awaitable[CommandResult]]


class ConsoleCommands:
    """Command name -> handler. The conference registers the floor commands; extensions
    (recording, feeds) add theirs, so the console grows without the conference
    knowing what they do."""

    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def add(self, name: str, handler: CommandHandler) -> None:
        """Register ``handler`` for ``name``; a name has one handler."""
        if name in self._handlers:
            raise ValueError(f"console command {name!r} is registered twice")
        self._handlers[name] = handler

    def get(self, name: str) -> CommandHandler | None:
        """The handler of ``name``, or None for an unknown command."""
        return self._handlers.get(name)

    def names(self) -> list[str]:
        """Every registered command, in registration order."""
        return list(self._handlers)
