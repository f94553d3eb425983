"""How optional parts (recording, feeds in meetings) plug into the conference.

The conference never imports them: the composition root (``server/compose.py``)
builds them and hands them to :meth:`conference.service.Conference.add_extension`.
They follow rooms through these hooks, and may add console commands and
console state.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Protocol

from conference.console_commands import ConsoleCommands
from conference.rooms.console_events import ConsoleState
from conference.rooms.participant import Participant
from conference.rooms.room import Room

PeriodicTask = Callable[[], Coroutine[Any, Any, None]]


class Extension(Protocol):
    """Hooks called by the conference; every one has a do-nothing default.

    Subclass it explicitly to inherit the defaults and override what you need.
    Hooks that are not ``async`` run inside room code and must not block.
    """

    def start(self) -> None:
        """Start-up, before any room opens (e.g. mark recordings a crash cut short)."""
        return None

    def periodic(self) -> dict[str, PeriodicTask]:
        """Loops to run from start to shutdown, by task name (cancelled at shutdown)."""
        return {}

    def add_commands(self, commands: ConsoleCommands) -> None:
        """Register this part's host console commands."""
        return None

    def console_state(self, room_id: str, state: ConsoleState) -> None:
        """Add this part's keys to a room's console state (also for a room not open)."""
        return None

    def site_joined(self, room: Room, participant: Participant) -> None:
        """A site's connection joined ``room``."""
        return None

    async def remove_site(self, room: Room, site_id: str) -> bool:
        """The host removes ``site_id``: True if it is this part's (e.g. a feed) and left."""
        return False

    async def room_closing(self, room: Room, reason: str) -> None:
        """``room`` is closing: its connections are still open."""
        return None

    async def shutdown(self) -> None:
        """The server stops: release what this part holds (before connections end)."""
        return None


class Extensions:
    """The registered extensions, in order; each hook is called on every one of them."""

    def __init__(self) -> None:
        self._all: list[Extension] = []

    def add(self, extension: Extension) -> None:
        """Register one more extension (its hooks run after the earlier ones')."""
        self._all.append(extension)

    def __iter__(self) -> Iterator[Extension]:
        return iter(self._all)

    def console_state(self, room_id: str, state: ConsoleState) -> ConsoleState:
        """``state`` with every extension's keys added; returns it."""
        for extension in self._all:
            extension.console_state(room_id, state)
        return state

    def site_joined(self, room: Room, participant: Participant) -> None:
        """Tell every extension a site joined."""
        for extension in self._all:
            extension.site_joined(room, participant)

    async def remove_site(self, room: Room, site_id: str) -> bool:
        """True if an extension owned ``site_id`` and took it out of the room."""
        for extension in self._all:
            if await extension.remove_site(room, site_id):
                return True
        return False

    async def room_closing(self, room: Room, reason: str) -> None:
        """Tell every extension a room is closing."""
        for extension in self._all:
            await extension.room_closing(room, reason)

    async def shutdown(self) -> None:
        """Shut every extension down, in order."""
        for extension in self._all:
            await extension.shutdown()
