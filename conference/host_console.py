"""The host console: which meeting a host may run, what it shows, and its commands.

Commands are looked up in a :class:`ConsoleCommands` table: the floor
commands are registered here, recording and feeds register theirs as
extensions (see :mod:`conference.extensions`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conference.attendance import Attendance
from conference.connections import Connections
from conference.console_commands import (
    CommandContext,
    CommandHandler,
    CommandResult,
    ConsoleCommands,
)
from conference.extensions import Extensions
from conference.live_rooms import LiveRooms
from conference.permissions import Forbidden, Principal, can_manage_meeting
from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import CommandDone, CommandReply, ConsoleState, SitesMuted
from conference.rooms.room import Room, RoomRefused
from conference.store import Meeting, Store

# Runs a command at another node: (principal, meeting id, room id, command, site, args).
Forward = Callable[
    [Principal, str, str, str, str | None, Mapping[str, Any] | None], Awaitable[CommandReply]
]


async def _give_floor(c: CommandContext) -> CommandResult:
    c.room.give_floor(c.site)
    return None


async def _take_floor(c: CommandContext) -> CommandResult:
    c.room.give_floor(None)
    return None


async def _spotlight(c: CommandContext) -> CommandResult:
    c.room.set_spotlight(c.site)
    return None


async def _mute(c: CommandContext) -> CommandResult:
    return SitesMuted(muted=c.room.mute([c.site] if c.site else []))


async def _mute_all(c: CommandContext) -> CommandResult:
    return SitesMuted(muted=c.room.mute(None))


async def _unmute(c: CommandContext) -> CommandResult:
    c.room.lift_host_mute(c.site or "")
    return None


async def _lower_hand(c: CommandContext) -> CommandResult:
    c.room.raise_hand(c.site or "", False)
    return None


async def _readmit(c: CommandContext) -> CommandResult:
    c.room.readmit(c.site or "")
    return None


async def _lock(c: CommandContext) -> CommandResult:
    c.room.set_locked(True)
    return None


async def _unlock(c: CommandContext) -> CommandResult:
    c.room.set_locked(False)
    return None


async def _stop_presenting(c: CommandContext) -> CommandResult:
    # ``site`` names the presenter the host saw: a newer presentation is not stopped by a
    # click meant for the old one.
    c.room.stop_presenting(c.site, reason="host")
    return None


async def _allow_presenting(c: CommandContext) -> CommandResult:
    c.room.allow_presenting(c.site or "")
    return None


async def _refuse_presenting(c: CommandContext) -> CommandResult:
    c.room.refuse_presenting(c.site or "")
    return None


async def _presenting_approval(c: CommandContext) -> CommandResult:
    c.room.set_presenting_approval(True)
    return None


async def _presenting_open(c: CommandContext) -> CommandResult:
    c.room.set_presenting_approval(False)
    return None


FLOOR_COMMANDS: dict[str, CommandHandler] = {
    "give-floor": _give_floor,
    "take-floor": _take_floor,
    "spotlight": _spotlight,
    "mute": _mute,
    "mute-all": _mute_all,
    "unmute": _unmute,
    "lower-hand": _lower_hand,
    "readmit": _readmit,
    "lock": _lock,
    "unlock": _unlock,
    "stop-presenting": _stop_presenting,
    "allow-presenting": _allow_presenting,
    "refuse-presenting": _refuse_presenting,
    "presenting-approval": _presenting_approval,
    "presenting-open": _presenting_open,
}


class HostConsole:
    """A meeting's console for its hosts: access, state and commands."""

    def __init__(
        self,
        store: Store,
        live: LiveRooms,
        connections: Connections,
        attendance: Attendance,
        extensions: Extensions,
        commands: ConsoleCommands,
    ) -> None:
        self.store = store
        self.live = live
        self.connections = connections
        self.attendance = attendance
        self.extensions = extensions
        self.commands = commands
        # With several nodes: runs a command at the meeting's home when its room is
        # not open here (conference/cluster/commands.py); None alone.
        self.forward: Forward | None = None
        for name, handler in FLOOR_COMMANDS.items():
            commands.add(name, handler)
        commands.add("remove", self._remove)

    async def room(self, principal: Principal, meeting_id: str) -> tuple[Meeting, Room | None]:
        """A meeting a principal may run, and its live room if it is open."""
        meeting = await self.store.get_meeting(meeting_id)
        if not await can_manage_meeting(self.store, principal, meeting):
            raise Forbidden("not-your-meeting", "only the meeting's hosts run its console")
        return meeting, self.live.get(meeting.room_id)

    async def state(self, meeting: Meeting) -> ConsoleState:
        """What a console shows: the live room's state, or every invited site not joined yet."""
        room = self.live.get(meeting.room_id)
        if room is not None:
            return self.extensions.console_state(room.id, room.console_state())
        roll_call, _live = await self.attendance.roll_call(meeting, None)
        state = ConsoleState(
            room={"id": meeting.room_id, "name": meeting.title},
            sites=roll_call.snapshot(),
            tiers=roll_call.tiers(),
            hands=[],
            floor=None,
            spotlight=None,
            speaker=None,
            locked=False,
            recording=False,
            open=False,
            present=0,
        )
        return self.extensions.console_state(meeting.room_id, state)

    async def command(
        self,
        principal: Principal,
        meeting_id: str,
        command: str,
        site: str | None = None,
        opened: Meeting | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> CommandReply:
        """Run one console command on the meeting's live room; returns what changed.

        The right to run it is checked in the store each time. ``opened`` is
        the meeting as checked when the console's socket opened: while the
        store cannot be reached (a Redis outage), that check stands for a room
        live in this process, so that the host keeps control of the meeting
        (mute a site, give the floor) during the outage. Anything else raises
        the store's error.
        """
        try:
            meeting, room = await self.room(principal, meeting_id)
        except UNREACHABLE:
            room = None
            if opened is not None and opened.id == meeting_id:
                room = self.live.get(opened.room_id)
            if room is None or opened is None:
                raise
            meeting = opened
        if room is None or room.carrier:
            # A carrier copy follows the home's decisions: the command is run there.
            if self.forward is not None:
                return await self.forward(
                    principal, meeting.id, meeting.room_id, command, site, args
                )
            raise Forbidden("room-not-open", "the meeting room is not open")
        return await self._run(principal, meeting, room, command, site, args)

    async def run_here(
        self,
        principal: Principal,
        meeting_id: str,
        command: str,
        site: str | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> CommandReply:
        """Run a command another node sent here: at the live room here, never forwarded."""
        meeting, room = await self.room(principal, meeting_id)
        if room is None:
            raise Forbidden("room-not-open", "the meeting room is not open")
        return await self._run(principal, meeting, room, command, site, args)

    async def _run(
        self,
        principal: Principal,
        meeting: Meeting,
        room: Room,
        command: str,
        site: str | None,
        args: Mapping[str, Any] | None = None,
    ) -> CommandReply:
        handler = self.commands.get(command)
        if handler is None:
            raise Forbidden("unknown-command", f"unknown console command {command!r}")
        try:
            result = await handler(CommandContext(principal, meeting, room, site, args or {}))
        except RoomRefused as exc:
            raise Forbidden(exc.code, exc.message) from exc
        if result is not None:
            return result
        room.flush_console(time.monotonic(), force=True)
        return CommandDone()

    async def _remove(self, c: CommandContext) -> CommandResult:
        """Take a site out of the meeting (a feed through its extension), ending its connection."""
        if c.site is None or c.site == c.meeting.host_site:
            raise Forbidden("cannot-remove", "the host site cannot be removed")
        if await self.extensions.remove_site(c.room, c.site):
            c.room.flush_console(time.monotonic(), force=True)
            return CommandDone()
        removed = c.room.remove(c.site)
        if removed is not None:
            connection = self.connections.of_participant(removed)
            if connection is not None:
                await self.connections.end(connection.id, "removed")
        return None
