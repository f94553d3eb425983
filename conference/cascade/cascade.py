"""The cascade of one node: its relay socket, and every open room's channel to its other copies.

Every :data:`TICK` seconds, for each room open here, a :class:`RoomCascade`
publishes on the room's channel ``cascade:ROOM`` (sealed,
:mod:`.envelope`): its own sites when they changed (and every
:data:`SITES_REFRESH` seconds), the speech activity of those that speak, and,
at the home, its decisions when they changed (and every :data:`STATE_REFRESH`
seconds) while another copy is heard. What it reads there it applies to its
copy: proxies (:mod:`.proxies`), activity, and at a carrier the home's state
(:mod:`.home_state`). A node not heard for :data:`NODE_SILENCE` seconds (killed)
loses its proxies. A carrier copy with no site of its own for
:data:`CARRIER_IDLE` seconds closes. Nothing here is on the media path: relay
links carry the media (:mod:`conference.relay`), dialled to a node the first
time its sites are announced and authenticated by the cluster key.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from conference.bus import EventBus
from conference.cascade import envelope
from conference.cascade.home_state import apply_state, state_of
from conference.cascade.proxies import apply_sites, drop_node
from conference.cascade.wire import Activity, HomeState, MediaKind, SiteInfo, Sites, SourceInfo
from conference.connections import Connections
from conference.extensions import Extension, PeriodicTask
from conference.live_rooms import LiveRooms
from conference.ratelog import RateLimitedLog
from conference.redis_client import UNREACHABLE
from conference.relay.endpoint import RelayEndpoint
from conference.relay.link import RelayLink
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.sfu import SfuMetrics, Source
from conference.tasks import pause, spawn

if TYPE_CHECKING:
    from conference.cascade.talk import CascadeTalk

logger = logging.getLogger(__name__)
DROPPED_LOG = RateLimitedLog(logger)  # anyone who can write to Redis could flood it

CHANNEL = "cascade:"
TICK = 0.2  # seconds: as the room's own routing tick
SITES_DEBOUNCE = 0.5  # at most this often a changed site list goes out
SITES_REFRESH = 3.0  # and at least this often while there are sites
STATE_REFRESH = 2.0
NODE_SILENCE = 8.0  # a node not heard this long (its sites: every 3 s) is gone
CARRIER_IDLE = 10.0
ACTIVITY_FLOOR = 0.5  # levels below this are not sent (silence)
DIAL_TIMEOUT = 5.0
OUTBOX_LIMIT = 1000  # messages waiting for Redis; beyond, the oldest go


def _address(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host = host.strip("[]")
    return (host, int(port)) if host and 0 < int(port) < 65536 else None


class RoomCascade:
    """One room's part of the cascade on this node (see the module docstring)."""

    def __init__(self, cascade: Cascade, room: Room) -> None:
        self.cascade = cascade
        self.room = room
        self.channel = CHANNEL + room.id
        self.subscription = cascade.bus.subscribe(self.channel)
        self.heard: dict[str, float] = {}  # node -> when its last message came (monotonic)
        self.last_sites: dict[str, Sites] = {}  # node -> its latest sites message
        self.hands: dict[str, dict[str, float]] = {}  # node -> raise applied per site
        self.seen: dict[str, int] = {}  # node -> seq of its last sites message applied
        self.raised_seq: dict[str, int] = {}  # own site -> first sites seq carrying its raise
        self._signature: tuple[Any, ...] | None = None
        self._sites_at = 0.0
        self._activity_sent = False
        self._state: HomeState | None = None
        self._state_at = 0.0
        self._idle_since: float | None = None
        self.reader = spawn(self._read(), name=f"cascade-{room.id}")

    # -- what this node says ------------------------------------------------------------

    def _local(self) -> list[Participant]:
        return [p for p in self.room.participants.values() if p.remote is None]

    def _site(self, p: Participant) -> SiteInfo:
        # A presentation (``screen``) stays at its node for now: a carrier copy keys its
        # proxies' sources by kind, and a second video would take the camera's place.
        sources = [
            SourceInfo(id=s.id, kind=cast(MediaKind, s.kind), rids=list(s.layers))
            for name, s in p.sources.items()
            if name in ("audio", "video")
        ]
        entry = self.room.roll_call.entries.get(p.id)
        quality = None
        if entry is not None and entry.quality.at:
            quality = {k: v for k, v in vars(entry.quality).items() if v is not None}
        hand = self.room.hands.get(p.id)
        return SiteInfo(
            id=p.id,
            name=p.name,
            role=p.role.value,
            client=p.client,
            joined_at=p.joined_at,
            connection=p.connection,
            audio_muted=p.audio_muted,
            video_muted=p.video_muted,
            hand=hand,
            sources=sources,
            quality=quality,
        )

    def tick(self, now: float) -> None:
        """Publish what changed here; forget silent nodes; close an idle carrier copy."""
        room = self.room
        local = self._local()
        signature = tuple(
            (
                p.id,
                p.joined_at,
                p.connection,
                p.audio_muted,
                p.video_muted,
                room.hands.get(p.id),
                tuple((s.id, tuple(s.layers), s.ended) for s in p.sources.values()),
            )
            for p in local
        )
        since = now - self._sites_at
        changed = signature != self._signature
        if (changed and since >= SITES_DEBOUNCE) or (local and since >= SITES_REFRESH):
            seq = self.cascade.next_seq()
            for p in local:
                if p.id in room.hands:
                    self.raised_seq.setdefault(p.id, seq)
                else:
                    self.raised_seq.pop(p.id, None)
            message = Sites(
                kind="sites",
                relay=self.cascade.relay_address,
                home=not room.carrier,
                sites=[self._site(p) for p in local],
            )
            self._signature, self._sites_at = signature, now
            self.cascade.publish(self.room.id, message.model_dump(), seq)
        levels = {}
        for p in local:
            audio = p.sources.get("audio")
            if audio is not None and not p.audio_muted:
                level = audio.speech_activity(now)
                if level >= ACTIVITY_FLOOR:
                    levels[p.id] = round(level, 1)
        if levels or self._activity_sent:
            self._activity_sent = bool(levels)
            self.cascade.publish(
                self.room.id, Activity(kind="activity", levels=levels).model_dump()
            )
        for node, at in list(self.heard.items()):
            if now - at > NODE_SILENCE:
                logger.info("cascade %s: node %s not heard for %.0f s", room.id, node, now - at)
                self._forget(node)
        if not room.carrier and self.heard:
            state = state_of(room, self.seen)
            if state != self._state or now - self._state_at >= STATE_REFRESH:
                self._state, self._state_at = state, now
                # Without documents the message is as before they were added (a node
                # not updated yet still reads it).
                dropped = {"document"} if state.document is None else set()
                if not state.documents:
                    dropped.add("documents")
                self.cascade.publish(self.room.id, state.model_dump(exclude=dropped))
        if room.carrier and not local and not self.cascade.connections.in_room(room):
            if self._idle_since is None:
                self._idle_since = now
            elif now - self._idle_since >= CARRIER_IDLE:
                self._idle_since = None
                spawn(self.cascade.live.close(room.id, "elsewhere"), name=f"close-copy-{room.id}")
        else:
            self._idle_since = None

    def _forget(self, node: str) -> None:
        self.heard.pop(node, None)
        self.last_sites.pop(node, None)
        self.hands.pop(node, None)
        self.seen.pop(node, None)
        drop_node(self.room, node)

    # -- what the others say --------------------------------------------------------------

    async def _read(self) -> None:
        opener = self.cascade.opener
        try:
            async for raw in self.subscription:
                try:
                    body = opener.open(raw, self.room.id)
                except envelope.Rejected as exc:
                    if exc.reason != "own":
                        DROPPED_LOG.log("cascade %s: dropped a message (%s)", self.room.id, exc)
                    continue
                try:
                    self._apply(body)
                except (ValidationError, ValueError, KeyError, TypeError):
                    self.cascade.rejected_total += 1
                    DROPPED_LOG.log("cascade %s: dropped a message that does not fit", self.room.id)
                except Exception:
                    logger.exception("cascade %s: applying a message failed", self.room.id)
        except asyncio.CancelledError:
            pass

    def _apply(self, body: dict[str, Any]) -> None:
        if self.room.closed:
            return
        node = str(body["from"])
        seq = int(body["seq"])
        fields = {k: v for k, v in body.items() if k not in ("from", "room", "at", "epoch", "seq")}
        kind = fields.get("kind")
        self.heard[node] = time.monotonic()
        if kind == "sites":
            message = Sites.model_validate(fields)
            self.last_sites[node] = message
            self.seen[node] = seq
            self.apply_sites(node)
        elif kind == "activity":
            activity = Activity.model_validate(fields)
            now = time.monotonic()
            for site_id, level in activity.levels.items():
                proxy = self.room.participants.get(site_id)
                if proxy is not None and proxy.remote == node:
                    audio = proxy.sources.get("audio")
                    if audio is not None:
                        audio.hear_activity(min(max(level, 0.0), 50.0), now)
        elif kind in ("talk", "talk-in"):
            if self.cascade.talk is not None:
                self.cascade.talk.receive(self.room, node, fields)
        elif kind == "state":
            state = HomeState.model_validate(fields)
            if self.room.carrier:
                apply_state(
                    self.room,
                    state,
                    self.cascade.node_id,
                    self.raised_seq.get,
                    self.cascade.end_site_here(self.room),
                )
        else:
            raise ValueError(f"unknown kind {kind!r}")

    def apply_sites(self, node: str) -> None:
        """Apply ``node``'s latest sites message (again, once its relay link is up)."""
        message = self.last_sites.get(node)
        if message is None or self.room.closed:
            return
        link = self.cascade.link_to(node, message.relay)
        apply_sites(self.room, node, message, link, self.hands.setdefault(node, {}), self._joined)

    def _joined(self, proxy: Participant) -> None:
        if not self.room.carrier:  # the home's extensions see every site (auto-record)
            self.cascade.live.extensions.site_joined(self.room, proxy)

    async def close(self) -> None:
        """Stop reading; tell the others this node's sites are gone from the meeting."""
        self.reader.cancel()
        await self.subscription.close()
        if self._signature:
            message = Sites(
                kind="sites", relay=self.cascade.relay_address, home=False, sites=[]
            ).model_dump()
            await self.cascade.publish_now(self.room.id, message, self.cascade.next_seq())
        for node in list(self.heard):
            self._forget(node)
        self.cascade.opener.forget(self.room.id)


class Cascade(Extension):
    """This node's part of every meeting spread over several instances (module docstring)."""

    def __init__(
        self,
        *,
        bus: EventBus,
        key: bytes,
        node_id: str,
        live: LiveRooms,
        connections: Connections,
        metrics: SfuMetrics,
        relay_host: str = "127.0.0.1",
        relay_port: int = 0,
        relay_socket: socket.socket | None = None,
        is_home: Callable[[str], bool] = lambda room_id: True,
    ) -> None:
        self.bus = bus
        self.key = key
        self.node_id = node_id
        self.live = live
        self.connections = connections
        self.metrics = metrics
        self.relay_host = relay_host
        self.relay_port = relay_port
        self._relay_socket = relay_socket  # bound at start-up, so a taken port fails the start
        self.is_home = is_home  # whether this node holds the room's home lease now
        self.opener = envelope.Opener(key, node_id)
        self.epoch = time.time()
        self._seq = 0
        self.endpoint: RelayEndpoint | None = None
        self.links: dict[str, RelayLink] = {}
        self._dialing: dict[str, asyncio.Task[None]] = {}
        self.rooms: dict[str, RoomCascade] = {}
        self.published_total = 0
        self.dropped_total = 0  # messages dropped while Redis was out (the outbox full)
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.rejected_total = 0
        self._publish_down = False
        # Chat and votes over the room channels (set by the composition root).
        self.talk: CascadeTalk | None = None

    @property
    def relay_address(self) -> str:
        """``host:port`` of this node's relay socket ("" before it is open)."""
        if self.endpoint is None:
            return ""
        host, port = self.endpoint.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def next_seq(self) -> int:
        """The next sequence number of this node's messages."""
        self._seq += 1
        return self._seq

    # -- the loop ---------------------------------------------------------------------------

    def periodic(self) -> dict[str, PeriodicTask]:
        """Open the relay socket, then tick every room."""
        return {"cascade": self._run}

    async def _run(self) -> None:
        self.endpoint = await RelayEndpoint.open(
            self.relay_host,
            self.relay_port,
            sock=self._relay_socket,
            node_id=self.node_id,
            cluster_key=self.key,
            lookup=self.local_source,
            sfu_metrics=self.metrics,
            on_link=self._adopt,
        )
        logger.info("cascade: relay socket at %s", self.relay_address)
        sender = spawn(self._send(), name="cascade-send")
        try:
            while True:
                await pause(TICK)
                self.tick(time.monotonic())
        finally:
            sender.cancel()

    def tick(self, now: float) -> None:
        """Follow the rooms open here (new, reopened, closed) and tick each."""
        rooms = self.live.rooms
        for room_id, gone in list(self.rooms.items()):
            if rooms.get(room_id) is not gone.room or gone.room.closed:
                del self.rooms[room_id]
                spawn(gone.close(), name=f"cascade-close-{room_id}")
        for room_id, room in list(rooms.items()):
            if room.closed:
                continue
            if room.carrier and self.is_home(room_id):
                # This node took the meeting over: its copy decides and saves from now on.
                room.carrier = False
                logger.info("cascade %s: this node is the meeting's home now", room_id)
                self.live.announce_state(room)
            state = self.rooms.get(room_id)
            if state is None:
                state = self.rooms[room_id] = RoomCascade(self, room)
            try:
                state.tick(now)
            except Exception:
                logger.exception("cascade %s: tick failed", room_id)

    # -- publishing -------------------------------------------------------------------------

    def _body(self, room_id: str, fields: dict[str, Any], seq: int | None) -> dict[str, Any]:
        return {
            **fields,
            "from": self.node_id,
            "room": room_id,
            "at": time.time(),
            "epoch": self.epoch,
            "seq": self.next_seq() if seq is None else seq,
        }

    def publish(self, room_id: str, fields: dict[str, Any], seq: int | None = None) -> None:
        """Seal and publish one message on the room's channel, in the background, in order.

        One sender drains the queue: tasks of their own could reach Redis out of
        order, and a receiver drops a message older than one it applied.
        """
        if self._outbox.qsize() >= OUTBOX_LIMIT:
            self._outbox.get_nowait()  # Redis is out: the newest say all the rest did
            self.dropped_total += 1
        self._outbox.put_nowait((room_id, self._body(room_id, fields, seq)))

    async def _send(self) -> None:
        while True:
            room_id, body = await self._outbox.get()
            await self._publish_body(room_id, body)

    async def publish_now(self, room_id: str, fields: dict[str, Any], seq: int | None) -> None:
        """Seal and publish one message now (a room's goodbye)."""
        await self._publish_body(room_id, self._body(room_id, fields, seq))

    async def _publish_body(self, room_id: str, body: dict[str, Any]) -> None:
        """Redis out: logged once, dropped (the next message says all)."""
        sealed = envelope.seal(self.key, body)
        try:
            await self.bus.publish(CHANNEL + room_id, sealed)
        except UNREACHABLE as exc:
            if not self._publish_down:
                self._publish_down = True
                logger.warning("cascade: cannot publish (%s); the other copies wait", exc)
            return
        if self._publish_down:
            self._publish_down = False
            logger.info("cascade: publishing again")
        self.published_total += 1

    # -- relay links --------------------------------------------------------------------------

    def local_source(self, source_id: str) -> Source | None:
        """A source published by a site connected here (a peer subscribes to it)."""
        for room in self.live.rooms.values():
            for participant in room.participants.values():
                if participant.remote is not None:
                    continue
                for source in participant.sources.values():
                    if source.id == source_id:
                        return source
        return None

    def _adopt(self, link: RelayLink) -> None:
        old = self.links.get(link.peer_id)
        if old is link:
            return
        self.links[link.peer_id] = link
        link.closed_callbacks.append(self._link_closed)
        # Proxies made before the link was up get their media now.
        for state in self.rooms.values():
            if link.peer_id in state.last_sites:
                state.apply_sites(link.peer_id)

    def _link_closed(self, link: RelayLink) -> None:
        if self.links.get(link.peer_id) is link:
            del self.links[link.peer_id]

    def link_to(self, node: str, relay: str) -> RelayLink | None:
        """The relay link to ``node`` if it is up; else start dialling it (None meanwhile)."""
        link = self.links.get(node)
        if link is not None and not link.closed:
            return link
        address = _address(relay)
        if address is None or self.endpoint is None or node in self._dialing:
            return None
        self._dialing[node] = spawn(self._dial(node, address), name=f"relay-dial-{node}")
        return None

    async def _dial(self, node: str, address: tuple[str, int]) -> None:
        assert self.endpoint is not None
        try:
            link = await self.endpoint.connect(address, give_up_after=DIAL_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            logger.warning("cascade: no relay link to %s at %s (%s)", node, address, exc)
            return
        finally:
            self._dialing.pop(node, None)
        if link.peer_id != node:
            # Another node answers at that address: not who announced it.
            logger.warning("cascade: %s at %s is %s; link dropped", node, address, link.peer_id)
            link.close()
            return
        self._adopt(link)

    # -- what the home decided, at a carrier ----------------------------------------------------

    def end_site_here(self, room: Room) -> Callable[[str], None]:
        """Ends the connection of a site of ``room`` connected here (the home removed it)."""

        def end(site_id: str) -> None:
            for connection in self.connections.in_room(room):
                if connection.participant.id == site_id:
                    spawn(self.connections.end(connection.id, "removed"), name="cascade-remove")

        return end

    # -- hooks ------------------------------------------------------------------------------

    async def room_closing(self, room: Room, reason: str) -> None:
        """The room closes here: the others drop this node's sites of it at once."""
        state = self.rooms.pop(room.id, None)
        if state is not None:
            await state.close()

    async def shutdown(self) -> None:
        """Say goodbye in every room, close the links and the socket."""
        for room_id in list(self.rooms):
            state = self.rooms.pop(room_id)
            try:
                await asyncio.wait_for(state.close(), 1.0)
            except TimeoutError:
                pass
            except UNREACHABLE:
                pass
        for task in self._dialing.values():
            task.cancel()
        if self.endpoint is not None:
            self.endpoint.close()

    def proxies(self, room_id: str) -> int:
        """How many remote sites the room copy here holds (for metrics and tests)."""
        room = self.live.rooms.get(room_id)
        if room is None:
            return 0
        return sum(1 for p in room.participants.values() if p.remote is not None)
