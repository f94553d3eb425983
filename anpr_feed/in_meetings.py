"""Feeds in meetings: a feed joins a live room as a participant, and its alerts reach
the hosts of every meeting showing it.

A host's ``add-feed`` is kept in the store (:class:`~conference.store.RoomFeed`)
until a host removes the camera or the room ends. The camera leaves the room
whenever its reader stops here (its lease lapsed during a Redis outage, the
feed restarted, this node stops); each sync pass then puts every kept camera
whose reader runs on this node back in its live room here, so that it comes
back by itself after a restart, or on a node that took over both the room and
the feed. A camera read by another node is not shown in a room here (a
meeting's home and its cameras are on one node): ``add-feed`` says which node
reads it, and a kept camera waits until it is read here again.

A conference :class:`~conference.extensions.Extension`: the composition root
registers it, so the conference never imports the ANPR code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from anpr_feed.events_store import PlateEvent
from anpr_feed.manager import LEASE_CHECK_SECONDS, SYNC_SECONDS, FeedManager, FeedRunner
from anpr_feed.participant import CODECS, FeedPublisher, feed_site_id
from anpr_feed.watchlist import Alert
from conference.console_commands import CommandContext, CommandResult, ConsoleCommands
from conference.extensions import Extension, PeriodicTask
from conference.live_rooms import LiveRooms
from conference.meetings import OPEN_LEAD_SECONDS
from conference.permissions import Forbidden, Principal, can_see_feed
from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import AlertMatch, ConsoleState, PlateAlert
from conference.rooms.room import Room
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Feed, NotFound, RoomFeed, Store
from conference.tasks import pause

logger = logging.getLogger(__name__)

ALERTS_KEPT = 100  # per room, for a console opened after the alert
EXPIRY_SECONDS = 3600  # how often old plate events are deleted


def feed_of_site(site: str) -> str:
    """A feed id from its site id (``feed-<id>``) or the id itself."""
    return site[5:] if site.startswith("feed-") else site


class FeedsInMeetings(Extension):
    """Which feed is in which live room, and the alerts each room's console has seen."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        feeds: FeedManager,
        live: LiveRooms,
        metrics: SfuMetrics,
    ) -> None:
        self.settings = settings
        self.store = store
        self.feeds = feeds
        self.live = live
        self.metrics = metrics
        self.feed_publishers: dict[str, dict[str, FeedPublisher]] = {}  # room -> feed -> publisher
        self.room_alerts: dict[str, deque[PlateAlert]] = {}
        # Taken by the rejoin pass and by a host's add and removal: a pass that read
        # the kept cameras before a host removed one must not put it back after.
        self._hosts = asyncio.Lock()
        # (room, feed) pairs kept but not shown here, with what was logged for them last,
        # so that a camera waiting for its reader logs once, not every pass.
        self._waiting: dict[tuple[str, str], str] = {}
        feeds.on_pass.append(self._plate_pass)
        # With meetings spread over nodes: opens a copy of a meeting's room here (its
        # home a live other node) for a camera this node reads; None otherwise.
        self.carry: Callable[[str], Awaitable[Room | None]] | None = None

    # -- conference hooks -----------------------------------------------------------------

    def periodic(self) -> dict[str, PeriodicTask]:
        """Start the feeds, then follow changes made elsewhere."""
        return {"feeds": self._run_feeds, "feed-leases": self._watch_leases}

    def add_commands(self, commands: ConsoleCommands) -> None:
        """``add-feed`` and ``remove-feed`` on the host console."""
        commands.add("add-feed", self._add_feed_command)
        commands.add("remove-feed", self._remove_feed_command)

    def console_state(self, room_id: str, state: ConsoleState) -> None:
        """The room's alerts so far and the feeds in it."""
        state["alerts"] = list(self.room_alerts.get(room_id, ()))
        state["feeds"] = sorted(self.feed_publishers.get(room_id, {}))

    async def remove_site(self, room: Room, site_id: str) -> bool:
        """A host removes a feed's site: the feed leaves the meeting, and stays out."""
        return site_id.startswith("feed-") and await self.host_removes(room.id, site_id[5:])

    async def room_closing(self, room: Room, reason: str) -> None:
        """Every feed leaves a closing room; its alerts and kept cameras are forgotten.

        A room closes when its meeting ends or is cancelled (or an ad-hoc room
        empties); a node that stops closes none (:meth:`shutdown`), so that
        its rooms' cameras come back wherever the rooms open again. A carrier
        copy (the meeting's home is another node) forgets nothing stored: the
        home's meeting keeps its cameras.
        """
        async with self._hosts:  # a rejoin pass under way puts nothing in after this
            for feed_id in list(self.feed_publishers.get(room.id, {})):
                self.remove_feed(room.id, feed_id, reason)
            self.feed_publishers.pop(room.id, None)
            self.room_alerts.pop(room.id, None)
            self._waiting = {k: v for k, v in self._waiting.items() if k[0] != room.id}
            if room.carrier:
                return  # a copy of a meeting whose home is another node: the home keeps them
            try:
                await self.store.clear_room_feeds(room.id)
            except Exception:  # the room closes whatever the store says
                logger.exception("room %s: its cameras could not be forgotten", room.id)

    async def shutdown(self) -> None:
        """Every feed leaves its meetings, then the feed workers stop."""
        for room_id in list(self.feed_publishers):
            for feed_id in list(self.feed_publishers[room_id]):
                self.remove_feed(room_id, feed_id, "shutdown")
        await self.feeds.shutdown()

    # -- feeds in and out of rooms --------------------------------------------------------

    async def add_feed(
        self, principal: Principal, room: Room, feed_id: str
    ) -> FeedPublisher | None:
        """Bring a feed into a live room as a participant (idempotent), and keep it there.

        The host's decision is stored first: the camera rejoins by itself after
        its reader stops and starts again (see :meth:`rejoin`). A camera read
        by another node, with meetings spread over nodes, is kept and shown by
        that node (its copy of the meeting, relayed: None is returned). A camera
        that cannot be shown (not running, or read elsewhere without the
        cascade) is refused and not kept.
        """
        try:
            feed = await self.store.get_feed(feed_id)
        except NotFound as exc:
            raise Forbidden("feed-not-found", f"no camera feed {feed_id!r}") from exc
        if not await can_see_feed(self.store, principal, feed):
            raise Forbidden("out-of-scope", "this camera is outside your unit's scope")
        async with self._hosts:
            runner = self.feeds.runners.get(feed_id)
            existing = self.feed_publishers.get(room.id, {}).get(feed_id)
            entry = RoomFeed(room.id, feed_id, principal.username, time.time())
            if existing is not None and existing.runner is runner:
                await self.store.put_room_feed(entry)  # kept from now on, if it was not yet
                return existing
            if runner is None:
                if self.carry is not None and await self._read_elsewhere(feed_id):
                    await self.store.put_room_feed(entry)  # its reader's node shows it
                    return None
                raise Forbidden("feed-not-running", await self._not_running_message(feed_id))
            if room.codec not in CODECS:
                raise Forbidden("codec", f"a camera cannot join a {room.codec} room")
            await self.store.put_room_feed(entry)
            if existing is not None:  # its reader restarted since: the new one's video
                self.remove_feed(room.id, feed_id, "feed-restarted")
            return self._join(room, runner)

    def _join(self, room: Room, runner: FeedRunner) -> FeedPublisher:
        """The feed of ``runner`` joins ``room`` as a participant (checked by the caller)."""
        publisher = FeedPublisher(runner, room.codec, self.metrics)
        self.feed_publishers.setdefault(room.id, {})[runner.feed.id] = publisher
        self._waiting.pop((room.id, runner.feed.id), None)
        room.join(publisher.participant)
        room.media_changed(publisher.participant)
        publisher.start()
        runner.status.watching.append(room.id)
        return publisher

    async def host_removes(self, room_id: str, feed_id: str) -> bool:
        """A host takes a feed out of a room for good: no pass puts it back; False if it was not in.

        The stored decision goes first: if the store cannot be reached the
        host is told (the error), and the camera stays as it was.
        """
        async with self._hosts:
            kept = any(e.feed_id == feed_id for e in await self.store.room_feeds(room_id))
            await self.store.remove_room_feed(room_id, feed_id)
            self._waiting.pop((room_id, feed_id), None)
            return self.remove_feed(room_id, feed_id, "removed") or kept

    async def rejoin(self) -> list[tuple[str, str]]:
        """Put the kept cameras whose reader runs here back in their live rooms here.

        Called after each sync pass (which starts the feeds whose lease this
        node took) and after a feed restarts. A camera whose reader runs
        elsewhere, or not at all, stays kept and waits. A camera whose feed
        was deleted, or that its host may no longer see (scope, a disabled or
        deleted account), is forgotten. Returns the (room, feed) pairs joined.
        """
        joined = []
        async with self._hosts:
            for room_id, room in list(self.live.rooms.items()):
                if room.closed:
                    continue
                entries = await self.store.room_feeds(room_id)
                if room.carrier:
                    # A host at the meeting's home took a camera out: it leaves here.
                    kept = {entry.feed_id for entry in entries}
                    for feed_id in list(self.feed_publishers.get(room_id, {})):
                        if feed_id not in kept:
                            self.remove_feed(room_id, feed_id, "removed")
                for entry in entries:
                    if await self._rejoin_one(room, entry):
                        joined.append((room_id, entry.feed_id))
            if self.carry is not None:
                joined += await self._carry_cameras()
        return joined

    async def _carry_cameras(self) -> list[tuple[str, str]]:
        """Kept cameras read here of meetings open at another node: a copy here shows them.

        Only meetings under way (as the scheduler opens them); the copy joins the
        meeting like any node carrying its sites, and its cameras are relayed.
        """
        assert self.carry is not None
        joined = []
        now = time.time()
        for meeting in await self.store.list_meetings(now - 86400, now + OPEN_LEAD_SECONDS):
            room_id = meeting.room_id
            due = meeting.start - OPEN_LEAD_SECONDS <= now < meeting.end
            if meeting.cancelled_at is not None or not due or room_id in self.live.rooms:
                continue
            entries = [
                e for e in await self.store.room_feeds(room_id) if e.feed_id in self.feeds.runners
            ]
            if not entries:
                continue
            room = await self.carry(room_id)
            if room is None:
                continue  # no live home elsewhere: the meeting opens at its home first
            for entry in entries:
                if await self._rejoin_one(room, entry):
                    joined.append((room_id, entry.feed_id))
        return joined

    async def _read_elsewhere(self, feed_id: str) -> bool:
        """Whether another node reads the camera now (holds its lease)."""
        leases = self.feeds.leases
        if leases is None:
            return False
        try:
            holder = await leases.holder(feed_id)
        except RedisError:
            return False
        return holder is not None and holder != leases.node_id

    async def _rejoin_one(self, room: Room, entry: RoomFeed) -> bool:
        """One kept camera back in ``room`` if it can be; True if it joined."""
        runner = self.feeds.runners.get(entry.feed_id)
        publisher = self.feed_publishers.get(room.id, {}).get(entry.feed_id)
        if publisher is not None and publisher.runner is runner:
            return False  # in the room, on its current reader
        if publisher is not None:
            # Its reader stopped, or restarted under it (the feed's record changed):
            # out, and back below as a new participant on the new reader.
            reason = "feed-stopped" if runner is None else "feed-restarted"
            self.remove_feed(room.id, entry.feed_id, reason)
        if runner is None:
            self._wait(room.id, entry.feed_id, "its reader does not run on this node")
            return False
        forget = await self._why_forget(entry, room)
        if forget is not None:
            logger.warning("room %s: camera %s forgotten (%s)", room.id, entry.feed_id, forget)
            await self.store.remove_room_feed(room.id, entry.feed_id)
            self._waiting.pop((room.id, entry.feed_id), None)
            return False
        self._join(room, runner)
        logger.info("room %s: camera %s is back (its reader runs here)", room.id, entry.feed_id)
        return True

    async def _why_forget(self, entry: RoomFeed, room: Room) -> str | None:
        """Why a kept camera may not come back into ``room`` at all, or None."""
        try:
            feed = await self.store.get_feed(entry.feed_id)
        except NotFound:
            return "the feed was deleted"
        user = await self.store.get_user(entry.added_by)
        if user is None or user.disabled:
            return f"the account {entry.added_by!r} that added it is gone or disabled"
        if not await can_see_feed(self.store, Principal.of(user), feed):
            return f"it is outside the scope of {entry.added_by!r}, who added it"
        if room.codec not in CODECS:
            return f"a camera cannot join a {room.codec} room"
        return None

    def _wait(self, room_id: str, feed_id: str, why: str) -> None:
        """Log once that a kept camera waits (not on every pass)."""
        if self._waiting.get((room_id, feed_id)) != why:
            self._waiting[(room_id, feed_id)] = why
            logger.info("room %s: camera %s is kept but not shown: %s", room_id, feed_id, why)

    async def _not_running_message(self, feed_id: str) -> str:
        """Why a feed cannot be shown here: not running, or read by another node.

        With several nodes a camera is read by one (its lease); its video reaches
        the meetings of that node only, until meetings span nodes.
        """
        leases = self.feeds.leases
        if leases is not None:
            try:
                holder = await leases.holder(feed_id)
            except RedisError:  # Redis down: say what we know here
                holder = None
            if holder is not None and holder != leases.node_id:
                return (
                    f"this camera is read by node {holder!r}; a meeting on this node "
                    "cannot show it without the cascade (CONFERENCE_CASCADE=spread)"
                )
        return "this camera feed is not running"

    def remove_feed(self, room_id: str, feed_id: str, reason: str = "removed") -> bool:
        """Take a feed out of a room; False if it was not in it."""
        publisher = self.feed_publishers.get(room_id, {}).pop(feed_id, None)
        if publisher is None:
            return False
        publisher.stop()
        with contextlib.suppress(ValueError):
            publisher.runner.status.watching.remove(room_id)
        room = self.live.get(room_id)
        if room is not None:
            room.leave(publisher.participant, reason)
        return True

    async def feed_deleted(self, feed_id: str) -> None:
        """A feed was deleted: out of every meeting, and its worker stopped."""
        for room_id in list(self.feed_publishers):
            self.remove_feed(room_id, feed_id, "feed-deleted")
        await self.feeds.remove(feed_id)

    async def feed_changed(self, feed: Feed) -> None:
        """A feed was registered (or re-registered): (re)start its worker (clustered: if read here).

        The rooms that showed it get it back at once, from its new worker.
        """
        for room_id in list(self.feed_publishers):
            self.remove_feed(room_id, feed.id, "feed-restarted")
        await self.feeds.restart(feed)
        try:
            await self.rejoin()
        except Exception:  # the feed is registered and runs; the next sync pass tries again
            logger.exception("feed %s: putting it back in its rooms failed", feed.id)

    async def _add_feed_command(self, c: CommandContext) -> CommandResult:
        await self.add_feed(c.principal, c.room, c.site or "")
        return None

    async def _remove_feed_command(self, c: CommandContext) -> CommandResult:
        if not await self.host_removes(c.room.id, feed_of_site(c.site or "")):
            raise Forbidden("feed-not-in-meeting", "this camera is not in the meeting")
        return None

    # -- background -----------------------------------------------------------------------

    async def _watch_leases(self) -> None:
        """Stop the feeds whose lease lapsed while Redis was out (one reader per camera)."""
        while True:
            await pause(LEASE_CHECK_SECONDS)
            for feed_id in await self.feeds.stop_lapsed():
                for room_id in list(self.feed_publishers):
                    self.remove_feed(room_id, feed_id, "feed-stopped")

    async def _run_feeds(self) -> None:
        """Start the feeds, then follow changes made elsewhere and expire old events."""
        await self.feeds.start()
        last_expiry = 0.0
        store_down = False
        while True:
            await pause(SYNC_SECONDS)
            try:
                for feed_id in await self.feeds.sync():
                    for room_id in list(self.feed_publishers):
                        self.remove_feed(room_id, feed_id, "feed-deleted")
                # The feeds this pass started (a lease taken back after an outage, a
                # dead node's feed) rejoin the rooms that kept them.
                await self.rejoin()
                if time.monotonic() - last_expiry > EXPIRY_SECONDS:
                    last_expiry = time.monotonic()
                    removed = await self.feeds.expire(self.settings.anpr_retention_days)
                    if removed:
                        logger.info("retention: deleted %d plate event(s)", removed)
            except UNREACHABLE as exc:
                # The feeds go on; a lease about to lapse stops its feed (_watch_leases).
                if not store_down:  # one warning per outage, not one per pass
                    store_down = True
                    logger.warning("feed sync: Redis unreachable (%s); retrying", exc)
                continue
            except Exception:
                logger.exception("feed sync failed")
            if store_down:
                store_down = False
                logger.info("feed sync: Redis answers again")

    def _plate_pass(self, feed: Feed, event: PlateEvent, alerts: list[Alert]) -> None:
        """An alerting pass reaches the hosts of every meeting showing that feed."""
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
            room = self.live.get(room_id)
            if feed.id not in publishers or room is None:
                continue
            self.room_alerts.setdefault(room_id, deque(maxlen=ALERTS_KEPT)).append(message)
            room.plate_alert(site_id, message)
