"""Sites' live connections: a peer session and a participant in a room, from join to end.

Browsers (WebSocket signaling), WHIP publishers and WHEP viewers all come in
here; each becomes a :class:`Connection` whose participant sits in a room.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from conference.extensions import Extensions
from conference.peer import PeerSession, SlotLayout
from conference.permissions import Forbidden
from conference.rooms.events import PresentStatus, RoomEvent
from conference.rooms.participant import Participant
from conference.rooms.presenting import SCREEN, PresentRefused
from conference.rooms.roll_call import Quality
from conference.rooms.room import Room, RoomRefused
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Room as RoomRecord
from conference.tasks import spawn
from conference.tokens import TokenClaims


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


class Connections:
    """Every live connection of this process, by id."""

    def __init__(
        self,
        settings: Settings,
        metrics: SfuMetrics,
        open_room: Callable[[RoomRecord], Awaitable[Room]],
        extensions: Extensions,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._open_room = open_room
        self._extensions = extensions
        self.by_id: dict[str, Connection] = {}
        self.closing = False  # set at shutdown: no new peer sessions

    def of_participant(self, participant: Participant) -> Connection | None:
        """The connection behind ``participant``, if it has one."""
        return next((c for c in self.by_id.values() if c.participant is participant), None)

    def in_room(self, room: Room) -> list[Connection]:
        """The connections of ``room``."""
        return [c for c in self.by_id.values() if c.room is room]

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
        room = await self._open_room(record)
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
        self.by_id[connection.id] = connection
        subscription = session.subscription
        # The layer policy paused or resumed slots: the site hears it (`link`).
        subscription.on_layers_changed = lambda: room.layers_changed(participant, subscription)
        replaced = room.join(participant)
        self._extensions.site_joined(room, participant)
        if replaced is not None:
            old = self.of_participant(replaced)
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
        screen: bool = False,
    ) -> tuple[Connection, str]:
        """A browser site joins: build its peer session and return our offer.

        ``screen``: the page can present, so the offer has a second video
        section it sends its screen on when the room lets it (no
        renegotiation then: the page puts the track on that section).
        """
        session = self._new_session(claims, record)
        publishes = claims.role.publishes
        if publishes and publish_audio:
            session.add_publish("audio")
        if publishes and publish_video:
            session.add_publish("video")
        if publishes and screen:
            session.add_publish("video", SCREEN)
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

    def present(self, connection: Connection, active: bool) -> PresentStatus | None:
        """A site starts (or stops, or stops asking) presenting its screen.

        Starting answers ``granted``, ``pending`` (the host approves) or
        ``refused`` with the reason; stopping answers nothing (every site
        hears ``presentation`` when the main slots move back).
        """
        room, site = connection.room, connection.participant.id
        if not active:
            room.stop_presenting(site)
            return None
        try:
            status = room.request_presenting(site)
        except PresentRefused as exc:
            return PresentStatus(status="refused", code=exc.code, message=exc.message)
        return PresentStatus(status="granted" if status == "granted" else "pending")

    def client_report(self, connection: Connection, quality: Quality) -> None:
        """A site's own measurement of its connection (from getStats)."""
        connection.room.report_quality(connection.participant.id, quality)

    async def end(self, connection_id: str, reason: str = "left") -> bool:
        """Close a connection and take its site out of the room; False if unknown."""
        connection = self.by_id.pop(connection_id, None)
        if connection is None or connection.ended:
            return False
        connection.ended = True
        connection.room.leave(connection.participant, reason)
        await connection.session.close()
        for callback in connection.on_end:
            with contextlib.suppress(Exception):
                callback(reason)
        return True

    async def end_all(self, reason: str) -> None:
        """End every connection at once (shutdown); one failing does not stop the others."""
        await asyncio.gather(
            *(self.end(cid, reason) for cid in list(self.by_id)), return_exceptions=True
        )
