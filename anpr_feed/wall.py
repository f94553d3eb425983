"""The camera wall: many live checkpoint feeds on one screen, each from its single encoding.

A wall viewer (the operations centre's screen, a leader's browser) gets one
peer connection whose video sections are the wall's tiles, one per feed.
Each tile is a receive :class:`~conference.slot.Slot` fed by the feed's
*wall source*: one :class:`~anpr_feed.participant.FeedPublisher` per feed,
shared by every wall, which takes its frames from the feed's worker in VP8
like a meeting in a VP8 room does. The worker encodes the annotated picture
once per codec whatever listens (:meth:`anpr_feed.manager.FeedRunner.watch`),
so a feed on ten walls and in three meetings is still one VP8 encoder; and
as with a meeting, nothing is encoded while no tile shows the feed.

A wall comes into a meeting as one participant (the host console's
``add-wall`` with the feeds): a :class:`~anpr_feed.wall_composite.WallComposite`
of its tiles, encoded once in the room's codec, only while someone watches.
It is kept in the store (:mod:`anpr_feed.room_walls`) until a host removes it
or the room ends, and comes back by itself after a restart.

Who sees what is checked per feed: a logged-in host, operator or
administrator, and only the feeds :func:`conference.permissions.can_see_feed`
gives them (any other feed refuses the whole wall with 403).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from anpr_feed.manager import SYNC_SECONDS, FeedManager
from anpr_feed.participant import CODECS, FeedPublisher
from anpr_feed.room_walls import RoomWall, RoomWalls
from anpr_feed.wall_composite import WallComposite
from conference.console_commands import CommandContext, CommandResult, ConsoleCommands
from conference.extensions import Extension, PeriodicTask
from conference.live_rooms import LiveRooms
from conference.peer import PeerSession
from conference.permissions import Forbidden, Principal, can_see_feed
from conference.rooms.room import Room
from conference.settings import Settings, VideoCodec
from conference.sfu import SfuMetrics
from conference.slot import Slot
from conference.store import NotFound, Store
from conference.tasks import pause

logger = logging.getLogger(__name__)

LAYOUTS = (16, 25, 36)  # 4x4, 5x5, 6x6
MAX_TILES = LAYOUTS[-1]
WALL_CODEC: VideoCodec = (
    "vp8"  # every browser decodes it; the feed's VP8 encoder is shared with meetings
)
ANSWER_SECONDS = 30.0  # a wall whose browser never answers (or never connects) is closed
MAX_WALLS_PER_USER = 4
MAX_WALLS = 64  # per server: each is a peer connection with up to 36 video sections
MAX_WALLS_PER_ROOM = 4  # composites in one meeting: each is an encoder


@dataclass
class WallTile:
    """One tile of a wall: the feed it shows and the slot (and m-line) carrying it."""

    feed_id: str
    slot: Slot
    mid: str | None = None


@dataclass
class WallViewer:
    """One wall on one screen: its owner, its peer connection and its tiles."""

    id: str
    username: str
    session: PeerSession
    tiles: list[WallTile]
    created: float = field(default_factory=time.monotonic)

    def tile_json(self) -> list[dict[str, str | None]]:
        """The tiles for the page: which feed is on which m-line."""
        return [{"feed": t.feed_id, "slot": t.slot.name, "mid": t.mid} for t in self.tiles]


class CameraWall(Extension):
    """The walls being watched on this node and the shared wall source of each feed."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        feeds: FeedManager,
        metrics: SfuMetrics,
        live: LiveRooms | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.feeds = feeds
        self.metrics = metrics
        self.live = live  # the rooms the kept walls come back into (None: none come back)
        self.kept = RoomWalls(store)
        # Taken by the rejoin pass and by a host's add and removal: a pass that read
        # the kept walls before a host removed one must not put it back after.
        self._hosts = asyncio.Lock()
        self.viewers: dict[str, WallViewer] = {}
        # feed id -> its one wall source (on the feed's current reader)
        self.sources: dict[str, FeedPublisher] = {}
        # room id -> wall id -> the wall's composite in that meeting
        self.composites: dict[str, dict[str, WallComposite]] = {}
        self.closing = False

    def periodic(self) -> dict[str, PeriodicTask]:
        """Keep every tile on its feed's current reader."""
        return {"wall": self._follow_readers}

    async def _follow_readers(self) -> None:
        while True:
            await pause(SYNC_SECONDS)
            try:
                self.refresh()
            except Exception:
                logger.exception("wall: following the feeds' readers failed")
            try:
                await self.rejoin()
            except Exception:  # Redis or the disk out: the next pass tries again
                logger.exception("wall: putting the kept walls back in their meetings failed")

    # -- the feeds' wall sources ------------------------------------------------------

    def source_of(self, feed_id: str) -> FeedPublisher | None:
        """The feed's wall source, made on first use; None if its reader does not run here.

        A reader that restarted (the feed changed) gets a new source: the old
        one ends, and the tiles that showed it are moved to the new one.
        """
        runner = self.feeds.runners.get(feed_id)
        publisher = self.sources.get(feed_id)
        if publisher is not None and publisher.runner is runner:
            return publisher
        if publisher is not None:
            self._drop_source(feed_id)
        if runner is None:
            return None
        publisher = FeedPublisher(runner, WALL_CODEC, self.metrics)
        publisher.start()
        self.sources[feed_id] = publisher
        return publisher

    def _drop_source(self, feed_id: str) -> None:
        publisher = self.sources.pop(feed_id, None)
        if publisher is not None:
            publisher.stop()

    def refresh(self) -> int:
        """Put each tile on its feed's current reader (after restarts); how many moved."""
        moved = 0
        for viewer in list(self.viewers.values()):
            for tile in viewer.tiles:
                publisher = self.source_of(tile.feed_id)
                source = publisher.source if publisher is not None else None
                if tile.slot.source is not source and (source is not None or tile.slot.source):
                    tile.slot.assign(source)
                    moved += 1
        self._drop_unwatched()
        return moved

    def _drop_unwatched(self) -> None:
        """Forget the wall sources no tile shows (they encode nothing, but hold a listener slot)."""
        shown = {t.feed_id for v in self.viewers.values() for t in v.tiles}
        for feed_id in [f for f in self.sources if f not in shown]:
            self._drop_source(feed_id)

    def wall_viewers(self, feed_id: str) -> int:
        """Tiles showing ``feed_id`` on the walls of this node now."""
        return sum(1 for v in self.viewers.values() for t in v.tiles if t.feed_id == feed_id)

    # -- walls ------------------------------------------------------------------------

    async def check_feeds(self, principal: Principal, feed_ids: list[str]) -> None:
        """Refuse (Forbidden) a wall with a feed the principal may not see, or a bad size."""
        if not feed_ids:
            raise Forbidden("wall-empty", "a wall shows at least one camera")
        if len(feed_ids) > MAX_TILES:
            raise Forbidden("wall-too-large", f"a wall shows at most {MAX_TILES} cameras")
        if len(set(feed_ids)) != len(feed_ids):
            raise Forbidden("wall-duplicate", "a camera appears twice on the wall")
        for feed_id in feed_ids:
            try:
                feed = await self.store.get_feed(feed_id)
            except NotFound as exc:
                raise Forbidden("feed-not-found", f"no camera feed {feed_id!r}") from exc
            if not await can_see_feed(self.store, principal, feed):
                raise Forbidden("out-of-scope", "a camera on the wall is outside your unit's scope")

    async def open(self, principal: Principal, feed_ids: list[str]) -> tuple[WallViewer, str]:
        """A new wall of ``feed_ids`` for ``principal``: the viewer and the server's SDP offer."""
        if self.closing:
            raise Forbidden("shutting-down", "the server is shutting down")
        await self.check_feeds(principal, feed_ids)
        mine = sum(1 for v in self.viewers.values() if v.username == principal.username)
        if mine >= MAX_WALLS_PER_USER:
            raise Forbidden(
                "too-many-walls", f"at most {MAX_WALLS_PER_USER} walls open at once per account"
            )
        if len(self.viewers) >= MAX_WALLS:
            raise Forbidden("too-many-walls", "this server shows as many walls as it can")
        session = PeerSession(
            owner=f"wall-{principal.username}",
            metrics=self.metrics,
            ice_servers=self.settings.ice_servers,
            video_codec=WALL_CODEC,
            on_closed=self._session_closed,
        )
        tiles = [
            WallTile(feed_id, session.add_slot(f"tile-{i + 1}", "video"))
            for i, feed_id in enumerate(feed_ids)
        ]
        try:
            offer = await session.create_offer()
        except BaseException:
            await session.close()
            raise
        mids = session.slot_mids
        for tile in tiles:
            tile.mid = mids.get(tile.slot.name)
        viewer = WallViewer(session.id, principal.username, session, tiles)
        self.viewers[viewer.id] = viewer
        for tile in tiles:
            publisher = self.source_of(tile.feed_id)
            # A feed not running here now gets its picture when it starts (refresh()).
            tile.slot.assign(publisher.source if publisher is not None else None)
        asyncio.get_running_loop().call_later(ANSWER_SECONDS, self._expire_unconnected, viewer.id)
        return viewer, offer

    def viewer_of(self, principal: Principal, wall_id: str) -> WallViewer:
        """The caller's own wall (administrators: anyone's); Forbidden otherwise."""
        viewer = self.viewers.get(wall_id)
        if viewer is None or (viewer.username != principal.username and not principal.is_admin):
            raise Forbidden("wall-not-found", "no such wall (it may have closed)")
        return viewer

    async def answer(self, principal: Principal, wall_id: str, sdp: str) -> None:
        """The browser's answer to the wall's offer."""
        await self.viewer_of(principal, wall_id).session.apply_answer(sdp)

    async def close(self, principal: Principal, wall_id: str) -> None:
        """The page closes its wall."""
        await self.viewer_of(principal, wall_id).session.close()

    def _session_closed(self, session: PeerSession) -> None:
        viewer = self.viewers.pop(session.id, None)
        if viewer is not None:
            for tile in viewer.tiles:
                tile.slot.assign(None)
            self._drop_unwatched()

    def _expire_unconnected(self, wall_id: str) -> None:
        viewer = self.viewers.get(wall_id)
        if viewer is not None and not viewer.session.connected.is_set():
            logger.info("wall %s of %s never connected; closed", wall_id, viewer.username)
            task = asyncio.ensure_future(viewer.session.close())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    # -- walls in meetings --------------------------------------------------------------

    def add_commands(self, commands: ConsoleCommands) -> None:
        """``add-wall`` (with ``feeds``) and ``remove-wall`` (``site``) on the host console."""
        commands.add("add-wall", self._add_wall_command)
        commands.add("remove-wall", self._remove_wall_command)

    async def add_to_room(
        self, principal: Principal, room: Room, feed_ids: list[str]
    ) -> WallComposite:
        """Bring a wall of ``feed_ids`` into a live room as one participant (its composite).

        The host's decision is stored first: the wall comes back by itself
        after a restart (see :meth:`rejoin`).
        """
        await self.check_feeds(principal, feed_ids)
        if room.codec not in CODECS:
            raise Forbidden("codec", f"a camera wall cannot join a {room.codec} room")
        async with self._hosts:
            walls = self.composites.setdefault(room.id, {})
            for composite in walls.values():
                if composite.feed_ids == feed_ids:
                    return composite  # the same wall twice: once
            if len(walls) >= MAX_WALLS_PER_ROOM:
                raise Forbidden(
                    "too-many-walls", f"a meeting shows at most {MAX_WALLS_PER_ROOM} camera walls"
                )
            wall_id = secrets.token_hex(4)
            kept = RoomWall(
                id=wall_id, feeds=feed_ids, added_by=principal.username, added_at=time.time()
            )
            await self.kept.put(room.id, kept)
            return self._join(room, wall_id, feed_ids)

    def _join(self, room: Room, wall_id: str, feed_ids: list[str]) -> WallComposite:
        """The wall ``wall_id`` joins ``room`` as a participant (checked by the caller)."""
        walls = self.composites.setdefault(room.id, {})
        name = f"Màn hình camera ({len(feed_ids)} camera)"
        composite = WallComposite(wall_id, name, feed_ids, self.feeds, room.codec, self.metrics)
        walls[wall_id] = composite
        room.join(composite.participant)
        room.media_changed(composite.participant)
        composite.start()
        return composite

    def remove_from_room(self, room: Room, wall_id: str, reason: str = "removed") -> bool:
        """Take a wall out of a room; False if it was not in it."""
        composite = self.composites.get(room.id, {}).pop(wall_id, None)
        if composite is None:
            return False
        composite.close_quietly()
        room.leave(composite.participant, reason)
        return True

    async def _add_wall_command(self, c: CommandContext) -> CommandResult:
        feeds = c.args.get("feeds")
        if not isinstance(feeds, list) or not all(isinstance(f, str) for f in feeds):
            raise Forbidden("wall-empty", "add-wall needs the wall's cameras in 'feeds'")
        await self.add_to_room(c.principal, c.room, list(feeds))
        return None

    async def _remove_wall_command(self, c: CommandContext) -> CommandResult:
        site = c.site or ""
        wall_id = site[5:] if site.startswith("wall-") else site
        if not await self.host_removes(c.room, wall_id):
            raise Forbidden("wall-not-in-meeting", "this camera wall is not in the meeting")
        return None

    async def host_removes(self, room: Room, wall_id: str) -> bool:
        """A host takes a wall out for good (no pass puts it back); False if it was not in.

        The stored decision goes first: if the store cannot be reached the host
        is told (the error), and the wall stays as it was.
        """
        async with self._hosts:
            kept = await self.kept.remove(room.id, wall_id)
            return self.remove_from_room(room, wall_id) or kept

    async def remove_site(self, room: Room, site_id: str) -> bool:
        """A host removes a wall's site: the wall leaves the meeting, and stays out."""
        return site_id.startswith("wall-") and await self.host_removes(room, site_id[5:])

    async def room_closing(self, room: Room, reason: str) -> None:
        """Every wall leaves a closing room, and is forgotten (a node that stops closes none)."""
        async with self._hosts:  # a rejoin pass under way puts nothing in after this
            for wall_id in list(self.composites.get(room.id, {})):
                self.remove_from_room(room, wall_id, reason)
            self.composites.pop(room.id, None)
            if room.carrier:
                return  # a copy of a meeting whose home is another node: the home keeps them
            try:
                await self.kept.clear(room.id)
            except Exception:  # the room closes whatever the store says
                logger.exception("room %s: its camera walls could not be forgotten", room.id)

    async def rejoin(self) -> list[tuple[str, str]]:
        """Put the kept walls of the live rooms here back in them; the (room, wall) pairs joined.

        A wall whose host may no longer see one of its cameras (scope, a
        disabled or deleted account, a deleted feed) is forgotten. A carrier
        copy of a meeting shows none (its home does).
        """
        if self.live is None or self.closing:
            return []
        joined = []
        async with self._hosts:
            for room_id, room in list(self.live.rooms.items()):
                if room.closed or room.carrier:
                    continue
                shown = self.composites.get(room_id, {})
                for wall in await self.kept.of(room_id):
                    if wall.id in shown:
                        continue
                    forget = await self._why_forget(wall, room)
                    if forget is not None:
                        logger.warning("room %s: wall %s forgotten (%s)", room_id, wall.id, forget)
                        await self.kept.remove(room_id, wall.id)
                        continue
                    self._join(room, wall.id, list(wall.feeds))
                    logger.info("room %s: camera wall %s is back", room_id, wall.id)
                    joined.append((room_id, wall.id))
        return joined

    async def _why_forget(self, wall: RoomWall, room: Room) -> str | None:
        """Why a kept wall may not come back into ``room`` at all, or None."""
        user = await self.store.get_user(wall.added_by)
        if user is None or user.disabled:
            return f"the account {wall.added_by!r} that added it is gone or disabled"
        try:
            await self.check_feeds(Principal.of(user), list(wall.feeds))
        except Forbidden as exc:
            return f"{exc.code} for {wall.added_by!r}, who added it"
        if room.codec not in CODECS:
            return f"a camera wall cannot join a {room.codec} room"
        if len(self.composites.get(room.id, {})) >= MAX_WALLS_PER_ROOM:
            return "the meeting shows as many camera walls as it may"
        return None

    async def shutdown(self) -> None:
        """Close every wall, composite and wall source."""
        self.closing = True
        for walls in self.composites.values():
            for composite in walls.values():
                composite.close_quietly()
        self.composites.clear()
        await asyncio.gather(
            *(v.session.close() for v in list(self.viewers.values())), return_exceptions=True
        )
        for feed_id in list(self.sources):
            with contextlib.suppress(Exception):
                self._drop_source(feed_id)
