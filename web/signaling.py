"""WebSocket signaling: validate every message, then translate it for the service.

One socket carries one site's connection. The server drives negotiation: it
sends ``offer`` after ``join`` and the client answers. Room events arrive
through a queue drained by one writer task, so a slow socket never blocks the
room and messages keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from conference import client_json
from conference.peer import SdpError
from conference.ratelog import RateLimitedLog
from conference.redis_client import UNREACHABLE
from conference.rooms.events import Bye, ParticipantLeft, RoomClosed, RoomEvent
from conference.rooms.roll_call import Quality
from conference.service import Connection, Forbidden
from conference.store import RoomNotFound
from conference.tasks import spawn
from conference.tokens import TokenError
from conference.wire import WireMessage
from web import messages as m
from web.keys import CONFERENCE, SERVICES, SETTINGS, SOCKETS
from web.placement import site_elsewhere

logger = logging.getLogger(__name__)
STORE_DOWN_LOG = RateLimitedLog(logger)  # every site retrying would write a line each

JOIN_TIMEOUT = 15.0
OUTBOX_LIMIT = 2000  # queued messages before a socket counts as dead
HARD_MESSAGE_LIMIT = 1024 * 1024  # aiohttp closes the socket (1009) above this

# Close codes in the private range (RFC 6455 7.4.2), one per fatal error class.
CLOSE_CODES = {
    "token-expired": 4401,
    "token-invalid": 4401,
    "token-malformed": 4401,
    "wrong-room": 4403,
    "meeting-cancelled": 4403,
    "meeting-ended": 4403,
    "meeting-not-open": 4403,
    "meeting-not-found": 4404,
    "removed": 4403,
    "not-invited": 4403,
    "room-locked": 4403,
    "room-closed": 4403,
    "token-not-yet-valid": 4401,
    "role-cannot-publish": 4403,
    "room-not-found": 4404,
    "join-timeout": 4408,
    "shutting-down": 4503,
    "store-unavailable": 4503,
    "slow-consumer": 4509,
    "room-elsewhere": 4307,
}


class SignalingSocket:
    """The server side of one client's signaling socket."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.request = request
        self.ws = ws
        self.conference = request.app[CONFERENCE]
        self.settings = request.app[SETTINGS]
        self.room_id: str | None = request.match_info.get("room")
        self.connection: Connection | None = None
        self.outbox: asyncio.Queue[WireMessage | None] = asyncio.Queue()
        self.closing = False
        # Room events before welcome are covered by welcome's snapshot.
        self.ready = False

    # -- sending ---------------------------------------------------------------------

    def post(self, message: WireMessage) -> None:
        """Queue a message for the client, dropping the client if it cannot keep up."""
        if self.closing:
            return
        if self.outbox.qsize() >= OUTBOX_LIMIT:
            logger.warning("signaling socket is not reading; closing it")
            self.closing = True
            self.outbox.put_nowait(None)
            spawn(self.ws.close(code=CLOSE_CODES["slow-consumer"], message=b"slow-consumer"))
            return
        self.outbox.put_nowait(message)

    def on_room_event(self, event: RoomEvent) -> None:
        """Room callback: queue the event as it is; a closed room or a replaced site says bye."""
        if not self.ready:
            return
        self.post(event)
        if isinstance(event, RoomClosed):
            self.post(Bye(reason=event.why))
            self.finish()
        elif (
            isinstance(event, ParticipantLeft)
            and self.connection is not None
            and event.participant_id == self.connection.participant.id
            and event.reason == "replaced"
        ):
            self.post(Bye(reason="replaced"))
            self.finish()

    def _peers_changed(self, urls: list[str]) -> None:
        """Cluster callback: the other live nodes changed; the page keeps the latest list."""
        self.post(m.Nodes(urls=urls))

    def error(self, code: str, message: str, fatal: bool = False) -> None:
        """Queue an ``error`` message; a fatal one closes the socket after it."""
        self.post(m.Error(code=code, message=message, fatal=fatal))
        if fatal:
            self.finish(CLOSE_CODES.get(code, 4400), code)

    def finish(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket once the queued messages are out."""
        if not self.closing:
            self.closing = True
            self.outbox.put_nowait(None)
            self._close_code = (code, reason)

    async def writer(self) -> None:
        """Drain the outbox in order."""
        while True:
            message = await self.outbox.get()
            if message is None:
                break
            try:
                await self.ws.send_str(message.to_json())
            except (ConnectionError, RuntimeError):
                break
        code, reason = getattr(self, "_close_code", (1000, ""))
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode()[:120])

    # -- receiving -------------------------------------------------------------------

    async def run(self) -> None:
        """Read messages until the socket closes, then clean up."""
        writer = asyncio.ensure_future(self.writer())
        join_deadline = asyncio.get_running_loop().call_later(JOIN_TIMEOUT, self._join_timeout)
        try:
            async for raw in self.ws:
                if raw.type == WSMsgType.TEXT:
                    await self.handle_text(raw.data)
                elif raw.type == WSMsgType.BINARY:
                    self.error(
                        "invalid-message", "binary messages are not accepted; send JSON text"
                    )
                elif raw.type == WSMsgType.ERROR:
                    break
                if self.connection is not None:
                    join_deadline.cancel()
                if self.closing:
                    break
        finally:
            join_deadline.cancel()
            cluster = self.request.app[SERVICES].cluster
            if cluster is not None:
                cluster.peer_watchers.discard(self._peers_changed)
            if self.connection is not None:
                # Closed without a `leave` (a network drop, a crashed tab): the
                # site may be back in a moment, and keeps its place meanwhile.
                await self.conference.end(self.connection.id, "connection-lost")
            self.finish()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(writer, 5)

    def _join_timeout(self) -> None:
        if self.connection is None:
            self.error("join-timeout", "no join message was received in time", fatal=True)

    async def handle_text(self, text: str) -> None:
        """Validate one message and act on it; errors go back to the client."""
        if len(text) > self.settings.ws_max_message_bytes:
            self.error(
                "message-too-large",
                f"message is {len(text)} bytes; the limit is {self.settings.ws_max_message_bytes}",
            )
            return
        try:
            data: Any = client_json.loads(text)
        except client_json.ClientJsonError as exc:
            why = "message is not valid JSON" if exc.code == "bad-json" else exc.message
            self.error(exc.code, why)
            return
        try:
            message = m.client_message_adapter.validate_python(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            self.error(
                "invalid-message",
                f"{where}: {first.get('msg')}" if where else str(first.get("msg")),
            )
            return
        try:
            await self.dispatch(message)
        except SdpError as exc:
            self.error("invalid-sdp", str(exc))
        except UNREACHABLE as exc:
            # Redis is out (a join reads the room and the meeting): a site not in yet
            # is told to come back (the page reconnects with backoff).
            STORE_DOWN_LOG.log("signaling: the store cannot be reached (%s)", exc)
            self.error(
                "store-unavailable",
                "the shared state (Redis) cannot be reached now; try again shortly",
                fatal=self.connection is None,
            )
        except Exception:
            logger.exception("signaling handler failed")
            self.error("internal", "the server could not handle this message")

    async def dispatch(self, message: m.AnyClientMessage) -> None:
        """Act on a validated message."""
        if isinstance(message, m.Ping):
            self.post(m.Pong(id=message.id))
            return
        if isinstance(message, m.Join):
            await self.join(message)
            return
        connection = self.connection
        if connection is None:
            self.error("not-joined", "send join first")
            return
        if isinstance(message, m.Answer):
            await self.conference.accept_answer(connection, message.sdp)
        elif isinstance(message, m.Ice):
            candidate = message.candidate
            if candidate is not None:
                await connection.session.add_ice_candidate(
                    candidate.candidate, candidate.sdpMid, candidate.sdpMLineIndex
                )
        elif isinstance(message, m.Mute):
            if not self.conference.set_muted(connection, message.audio, message.video):
                self.error("muted-by-host", "the host muted this site: raise your hand to speak")
        elif isinstance(message, m.Hand):
            self.conference.raise_hand(connection, message.raised)
        elif isinstance(message, m.Present):
            status = self.conference.present(connection, message.active)
            if status is not None:
                self.post(status)
        elif isinstance(message, m.Stats):
            self.conference.client_report(
                connection,
                Quality(
                    rtt_ms=message.rtt_ms,
                    loss=message.loss,
                    bitrate_in_kbps=message.bitrate_in_kbps,
                    bitrate_out_kbps=message.bitrate_out_kbps,
                    source="client",
                    at=time.time(),
                ),
            )
        elif isinstance(message, m.Chat | m.VoteAnswer):
            await self.talk(connection, message)
        elif isinstance(message, m.Leave):
            self.post(Bye(reason="left"))
            await self.conference.end(connection.id, "left")
            self.connection = None
            self.finish()

    async def talk(self, connection: Connection, message: m.Chat | m.VoteAnswer) -> None:
        """A chat message or a vote's answer; a refusal goes back to this site only."""
        try:
            if isinstance(message, m.Chat):
                await self.conference.talk_chat(connection, message.text, message.to)
            else:
                await self.conference.talk_vote(connection, message.vote, message.choice)
        except Forbidden as exc:
            # chat-empty, chat-too-long, chat-rate-limited, vote-not-found, vote-bad-choice,
            # vote-closed, vote-already-answered, no-meeting, not-at-home
            self.error(exc.code, exc.message)

    async def join(self, message: m.Join) -> None:
        """Authorise, build the peer session, send welcome and offer."""
        if self.connection is not None:
            self.error("already-joined", "this socket has already joined")
            return
        try:
            claims, record = await self.conference.authorize(message.token, self.room_id)
        except TokenError as exc:
            self.error(exc.code, exc.message, fatal=True)
            return
        except Forbidden as exc:
            self.error(exc.code, exc.message, fatal=True)
            return
        except RoomNotFound as exc:
            self.error("room-not-found", str(exc), fatal=True)
            return
        home = await site_elsewhere(self.request, record.id)
        if home is not None:
            # A page served before the meeting found its home: its script goes there.
            self.post(m.Redirect(url=f"{home}/join/{quote(record.id, safe='')}"))
            self.finish(CLOSE_CODES["room-elsewhere"], "room-elsewhere")
            return
        try:
            connection, offer = await self.conference.peers.connect_browser(
                claims,
                record,
                thumbnails=message.thumbnails,
                publish_audio=message.publish_audio,
                publish_video=message.publish_video,
                notify=self.on_room_event,
                screen=message.screen,
            )
        except Forbidden as exc:
            self.error(exc.code, exc.message, fatal=True)
            return
        self.connection = connection
        connection.on_end.append(self._connection_ended)
        room, participant, session = connection.room, connection.participant, connection.session
        self.post(room.welcome(participant, self.settings.ice_servers))
        cluster = self.request.app[SERVICES].cluster
        if cluster is not None:
            if cluster.peers:
                self.post(m.Nodes(urls=cluster.peers))
            # And again whenever the list changes: a node that starts later is one
            # the page may have to go to if this one dies (static/meeting/failover.js).
            cluster.peer_watchers.add(self._peers_changed)
        self.post(
            m.Offer(sdp=offer, publish=session.publish_sections(), slots=session.slot_sections())
        )
        for event in room.catch_up(participant):
            self.post(event)
        meeting = self.conference.live.meeting(room.id)
        if meeting is not None:
            # (A carrier copy reads them too: several nodes share one store.)
            # The chat so far, and a vote open before this site came in: it may still answer.
            for said in await self.conference.chat.catch_up(meeting, participant.id):
                self.post(said)
            for question in await self.conference.votes.open_questions(meeting, participant.id):
                self.post(question)
        self.ready = True

    def _connection_ended(self, reason: str) -> None:
        if reason in ("connection-lost", "shutdown", "removed", "uninvited", "ended", "cancelled"):
            self.post(Bye(reason=reason))
            self.finish(1001 if reason == "shutdown" else 1000, reason)


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws/{room}``: the signaling socket."""
    ws = web.WebSocketResponse(heartbeat=15, max_msg_size=HARD_MESSAGE_LIMIT)
    try:
        await ws.prepare(request)
    except ConnectionError:
        return ws  # the client went away during the handshake
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    try:
        await SignalingSocket(request, ws).run()
    finally:
        sockets.discard(ws)
    return ws
