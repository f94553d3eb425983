"""The conference service: rooms, their sites and the peer connections behind them.

This is the one place that ties the room layer (who is in, who sees whom) to
the media plane (peer sessions, sources, slots) and to stored state. The web
layer calls it and turns its answers into HTTP and WebSocket messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from conference.peer import PeerSession, SdpError, SlotLayout
from conference.rooms.events import RoomEvent
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Room as RoomRecord
from conference.store import Store
from conference.tasks import spawn
from conference.tokens import Role, TokenClaims, TokenError, verify_token

logger = logging.getLogger(__name__)


class Forbidden(Exception):
    """The token is valid but does not allow this."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


class Conference:
    """Live rooms and connections of one server process."""

    def __init__(self, settings: Settings, store: Store, secret: bytes) -> None:
        self.settings = settings
        self.store = store
        self.secret = secret
        self.metrics = SfuMetrics()
        self.rooms: dict[str, Room] = {}
        self.connections: dict[str, Connection] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self.closing = False

    # -- authorisation -------------------------------------------------------------------

    async def authorize(
        self, token: str, room_id: str | None = None
    ) -> tuple[TokenClaims, RoomRecord]:
        """Verify a token (for ``room_id`` if given) and load its room.

        Raises :class:`TokenError`, :class:`Forbidden` or ``RoomNotFound``.
        """
        claims = verify_token(self.secret, token)
        if room_id is not None and claims.room != room_id:
            raise Forbidden("wrong-room", "this token is for another room")
        record = await self.store.get_room(claims.room)
        return claims, record

    # -- rooms ---------------------------------------------------------------------------

    def open_room(self, record: RoomRecord) -> Room:
        """The live room for ``record``, created on first use."""
        room = self.rooms.get(record.id)
        if room is None or room.closed:
            room = Room(record.id, record.name, record.codec)
            room.on_empty(self._forget_room)
            self.rooms[record.id] = room
        return room

    def _forget_room(self, room: Room) -> None:
        if self.rooms.get(room.id) is room and not room.participants:
            del self.rooms[room.id]
            spawn(room.close("empty"))

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

    def _register(
        self,
        claims: TokenClaims,
        record: RoomRecord,
        session: PeerSession,
        client: str,
        notify: Callable[[RoomEvent], None] | None,
    ) -> Connection:
        room = self.open_room(record)
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
        except Exception:
            await session.close()
            raise
        connection = self._register(claims, record, session, "browser", notify)
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
        except BaseException:
            await session.close()
            raise
        connection = self._register(claims, record, session, "whip", None)
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
        except BaseException:
            await session.close()
            raise
        connection = self._register(claims, record, session, "whep", None)
        connection.room.media_changed(connection.participant)
        return connection, answer

    def set_muted(self, connection: Connection, audio: bool, video: bool) -> None:
        """A site's microphone/camera state."""
        connection.room.set_muted(connection.participant, audio, video)

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

    async def shutdown(self) -> None:
        """Close every connection and room (SIGTERM)."""
        self.closing = True
        await asyncio.gather(
            *(self.end(cid, "shutdown") for cid in list(self.connections)), return_exceptions=True
        )
        await asyncio.gather(*(room.close("shutdown") for room in list(self.rooms.values())))
        self.rooms.clear()


__all__ = ["Conference", "Connection", "Forbidden", "Role", "SdpError", "TokenError"]
