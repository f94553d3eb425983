"""The conference of one server process: its parts wired together behind one facade.

Each noun has its own module: who may come in (:mod:`conference.access`), the
live rooms (:mod:`conference.live_rooms`), the sites' connections
(:mod:`conference.connections`), the scheduler (:mod:`conference.schedule`),
the saved roll call (:mod:`conference.attendance`), quality sampling
(:mod:`conference.quality`) and the host console
(:mod:`conference.host_console`). Optional parts (recording, feeds in
meetings) plug in as :class:`~conference.extensions.Extension`; the
composition root (``server/compose.py``) builds and registers them, so this
package never imports them. The web layer calls the facade and turns its
answers into HTTP and WebSocket messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from conference.access import Access
from conference.attendance import Attendance
from conference.bus import EventBus, MemoryBus
from conference.chat import MeetingChat
from conference.connections import Connection, Connections
from conference.console_commands import ConsoleCommands
from conference.console_feed import meeting_channel
from conference.documents.files import DocumentFiles
from conference.documents.service import DocumentService
from conference.extensions import Extension, Extensions
from conference.host_console import HostConsole
from conference.live_rooms import LiveRooms
from conference.login_throttle import LoginThrottle
from conference.meetings import MeetingService
from conference.passwords import PasswordHasher
from conference.peer import SdpError
from conference.permissions import Forbidden, Principal
from conference.quality import QualitySampler
from conference.rooms.console_events import CommandReply, ConsoleState
from conference.rooms.events import PresentStatus
from conference.rooms.roll_call import Quality, RollCall
from conference.rooms.room import Room
from conference.schedule import Scheduler
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Audience, Meeting, Store
from conference.store import Room as RoomRecord
from conference.talk_commands import talk_commands
from conference.talk_remote import TalkRemote
from conference.tasks import spawn
from conference.tokens import Role, TokenClaims, TokenError
from conference.votes import MeetingVotes


class Conference:
    """Live rooms and connections of one server process."""

    def __init__(
        self, settings: Settings, store: Store, secret: bytes, bus: EventBus | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.secret = secret
        self.bus: EventBus = bus if bus is not None else MemoryBus()
        self.meetings = MeetingService(store, secret, settings.default_codec)
        # Logins: scrypt on its own threads, attempts counted in the store.
        self.passwords = PasswordHasher(settings.login_workers, settings.login_queue)
        self.login_throttle = LoginThrottle(
            store, settings.login_free_attempts, settings.login_delay, settings.login_max_delay
        )
        self.metrics = SfuMetrics()
        self.extensions = Extensions()
        self.commands = ConsoleCommands()
        self.attendance_book = Attendance(store)
        self.peers = Connections(settings, self.metrics, self.open_room, self.extensions)
        self.live = LiveRooms(
            settings, store, self.bus, self.attendance_book, self.peers, self.extensions
        )
        self.access = Access(secret, store, self.live.get)
        self.scheduler = Scheduler(store, self.live)
        self.quality = QualitySampler(self.peers)
        self.console = HostConsole(
            store, self.live, self.peers, self.attendance_book, self.extensions, self.commands
        )
        self.documents = DocumentService(
            store,
            self.meetings,
            DocumentFiles(settings.documents_dir),
            settings.documents_max_bytes,
            self.live.get,
        )
        # Showing, forwarded from another node to the meeting's home (several nodes).
        for name, handler in self.documents.commands().items():
            self.commands.add(name, handler)
        # Chat and votes (biểu quyết) of the meetings live here, and their console commands.
        self.chat = MeetingChat(store)
        self.votes = MeetingVotes(store)
        for name, handler in talk_commands(self.chat, self.votes).items():
            self.commands.add(name, handler)
        # A meeting's other copies (conference/cascade/talk.py), with several nodes.
        self.talk_remote: TalkRemote | None = None
        self._background: list[asyncio.Task[None]] = []
        self.closing = False

    def add_extension(self, extension: Extension) -> None:
        """Plug in an optional part (before :meth:`start`); it may add console commands."""
        self.extensions.add(extension)
        extension.add_commands(self.commands)

    @property
    def rooms(self) -> dict[str, Room]:
        """Live rooms by id."""
        return self.live.rooms

    @property
    def room_meetings(self) -> dict[str, Meeting]:
        """The meeting each live meeting room serves, by room id."""
        return self.live.meetings

    @property
    def connections(self) -> dict[str, Connection]:
        """Live connections by id."""
        return self.peers.by_id

    def start(self) -> None:
        """Start the extensions, then the scheduler, quality sampling and their loops."""
        for extension in self.extensions:
            extension.start()
        self._background = [
            spawn(self.scheduler.run(), name="scheduler"),
            spawn(self.quality.run(), name="quality"),
        ]
        for extension in self.extensions:
            for name, loop in extension.periodic().items():
                self._background.append(spawn(loop(), name=name))

    async def shutdown(self) -> None:
        """Close every connection and room (SIGTERM)."""
        self.closing = self.peers.closing = True
        for task in self._background:
            task.cancel()
        await self.extensions.shutdown()
        await self.peers.end_all("shutdown")
        await self.live.close_all("shutdown")
        self.passwords.close()

    # -- rooms and meetings ---------------------------------------------------------------

    async def authorize(
        self, token: str, room_id: str | None = None
    ) -> tuple[TokenClaims, RoomRecord]:
        """Verify a join token and load its room (see :meth:`Access.authorize`)."""
        return await self.access.authorize(token, room_id)

    async def open_room(self, record: RoomRecord) -> Room:
        """The live room for ``record``, created on first use (with its roll call)."""
        return await self.live.open(record)

    async def close_room(self, room_id: str, reason: str) -> None:
        """End every connection of a room and close it."""
        await self.live.close(room_id, reason)

    async def meeting_updated(self, meeting: Meeting) -> None:
        """A meeting's invitations changed: sites taken off the list leave its live room."""
        await self.live.meeting_updated(meeting)

    async def meeting_cancelled(self, meeting: Meeting) -> None:
        """A meeting was cancelled: close its room if it is open."""
        await self.live.meeting_cancelled(meeting)

    async def attendance(self, meeting: Meeting) -> tuple[RollCall, bool]:
        """A meeting's roll call, and whether its room is live (see :class:`Attendance`)."""
        return await self.attendance_book.roll_call(meeting, self.live.get(meeting.room_id))

    async def save_attendance(self, room: Room, final: bool = False) -> None:
        """Keep a meeting room's roll call in the store."""
        await self.live.save_attendance(room, final)

    # -- connections ----------------------------------------------------------------------

    # A browser site joins through ``self.peers.connect_browser`` (its options are
    # the signaling message's; repeating them here bought nothing).

    async def accept_answer(self, connection: Connection, sdp: str) -> None:
        """The browser's answer; afterwards its published sources are known."""
        await self.peers.accept_answer(connection, sdp)

    async def publish_whip(
        self, claims: TokenClaims, record: RoomRecord, offer: str
    ) -> tuple[Connection, str]:
        """WHIP: a publisher's offer in, our answer out; it joins like a site."""
        return await self.peers.publish_whip(claims, record, offer)

    async def view_whep(
        self, claims: TokenClaims, record: RoomRecord, offer: str
    ) -> tuple[Connection, str]:
        """WHEP: a viewer's offer in, our answer out; its sections become slots."""
        return await self.peers.view_whep(claims, record, offer)

    def set_muted(self, connection: Connection, audio: bool, video: bool) -> bool:
        """A site's microphone/camera state; False if the host's mute forbids unmuting."""
        return self.peers.set_muted(connection, audio, video)

    def raise_hand(self, connection: Connection, raised: bool) -> None:
        """A site asks for (or gives up asking for) the floor."""
        self.peers.raise_hand(connection, raised)

    def present(self, connection: Connection, active: bool) -> PresentStatus | None:
        """A site starts or stops presenting its screen (see :meth:`Connections.present`)."""
        return self.peers.present(connection, active)

    def client_report(self, connection: Connection, quality: Quality) -> None:
        """A site's own measurement of its connection (from getStats)."""
        self.peers.client_report(connection, quality)

    async def end(self, connection_id: str, reason: str = "left") -> bool:
        """Close a connection and take its site out of the room; False if unknown."""
        return await self.peers.end(connection_id, reason)

    # -- chat and votes --------------------------------------------------------------------

    def _talk_meeting(self, connection: Connection) -> Meeting:
        meeting = self.live.meeting(connection.room.id)
        if meeting is None:
            raise Forbidden(
                "no-meeting", "chat and votes belong to a scheduled meeting; this room has none"
            )
        return meeting

    async def talk_chat(self, connection: Connection, text: str, to: Audience) -> None:
        """A site's chat message; Forbidden (to tell the site) if it is refused.

        At a carrier copy it goes to the meeting's home, which decides and
        answers through the cascade.
        """
        meeting = self._talk_meeting(connection)
        room, participant = connection.room, connection.participant
        if room.carrier and self.talk_remote is not None:
            self.talk_remote.submit_chat(room, participant, text, to)
            return
        await self.chat.from_site(meeting, room, participant, text, to)

    async def talk_vote(self, connection: Connection, vote: str, choice: int) -> None:
        """A site's answer to a vote; Forbidden (to tell the site) if it does not count."""
        meeting = self._talk_meeting(connection)
        room, participant = connection.room, connection.participant
        if room.carrier and self.talk_remote is not None:
            self.talk_remote.submit_vote(room, participant, vote, choice)
            return
        await self.votes.answer(meeting, room, participant, vote, choice)

    # -- the host console -----------------------------------------------------------------

    async def console_room(
        self, principal: Principal, meeting_id: str
    ) -> tuple[Meeting, Room | None]:
        """A meeting a principal may run, and its live room if it is open."""
        return await self.console.room(principal, meeting_id)

    async def console_state(self, meeting: Meeting) -> ConsoleState:
        """What a console shows: the live room's state, or every invited site not joined yet."""
        return await self.console.state(meeting)

    async def console_command(
        self,
        principal: Principal,
        meeting_id: str,
        command: str,
        site: str | None = None,
        opened: Meeting | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> CommandReply:
        """A command from the host console; returns what changed (see :meth:`HostConsole.command`)."""
        return await self.console.command(principal, meeting_id, command, site, opened, args)


# Names the web layer has always imported from here.
__all__ = [
    "Conference",
    "Connection",
    "Forbidden",
    "Role",
    "SdpError",
    "TokenError",
    "meeting_channel",
]
