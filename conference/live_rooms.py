"""The rooms open in this process: opening one (with its roll call), closing it, forgetting it.

A meeting's room is opened by the scheduler or by its first site; it keeps
its roll call and the host's decisions across a reopening (restored from the
saved attendance). An ad-hoc room ends with its last site.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from conference.alert_log import AlertLog
from conference.attendance import Attendance
from conference.bus import EventBus
from conference.connections import Connections
from conference.console_feed import ConsoleFeed, meeting_channel
from conference.extensions import Extensions
from conference.invitations import invited_sites, still_invited
from conference.rooms.console_events import StateChanged
from conference.rooms.room import Room
from conference.settings import Settings
from conference.speaking_log import SpeakingLog
from conference.store import Meeting, MeetingNotFound, Store
from conference.store import Room as RoomRecord
from conference.tasks import spawn

logger = logging.getLogger(__name__)


class LiveRooms:
    """Live rooms by id, the meeting each one serves, and their console feeds."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: EventBus,
        attendance: Attendance,
        connections: Connections,
        extensions: Extensions,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.attendance = attendance
        self.connections = connections
        self.extensions = extensions
        self.speaking = SpeakingLog(store)
        self.alerts = AlertLog(store)
        self.rooms: dict[str, Room] = {}
        self.meetings: dict[str, Meeting] = {}  # room id -> the meeting it serves
        self._consoles: dict[str, ConsoleFeed] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Whether this instance is a room's home (with nodes: it holds the lease);
        # a room opened elsewhere's is a carrier copy (conference/cascade/).
        self.is_home: Callable[[str], bool] = lambda room_id: True

    def get(self, room_id: str) -> Room | None:
        """The live room ``room_id``, or None."""
        return self.rooms.get(room_id)

    def meeting(self, room_id: str) -> Meeting | None:
        """The meeting a live room serves (None for an ad-hoc room)."""
        return self.meetings.get(room_id)

    async def open(self, record: RoomRecord) -> Room:
        """The live room for ``record``, created on first use (with its roll call)."""
        room = self.rooms.get(record.id)
        if room is not None and not room.closed and not self.attendance.untouched(room):
            return room
        lock = self._locks.setdefault(record.id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(record.id)
            if room is not None and not room.closed:
                meeting = self.meetings.get(record.id)
                if meeting is not None and self.attendance.untouched(room):
                    # A copy nobody joined here yet (opened by the schedule): the
                    # meeting's home may have been another node since, which saved
                    # who came and what its host decided. A site arriving here now
                    # (that home died) must find them, as a reopened room would.
                    saved = await self.attendance.newer_than_restored(room, meeting)
                    if saved is not None:
                        room.restore(*saved)
                        self.attendance.opened(room, restored_from=saved[1])
                return room
            meeting = await self._meeting_of_room(record.id)
            invited = await invited_sites(self.store, meeting) if meeting is not None else None
            feed = ConsoleFeed(self.bus, meeting_channel(record.id))
            self._consoles[record.id] = feed
            room = Room(
                record.id,
                record.name,
                record.codec,
                invited=invited,
                publish=feed.put,
                large_room=self.settings.large_room_sites,
            )
            room.carrier = not self.is_home(record.id)
            feed.resync = partial(self._whole_state, room)
            if meeting is None:
                room.on_empty(self._forget)  # an ad-hoc room ends with its last site
            else:
                self.meetings[record.id] = meeting
                # Reopened (a restart, a meeting moved): who came before still
                # counts, and what the host decided (lock, removals, mutes) holds.
                saved = await self.attendance.saved(meeting)
                if saved is not None:
                    room.restore(*saved)
                self.attendance.opened(room, restored_from=saved[1] if saved else 0.0)
            self.rooms[record.id] = room
            # Consoles already open: a new room has no feed and no alert yet.
            room.publish(self._whole_state(room))
            return room

    def announce_state(self, room: Room) -> None:
        """Give the consoles the room's whole state (a carrier copy became the home)."""
        room.publish(self._whole_state(room))

    def _whole_state(self, room: Room) -> StateChanged:
        """A room's console state as one event (opened, or events were lost on the bus)."""
        return StateChanged(state=self.extensions.console_state(room.id, room.console_state()))

    async def _meeting_of_room(self, room_id: str) -> Meeting | None:
        try:
            meeting = await self.store.get_meeting(room_id)  # a meeting's room has its id
        except MeetingNotFound:
            return None
        return meeting if meeting.room_id == room_id else None

    def _forget(self, room: Room) -> None:
        if self.rooms.get(room.id) is room and not room.sites_present():
            spawn(self.close(room.id, "empty"))

    async def save_attendance(self, room: Room, final: bool = False) -> None:
        """Keep a meeting room's roll call in the store (see :class:`Attendance`)."""
        meeting = self.meetings.get(room.id)
        if meeting is not None and not room.carrier:  # the home saves the one roll call
            await self.attendance.save(room, meeting, final)

    async def save_for_minutes(self, room: Room) -> None:
        """Write a meeting room's closed speaking turns and the plate alerts it showed.

        For its minutes (see :class:`SpeakingLog`, :class:`AlertLog`).
        """
        meeting = self.meetings.get(room.id)
        if meeting is not None:
            await self.speaking.save(room, meeting)
            await self.alerts.save(room, meeting)
        else:
            room.speaking.take()  # an ad-hoc room has no minutes
            room.alerts_shown.clear()

    async def close(self, room_id: str, reason: str) -> None:
        """End every connection of a room and close it."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        await self.extensions.room_closing(room, reason)
        for connection in self.connections.in_room(room):
            await self.connections.end(connection.id, reason)
        await self.save_attendance(room, final=True)
        await room.close(reason)  # closes the open speaking turn
        await self.save_for_minutes(room)
        if self.rooms.get(room_id) is room:
            del self.rooms[room_id]
        self.meetings.pop(room_id, None)
        feed = self._consoles.pop(room_id, None)
        if feed is not None:
            await feed.close()

    async def drop_copy(self, room_id: str) -> bool:
        """Forget a meeting room's copy here whose home is another node; False if kept.

        Only a copy nothing happened in since it opened (no site, connection or
        camera came, no host decision, no recording): that is undoing
        :meth:`open`, so it is not the room's end. The meeting's consoles, which
        follow its home over the bus, are not told, no roll call is saved over
        the home's, and the extensions keep what they keep for the meeting
        (its cameras). Anything else closes at the meeting's end, as before.
        """
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            room = self.rooms.get(room_id)
            if (
                room is None
                or room.participants
                or room.recording
                or self.connections.in_room(room)
                or not self.attendance.untouched(room)
            ):
                return False
            # The feed first: the room's own "closed" must not reach the consoles.
            feed = self._consoles.pop(room_id, None)
            if feed is not None:
                await feed.close()
            await self.save_attendance(room, final=True)  # nothing to write: forgets it
            await room.close("elsewhere")
            del self.rooms[room_id]
            self.meetings.pop(room_id, None)
            return True

    async def close_all(self, reason: str) -> None:
        """Save every roll call and close every room and console feed (shutdown)."""
        for room in list(self.rooms.values()):
            await self.save_attendance(room, final=True)
        await asyncio.gather(*(room.close(reason) for room in list(self.rooms.values())))
        for room in list(self.rooms.values()):
            await self.save_for_minutes(room)
        self.rooms.clear()
        for feed in list(self._consoles.values()):
            await feed.close()
        self._consoles.clear()

    async def meeting_updated(self, meeting: Meeting) -> None:
        """A meeting's invitations changed: sites taken off the list leave its live room.

        Only connections that came with the meeting's own links are checked:
        a guest let in with a room token was never on the list.
        """
        room = self.rooms.get(meeting.room_id)
        if room is None:
            return
        self.meetings[meeting.room_id] = meeting
        for connection in self.connections.in_room(room):
            if connection.claims.mtg != meeting.id:
                continue
            if not await still_invited(self.store, meeting, connection.claims.sub):
                await self.connections.end(connection.id, "uninvited")

    async def meeting_cancelled(self, meeting: Meeting) -> None:
        """A meeting was cancelled: close its room if it is open."""
        await self.close(meeting.room_id, "cancelled")
