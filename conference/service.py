"""The conference service: rooms, their sites and the peer connections behind them.

This is the one place that ties the room layer (who is in, who sees whom,
roll call, floor) to the media plane (peer sessions, sources, slots), to
stored state (rooms, meetings, invitations) and to the event bus that carries
room events to host consoles. The web layer calls it and turns its answers
into HTTP and WebSocket messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anpr_feed.events_store import PlateEvent
from anpr_feed.manager import FeedManager
from anpr_feed.participant import CODECS, FeedPublisher, feed_site_id
from anpr_feed.sources import SourcePolicy
from anpr_feed.watchlist import Alert
from conference.bus import EventBus, MemoryBus
from conference.login_throttle import LoginThrottle
from conference.meetings import CLOSE_WARNING_SECONDS, OPEN_LEAD_SECONDS, MeetingService
from conference.passwords import PasswordHasher
from conference.peer import PeerSession, SdpError, SlotLayout
from conference.permissions import Forbidden, Principal, can_manage_meeting, can_see_feed
from conference.rooms.console_events import (
    AlertMatch,
    CommandDone,
    CommandReply,
    ConsoleEvent,
    ConsoleState,
    ConsoleWarning,
    PlateAlert,
    RecordingCommanded,
    SitesMuted,
    StateChanged,
)
from conference.rooms.events import RoomEvent
from conference.rooms.participant import Participant
from conference.rooms.roll_call import InvitedSite, Quality, RollCall
from conference.rooms.room import Room, RoomRefused
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import AttendanceRecord, Feed, Meeting, MeetingNotFound, NotFound, Store
from conference.store import Room as RoomRecord
from conference.tasks import spawn
from conference.tokens import Role, TokenClaims, TokenError, verify_token
from recorder.jobs import RenderJobs
from recorder.library import delete_expired
from recorder.manifest import Manifest, RecordingStatus, UnitEntry
from recorder.session import RoomRecorder, new_recording_id, recover_interrupted

logger = logging.getLogger(__name__)

SCHEDULER_SECONDS = 2.0
QUALITY_SECONDS = 5.0
ALERTS_KEPT = 100  # per room, for a console opened after the alert
ATTENDANCE_SAVE_SECONDS = 30.0  # at most this often while sites come and go; always at the end


def meeting_channel(room_id: str) -> str:
    """The bus channel of a room's console events."""
    return f"meeting:{room_id}"


@dataclass
class Connection:
    """A site's live connection: its peer session, participant and room."""

    id: str
    room: Room
    participant: Participant
    session: PeerSession
    claims: TokenClaims
    on_end: list[Callable[[str], None]] = field(default_factory=list)
    ended: bool = False


class _ConsoleFeed:
    """Publishes one room's console events on the bus, in order, off the hot path."""

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: asyncio.Queue[ConsoleEvent | None] = asyncio.Queue()
        self.task = spawn(self._drain(), name=f"console-feed-{channel}")

    def put(self, event: ConsoleEvent) -> None:
        self.queue.put_nowait(event)

    async def _drain(self) -> None:
        while (event := await self.queue.get()) is not None:
            try:
                await self.bus.publish(self.channel, event.to_wire())
            except Exception:
                logger.exception("publishing on %s failed", self.channel)

    async def close(self) -> None:
        self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


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
        self.rooms: dict[str, Room] = {}
        self.room_meetings: dict[str, Meeting] = {}
        self.connections: dict[str, Connection] = {}
        self._consoles: dict[str, _ConsoleFeed] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._warned: set[str] = set()
        self._attendance_saved: dict[str, tuple[Any, float]] = {}  # room: (what, when)
        self.recorders: dict[str, RoomRecorder] = {}
        self.renders = RenderJobs(
            settings.data_dir,
            {k: v for k, v in {"CONFERENCE_REDIS_URL": settings.redis_url}.items() if v},
        )
        self.cameras = FeedManager(
            store,
            settings.data_dir,
            settings.timezone,
            policy=SourcePolicy.from_settings(settings),
            log_level=settings.log_level,
            max_running=settings.max_feeds,
        )
        self.cameras.on_pass.append(self._plate_pass)
        self.feed_publishers: dict[str, dict[str, FeedPublisher]] = {}  # room -> feed -> publisher
        self.room_alerts: dict[str, deque[PlateAlert]] = {}
        self._background: list[asyncio.Task[None]] = []
        self.closing = False

    def start(self) -> None:
        """Recover crashed recordings; start the scheduler, quality sampling and retention."""
        interrupted = recover_interrupted(self.settings.recordings_dir)
        if interrupted:
            logger.warning(
                "marked %d recording(s) interrupted: %s", len(interrupted), ", ".join(interrupted)
            )
        self._background = [
            spawn(self._scheduler(), name="scheduler"),
            spawn(self._quality_sampler(), name="quality"),
            spawn(self._retention(), name="retention"),
            spawn(self._camera_feeds(), name="camera-feeds"),
        ]

    # -- authorisation -------------------------------------------------------------------

    async def authorize(
        self, token: str, room_id: str | None = None
    ) -> tuple[TokenClaims, RoomRecord]:
        """Verify a token (for ``room_id`` if given) and load its room.

        A token of a scheduled meeting is good only while its room is open and
        the meeting is not cancelled; a removed site, or a new one in a locked
        room, is refused. Raises :class:`TokenError`, :class:`Forbidden` or
        ``RoomNotFound``.
        """
        claims = verify_token(self.secret, token)
        if room_id is not None and claims.room != room_id:
            raise Forbidden("wrong-room", "this token is for another room")
        record = await self.store.get_room(claims.room)
        if claims.mtg is not None:
            try:
                meeting = await self.store.get_meeting(claims.mtg)
            except MeetingNotFound as exc:
                raise Forbidden("meeting-not-found", "this meeting no longer exists") from exc
            now = time.time()
            if meeting.room_id != record.id:
                raise Forbidden("wrong-room", "this token is for another meeting")
            if meeting.cancelled_at is not None:
                raise Forbidden("meeting-cancelled", "this meeting was cancelled")
            if now >= meeting.end:
                raise Forbidden("meeting-ended", "this meeting has ended")
            if now < meeting.start - OPEN_LEAD_SECONDS:
                raise Forbidden("meeting-not-open", "the meeting room is not open yet")
            # A meeting's link is one invitation: it lapses when the site is taken
            # off the list, however long the signed token would still run.
            if not await self._still_invited(meeting, claims.sub):
                raise Forbidden("not-invited", "this site is no longer invited to the meeting")
        room = self.rooms.get(record.id)
        if room is not None:
            try:
                room.admit(claims.sub)
            except RoomRefused as exc:
                raise Forbidden(exc.code, exc.message) from exc
        return claims, record

    # -- rooms ---------------------------------------------------------------------------

    async def open_room(self, record: RoomRecord) -> Room:
        """The live room for ``record``, created on first use (with its roll call)."""
        room = self.rooms.get(record.id)
        if room is not None and not room.closed:
            return room
        lock = self._room_locks.setdefault(record.id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(record.id)
            if room is not None and not room.closed:
                return room
            meeting = await self._meeting_of_room(record.id)
            invited = await self._invited_sites(meeting) if meeting is not None else None
            feed = _ConsoleFeed(self.bus, meeting_channel(record.id))
            self._consoles[record.id] = feed
            room = Room(
                record.id,
                record.name,
                record.codec,
                invited=invited,
                publish=feed.put,
                large_room=self.settings.large_room_sites,
            )
            if meeting is None:
                room.on_empty(self._forget_room)  # an ad-hoc room ends with its last site
            else:
                self.room_meetings[record.id] = meeting
                # Reopened (a restart, a meeting moved): who came before still
                # counts, and what the host decided (lock, removals, mutes) holds.
                saved = await self._saved_attendance(meeting)
                if saved is not None:
                    room.restore(*saved)
            self.rooms[record.id] = room
            # Consoles already open: a new room has no camera and no alert yet.
            state = room.console_state()
            state["alerts"], state["feeds"] = [], []
            room.publish(StateChanged(state=state))
            return room

    # -- attendance --------------------------------------------------------------------

    async def save_attendance(self, room: Room, final: bool = False) -> None:
        """Keep a meeting room's roll call in the store, so the record outlives the room.

        Saved when it changed, at most every :data:`ATTENDANCE_SAVE_SECONDS`
        while the meeting runs (a crash loses at most that much), and at once
        when the room closes (``final``).
        """
        meeting = self.room_meetings.get(room.id)
        if meeting is None:
            return
        host_state = room.host_state()
        revision = (room.roll_call.revision, json.dumps(host_state))
        now = time.monotonic()
        last = self._attendance_saved.get(room.id)
        if last is not None and (
            last[0] == revision or (not final and now - last[1] < ATTENDANCE_SAVE_SECONDS)
        ):
            return
        record = AttendanceRecord(
            meeting_id=meeting.id,
            saved_at=time.time(),
            sites=room.roll_call.snapshot(),
            room=host_state,
        )
        try:
            await self.store.save_attendance(record)
        except Exception:
            # A store that fails must not keep a room from closing; the next pass retries.
            logger.exception("saving the roll call of meeting %s failed", meeting.id)
            return
        self._attendance_saved[room.id] = (revision, now)
        if final:
            self._attendance_saved.pop(room.id, None)

    async def _saved_attendance(
        self, meeting: Meeting
    ) -> tuple[list[dict[str, Any]], float, dict[str, Any]] | None:
        """A meeting's saved roll call: its rows, when it was saved, the host's decisions."""
        record = await self.store.get_attendance(meeting.id)
        if record is None:
            return None
        return record.sites, record.saved_at, record.room

    async def attendance(self, meeting: Meeting) -> tuple[RollCall, bool]:
        """A meeting's roll call: the live room's, else as saved, else every site not joined.

        The flag says whether the room is live (present times still grow).
        """
        room = self.rooms.get(meeting.room_id)
        if room is not None:
            return room.roll_call, True
        roll_call = RollCall(await self._invited_sites(meeting))
        saved = await self._saved_attendance(meeting)
        if saved is not None:
            roll_call.restore(saved[0], saved[1])
        return roll_call, False

    async def _meeting_of_room(self, room_id: str) -> Meeting | None:
        try:
            meeting = await self.store.get_meeting(room_id)  # a meeting's room has its id
        except MeetingNotFound:
            return None
        return meeting if meeting.room_id == room_id else None

    async def _invited_sites(self, meeting: Meeting) -> list[InvitedSite]:
        site_ids = await self.store.invitations(meeting.id)
        if meeting.host_site not in site_ids:
            site_ids.insert(0, meeting.host_site)
        sites = []
        for site_id in site_ids:
            try:
                sites.append(await self.store.get_site(site_id))
            except NotFound:
                continue
        units = await self.store.get_units([s.unit_code for s in sites])
        return [
            InvitedSite(
                s.id,
                s.name,
                s.unit_code,
                units[s.unit_code].depth if s.unit_code in units else 0,
                units[s.unit_code].type if s.unit_code in units else "",
            )
            for s in sites
        ]

    def _forget_room(self, room: Room) -> None:
        if self.rooms.get(room.id) is room and not room.sites_present():
            spawn(self.close_room(room.id, "empty"))

    async def close_room(self, room_id: str, reason: str) -> None:
        """End every connection of a room and close it."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        self.stop_recording(room_id, reason=f"room-{reason}")
        for feed_id in list(self.feed_publishers.get(room_id, {})):
            self.remove_feed(room_id, feed_id, reason)
        self.feed_publishers.pop(room_id, None)
        self.room_alerts.pop(room_id, None)
        for connection in [c for c in self.connections.values() if c.room is room]:
            await self.end(connection.id, reason)
        await self.save_attendance(room, final=True)
        await room.close(reason)
        if self.rooms.get(room_id) is room:
            del self.rooms[room_id]
        self.room_meetings.pop(room_id, None)
        feed = self._consoles.pop(room_id, None)
        if feed is not None:
            await feed.close()

    async def _still_invited(self, meeting: Meeting, site_id: str) -> bool:
        return site_id == meeting.host_site or site_id in await self.store.invitations(meeting.id)

    async def meeting_updated(self, meeting: Meeting) -> None:
        """A meeting's invitations changed: sites taken off the list leave its live room.

        Only connections that came with the meeting's own links are checked:
        a guest let in with a room token was never on the list.
        """
        room = self.rooms.get(meeting.room_id)
        if room is None:
            return
        self.room_meetings[meeting.room_id] = meeting
        for connection in [c for c in self.connections.values() if c.room is room]:
            if connection.claims.mtg != meeting.id:
                continue
            if not await self._still_invited(meeting, connection.claims.sub):
                await self.end(connection.id, "uninvited")

    async def meeting_cancelled(self, meeting: Meeting) -> None:
        """A meeting was cancelled: close its room if it is open."""
        await self.close_room(meeting.room_id, "cancelled")

    async def _scheduler(self) -> None:
        """Open meeting rooms shortly before they start, warn before the end, close at the end."""
        while not self.closing:
            try:
                await self._schedule_once(time.time())
            except Exception:
                logger.exception("scheduler pass failed")
            await asyncio.sleep(SCHEDULER_SECONDS)

    async def _schedule_once(self, now: float) -> None:
        meetings = await self.store.list_meetings(now - 86400, now + OPEN_LEAD_SECONDS + 60)
        by_room = {m.room_id: m for m in meetings}
        for meeting in meetings:
            live = self.rooms.get(meeting.room_id)
            if meeting.cancelled_at is not None or now >= meeting.end:
                if live is not None:
                    await self.close_room(
                        meeting.room_id, "cancelled" if meeting.cancelled_at else "ended"
                    )
                continue
            if now >= meeting.start - OPEN_LEAD_SECONDS and live is None:
                try:
                    await self.open_room(await self.store.get_room(meeting.room_id))
                except NotFound:
                    continue
            live = self.rooms.get(meeting.room_id)
            if live is not None:
                self.room_meetings[meeting.room_id] = meeting  # pick up edits
                await self.save_attendance(live)
                left = meeting.end - now
                if left <= CLOSE_WARNING_SECONDS and meeting.id not in self._warned:
                    self._warned.add(meeting.id)
                    live.closing_soon(int(left))
        # Rooms of meetings that moved out of the window (rescheduled later) close too.
        for room_id in list(self.room_meetings):
            if room_id not in by_room:
                meeting = self.room_meetings[room_id]
                if now >= meeting.end or now < meeting.start - OPEN_LEAD_SECONDS:
                    await self.close_room(room_id, "ended")

    # -- connections ---------------------------------------------------------------------

    def _new_session(self, claims: TokenClaims, record: RoomRecord) -> PeerSession:
        if self.closing:
            raise Forbidden("shutting-down", "the server is shutting down")
        return PeerSession(
            owner=claims.sub,
            metrics=self.metrics,
            ice_servers=self.settings.ice_servers,
            video_codec=record.codec,
        )

    async def _register(
        self,
        claims: TokenClaims,
        record: RoomRecord,
        session: PeerSession,
        client: str,
        notify: Callable[[RoomEvent], None] | None,
    ) -> Connection:
        room = await self.open_room(record)
        try:
            room.admit(claims.sub)
        except RoomRefused as exc:
            raise Forbidden(exc.code, exc.message) from exc
        participant = Participant(
            id=claims.sub,
            name=claims.name,
            role=claims.role,
            client=client,
            sources=session.sources,
            slots=session.slots,
            notify=notify,
        )
        connection = Connection(
            id=secrets.token_urlsafe(18),
            room=room,
            participant=participant,
            session=session,
            claims=claims,
        )
        self.connections[connection.id] = connection
        replaced = room.join(participant)
        meeting = self.room_meetings.get(room.id)
        if meeting is not None and meeting.auto_record and room.id not in self.recorders:
            # Auto-record runs from the first site in to the meeting's end.
            self.start_recording(room, "auto")
        if replaced is not None:
            old = next((c for c in self.connections.values() if c.participant is replaced), None)
            if old is not None:
                spawn(self.end(old.id, "replaced"))

        async def state_changed() -> None:
            participant.connection = session.connection_state
            room.media_changed(participant)
            if session.connection_state in ("failed", "closed"):
                await self.end(connection.id, "connection-lost")

        session.pc.on("connectionstatechange", state_changed)
        return connection

    async def connect_browser(
        self,
        claims: TokenClaims,
        record: RoomRecord,
        *,
        thumbnails: int,
        publish_audio: bool,
        publish_video: bool,
        notify: Callable[[RoomEvent], None],
    ) -> tuple[Connection, str]:
        """A browser site joins: build its peer session and return our offer."""
        session = self._new_session(claims, record)
        publishes = claims.role.publishes
        if publishes and publish_audio:
            session.add_publish("audio")
        if publishes and publish_video:
            session.add_publish("video")
        layout = SlotLayout(
            thumbnails=min(thumbnails, self.settings.thumbnail_slots),
            audio=self.settings.audio_slots,
        )
        session.add_slots(layout)
        try:
            offer = await session.create_offer()
            connection = await self._register(claims, record, session, "browser", notify)
        except BaseException:
            await session.close()
            raise
        return connection, offer

    async def accept_answer(self, connection: Connection, sdp: str) -> None:
        """The browser's answer; afterwards its published sources are known."""
        await connection.session.apply_answer(sdp)
        connection.room.media_changed(connection.participant)

    async def publish_whip(
        self, claims: TokenClaims, record: RoomRecord, offer: str
    ) -> tuple[Connection, str]:
        """WHIP: a publisher's offer in, our answer out; it joins like a site."""
        if not claims.role.publishes:
            raise Forbidden("role-cannot-publish", f"role {claims.role.value} cannot publish")
        session = self._new_session(claims, record)
        try:
            answer = await session.answer_publish_offer(offer)
            connection = await self._register(claims, record, session, "whip", None)
        except BaseException:
            await session.close()
            raise
        connection.room.media_changed(connection.participant)
        return connection, answer

    async def view_whep(
        self, claims: TokenClaims, record: RoomRecord, offer: str
    ) -> tuple[Connection, str]:
        """WHEP: a viewer's offer in, our answer out; its sections become slots."""
        session = self._new_session(claims, record)
        try:
            answer = await session.answer_view_offer(
                offer,
                max_video=1 + self.settings.thumbnail_slots,
                max_audio=self.settings.audio_slots,
            )
            connection = await self._register(claims, record, session, "whep", None)
        except BaseException:
            await session.close()
            raise
        connection.room.media_changed(connection.participant)
        return connection, answer

    def set_muted(self, connection: Connection, audio: bool, video: bool) -> bool:
        """A site's microphone/camera state; False if the host's mute forbids unmuting."""
        participant = connection.participant
        if participant.host_muted and not audio:
            connection.room.set_muted(participant, True, video)
            return False
        connection.room.set_muted(participant, audio, video)
        return True

    def raise_hand(self, connection: Connection, raised: bool) -> None:
        """A site asks for (or gives up asking for) the floor."""
        connection.room.raise_hand(connection.participant.id, raised)

    def client_report(self, connection: Connection, quality: Quality) -> None:
        """A site's own measurement of its connection (from getStats)."""
        connection.room.report_quality(connection.participant.id, quality)

    async def end(self, connection_id: str, reason: str = "left") -> bool:
        """Close a connection and take its site out of the room; False if unknown."""
        connection = self.connections.pop(connection_id, None)
        if connection is None or connection.ended:
            return False
        connection.ended = True
        connection.room.leave(connection.participant, reason)
        await connection.session.close()
        for callback in connection.on_end:
            with contextlib.suppress(Exception):
                callback(reason)
        return True

    # -- the host console --------------------------------------------------------------

    async def console_room(
        self, principal: Principal, meeting_id: str
    ) -> tuple[Meeting, Room | None]:
        """A meeting a principal may run, and its live room if it is open."""
        meeting = await self.store.get_meeting(meeting_id)
        if not await can_manage_meeting(self.store, principal, meeting):
            raise Forbidden("not-your-meeting", "only the meeting's hosts run its console")
        return meeting, self.rooms.get(meeting.room_id)

    async def console_state(self, meeting: Meeting) -> ConsoleState:
        """What a console shows: the live room's state, or every invited site not joined yet."""
        room = self.rooms.get(meeting.room_id)
        if room is not None:
            state = room.console_state()
            state["alerts"] = list(self.room_alerts.get(room.id, ()))
            state["feeds"] = sorted(self.feed_publishers.get(room.id, {}))
            return state
        roll_call, _live = await self.attendance(meeting)
        return ConsoleState(
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
            alerts=[],
            feeds=[],
        )

    async def console_command(
        self, principal: Principal, meeting_id: str, command: str, site: str | None = None
    ) -> CommandReply:
        """Floor control from the host console; returns what changed."""
        meeting, room = await self.console_room(principal, meeting_id)
        if room is None:
            raise Forbidden("room-not-open", "the meeting room is not open")
        try:
            if command == "give-floor":
                room.give_floor(site)
            elif command == "take-floor":
                room.give_floor(None)
            elif command == "spotlight":
                room.set_spotlight(site)
            elif command == "mute":
                return SitesMuted(muted=room.mute([site] if site else []))
            elif command == "mute-all":
                return SitesMuted(muted=room.mute(None))
            elif command == "unmute":
                room.lift_host_mute(site or "")
            elif command == "lower-hand":
                room.raise_hand(site or "", False)
            elif command == "remove":
                if site is None or site == meeting.host_site:
                    raise Forbidden("cannot-remove", "the host site cannot be removed")
                if site.startswith("feed-") and self.remove_feed(room.id, site[5:], "removed"):
                    room.flush_console(time.monotonic(), force=True)
                    return CommandDone()
                removed = room.remove(site)
                if removed is not None:
                    connection = next(
                        (c for c in self.connections.values() if c.participant is removed), None
                    )
                    if connection is not None:
                        await self.end(connection.id, "removed")
            elif command == "readmit":
                room.readmit(site or "")
            elif command in ("lock", "unlock"):
                room.set_locked(command == "lock")
            elif command == "add-feed":
                await self.add_feed(principal, room, site or "")
            elif command == "remove-feed":
                if not self.remove_feed(room.id, _feed_of_site(site or ""), "removed"):
                    raise Forbidden("feed-not-in-meeting", "this camera is not in the meeting")
            elif command == "record-start":
                recorder = self.start_recording(room, principal.username)
                return RecordingCommanded(recording=recorder.manifest.id)
            elif command == "record-stop":
                stopped = self.stop_recording(room.id, reason="stopped-by-host")
                return RecordingCommanded(recording=stopped.id if stopped else None)
            else:
                raise Forbidden("unknown-command", f"unknown console command {command!r}")
        except RoomRefused as exc:
            raise Forbidden(exc.code, exc.message) from exc
        room.flush_console(time.monotonic(), force=True)
        return CommandDone()

    # -- camera feeds in meetings --------------------------------------------------------

    async def add_feed(self, principal: Principal, room: Room, feed_id: str) -> FeedPublisher:
        """Bring a checkpoint camera into a live room as a participant (idempotent)."""
        try:
            feed = await self.store.get_feed(feed_id)
        except NotFound as exc:
            raise Forbidden("feed-not-found", f"no camera feed {feed_id!r}") from exc
        if not await can_see_feed(self.store, principal, feed):
            raise Forbidden("out-of-scope", "this camera is outside your unit's scope")
        existing = self.feed_publishers.get(room.id, {}).get(feed_id)
        if existing is not None:
            return existing
        runner = self.cameras.runners.get(feed_id)
        if runner is None:
            raise Forbidden("feed-not-running", "this camera feed is not running")
        if room.codec not in CODECS:
            raise Forbidden("codec", f"a camera cannot join a {room.codec} room")
        publisher = FeedPublisher(runner, room.codec, self.metrics)
        self.feed_publishers.setdefault(room.id, {})[feed_id] = publisher
        room.join(publisher.participant)
        room.media_changed(publisher.participant)
        publisher.start()
        runner.status.watching.append(room.id)
        return publisher

    def remove_feed(self, room_id: str, feed_id: str, reason: str = "removed") -> bool:
        """Take a camera out of a room; False if it was not in it."""
        publisher = self.feed_publishers.get(room_id, {}).pop(feed_id, None)
        if publisher is None:
            return False
        publisher.stop()
        with contextlib.suppress(ValueError):
            publisher.runner.status.watching.remove(room_id)
        room = self.rooms.get(room_id)
        if room is not None:
            room.leave(publisher.participant, reason)
        return True

    async def feed_deleted(self, feed_id: str) -> None:
        """A feed was deleted: out of every meeting, and its worker stopped."""
        for room_id in list(self.feed_publishers):
            self.remove_feed(room_id, feed_id, "feed-deleted")
        await self.cameras.remove(feed_id)

    async def feed_changed(self, feed: Feed) -> None:
        """A feed was registered (or re-registered): (re)start its worker."""
        for room_id in list(self.feed_publishers):
            self.remove_feed(room_id, feed.id, "feed-restarted")
        await self.cameras.remove(feed.id)
        self.cameras.run(feed)

    async def _camera_feeds(self) -> None:
        """Start the feeds, then follow changes made elsewhere and expire old events."""
        from anpr_feed.manager import SYNC_SECONDS

        await self.cameras.start()
        last_expiry = 0.0
        while not self.closing:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                for feed_id in await self.cameras.sync():
                    for room_id in list(self.feed_publishers):
                        self.remove_feed(room_id, feed_id, "feed-deleted")
                if time.monotonic() - last_expiry > 3600:
                    last_expiry = time.monotonic()
                    removed = await self.cameras.expire(self.settings.anpr_retention_days)
                    if removed:
                        logger.info("retention: deleted %d plate event(s)", removed)
            except Exception:
                logger.exception("camera feed sync failed")

    def _plate_pass(self, feed: Feed, event: PlateEvent, alerts: list[Alert]) -> None:
        """An alerting pass reaches the hosts of every meeting showing that camera."""
        if not alerts:
            return
        site_id = feed_site_id(feed.id)
        message = PlateAlert(
            event=event.id,
            feed=feed.id,
            site=site_id,
            checkpoint=event.checkpoint,
            at=event.at,
            plate=event.plate,
            display=event.display,
            province_code=event.province_code,
            confidence=event.confidence,
            colour=event.colour,
            alerts=[
                AlertMatch(kind=a.kind, reason=a.reason, pattern=a.pattern, fuzzy=a.fuzzy)
                for a in alerts
            ],
            text=event.alert,
            crop=f"/api/anpr/events/{event.id}/plate.jpg" if event.crop else None,
            frame=f"/api/anpr/events/{event.id}/frame.jpg" if event.thumbnail else None,
        )
        for room_id, publishers in self.feed_publishers.items():
            room = self.rooms.get(room_id)
            if feed.id not in publishers or room is None:
                continue
            self.room_alerts.setdefault(room_id, deque(maxlen=ALERTS_KEPT)).append(message)
            room.plate_alert(site_id, message)

    # -- recording -------------------------------------------------------------------

    def start_recording(self, room: Room, by: str | None) -> RoomRecorder:
        """Record every track of ``room`` from now on (no-op if it already records)."""
        existing = self.recorders.get(room.id)
        if existing is not None and not existing.stopped:
            return existing
        meeting = self.room_meetings.get(room.id)
        entries = [e for e in room.roll_call.entries.values() if e.invited]
        manifest = Manifest(
            id=new_recording_id(room.id, self.settings.timezone),
            room_id=room.id,
            room_name=room.name,
            meeting_id=meeting.id if meeting else None,
            meeting_title=meeting.title if meeting else None,
            meeting_start=meeting.start if meeting else None,
            meeting_end=meeting.end if meeting else None,
            host_site=meeting.host_site if meeting else None,
            units=[
                UnitEntry(code=e.unit_code, name=e.name, type=e.unit_type, depth=e.depth)
                for e in entries
                if e.unit_code
            ],
            invited_sites=[e.site_id for e in entries],
            started_at=round(time.time(), 3),
            started_by=by,
        )
        recorder = RoomRecorder(
            self.settings.recordings_dir / manifest.id,
            manifest,
            self.settings.recording_min_free_mb * 1024 * 1024,
            on_stopped=self._recording_stopped,
        )
        self.recorders[room.id] = recorder
        room.observers.append(recorder)
        for participant in room.participants.values():
            recorder.participant_joined(participant)
        recorder.start()
        room.set_recording(True)
        return recorder

    def stop_recording(self, room_id: str, reason: str = "stopped") -> Manifest | None:
        """Stop a room's recording (complete); None if it was not recording."""
        recorder = self.recorders.get(room_id)
        if recorder is None:
            return None
        return recorder.stop(RecordingStatus.COMPLETE, reason)

    def _recording_stopped(self, recorder: RoomRecorder) -> None:
        room_id = recorder.manifest.room_id
        if self.recorders.get(room_id) is recorder:
            del self.recorders[room_id]
        room = self.rooms.get(room_id)
        if room is not None:
            if recorder in room.observers:
                room.observers.remove(recorder)
            room.set_recording(False, recorder.manifest.stop_reason)
            if recorder.manifest.status is RecordingStatus.STOPPED_LOW_DISK:
                room.publish(
                    ConsoleWarning(
                        code="recording-low-disk",
                        message="recording stopped: the disk is almost full",
                    )
                )

    async def _retention(self) -> None:
        """Delete recordings older than the retention period, at start and then daily."""
        while not self.closing:
            days = self.settings.recording_retention_days
            if days > 0:
                try:
                    removed = await asyncio.to_thread(  # deleting hours of tracks takes a while
                        delete_expired, self.settings.recordings_dir, time.time() - days * 86400
                    )
                    if removed:
                        logger.info("retention: deleted %d recording(s)", len(removed))
                except Exception:
                    logger.exception("retention pass failed")
            await asyncio.sleep(86400)

    # -- connection quality from our side -------------------------------------------

    async def _quality_sampler(self) -> None:
        previous: dict[str, tuple[float, int, int, int, int]] = {}
        while not self.closing:
            await asyncio.sleep(QUALITY_SECONDS)
            now = time.time()
            for connection in list(self.connections.values()):
                try:
                    sample = connection.session.quality_counters()
                except Exception:
                    continue
                before = previous.get(connection.id)
                previous[connection.id] = (now, *sample.counters)
                if before is None:
                    continue
                elapsed = max(now - before[0], 0.001)
                received, lost, bytes_in, bytes_out = (
                    sample.counters[0] - before[1],
                    sample.counters[1] - before[2],
                    sample.counters[2] - before[3],
                    sample.counters[3] - before[4],
                )
                up_loss = lost / (received + lost) if received + lost > 0 else None
                losses = [x for x in (up_loss, sample.down_loss) if x is not None]
                connection.room.report_quality(
                    connection.participant.id,
                    Quality(
                        rtt_ms=sample.rtt_ms,
                        loss=max(losses) if losses else None,
                        bitrate_in_kbps=round(bytes_out * 8 / elapsed / 1000, 1),
                        bitrate_out_kbps=round(bytes_in * 8 / elapsed / 1000, 1),
                        source="server",
                        at=now,
                    ),
                )
            for gone in set(previous) - set(self.connections):
                del previous[gone]

    async def shutdown(self) -> None:
        """Close every connection and room (SIGTERM)."""
        self.closing = True
        for task in self._background:
            task.cancel()
        for room_id in list(self.feed_publishers):
            for feed_id in list(self.feed_publishers[room_id]):
                self.remove_feed(room_id, feed_id, "shutdown")
        await self.cameras.shutdown()
        for room_id in list(self.recorders):
            self.stop_recording(room_id, reason="shutdown")
        await self.renders.close()
        await asyncio.gather(
            *(self.end(cid, "shutdown") for cid in list(self.connections)), return_exceptions=True
        )
        for room in list(self.rooms.values()):
            await self.save_attendance(room, final=True)
        await asyncio.gather(*(room.close("shutdown") for room in list(self.rooms.values())))
        self.rooms.clear()
        for feed in list(self._consoles.values()):
            await feed.close()
        self._consoles.clear()
        self.passwords.close()


def _feed_of_site(site: str) -> str:
    """A feed id from its site id (``feed-<id>``) or the id itself."""
    return site[5:] if site.startswith("feed-") else site


__all__ = ["Conference", "Connection", "Forbidden", "Role", "SdpError", "TokenError"]
