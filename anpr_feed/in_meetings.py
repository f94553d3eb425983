"""Feeds in meetings: a feed joins a live room as a participant, and its alerts reach
the hosts of every meeting showing it.

A conference :class:`~conference.extensions.Extension`: the composition root
registers it, so the conference never imports the ANPR code.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque

from redis.exceptions import RedisError

from anpr_feed.events_store import PlateEvent
from anpr_feed.manager import LEASE_CHECK_SECONDS, SYNC_SECONDS, FeedManager
from anpr_feed.participant import CODECS, FeedPublisher, feed_site_id
from anpr_feed.watchlist import Alert
from conference.console_commands import CommandContext, CommandResult, ConsoleCommands
from conference.extensions import Extension, PeriodicTask
from conference.live_rooms import LiveRooms
from conference.permissions import Forbidden, Principal, can_see_feed
from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import AlertMatch, ConsoleState, PlateAlert
from conference.rooms.room import Room
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Feed, NotFound, Store
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
        feeds.on_pass.append(self._plate_pass)

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

    def remove_site(self, room: Room, site_id: str) -> bool:
        """A host removes a feed's site: the feed leaves the meeting."""
        return site_id.startswith("feed-") and self.remove_feed(room.id, site_id[5:], "removed")

    async def room_closing(self, room: Room, reason: str) -> None:
        """Every feed leaves a closing room; its alerts are forgotten."""
        for feed_id in list(self.feed_publishers.get(room.id, {})):
            self.remove_feed(room.id, feed_id, reason)
        self.feed_publishers.pop(room.id, None)
        self.room_alerts.pop(room.id, None)

    async def shutdown(self) -> None:
        """Every feed leaves its meetings, then the feed workers stop."""
        for room_id in list(self.feed_publishers):
            for feed_id in list(self.feed_publishers[room_id]):
                self.remove_feed(room_id, feed_id, "shutdown")
        await self.feeds.shutdown()

    # -- feeds in and out of rooms --------------------------------------------------------

    async def add_feed(self, principal: Principal, room: Room, feed_id: str) -> FeedPublisher:
        """Bring a feed into a live room as a participant (idempotent)."""
        try:
            feed = await self.store.get_feed(feed_id)
        except NotFound as exc:
            raise Forbidden("feed-not-found", f"no camera feed {feed_id!r}") from exc
        if not await can_see_feed(self.store, principal, feed):
            raise Forbidden("out-of-scope", "this camera is outside your unit's scope")
        existing = self.feed_publishers.get(room.id, {}).get(feed_id)
        if existing is not None:
            return existing
        runner = self.feeds.runners.get(feed_id)
        if runner is None:
            raise Forbidden("feed-not-running", await self._not_running_message(feed_id))
        if room.codec not in CODECS:
            raise Forbidden("codec", f"a camera cannot join a {room.codec} room")
        publisher = FeedPublisher(runner, room.codec, self.metrics)
        self.feed_publishers.setdefault(room.id, {})[feed_id] = publisher
        room.join(publisher.participant)
        room.media_changed(publisher.participant)
        publisher.start()
        runner.status.watching.append(room.id)
        return publisher

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
                    "cannot show it yet (a meeting's home and its cameras are on one node)"
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
        """A feed was registered (or re-registered): (re)start its worker (clustered: if read here)."""
        for room_id in list(self.feed_publishers):
            self.remove_feed(room_id, feed.id, "feed-restarted")
        await self.feeds.restart(feed)

    async def _add_feed_command(self, c: CommandContext) -> CommandResult:
        await self.add_feed(c.principal, c.room, c.site or "")
        return None

    async def _remove_feed_command(self, c: CommandContext) -> CommandResult:
        if not self.remove_feed(c.room.id, feed_of_site(c.site or ""), "removed"):
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
